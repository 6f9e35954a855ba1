"""Ctrl-C in a command that does not report an interrupt itself (deploy and backend migrate do) is the
documented error: ``{"error": {...}}`` with ``--json``, ``error:``/``remedy:`` lines without, exit 1, and
never click's bare ``Aborted!``; nothing is written on the way out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pytest

from tests.helpers import tree_digest

#: (command line, module attribute the command calls, which the test makes raise as Ctrl-C would)
CASES = {
    "doctor": (["doctor"], "gfwizard.commands.doctor.tool_checks"),
    "validate": (["validate", "--context", "honey"], "gfwizard.orgconfig.load_config"),
    "discover": (["discover"], "gfwizard.kubeconfig.discover"),
    "status-once": (["status", "--once"], "gfwizard.status.load_status_config"),
    "backend-check": (["backend", "check", "--env", "dev"], "gfwizard.orgconfig.load_config"),
}


def _interrupt(*_: object, **__: object) -> None:
    raise KeyboardInterrupt


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str], target: str, raising: object) -> int:
    from gfwizard.cli import main

    module, attr = target.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{attr}", raising)
    monkeypatch.setattr(sys, "argv", ["gfwizard", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_ctrl_c_is_the_documented_error_exit_1(isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], case: str, as_json: bool) -> None:
    argv, target = CASES[case]
    argv = [*argv, *(["--json"] if as_json else [])]
    before = tree_digest(isolated_home)
    assert _run(monkeypatch, argv, target, _interrupt) == 1
    out, err = capsys.readouterr()
    message = "interrupted (Ctrl-C) before it finished"
    remedy = f"run `gfwizard {' '.join(argv)}` again"
    assert "Aborted!" not in out + err
    if as_json:
        assert json.loads(out) == {"error": {"message": message, "remedy": remedy, "exit_code": 1}}
    else:
        assert out == ""
        assert err.splitlines()[-2:] == [f"error: {message}", f"remedy: {remedy}"]
    assert tree_digest(isolated_home) == before


def test_ctrl_c_at_a_question_says_what_was_not_done(isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def abort(*_: object, **__: object) -> None:
        raise click.Abort()

    before = tree_digest(isolated_home)
    assert _run(monkeypatch, ["doctor", "--json"], CASES["doctor"][1], abort) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": {
        "message": "cancelled at a question (Ctrl-C or Ctrl-D): what it asked about was not done",
        "remedy": "run `gfwizard doctor --json` again", "exit_code": 1}}
    assert "Aborted!" not in err
    assert tree_digest(isolated_home) == before
