"""Scenario 3: two operators deploy the same environment at once.

Operator A applies attic slowly; operator B (own workspace and state dir, as on another machine; same
organization.yaml and bucket) starts while A holds the lock. B must see the holder and the lock's
age and apply nothing; once A has finished, B's re-plan shows no changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.faults import helpers as h

pytestmark = pytest.mark.integration

DELAY = "10"


def test_second_operator_sees_the_holder_applies_nothing_then_replans_clean(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path, tmp_path: Path) -> None:
    ws = rehearsal_workspace
    client = ws.s3.client()
    key = h.state_key("dev", "attic")
    args = ["--env", "dev", "--yes", "--json", "--stack", "attic", "--stack", "arc-runners"]
    a = h.DeployProcess(args, h.Env().with_(TF_VAR_apply_delay_seconds=DELAY))
    a.wait_applying(stack="attic")
    versions_at_start = [v["version_id"] for v in h.state_versions(client, ws.bucket, key)]

    b_env = h.Env().with_(TF_VAR_apply_delay_seconds=DELAY, GFW_WORKSPACE=str(tmp_path / "operator-b"),
                          GFW_STATE_DIR=str(tmp_path / "operator-b-state"))
    b = h.run_deploy(args, b_env)
    assert a.proc.poll() is None, "operator A finished before B could try: raise DELAY"
    assert b.proc.returncode == 1, b.stdout[-3000:] + b.stderr[-3000:]
    [locked] = b.of("stack_locked")
    assert locked["stack"] == "attic"
    assert locked["lock"]["who"] and locked["lock"]["id"] and locked["lock"]["operation"] == "OperationTypeApply"
    assert locked["age_seconds"] is not None and 0 <= locked["age_seconds"] < 60
    assert "wait for" in locked["remedy"] and "--resume" in locked["remedy"]
    assert b.result["outcome"] == "locked"
    assert h.outcomes(b.result) == {"attic": "locked", "arc-runners": "not-run"}
    assert not b.of("apply_started"), "operator B applied while A held the lock"
    # B wrote no state object: every version comes from A.
    assert [v["version_id"] for v in h.state_versions(client, ws.bucket, key)] == versions_at_start
    assert h.current_state(client, ws.bucket, "dev", "arc-runners") is None

    assert a.finish(timeout=120) == 0, a.stderr[-3000:]
    assert h.outcomes(a.result) == {"attic": "applied", "arc-runners": "applied"}
    assert h.lock_objects(client, ws.bucket) == []
    h.assert_history_sound(h.state_versions(client, ws.bucket, key))

    replan = h.run_deploy(["--env", "dev", "--json", "--plan-only", "--stack", "attic", "--stack", "arc-runners"],
                          b_env)
    assert replan.proc.returncode == 0, replan.stdout[-3000:] + replan.stderr[-3000:]
    planned = {e["stack"]: e["summary"] for e in replan.of("stack_planned")}
    assert set(planned) == {"attic", "arc-runners"}
    for stack, summary in planned.items():
        assert (summary["add"], summary["change"], summary["destroy"], summary["replace"]) == (0, 0, 0, 0), \
            (stack, summary)
