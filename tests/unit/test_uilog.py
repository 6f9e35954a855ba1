"""The UI error log: what an unexpected error's dialog names holds its traceback, redacted, private to the user;
a state directory that cannot be used is said, and nothing is written."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gfwizard.uilog import record_unexpected, ui_error_log


def test_details_are_appended_redacted_and_private(isolated_home: Path) -> None:
    log = ui_error_log()
    assert log == isolated_home / ".local" / "state" / "gfwizard" / "ui-errors.log"
    assert record_unexpected("Traceback (most recent call last):\nRuntimeError: token=s3cr3t-t0ken-value\n") == ""
    assert record_unexpected("Traceback (most recent call last):\nValueError: second\n") == ""
    text = log.read_text()
    assert text.count("\n--- ") == 1 and text.startswith("--- ")
    assert "RuntimeError: token=[REDACTED]" in text and "ValueError: second" in text
    assert "s3cr3t" not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_an_unusable_state_dir_is_said_and_nothing_is_written(isolated_home: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = isolated_home / "state-is-a-file"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv("GFW_STATE_DIR", str(blocker))
    problem = record_unexpected("Traceback (most recent call last):\nRuntimeError: x\n")
    assert problem == f"{blocker}: it is a file, not a directory", problem
    assert blocker.read_text() == "not a directory\n"


def test_a_link_in_the_logs_place_is_not_followed(isolated_home: Path) -> None:
    log = ui_error_log()
    log.parent.mkdir(parents=True, mode=0o700)
    victim = isolated_home / "victim.txt"
    victim.write_text("keep me\n")
    log.symlink_to(victim)
    problem = record_unexpected("Traceback (most recent call last):\nRuntimeError: x\n")
    assert problem.startswith(f"{log}: "), problem
    assert victim.read_text() == "keep me\n"
