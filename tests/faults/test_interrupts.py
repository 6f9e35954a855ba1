"""Scenario 1: one Ctrl-C during a slow apply, then ``--resume``.

``gfwizard deploy`` runs in its own session and gets ONE SIGINT (as a terminal's Ctrl-C would send
it) while the rehearsal twin's apply sleeps in ``terraform_data.apply_delay``. The terraform binary
is a wrapper that logs every signal it receives and forwards it to the real binary.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.faults import helpers as h

pytestmark = pytest.mark.integration

STACKS = ("attic", "arc-runners")


def test_one_sigint_mid_apply_stops_cleanly_and_resume_completes(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path, tmp_path: Path,
        reference_states: Callable[..., dict[str, Any]]) -> None:
    ws = rehearsal_workspace
    client = ws.s3.client()
    wrapper = h.make_wrapper(tmp_path, iac_bin)
    args = ["--env", "dev", "--yes", "--json"] + [a for s in STACKS for a in ("--stack", s)]

    proc = h.DeployProcess(args, h.Env().with_(GFW_TOFU_BIN=str(wrapper.path), TF_VAR_apply_delay_seconds="60"))
    proc.wait_applying(stack="attic")
    time.sleep(0.3)  # the provisioner's sleep is running
    applied_before = {e["address"] for e in proc.of("resource_applied") if e["stack"] == "attic"}
    proc.signal(signal.SIGINT)
    started = time.monotonic()
    assert proc.finish(timeout=120) == 1, proc.stderr
    stop_seconds = time.monotonic() - started

    # The run says what happened.
    assert proc.result["outcome"] == "interrupted"
    assert h.outcomes(proc.result) == {"attic": "interrupted", "arc-runners": "not-run"}
    assert [(e["stack"], e["phase"]) for e in proc.of("stack_interrupted")] == [("attic", "apply")]
    assert "stopping gracefully" in proc.stderr and "releases the lock" in proc.stderr
    assert not proc.of("apply_started")[1:], "nothing may be applied after the interrupt"

    # Exactly one SIGINT reached terraform: to the apply, once; nothing else got any signal.
    apply_pids = wrapper.runs("apply")
    assert len(apply_pids) == 1
    assert wrapper.signals("SIGINT") == {apply_pids[0]: 1}, wrapper.lines()
    assert not wrapper.signals("SIGTERM") and not wrapper.signals("SIGKILL") and not wrapper.signals("SIGHUP")
    assert wrapper.exited(apply_pids[0]) not in (None, 0), "terraform was not left to stop by itself"

    # terraform brought what was in flight to an end (every resource it started is reported applied or
    # errored: the twin's local-exec sleep receives the interrupt and errors, where a provider call would
    # complete), recorded each in the saved state (an errored create as tainted), and released the lock.
    assert h.lock_objects(client, ws.bucket) == [], "the state lock was not released"
    versions = h.state_versions(client, ws.bucket, h.state_key("dev", "attic"))
    h.assert_history_sound(versions)
    saved = h.normalised_state(versions[-1]["doc"])["resources"]
    started_addr = {e["address"] for e in proc.of("resource_applying") if e["stack"] == "attic"}
    applied = {e["address"] for e in proc.of("resource_applied") if e["stack"] == "attic"}
    errored = {e["address"] for e in proc.of("resource_failed") if e["stack"] == "attic"}
    assert started_addr == applied | errored, ("left dangling", started_addr - applied - errored)
    assert applied_before and applied_before <= applied
    assert {a: saved.get(a, {}).get("status") for a in applied} == {a: "" for a in applied}, saved
    assert {a: saved.get(a, {}).get("status") for a in errored} == {a: "tainted" for a in errored}, saved
    assert 'terraform_data.workload["attic-dev/attic"]' not in saved, "the apply went on after the interrupt"
    assert h.current_state(client, ws.bucket, "dev", "arc-runners") is None
    assert not list(checkout.rglob("errored.tfstate"))

    # The journal says interrupted, with an end time.
    journal = h.journal_entries(ws.dir)
    attic = [e for e in journal if e["stack"] == "attic" and e["action"] == "apply"]
    assert [e["outcome"] for e in attic] == ["started", "interrupted"] and attic[-1].get("ended_at")

    # --resume completes the rollout; the result equals an uninterrupted run's.
    resumed = h.run_deploy(args + ["--resume"], h.Env().with_(TF_VAR_apply_delay_seconds=""))
    assert resumed.proc.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert h.outcomes(resumed.result) == {"attic": "applied", "arc-runners": "applied"}
    assert resumed.result["resumes"] == proc.result["run_id"]
    assert h.lock_objects(client, ws.bucket) == []
    final = {s: h.normalised_state(h.current_state(client, ws.bucket, "dev", s)) for s in STACKS}
    assert final == reference_states(STACKS)
    h.assert_history_sound(h.state_versions(client, ws.bucket, h.state_key("dev", "attic")))
    assert stop_seconds < 60, "the interrupt did not stop the 60 s apply early"
