"""Scenario 2: gfwizard killed with SIGKILL in the middle of an apply.

terraform writes to spool files, not pipes, so the orphaned apply carries on: it finishes, saves the
state and releases the lock by itself. The next start must find the journal entry that has no
outcome, look at the lock and the state, and say what happened: the binary finished (lock free), or
the lock is still held, by whom. No state version is lost or rolled back.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.faults import helpers as h

pytestmark = pytest.mark.integration

ARGS = ["--env", "dev", "--yes", "--json", "--stack", "attic"]


def _kill_mid_apply(delay: str) -> h.DeployProcess:
    """Start a deploy of attic and SIGKILL gfwizard while terraform sleeps in the apply."""
    proc = h.DeployProcess(ARGS, h.Env().with_(TF_VAR_apply_delay_seconds=delay))
    proc.wait_applying(stack="attic")
    proc.signal(signal.SIGKILL)
    assert proc.finish(timeout=30) == -signal.SIGKILL
    return proc


def _orphan_done(ws: Any, client: Any) -> bool:
    doc = h.current_state(client, ws.bucket, "dev", "attic")
    return "terraform_data.workload" in h.resource_names(doc) and not h.lock_objects(client, ws.bucket)


def _unfinished(ws: Any) -> dict[str, Any]:
    journal = h.journal_entries(ws.dir)
    last = journal[-1]
    assert (last["stack"], last["action"], last["outcome"]) == ("attic", "apply", "started")
    assert not last.get("ended_at")
    return last


def test_killed_then_terraform_finished_next_start_says_so_and_resumes(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path) -> None:
    ws = rehearsal_workspace
    client = ws.s3.client()
    _kill_mid_apply("2")
    killed = _unfinished(ws)
    h.wait_until(lambda: _orphan_done(ws, client), "the orphaned terraform to finish, save and unlock", 90)
    assert not list(checkout.rglob("errored.tfstate")), "the orphan could not save its state"
    before = h.state_versions(client, ws.bucket, h.state_key("dev", "attic"))
    h.assert_history_sound(before)

    nxt = h.run_deploy(ARGS + ["--resume"], h.Env().with_(TF_VAR_apply_delay_seconds="2"))
    assert nxt.proc.returncode == 0, nxt.stdout[-3000:] + nxt.stderr[-3000:]
    [report] = nxt.of("previous_run_unfinished")
    assert (report["stack"], report["run_id"], report["pid"], report["process_alive"]) == (
        "attic", killed["run_id"], killed["pid"], False)
    detail = report["detail"]
    assert "lock is free" in detail and "finished" in detail, detail
    assert h.outcomes(nxt.result) == {"attic": "no-changes"}
    assert not nxt.of("apply_started"), "the finished apply must not run again"
    after = h.state_versions(client, ws.bucket, h.state_key("dev", "attic"))
    assert [v["version_id"] for v in after] == [v["version_id"] for v in before], "state rewritten or rolled back"
    assert h.lock_objects(client, ws.bucket) == []
    # The rehearsal cluster gets the workloads the killed run never materialised.
    assert nxt.of("stack_materialised"), "the killed run's workloads were never materialised"


def test_killed_while_terraform_still_holds_the_lock_next_start_names_the_holder(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path) -> None:
    ws = rehearsal_workspace
    client = ws.s3.client()
    _kill_mid_apply("10")
    killed = _unfinished(ws)
    assert h.lock_objects(client, ws.bucket), "the orphaned apply should still hold the lock"

    nxt = h.run_deploy(ARGS + ["--resume"], h.Env().with_(TF_VAR_apply_delay_seconds="10"))
    assert nxt.proc.returncode == 1, nxt.stdout[-3000:] + nxt.stderr[-3000:]
    [report] = nxt.of("previous_run_unfinished")
    assert (report["stack"], report["run_id"], report["process_alive"]) == ("attic", killed["run_id"], False)
    [locked] = nxt.of("stack_locked")
    holder = locked["lock"]
    assert locked["stack"] == "attic" and holder["id"] and holder["who"] and holder["operation"] == "OperationTypeApply"
    assert locked["age_seconds"] is not None and 0 <= locked["age_seconds"] < 120
    assert holder["id"] in report["detail"] and holder["who"] in report["detail"], report["detail"]
    assert "still held" in report["detail"]
    assert nxt.result["outcome"] == "locked" and not nxt.of("apply_started"), "applied while the lock was held"

    h.wait_until(lambda: _orphan_done(ws, client), "the orphaned terraform to finish, save and unlock", 90)
    versions = h.state_versions(client, ws.bucket, h.state_key("dev", "attic"))
    h.assert_history_sound(versions)
    assert {"terraform_data.namespace", "terraform_data.apply_delay", "terraform_data.workload"} <= \
        h.resource_names(versions[-1]["doc"])
    assert not list(checkout.rglob("errored.tfstate"))

    # Once the holder is done, resuming is safe: nothing left to apply, nothing rewritten.
    last = h.run_deploy(ARGS + ["--resume"], h.Env().with_(TF_VAR_apply_delay_seconds="10"))
    assert last.proc.returncode == 0, last.stdout[-3000:] + last.stderr[-3000:]
    assert h.outcomes(last.result) == {"attic": "no-changes"} and not last.of("apply_started")
    assert [v["version_id"] for v in h.state_versions(client, ws.bucket, h.state_key("dev", "attic"))] == \
        [v["version_id"] for v in versions]
