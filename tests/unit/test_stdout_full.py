"""stdout redirected to something that cannot take more (a full disk, a quota; ``/dev/full`` here): the output is
lost, not the command's work. Before, the first line printed raised ENOSPC and the command ended in a traceback
and ``internal error: OSError … this is a gfwizard bug``; a deploy got that after its run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli, tree_digest

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")

ERROR = ("error: stdout cannot be written (No space left on device): the output is incomplete; the command goes on "
         "without printing (a deploy still journals every outcome and keeps its transcripts) and exits 1")


def _to_full(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "gfwizard", *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, cwd=cwd, env=dict(os.environ), timeout=120)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_full_disk_under_stdout_is_said_and_exits_1_never_a_traceback(isolated_home: Path, tmp_path: Path,
                                                                         as_json: bool) -> None:
    config = tmp_path / "organization.yaml"
    config.write_text((REPO / "config" / "organization.example.yaml").read_text())
    args = ["config", "validate", str(config), *(["--json"] if as_json else [])]
    ok = run_cli(args)
    assert ok.returncode == 0, ok.stderr  # what the same command does when its output can be written
    before = tree_digest(tmp_path), tree_digest(isolated_home)
    done = _to_full(args, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.splitlines()[0] == ERROR
    assert done.stderr.splitlines()[1].startswith("remedy: free space where stdout goes")
    assert (tree_digest(tmp_path), tree_digest(isolated_home)) == before


def test_a_failing_command_keeps_its_own_exit_code(isolated_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    done = _to_full(["config", "show", "--config", str(missing), "--json"], tmp_path)
    assert done.returncode == 2 and ERROR in done.stderr and "Traceback" not in done.stderr
    json.loads(run_cli(["config", "show", "--config", str(missing), "--json"]).stdout)  # the object that was lost
    assert not missing.exists()
