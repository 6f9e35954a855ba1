"""An apply whose gfwizard was killed (a ``started`` journal entry and no outcome): status says the run is gone
when its process no longer runs on this host, never when it runs, and names another host without guessing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gfwizard.journal import Journal, JournalEntry
from gfwizard.journal_process import process_token, run_state
from gfwizard.status_assemble import Inputs, assemble
from gfwizard.status_model import ClusterStatus, StatusSnapshot
from gfwizard.status_state import StateObject, StateReader
from gfwizard.status_text import render_text
from tests.status_support import FIXED_NOW

NOW = FIXED_NOW
HOST = socket.gethostname()


def _cfg() -> Any:
    from gfwizard.rehearsal.workspace import org_config

    return org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=Path("/nonexistent/kubeconfig"),
                      s3_endpoint="http://127.0.0.1:9000", bucket="state",
                      fingerprint=("2f9c8a1e-0000-4000-8000-000000000001", "ab" * 32))


class _Store:
    """A ReadOnlyState stand-in: no state object, no lock."""

    def state(self, env: str, stack: str) -> StateObject:
        return StateObject(key=f"gloriousflywheel/{env}/{stack}.tfstate", exists=False)

    def locks(self, env: str, now: float | None = None) -> list[Any]:
        return []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _reader(tmp_path: Path) -> StateReader:
    reader = StateReader(_cfg(), ["dev"], environ={"GFW_WORKSPACE": str(tmp_path)}, timeouts=(1.0, 1.0),
                         clock=lambda: NOW.timestamp())
    reader.reader = _Store()  # type: ignore[assignment]
    return reader


def _killed_apply(tmp_path: Path, *, pid: int, operator: str, token: str = "") -> Path:
    """A journal whose last apply of attic in dev started 5 hours ago and recorded no outcome."""
    path = tmp_path / "journal" / "dev.jsonl"
    Journal(path).append(JournalEntry(run_id="20250601T070000Z-abc123", env="dev", stack="attic", action="apply",
                                      outcome="started", started_at=NOW - timedelta(hours=5), operator=operator,
                                      pid=pid, pid_token=token))
    return path


def _snapshot(reader: StateReader) -> StatusSnapshot:
    reader.poll()
    inputs = Inputs(cluster=ClusterStatus(server="https://127.0.0.1:6443", reachable=True, fingerprint="match"),
                    states=reader.states, locks=reader.locks, last_applies=reader.applies,
                    run_states=reader.run_states, unreadable=reader.unreadable)
    return assemble(_cfg(), inputs, envs=["dev"], now=NOW)


def _attic(doc: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in doc["stacks"] if s["stack"] == "attic")["last_apply"]


def test_an_apply_whose_process_is_gone_is_a_problem_in_text_and_json(tmp_path: Path) -> None:
    pid = _dead_pid()
    path = _killed_apply(tmp_path, pid=pid, operator=f"alice@{HOST}")
    before = path.read_bytes()
    snap = _snapshot(_reader(tmp_path))
    text = render_text(snap)
    assert "started 5h00m ago, run gone (no outcome recorded)" in text, text
    [problem] = [p for p in snap.problems if p.kind == "run-gone"]
    assert problem.subject == "dev/attic"
    assert f"pid {pid} on alice@{HOST}" in problem.detail and "started 5h00m ago" in problem.detail
    assert "run-gone: dev/attic" in text
    doc = snap.to_json()
    assert (_attic(doc)["outcome"], _attic(doc)["run_state"], _attic(doc)["pid"]) == ("started", "gone", pid)
    [gone] = [p for p in doc["problems"] if p["kind"] == "run-gone"]
    assert "`gfwizard deploy --env dev` plans again and applies only what is missing" in gone["remedy"]
    assert "`gfwizard backend locks --env dev`" in gone["remedy"]
    assert not doc["healthy"]
    assert path.read_bytes() == before  # status only reads
    assert sorted(p.name for p in path.parent.iterdir()) == ["dev.jsonl"]


def test_an_apply_whose_process_still_runs_is_not_flagged(tmp_path: Path) -> None:
    _killed_apply(tmp_path, pid=os.getpid(), operator=f"alice@{HOST}", token=process_token(os.getpid()))
    snap = _snapshot(_reader(tmp_path))
    text = render_text(snap)
    assert "started 5h00m ago" in text and "run gone" not in text, text
    assert _attic(snap.to_json())["run_state"] == "running"
    assert not [p for p in snap.problems if p.kind == "run-gone"]


def test_an_apply_on_another_host_names_the_host_and_is_not_flagged(tmp_path: Path) -> None:
    _killed_apply(tmp_path, pid=_dead_pid(), operator="alice@ci-runner-7")
    snap = _snapshot(_reader(tmp_path))
    text = render_text(snap)
    assert "started 5h00m ago on host ci-runner-7" in text and "run gone" not in text, text
    assert _attic(snap.to_json())["run_state"] == "elsewhere"
    assert not [p for p in snap.problems if p.kind == "run-gone"]


def test_a_pid_now_held_by_another_process_is_a_gone_run(tmp_path: Path) -> None:
    """The entry recorded its process's start: a live pid started since (the system reused it) is not the run."""
    token = process_token(os.getpid())
    if not token:
        pytest.skip("/proc cannot say when a process started here")
    boot, _, ticks = token.rpartition(":")
    assert run_state(os.getpid(), f"alice@{HOST}", token) == "running"
    assert run_state(os.getpid(), f"alice@{HOST}", f"{boot}:{int(ticks) + 1}") == "gone"
    assert run_state(os.getpid(), f"alice@{HOST}", f"another-boot:{ticks}") == "gone"
    assert run_state(os.getpid(), f"alice@{HOST}") == "running"  # an older entry: the pid alone decides
    assert run_state(os.getpid(), "") == "unknown" and run_state(0, f"alice@{HOST}") == "unknown"


def test_a_run_that_ends_later_is_seen_gone_at_the_next_poll(tmp_path: Path) -> None:
    """The journal does not change when the process dies: each poll asks again."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _killed_apply(tmp_path, pid=proc.pid, operator=f"alice@{HOST}", token=process_token(proc.pid))
        reader = _reader(tmp_path)
        assert _attic(_snapshot(reader).to_json())["run_state"] == "running"
        signature = reader.signature()
    finally:
        proc.kill()
        proc.wait()
    snap = _snapshot(reader)
    assert _attic(snap.to_json())["run_state"] == "gone"
    assert reader.signature() != signature  # the live view redraws
    assert [p.kind for p in snap.problems if p.kind == "run-gone"] == ["run-gone"]


def test_journal_lines_of_a_newer_gfwizard_say_to_upgrade(tmp_path: Path) -> None:
    import json

    from gfwizard.journal import JOURNAL_SCHEMA

    path = _killed_apply(tmp_path, pid=os.getpid(), operator=f"alice@{HOST}")
    line = json.loads(path.read_text())
    with path.open("a") as fh:
        fh.write(json.dumps({**line, "schema_version": JOURNAL_SCHEMA + 1, "outcome": "rolled-back"}) + "\n")
    snap = _snapshot(_reader(tmp_path))
    [note] = [u for u in snap.unreadable if u.what == f"journal {path}"]
    assert f"line 2 written by a newer gfwizard (schema {JOURNAL_SCHEMA + 1}" in note.detail
    assert note.remedy.startswith("upgrade gfwizard to read the lines a newer one wrote; until then last apply")
    assert "upgrade gfwizard" in render_text(snap)


@pytest.mark.parametrize(("operator", "process", "says", "alive"), [
    (f"alice@{HOST}", "dead", "is gone", False),
    ("alice@ci-runner-7", "dead", "ran on host ci-runner-7, not this one: whether it still runs cannot be seen", False),
    (f"alice@{HOST}", "this test's", "is still running", True),
], ids=["gone", "other-host", "running"])
def test_the_next_deploy_says_what_became_of_the_killed_run(tmp_path: Path, operator: str, process: str,
                                                             says: str, alive: bool) -> None:
    """Deploy tells the same story as status: another host's process is not guessed to be gone."""
    import asyncio
    from types import SimpleNamespace

    from gfwizard.stacks import DeployEngine

    # Chosen here, not in the parameters: test ids must be the same in every xdist worker (a pid is not).
    pid = _dead_pid() if process == "dead" else os.getpid()
    path = _killed_apply(tmp_path, pid=pid, operator=operator, token=process_token(pid))
    events: list[Any] = []
    engine = SimpleNamespace(journal=Journal(path), _emit=events.append,
                             _what_happened=lambda stack: "The lock is free.")
    asyncio.run(DeployEngine._report_previous_run(engine))  # type: ignore[arg-type]
    [event] = events
    assert (event.stack, event.pid, event.process_alive) == ("attic", pid, alive)
    assert f"its process {pid} on {operator} {says}" in event.detail, event.detail
