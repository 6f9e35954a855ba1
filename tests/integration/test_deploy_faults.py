"""Faults during a deploy, with real terraform: a lock held by another operator, Ctrl-C during a slow
apply, canary secrets, and the typed confirmation for prod."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gfwizard.gates import ConfirmRequest
from gfwizard.orgconfig import load_config
from gfwizard.stacks import DeployEngine
from gfwizard.stacks_events import DeployEvent, ResourceApplying, RunFinished, StackInterrupted, StackPlanned
from tests.helpers import REPO, journal_replaced_at_apply
from tests.integration.test_deploy_support import (
    ORDER, PREFIX, deploy, events, journal, make_wrapper, objects, of, signals_per_process, state, state_keys,
    wrapper_log,
)

pytestmark = pytest.mark.integration


def test_a_lock_held_by_another_operator_stops_the_rollout_there(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    created = datetime.now(timezone.utc) - timedelta(minutes=7)
    lock_key = f"{PREFIX}/dev/arc-runners.tfstate.tflock"
    lock = {"ID": "8d1e6c2a-0b7e-4d6b-9a51-2f0c3e1d9b77", "Operation": "OperationTypeApply", "Info": "",
            "Who": "alice@alice-laptop", "Version": "1.10.5",
            "Created": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "Path": f"{ws.bucket}/{PREFIX}/dev/arc-runners.tfstate"}
    # Taken the way the S3 backend takes it: a conditional put of the lock object.
    ws.s3.client().put_object(Bucket=ws.bucket, Key=lock_key, Body=json.dumps(lock).encode(), IfNoneMatch="*")

    proc = deploy("--env", "dev", "--yes", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    evs = events(proc)
    locked = of(evs, "stack_locked")
    assert len(locked) == 1 and locked[0]["stack"] == "arc-runners"
    assert locked[0]["lock"]["who"] == "alice@alice-laptop" and locked[0]["lock"]["id"] == lock["ID"]
    assert 7 * 60 - 5 <= locked[0]["age_seconds"] < 9 * 60
    assert "force-unlock 8d1e6c2a" in locked[0]["remedy"]
    assert evs[-1]["outcome"] == "locked"
    assert [(s["stack"], s["outcome"]) for s in evs[-1]["stacks"]] == [
        ("attic", "applied"), ("arc-runners", "locked"), ("gitlab-runners", "not-run"),
        ("runner-dashboard", "not-run")]
    assert state_keys(ws) == {"attic"}, "something was applied after the locked stack"
    assert lock_key in objects(ws), "another operator's lock must never be touched"
    entry = next(e for e in journal(ws) if e["stack"] == "arc-runners" and e["outcome"] == "locked")
    assert entry["lock_id"] == lock["ID"] and entry["lock"]["who"] == "alice@alice-laptop"

    human = deploy("--env", "dev", "--yes")
    assert human.returncode == 1
    assert "LOCKED" in human.stdout and "alice@alice-laptop" in human.stdout and "for 7m" in human.stdout


def test_a_previews_lock_remedy_runs_the_preview_again_never_resume(rehearsal_workspace: Any, iac_bin: str) -> None:
    # A --plan-only run that met another operator's lock told them to re-run `gfwizard deploy --env prod
    # --resume`: a deploy (which applies, and continues the last run that set out to deploy), not the preview.
    ws = rehearsal_workspace
    lock_key = f"{PREFIX}/prod/gitlab-runners.tfstate.tflock"
    lock = {"ID": "5b2e0c1a-7d4e-4f0b-8a61-3c1d2e9f0a11", "Operation": "OperationTypeApply", "Info": "",
            "Who": "carol@carol-laptop", "Version": "1.10.5", "Created": "2026-01-02T03:04:05.000000Z",
            "Path": f"{ws.bucket}/{PREFIX}/prod/gitlab-runners.tfstate"}
    ws.s3.client().put_object(Bucket=ws.bucket, Key=lock_key, Body=json.dumps(lock).encode(), IfNoneMatch="*")

    proc = deploy("--env", "prod", "--plan-only", "--json", "--stack", "attic", "--stack", "gitlab-runners")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [locked] = of(events(proc), "stack_locked")
    assert "then re-run `gfwizard deploy --env prod --stack attic --stack gitlab-runners --plan-only`;" in \
        locked["remedy"], locked
    assert "--resume" not in locked["remedy"]
    assert state_keys(ws, "prod") == set(), "a preview applied something"
    assert objects(ws)[lock_key], "another operator's lock must never be touched"

    human = deploy("--env", "prod", "--plan-only")
    assert human.returncode == 1
    assert "then re-run `gfwizard deploy --env prod --plan-only`;" in human.stdout, human.stdout
    assert "--resume" not in human.stdout
    assert state_keys(ws, "prod") == set()


def test_a_selected_deploys_lock_remedy_repeats_its_stacks(rehearsal_workspace: Any, iac_bin: str) -> None:
    # `deploy --stack attic` that met a lock told the operator to re-run `gfwizard deploy --env dev --resume`:
    # without --stack, which plans and applies every stack of dev, not the one chosen (docs/json-output.md:
    # a remedy's command repeats deploy's --stack and --resume).
    ws = rehearsal_workspace
    lock_key = f"{PREFIX}/dev/attic.tfstate.tflock"
    lock = {"ID": "6c3f1d2b-8e5f-4a1c-9b72-4d2e3f0a1b22", "Operation": "OperationTypeApply", "Info": "",
            "Who": "dave@dave-laptop", "Version": "1.10.5", "Created": "2026-01-02T03:04:05.000000Z",
            "Path": f"{ws.bucket}/{PREFIX}/dev/attic.tfstate"}
    ws.s3.client().put_object(Bucket=ws.bucket, Key=lock_key, Body=json.dumps(lock).encode(), IfNoneMatch="*")

    proc = deploy("--env", "dev", "--yes", "--json", "--stack", "attic")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [locked] = of(events(proc), "stack_locked")
    assert "then re-run `gfwizard deploy --env dev --stack attic --resume`;" in locked["remedy"], locked
    assert state_keys(ws) == set() and objects(ws)[lock_key], "nothing is applied and the lock is never touched"

    human = deploy("--env", "dev", "--yes")
    assert human.returncode == 1
    assert "then re-run `gfwizard deploy --env dev --resume`;" in human.stdout, human.stdout


def test_the_unlock_command_quotes_a_lock_id_read_from_the_bucket(rehearsal_workspace: Any, iac_bin: str) -> None:
    # The ID is whatever the lock object says (anyone who can write to the bucket wrote it); it was pasted into
    # the remedy's command line as is, so `x; touch ...` ran a second command when the operator pasted it.
    ws = rehearsal_workspace
    lock = {"ID": "x; touch /tmp/pwned", "Operation": "OperationTypeApply", "Who": "mallory",
            "Created": "2025-01-02T03:04:05Z", "Version": "1.11.4", "Info": "", "Path": ""}
    ws.s3.client().put_object(Bucket=ws.bucket, Key=f"{PREFIX}/dev/attic.tfstate.tflock",
                              Body=json.dumps(lock).encode())
    proc = deploy("--env", "dev", "--yes", "--json", "--stack", "attic")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [locked] = of(events(proc), "stack_locked")
    assert "force-unlock 'x; touch /tmp/pwned'` (after checking nobody is applying)" in locked["remedy"], locked


def test_ctrl_c_during_a_slow_apply_sends_exactly_one_sigint(rehearsal_workspace: Any, iac_bin: str,
                                                             tmp_path: Path) -> None:
    ws = rehearsal_workspace
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    env = {**os.environ, "GFW_TOFU_BIN": str(wrapper), "TF_VAR_apply_delay_seconds": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes", "--json"],
                            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        lines.append(line)
        event = json.loads(line)
        if event["event"] == "resource_applying" and event["address"] == "terraform_data.apply_delay[0]":
            time.sleep(0.3)  # let the provisioner start sleeping
            proc.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "the slow apply never started"
    out, err = proc.communicate(timeout=120)
    evs = events("".join(lines) + out)
    assert proc.returncode == 1, err
    assert evs[-1]["outcome"] == "interrupted"
    interrupted = of(evs, "stack_interrupted")
    assert [(e["stack"], e["phase"]) for e in interrupted if e["phase"] == "apply"] == [("attic", "apply")]
    assert "stopping gracefully" in err

    per_process = signals_per_process(log)
    apply_pids = {pid for pid, text in wrapper_log(log) if text == "run apply"}
    assert len(apply_pids) == 1
    assert per_process[next(iter(apply_pids))] == 1, wrapper_log(log)
    assert max(per_process.values()) == 1, "a process got more than one SIGINT"
    assert signals_per_process(log, "SIGTERM") == {}

    assert not [k for k in objects(ws) if k.endswith(".tflock")], "the lock was not released"
    saved = state(ws, "attic")
    assert "namespace" in {r["name"] for r in saved["resources"]}, "state of the finished resources was not saved"
    assert "workload" not in {r["name"] for r in saved["resources"]}
    attic = [e for e in journal(ws) if e["stack"] == "attic" and e["action"] == "apply"]
    assert attic[-1]["outcome"] == "interrupted" and attic[-1]["ended_at"]
    # Nothing after attic was applied. A plan still running when the SIGINT arrives may have its state
    # persisted by terraform on the way out (an empty state object, no resources): that is not an apply.
    assert "attic" in state_keys(ws)
    assert {k for k in state_keys(ws) - {"attic"} if state(ws, k)["resources"]} == set()


def test_a_terminal_hangup_during_a_slow_apply_stops_like_one_ctrl_c(rehearsal_workspace: Any, iac_bin: str,
                                                                      tmp_path: Path) -> None:
    """The operator's terminal closes (window closed, SSH dropped) mid-apply: SIGHUP, then every write
    to the terminal fails with EIO. The run still stops gracefully and is journaled."""
    import pty

    ws = rehearsal_workspace
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    env = {**os.environ, "GFW_TOFU_BIN": str(wrapper), "TF_VAR_apply_delay_seconds": "60"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes", "--json"],
                            cwd=REPO, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    with os.fdopen(master, "rb", buffering=0) as terminal:
        while b'"address":"terraform_data.apply_delay[0]"' not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen.decode(errors="replace")[-2000:]
            seen += terminal.read(65536)
        time.sleep(0.3)  # let the provisioner start sleeping
        proc.send_signal(signal.SIGHUP)
    # The terminal is gone: whatever gfwizard writes now fails with EIO.
    assert proc.wait(timeout=120) == 1

    apply_pids = {pid for pid, text in wrapper_log(log) if text == "run apply"}
    assert len(apply_pids) == 1
    assert signals_per_process(log)[next(iter(apply_pids))] == 1, wrapper_log(log)
    assert max(signals_per_process(log).values()) == 1, "a process got more than one SIGINT"
    assert signals_per_process(log, "SIGTERM") == {}
    assert not [k for k in objects(ws) if k.endswith(".tflock")], "the lock was not released"
    attic = [e for e in journal(ws) if e["stack"] == "attic" and e["action"] == "apply"]
    assert attic[-1]["outcome"] == "interrupted" and attic[-1]["ended_at"]


async def test_engine_cancel_from_the_event_callback_interrupts_once(rehearsal_workspace: Any, iac_bin: str,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    monkeypatch.setenv("GFW_TOFU_BIN", str(wrapper))
    monkeypatch.setenv("TF_VAR_apply_delay_seconds", "60")
    seen: list[DeployEvent] = []
    engine: DeployEngine

    def on_event(event: DeployEvent) -> None:
        seen.append(event)
        if isinstance(event, ResourceApplying) and event.address == "terraform_data.apply_delay[0]":
            asyncio.get_running_loop().call_later(0.3, engine.cancel)

    cfg = load_config(ws.config_path)
    engine = DeployEngine(cfg, "dev", stacks=["attic", "arc-runners"], assume_yes=True, on_event=on_event)
    result = await engine.run()
    assert result.outcome == "interrupted" and result.exit_code == 1
    # arc-runners may still be planning when the cancel comes: then its plan is interrupted too.
    assert [e.stack for e in seen if isinstance(e, StackInterrupted) and e.phase == "apply"] == ["attic"]
    assert {e.stack for e in seen if isinstance(e, StackInterrupted)} <= {"attic", "arc-runners"}
    assert max(signals_per_process(log).values()) == 1
    assert not [k for k in objects(ws) if k.endswith(".tflock")]

    # Resume completes the rollout.
    monkeypatch.delenv("TF_VAR_apply_delay_seconds")
    resumed = await DeployEngine(cfg, "dev", stacks=["attic", "arc-runners"], assume_yes=True, resume=True).run()
    assert resumed.outcome == "applied"
    assert [(s.stack, s.outcome) for s in resumed.stacks] == [("attic", "applied"), ("arc-runners", "applied")]
    assert {r["name"] for r in state(ws, "attic")["resources"]} == {"namespace", "workload"}


def test_canary_secrets_never_reach_transcripts_journal_or_json(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    canaries = {"TF_VAR_rehearsal_runner_token": "glrt-CANARYtokenQ7x9Zk2mWp4vN8",
                "AWS_SECRET_ACCESS_KEY": "canary-aws-Hf83kdL02mQ",
                "TF_HTTP_PASSWORD": "canary-http-Pw9aZ7xK"}
    proc = deploy("--env", "dev", "--yes", "--json", env=canaries)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The sensitive variable really reached the stack (and so the plan and the state).
    runner_token = next(r for r in state(ws, "gitlab-runners")["resources"] if r["name"] == "runner_token")
    assert canaries["TF_VAR_rehearsal_runner_token"] in json.dumps(runner_token["instances"][0]["attributes"])
    again = deploy("--env", "dev", "--yes", env=canaries)
    assert again.returncode == 0
    written = [p for p in ws.dir.rglob("*") if p.is_file()]
    state_dir = Path(os.environ["GFW_STATE_DIR"])
    written += [p for p in state_dir.rglob("*") if p.is_file()] if state_dir.exists() else []
    assert any(p.suffix == ".log" and "transcripts" in p.parts for p in written)
    assert any(p.suffix == ".jsonl" for p in written)
    for value in canaries.values():
        for text in (proc.stdout, proc.stderr, again.stdout, again.stderr):
            assert value not in text
        for path in written:
            assert value.encode() not in path.read_bytes(), f"{value} leaked into {path}"


async def test_prod_needs_the_environment_name_typed(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    cfg = load_config(ws.config_path)
    asked: list[ConfirmRequest] = []

    def wrong(request: ConfirmRequest) -> str:
        asked.append(request)
        return "dev"

    refused = await DeployEngine(cfg, "prod", stacks=["attic"], confirm=wrong).run()
    assert refused.outcome == "refused" and refused.exit_code == 1
    assert asked[0].typed and asked[0].env == "prod" and [s.stack for s in asked[0].stacks] == ["attic"]
    assert state_keys(ws, "prod") == set()

    yes_only = await DeployEngine(cfg, "prod", stacks=["attic"], confirm=lambda request: True).run()
    assert yes_only.outcome == "refused" and state_keys(ws, "prod") == set()

    applied = await DeployEngine(cfg, "prod", stacks=["attic"], confirm=lambda request: "prod").run()
    assert applied.outcome == "applied" and state_keys(ws, "prod") == {"attic"}


def test_gfwizard_killed_mid_apply_leaves_terraform_to_finish_and_the_next_run_says_so(
        rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    env = {**os.environ, "TF_VAR_apply_delay_seconds": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes", "--json",
                             "--stack", "attic"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "resource_applying" and event["address"] == "terraform_data.apply_delay[0]":
            proc.kill()
            break
    proc.wait(timeout=30)
    killed_run = journal(ws)[-1]
    assert (killed_run["stack"], killed_run["outcome"]) == ("attic", "started")
    # The entry names its process beyond the pid (boot id and start time): a reused pid is not taken for it.
    boot, _, ticks = killed_run["pid_token"].rpartition(":")
    assert boot == Path("/proc/sys/kernel/random/boot_id").read_text().strip() and ticks.isdigit(), killed_run

    # The orphaned terraform keeps going: it finishes the apply, saves state and releases the lock.
    deadline = time.monotonic() + 60
    while "workload" not in {r["name"] for r in (state(ws, "attic")["resources"] if "attic" in state_keys(ws)
                                                  else [])} or any(k.endswith(".tflock") for k in objects(ws)):
        assert time.monotonic() < deadline, "terraform did not finish after gfwizard was killed"
        time.sleep(0.2)

    again = deploy("--env", "dev", "--yes", "--json", "--stack", "attic", "--resume",
                   env={"TF_VAR_apply_delay_seconds": "3"})
    assert again.returncode == 0, again.stdout + again.stderr
    evs = events(again)
    unfinished = of(evs, "previous_run_unfinished")
    assert [(e["stack"], e["run_id"], e["process_alive"]) for e in unfinished] == [
        ("attic", killed_run["run_id"], False)]
    assert f"its process {killed_run['pid']} on {killed_run['operator']} is gone" in unfinished[0]["detail"]
    assert [s["outcome"] for s in evs[-1]["stacks"]] == ["no-changes"]


def test_a_closed_stdout_does_not_cut_the_rollout_short(rehearsal_workspace: Any, iac_bin: str) -> None:
    # `gfwizard deploy | tee log` and Ctrl-C (tee dies), or `| head -1`: the reader goes away mid-run.
    ws = rehearsal_workspace
    for as_json, delay in ((False, "1"), (True, "0.5")):  # a new delay: the second run has changes too
        env = {**os.environ, "TF_VAR_apply_delay_seconds": delay}
        proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes",
                                 *(["--json"] if as_json else [])], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert first, "nothing printed before the pipe was closed"
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=180) == 0, stderr
        assert "stdout was closed" in stderr
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
        run_id = max(e["run_id"] for e in journal(ws))
        outcomes = {e["stack"]: e["outcome"] for e in journal(ws) if e["run_id"] == run_id and e["action"] == "apply"}
        assert outcomes == {s: "applied" for s in ORDER}, outcomes
    assert state_keys(ws) == set(ORDER)
    assert not [k for k in objects(ws) if k.endswith(".tflock")]


async def test_an_observer_that_breaks_does_not_stop_the_rollout(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace

    class PrinterBug(RuntimeError):
        pass

    def on_event(event: DeployEvent) -> None:
        if isinstance(event, StackPlanned):
            raise PrinterBug(f"cannot print {event.stack}")

    engine = DeployEngine(load_config(ws.config_path), "dev", stacks=["attic", "arc-runners"], assume_yes=True,
                          on_event=on_event)
    # The plans run side by side: whichever is reported first breaks the observer first.
    with pytest.raises(PrinterBug, match="^cannot print (attic|arc-runners)$"):
        await engine.run()
    # The error surfaced only after the run was over: both stacks applied and journaled.
    assert state_keys(ws) == {"attic", "arc-runners"}
    applies = [(e["stack"], e["outcome"]) for e in journal(ws) if e["action"] == "apply" and e["outcome"] != "started"]
    assert applies == [("attic", "applied"), ("arc-runners", "applied")]
    assert not any(w.plan_file.exists() for w in engine.workers.values())


async def test_saved_plans_are_private_and_a_killed_runs_plan_is_swept(rehearsal_workspace: Any, iac_bin: str) -> None:
    """Plans hold variable values in clear text: 0600 files in 0700 directories while they exist; the
    next plan removes one a killed run left behind, and keeps one whose run is still alive."""
    ws = rehearsal_workspace
    canary = "glrt-CANARYplanQ7x9Zk2mWp4vN8"
    plan_dir = ws.dir / "work" / "dev" / "gitlab-runners"
    plan_dir.mkdir(parents=True)
    plan_dir.chmod(0o755)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = plan_dir / f"20261206T000000Z-aaaaaa-p{dead.pid}.tfplan"
    abandoned.write_text(canary)
    live = plan_dir / f"20261206T000000Z-bbbbbb-p{os.getppid()}.tfplan"
    live.write_text("another run's plan, still needed")

    engine = DeployEngine(load_config(ws.config_path), "dev", stacks=["gitlab-runners"], assume_yes=True,
                          environ={**os.environ, "TF_VAR_rehearsal_runner_token": canary})
    plans = await engine.plan_all()
    try:
        assert plans["gitlab-runners"].ready
        mine = engine.workers["gitlab-runners"].plan_file
        assert mine.parent == plan_dir and mine.stat().st_mode & 0o777 == 0o600
        assert plan_dir.stat().st_mode & 0o777 == 0o700
        assert not abandoned.exists(), "the killed run's plan (with its secret) was left behind"
        assert live.exists(), "a live run's plan was removed"
    finally:
        engine.discard()
    assert sorted(p.name for p in plan_dir.glob("*.tfplan")) == [live.name]


def test_a_killed_runs_plan_of_a_stack_that_resume_skips_is_swept(rehearsal_workspace: Any, iac_bin: str) -> None:
    # Plans were swept only by the next plan of their stack: a stack that --resume skips kept a killed run's plan
    # (variable values in clear text) for as long as resumes skipped it.
    ws = rehearsal_workspace
    assert deploy("--env", "dev", "--yes", "--stack", "attic").returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = ws.dir / "work" / "dev" / "attic" / f"20261206T000000Z-aaaaaa-p{dead.pid}.tfplan"
    abandoned.write_text("a killed run's plan")
    live = abandoned.with_name(f"20261206T000000Z-bbbbbb-p{os.getpid()}.tfplan")
    live.write_text("another run's plan, still needed")
    proc = deploy("--env", "dev", "--yes", "--stack", "attic", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(e["stack"], e["reason"].split(" in run")[0]) for e in of(events(proc), "stack_skipped")] == \
        [("attic", "deployed")]
    assert not abandoned.exists(), "the killed run's plan was left behind"
    assert live.exists(), "a live run's plan was removed"


def test_a_state_file_nobody_claimed_blocks_every_env_until_it_is_given_to_one(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """errored.tfstate in the (shared) stack directory, left by a run that was killed: it may be any
    environment's, so no environment plans over it, and the remedy says how to hand it to its owner."""
    from tests.integration.test_deploy_support import repo_copy

    ws = rehearsal_workspace
    repo = repo_copy(tmp_path)
    monkeypatch.setenv("GFW_REPO", str(repo))
    stray = repo / "tofu" / "rehearsal" / "attic" / "errored.tfstate"
    stray.write_text(json.dumps({"version": 4, "lineage": "5f0c1e2a-lineage", "serial": 3, "resources": []}))
    content = stray.read_bytes()
    bucket = objects(ws)
    for env in ("dev", "prod"):
        proc = deploy("--env", env, "--plan-only", "--json", "--stack", "attic")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        [failed] = of(events(proc), "stack_failed")
        assert failed["message"].startswith(f"{stray} holds state an apply could not save, and no gfwizard run "
                                            "claimed it for an environment")
        assert "its lineage is 5f0c1e2a-lineage" in failed["remedy"]
        dev_dir, prod_dir = ws.dir / "work" / "dev" / "attic", ws.dir / "work" / "prod" / "attic"
        assert f"dev: `mkdir -p {dev_dir} && mv -n {stray} {dev_dir}/`" in failed["remedy"]
        assert f"prod: `mkdir -p {prod_dir} && mv -n {stray} {prod_dir}/`" in failed["remedy"]
        assert not of(events(proc), "stack_planned")
    assert stray.read_bytes() == content and objects(ws) == bucket

    # Handed to dev (the command from the remedy): dev now shows the push steps, prod plans again.
    command = re.search(r"dev: `([^`]+)`", failed["remedy"])
    assert command is not None
    subprocess.run(["bash", "-c", command.group(1)], check=True)
    assert not stray.exists() and (dev_dir / "errored.tfstate").read_bytes() == content
    dev = deploy("--env", "dev", "--plan-only", "--json", "--stack", "attic")
    [failed] = of(events(dev), "stack_failed")
    assert "state push" in failed["remedy"] and "work/dev/attic/errored.tfstate" in failed["remedy"]
    prod = deploy("--env", "prod", "--plan-only", "--json", "--stack", "attic")
    assert prod.returncode == 0, prod.stdout + prod.stderr


def test_a_second_deploy_of_the_environment_is_refused_while_one_runs(rehearsal_workspace: Any, iac_bin: str) -> None:
    """Two runs would share the environment's data directories and journal: the second is refused before it
    writes anything, naming the first; once the first ends the next run goes ahead."""
    ws = rehearsal_workspace
    env = {**os.environ, "TF_VAR_apply_delay_seconds": "4"}
    first = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--yes", "--json",
                              "--stack", "attic"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert first.stdout is not None
        run_id = ""
        for line in first.stdout:
            event = json.loads(line)
            run_id = run_id or event.get("run_id", "")
            if event["event"] == "resource_applying" and event["address"] == "terraform_data.apply_delay[0]":
                break
        entries = len(journal(ws))
        second = deploy("--env", "dev", "--plan-only")
        assert second.returncode == 1, second.stdout + second.stderr
        assert "another deploy run of dev is running on this machine (" in second.stderr, second.stderr
        assert "wait for it to end (or stop it where it runs), then try again" in second.stderr
        assert f"(a deploy from the command line: run {run_id}, pid {first.pid} on " in second.stderr, second.stderr
        assert len(journal(ws)) == entries, "the refused run journaled"
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
    third = deploy("--env", "dev", "--plan-only")
    assert third.returncode == 0, third.stdout + third.stderr


def test_the_engine_redacts_the_secrets_of_the_environment_it_was_given(rehearsal_workspace: Any,
                                                                          iac_bin: str) -> None:
    # The wizard hands the engine its session's environment, which this process's redactor never saw.
    from gfwizard.redact import redact

    ws = rehearsal_workspace
    canary = "EngineOnlyCanary4Mv8Rt"  # no token shape: only its registration can hide it
    DeployEngine(load_config(ws.config_path), "dev", plan_only=True,
                 environ={**os.environ, "TF_HTTP_PASSWORD": canary, "AWS_SESSION_TOKEN": canary + "x"})
    assert canary not in redact(f"Error: 401 from the state server for {canary}")
    assert canary + "x" not in redact(f"signed with {canary}x")


#: A terraform that finishes the plan it was asked for whatever signal it gets meanwhile (as terraform does with
#: the work in flight), after a head start for attic: the other stacks are still planning when attic's plan ends.
_FINISHING_PLANNER = '''#!{python}
import os, signal, sys, time
with open({pids!r}, "a") as fh:
    fh.write(f"{{os.getpid()}}\\n")
if sys.argv[1:2] == ["plan"] and os.path.basename(os.getcwd()) != "attic":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the exec: the plan is finished and written
    time.sleep(3)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
'''


@pytest.mark.parametrize("half", ["run", "plan_all"])
async def test_a_run_that_stops_on_an_error_leaves_no_saved_plan_behind(rehearsal_workspace: Any, iac_bin: str,
                                                                       tmp_path: Path, half: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # A journal entry that cannot be written (a full disk) stops the run while other stacks are planning. The
    # run (or the wizard's first half, plan_all) deleted the saved plans before those plans ended, so the plans
    # their binaries finished afterwards (variable values in clear text) stayed on disk.
    from gfwizard.journal import JournalEntry, JournalWriteError
    from gfwizard.journal_process import pid_alive

    ws = rehearsal_workspace
    wrapper = tmp_path / "terraform"
    pids = tmp_path / "pids"
    wrapper.write_text(_FINISHING_PLANNER.format(python=sys.executable, real=iac_bin, pids=str(pids)))
    wrapper.chmod(0o755)
    finished: list[Any] = []
    engine = DeployEngine(load_config(ws.config_path), "dev", assume_yes=True,
                          environ={**os.environ, "GFW_TOFU_BIN": str(wrapper)},
                          on_event=lambda e: finished.append(e.result) if isinstance(e, RunFinished) else None)
    append = engine.journal.append

    def disk_full_at_attics_plan(entry: JournalEntry) -> None:
        if (entry.stack, entry.action) == ("attic", "plan"):
            raise JournalWriteError(engine.journal.path, OSError(28, "No space left on device"))
        append(entry)

    monkeypatch.setattr(engine.journal, "append", disk_full_at_attics_plan)
    if half == "run":  # a whole run still ends with its result, which says why it stopped
        result = await engine.run()
        assert result.outcome == "journal-unwritable" and result.exit_code == 1
        assert "No space left on device" in result.messages[0]
    else:
        with pytest.raises(JournalWriteError, match="No space left on device"):
            await engine.plan_all()
        # ... and ends the run as a whole run does (the wizard's Deploy step shows that result, not an error).
        [result] = finished
        assert result.outcome == "journal-unwritable" and "No space left on device" in result.messages[0]
        assert result.messages[1] == "nothing was applied in this run" and result.messages[2].startswith("remedy: ")
        assert result.journal_stop is not None and result.journal_stop.applied == ()
        assert {s.outcome for s in result.stacks} == {"not-run"}
    running = [int(pid) for pid in pids.read_text().split() if pid_alive(int(pid))]
    assert running == [], "a binary of the run still plans (it writes its saved plan when it ends)"
    assert not list((ws.dir / "work" / "dev").rglob("*.tfplan")), "a saved plan was left behind"


async def test_an_apply_stopped_by_an_unexpected_error_spends_the_engine(rehearsal_workspace: Any, iac_bin: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a cancel or plan_all's errors marked the engine spent: after an unexpected error in apply (a bug in a
    # stack's apply) the wizard planned and applied again on the same engine, whose stopped step stayed stopped.
    from gfwizard.stacks_worker import StackWorker

    ws = rehearsal_workspace
    engine = DeployEngine(load_config(ws.config_path), "dev", stacks=["attic"], assume_yes=True)
    plans = await engine.plan_all()
    assert plans["attic"].ready and not engine.spent

    async def broken_apply(self: StackWorker, planned: Any) -> Any:
        raise RuntimeError(f"a bug in {self.name}'s apply")

    monkeypatch.setattr(StackWorker, "apply", broken_apply)
    with pytest.raises(RuntimeError, match="^a bug in attic's apply$"):
        await engine.apply(plans)
    assert engine.spent, "the engine an unexpected error stopped was offered for the next action"
    assert not list((ws.dir / "work").rglob("*.tfplan")), "the saved plan was left"
    assert state_keys(ws) == set()


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_a_journal_that_cannot_be_written_mid_run_still_ends_with_the_result(rehearsal_workspace: Any, iac_bin: str,
                                                                             tmp_path: Path, as_json: bool) -> None:
    # The stream used to end with an error object instead of the result docs/json-output.md promises.
    ws = rehearsal_workspace
    path = ws.dir / "journal" / "dev.jsonl"
    wrapper = journal_replaced_at_apply(tmp_path / "terraform", iac_bin, path)
    proc = deploy("--env", "dev", "--yes", *(["--json"] if as_json else []), env={"GFW_TOFU_BIN": str(wrapper)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # Later stacks keep planning while arc-runners applies: whether one's 'planned' entry was lost too is timing.
    stopped = re.compile(re.escape(f"the run journal {path} cannot be written: Is a directory; the entry was not "
                                   "recorded: ") + r"the 'applied' entry of arc-runners( and the 'planned' entry of "
                         r"gitlab-runners)?( and the 'planned' entry of runner-dashboard)?; the run stopped there")
    applied = "applied in this run: attic, arc-runners (not recorded in the journal)"
    # (A plan the stop interrupted may leave an empty state object behind: resources are what an apply leaves.)
    assert {s for s in state_keys(ws) if state(ws, s)["resources"]} == {"attic", "arc-runners"}, \
        "something was applied after the journal failed"
    aside = [json.loads(line) for line in (path.parent / "dev.jsonl.aside").read_text().splitlines()]
    recorded = [(e["stack"], e["outcome"]) for e in aside]
    assert ("attic", "applied") in recorded and ("arc-runners", "started") in recorded
    assert ("arc-runners", "applied") not in recorded
    if not as_json:
        lines = proc.stdout.splitlines()
        assert lines[-1].startswith("result: journal-unwritable (run "), proc.stdout
        assert stopped.fullmatch(lines[-4]) and lines[-3] == applied, proc.stdout
        assert lines[-2].startswith("remedy: free space on"), proc.stdout
        assert "error:" not in proc.stderr
        return
    evs = events(proc)
    assert "error" not in evs[-1] and evs[-1]["event"] == "result", evs[-1]
    result = evs[-1]
    assert result["outcome"] == "journal-unwritable" and result["exit_code"] == 1
    assert [(s["stack"], s["outcome"]) for s in result["stacks"]] == [
        ("attic", "applied"), ("arc-runners", "applied"), ("gitlab-runners", "not-run"),
        ("runner-dashboard", "not-run")]
    assert result["stacks"][0]["error"] is None
    assert result["stacks"][1]["error"] == "its 'applied' entry could not be written to the journal"
    assert stopped.fullmatch(result["messages"][0]) and result["messages"][1] == applied, result["messages"]
    assert result["messages"][2].startswith(f"remedy: free space on (or fix the permissions of) {path.parent}")
    stop = result["journal_stop"]
    assert stop["applied"] == ["attic", "arc-runners"] and stop["unrecorded"] == ["arc-runners"], stop
    assert stop["lost"][0] == "the 'applied' entry of arc-runners", stop
    assert result["messages"][2] == f"remedy: {stop['remedy']}"
    assert [e["stack"] for e in of(evs, "stack_applied")] == ["attic", "arc-runners"]
