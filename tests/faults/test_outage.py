"""Scenario 4: the S3 endpoint dies in the middle of an apply, then comes back.

The state bucket is reached through a TCP proxy that is cut (connection refused, open connections
reset) while terraform applies, and restored after gfwizard has reported the failure. terraform
cannot save the new state (it writes ``errored.tfstate`` into the stack directory) nor release its
lock. The previous state version must survive intact, the failure must say how to recover, a plain
``--resume`` must refuse to fork the state, and following the recovery steps shown must work.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

from gfwizard.orgconfig import load_config, save_config
from tests.faults import helpers as h

pytestmark = pytest.mark.integration

ARGS = ["--env", "dev", "--yes", "--json", "--stack", "attic"]


def _through_proxy(ws: Any, monkeypatch: pytest.MonkeyPatch) -> h.CuttableProxy:
    proxy = h.CuttableProxy(ws.s3.endpoint)
    cfg = load_config(ws.config_path)
    assert cfg.state.s3 is not None
    s3 = cfg.state.s3.model_copy(update={"endpoint": proxy.endpoint})
    save_config(cfg.model_copy(update={"state": cfg.state.model_copy(update={"s3": s3})}), ws.config_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
    return proxy


def _commands(remedy: str) -> list[str]:
    """The shell commands a remedy tells the operator to run (backticked), gfwizard itself excluded."""
    return [c for c in re.findall(r"`([^`]+)`", remedy) if not c.startswith("gfwizard ")]


def test_s3_outage_mid_apply_keeps_the_previous_state_and_recovery_steps_work(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path, monkeypatch: pytest.MonkeyPatch,
        reference_states: Callable[..., dict[str, Any]]) -> None:
    ws = rehearsal_workspace
    client = ws.s3.client()
    key = h.state_key("dev", "attic")
    errored = ws.dir / "work" / "dev" / "attic" / "errored.tfstate"  # claimed for dev, out of the checkout
    stray = checkout / "tofu" / "rehearsal" / "attic" / "errored.tfstate"
    proxy = _through_proxy(ws, monkeypatch)
    try:
        first = h.run_deploy(ARGS, h.Env().with_())
        assert first.proc.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        before = h.state_versions(client, ws.bucket, key)
        h.assert_history_sound(before)

        # The change (the slow twin) is applied while the endpoint dies.
        env = h.Env().with_(TF_VAR_apply_delay_seconds="2")
        proc = h.DeployProcess(ARGS, env)
        proc.wait_applying(stack="attic")
        proxy.cut()
        assert proc.finish(timeout=180) == 1
        [failed] = proc.of("stack_failed")
        assert failed["stack"] == "attic" and failed["phase"] == "apply"
        assert "save state" in failed["message"].lower(), failed
        assert str(errored) in failed["remedy"] and "state push" in failed["remedy"], failed["remedy"]
        assert "--resume" in failed["remedy"]
        assert errored.is_file(), "terraform did not keep the unsaved state"
        assert errored.stat().st_mode & 0o777 == 0o600 and not stray.exists()
        proxy.restore()

        # Versioning kept the previous version; the current object is that version, readable.
        after = h.state_versions(client, ws.bucket, key)
        assert [v["version_id"] for v in after] == [v["version_id"] for v in before]
        assert after[-1]["doc"] == before[-1]["doc"]
        h.assert_history_sound(after)

        # A plain --resume must not plan over the unsaved state (that would fork it).
        blind = h.run_deploy(ARGS + ["--resume"], env)
        assert blind.proc.returncode == 1, blind.stdout[-3000:] + blind.stderr[-3000:]
        [refused] = blind.of("stack_failed")
        assert refused["stack"] == "attic" and "errored.tfstate" in refused["message"], refused
        assert not blind.of("stack_planned") and not blind.of("apply_started")
        assert [v["version_id"] for v in h.state_versions(client, ws.bucket, key)] == [v["version_id"] for v in before]
        assert errored.is_file()

        # Follow the recovery steps exactly as shown, then resume.
        steps = _commands(refused["remedy"])
        assert any("state push" in c for c in steps), refused["remedy"]
        assert "then `gfwizard deploy --env dev --stack attic --resume`" in refused["remedy"]  # the run's --stack
        for command in steps:
            done = subprocess.run(["bash", "-c", command], env=dict(os.environ), capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        assert not errored.exists()
        resumed = h.run_deploy(ARGS + ["--resume"], env)
        assert resumed.proc.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert h.outcomes(resumed.result)["attic"] in ("applied", "no-changes")
        assert h.lock_objects(client, ws.bucket) == []
        final = h.state_versions(client, ws.bucket, key)
        h.assert_history_sound(final)
        assert len(final) > len(before), "the unsaved state never reached the bucket"
        assert {"attic": h.normalised_state(final[-1]["doc"])} == reference_states(("attic",),
                                                                                    apply_delay_seconds="2")
    finally:
        proxy.close()
