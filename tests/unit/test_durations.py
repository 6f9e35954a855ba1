"""One notation for how long a state lock has been held (and for the lock-age threshold): the status
table, its old-lock problem and remedy text, ``backend locks``, ``deploy``'s LOCKED line and the resume
note all say ``5h00m``, where they said ``5h00m``, ``300 min``, ``5.0h`` and ``18000s`` before."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from gfwizard.durations import duration
from gfwizard.journal import LockHolder
from gfwizard.status_text import render_text
from tests.status_support import fixed_snapshot

FIVE_HOURS = 5 * 3600


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "?"), (-3, "0s"), (0, "0s"), (42.9, "42s"), (59, "59s"), (60, "1m"), (299, "4m"), (3599, "59m"),
    (3600, "1h00m"), (FIVE_HOURS, "5h00m"), (3 * 3600 + 12 * 60 + 59, "3h12m"), (86399, "23h59m"),
    (86400, "1d0h"), (2 * 86400 + 4 * 3600 + 1, "2d4h"),
])
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_status_says_an_old_lock_in_one_notation() -> None:
    snap = fixed_snapshot()
    snap = snap.model_copy(update={"locks": [snap.locks[0].model_copy(update={"age_seconds": FIVE_HOURS})]})
    [problem] = [p for p in snap.problems if p.kind == "old-lock"]
    assert problem.detail == ("held by bob@ci-runner (OperationTypeApply) for 5h00m, over the 30m threshold")
    text = render_text(snap, width=120)
    assert "5h00m OLD" in text and "for 5h00m, over the 30m threshold" in text
    assert " min" not in text and "300" not in text
    tiny = snap.model_copy(update={"lock_age_threshold_minutes": 0.05})
    assert next(p.detail for p in tiny.problems if p.kind == "old-lock").endswith("over the 3s threshold")


def test_deploy_says_a_held_lock_in_the_same_notation(capsys: pytest.CaptureFixture[str]) -> None:
    from gfwizard.commands.deploy import _HumanPrinter
    from gfwizard.stacks_events import StackLocked

    _HumanPrinter().event(StackLocked("attic", "plan", LockHolder(id="l-1", who="bob@ci-runner"), FIVE_HOURS,
                                      "wait for bob@ci-runner"))
    assert "state lock held by bob@ci-runner (?, lock l-1), for 5h00m" in capsys.readouterr().out


def test_the_resume_note_says_a_held_lock_in_the_same_notation(monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard import stacks_locks
    from gfwizard.stacks import DeployEngine

    holder = LockHolder(id="l-1", who="bob@ci-runner", operation="OperationTypeApply",
                        created=datetime.now(timezone.utc) - timedelta(seconds=FIVE_HOURS + 30))
    monkeypatch.setattr(stacks_locks, "read_lock_holder", lambda cfg, env, stack: holder)
    note = DeployEngine._what_happened(SimpleNamespace(workers={}, cfg=None, env="dev"), "attic")  # type: ignore[arg-type]
    assert "still held by bob@ci-runner (OperationTypeApply, lock l-1, taken 5h00m ago)" in note


def test_backend_locks_says_a_held_lock_in_the_same_notation(monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard import backend
    from gfwizard.backend_locks import LockInfo
    from gfwizard.cli import cli
    from gfwizard.commands import backend as backend_cmd
    from gfwizard.rehearsal.workspace import org_config

    created = datetime(2025, 6, 1, 7, 0, tzinfo=timezone.utc)
    old = LockInfo(stack="attic", env="dev", key="k", id="l-1", who="bob@ci-runner", operation="OperationTypeApply",
                   created=created, age=FIVE_HOURS)
    young = replace(old, stack="arc-runners", id="l-2", age=303.0)
    cfg = org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=Path("/nonexistent/kubeconfig"),
                     s3_endpoint="http://127.0.0.1:9000", bucket="state")
    monkeypatch.setattr(backend_cmd, "_load", lambda path: cfg)
    monkeypatch.setattr(backend, "list_locks", lambda cfg, env: [old, young])
    result = CliRunner().invoke(cli, ["backend", "locks", "--env", "dev"])
    assert result.exit_code == 0, result.output
    assert "since 2025-06-01T07:00:00+00:00 (5h00m ago)  ID l-1" in result.output
    assert "(5m ago)  ID l-2" in result.output  # was 5m03s: seconds only here
    assert "force-unlock l-1`" in result.output  # and how to release it
