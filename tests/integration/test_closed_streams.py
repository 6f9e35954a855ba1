"""A command started with a standard stream closed (``<&-``, ``>&-``, a supervisor that gives it none)
behaves as with that stream on /dev/null: no terminal, so what needs one is refused with its remedy
and exit 2 (not a traceback on ``sys.stdin`` being ``None``), and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli, tree_digest
from tests.integration.test_deploy_support import make_wrapper, objects, wrapper_log

NO_TERMINAL = "refusing to apply without --yes: there is no terminal to ask for confirmation"
NO_TERMINAL_REMEDY = ("pass --yes: `gfwizard deploy --env dev --yes` (the cluster fingerprint and lock probe gates "
                      "still run), or preview with `gfwizard deploy --env dev --plan-only`, or run "
                      "`gfwizard deploy --env dev` on a terminal")


def _written(ws: Any) -> "tuple[dict[str, str], dict[str, str]]":
    return tree_digest(ws.dir, ignore=("api-requests.log", "s3-requests.log")), objects(ws)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_deploy_with_stdin_closed_refuses_without_yes(rehearsal_workspace: Any, iac_bin: str, tmp_path: Path,
                                                      as_json: bool) -> None:
    ws = rehearsal_workspace
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    before = _written(ws)
    proc = run_cli(["deploy", "--env", "dev", *(["--json"] if as_json else [])], closed=(0,),
                   env={"GFW_TOFU_BIN": str(wrapper)}, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    if as_json:
        assert json.loads(proc.stdout) == {"error": {"message": NO_TERMINAL, "remedy": NO_TERMINAL_REMEDY,
                                                     "exit_code": 2}}
    else:
        assert proc.stderr.splitlines() == [f"error: {NO_TERMINAL}", f"remedy: {NO_TERMINAL_REMEDY}"]
    assert wrapper_log(log) == []
    assert _written(ws) == before


def test_backend_check_create_bucket_with_stdin_closed_needs_yes(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    before = _written(ws)
    proc = run_cli(["backend", "check", "--env", "dev", "--create-bucket", "--json"], closed=(0,), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert json.loads(proc.stdout)["error"]["message"] == (
        "--create-bucket writes to the store; without a terminal to ask on, it needs --yes "
        "(nothing was checked or changed)")
    assert _written(ws) == before


def test_discover_json_with_stdout_closed_exits_0(rehearsal_workspace: Any) -> None:
    proc = run_cli(["discover", "--json"], closed=(1,), env={"GFW_DISCOVER_CACHE": "0"}, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
