"""Scenario 5: Kubernetes API faults during validation, deploy and status.

Each fault gets its own rehearsal API server (so the slow ones run side by side): 500 on every call,
401, latency above the client's read timeout, and a blackhole (connections accepted, never answered);
plus a 500 while a deploy materialises its workloads, and a 410 on a status watch. Every one must end
in a clear message with a remedy, write nothing it should not, and leave the UI answering keys while
its worker is blocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.faults import helpers as h
from tests.functional import modal_named, on_step, text_of, wait_until
from tests.helpers import REPO, tree_digest

pytestmark = pytest.mark.integration

#: fault name -> how to inject it into a server's fault knobs.
FAULTS: dict[str, Callable[[Any], None]] = {
    "500": lambda api: api.faults.set_error(500),
    "401": lambda api: api.faults.set_error(401),
    "latency": lambda api: setattr(api.faults, "latency", 11.0),  # above the 10 s default read timeout
    "blackhole": lambda api: api.faults.blackhole(True),
}


class Stage:
    """A rehearsal API server of its own, a workspace on it (and the session S3), the env to reach it."""

    def __init__(self, directory: Path, s3: Any) -> None:
        from gfwizard.rehearsal.apiserver import RehearsalAPIServer
        from gfwizard.rehearsal.workspace import prepare_workspace

        self.api = RehearsalAPIServer().start()
        self.files = prepare_workspace(directory, api=self.api, s3=s3)
        self.env = {**os.environ, **self.files.env}

    def digest(self) -> dict[str, str]:
        """The workspace's files, minus the request logs every call appends to."""
        return {k: v for k, v in tree_digest(self.files.dir).items() if not k.endswith("requests.log")}

    def close(self) -> None:
        self.api.faults.clear()
        self.api.stop()


@pytest.fixture
def stages(tmp_path: Path, s3: Any) -> Iterator[Callable[[str], Stage]]:
    """``stage(name)``: a fresh API server + workspace per fault, stopped afterwards."""
    with ExitStack() as stack:
        def make(name: str) -> Stage:
            stage = Stage(tmp_path / name, s3)
            stack.callback(stage.close)
            return stage
        yield make


def _parallel(commands: dict[str, tuple[list[str], dict[str, str]]], timeout: float = 120) -> dict[str, Any]:
    """Run ``gfwizard ARGS`` for each name at once; name -> CompletedProcess-like (returncode, stdout, stderr)."""
    procs = {name: subprocess.Popen([sys.executable, "-m", "gfwizard", *args], cwd=REPO, env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
             for name, (args, env) in commands.items()}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


# -- validation ----------------------------------------------------------------------------------

VALIDATE_EXPECT = {
    "500": ("reachable", "500", "retry"),
    "401": ("credentials", "401", "fresh kubeconfig"),
    "latency": ("reachable", "did not answer within", "--read-timeout"),
    # Connections are accepted and the TLS handshake never answered: that runs under the connect timeout.
    "blackhole": ("reachable", "timed out after 2s", "--connect-timeout"),
}


def test_validate_under_api_faults_fails_with_a_remedy_and_writes_nothing(
        run: int, stages: Callable[[str], Stage]) -> None:
    staged = {name: stages(f"validate-{name}") for name in FAULTS}
    for name, stage in staged.items():
        FAULTS[name](stage.api)
    before = {name: stage.digest() for name, stage in staged.items()}
    started = time.monotonic()
    results = _parallel({name: (["validate", "--json", "--connect-timeout", "2", "--read-timeout", "3"], stage.env)
                         for name, stage in staged.items()})
    assert time.monotonic() - started < 60, "validation did not respect its timeouts"
    for name, proc in results.items():
        assert proc.returncode == 1, (name, proc.stdout[-2000:], proc.stderr[-2000:])
        check_name, detail, remedy = VALIDATE_EXPECT[name]
        checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
        assert checks[check_name]["level"] == "fail", (name, checks)
        assert detail in checks[check_name]["detail"], (name, checks[check_name])
        assert remedy in checks[check_name]["remedy"], (name, checks[check_name])
        assert all(c["remedy"] for c in checks.values() if c["level"] != "pass"), (name, checks)
        assert "Traceback" not in proc.stderr
        assert staged[name].digest() == before[name], f"{name}: validation wrote something"


# -- deploy --------------------------------------------------------------------------------------


def test_deploy_gates_under_api_faults_stop_before_any_apply(
        run: int, stages: Callable[[str], Stage], iac_bin: str, checkout: Path) -> None:
    staged = {name: stages(f"deploy-{name}") for name in FAULTS}
    for name, stage in staged.items():
        FAULTS[name](stage.api)
    args = ["deploy", "--env", "dev", "--yes", "--json", "--stack", "attic"]
    results = _parallel({name: (args, {**stage.env, "GFW_REPO": str(checkout)}) for name, stage in staged.items()},
                        timeout=180)
    for name, proc in results.items():
        assert proc.returncode == 1, (name, proc.stdout[-3000:], proc.stderr[-3000:])
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        result = events[-1]
        assert result["event"] == "result" and result["outcome"] == "gate-failed", (name, result)
        [gates] = [e for e in events if e["event"] == "gate_checked"]
        bad = [c for c in gates["checks"] if c["level"] == "fail"]
        assert bad and all(c["detail"] and c["remedy"] for c in bad), (name, gates)
        assert not [e for e in events if e["event"] == "apply_started"], f"{name}: applied despite the gate"
        assert h.current_state(_s3_client(staged[name]), staged[name].files.bucket, "dev", "attic") is None
        assert "Traceback" not in proc.stderr


def _s3_client(stage: Stage) -> Any:
    import boto3
    from botocore.config import Config

    env = stage.files.env
    return boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name=env["AWS_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": "path"}, connect_timeout=3, read_timeout=10))


def test_api_500_while_materialising_fails_with_a_remedy_and_resume_recovers(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    # Writes only: the deploy gate reads attic's workload there first (it does not run yet: a first deploy).
    ws.api.faults.set_error(500, path_prefix="/apis/apps/v1/namespaces/attic-dev", methods=("POST", "PUT"))
    args = ["--env", "dev", "--yes", "--json", "--stack", "attic"]
    failed = h.run_deploy(args, dict(os.environ))
    ws.api.faults.clear()
    assert failed.proc.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    [stack_failed] = failed.of("stack_failed")
    assert stack_failed["stack"] == "attic" and stack_failed["phase"] == "materialise"
    assert "500" in stack_failed["message"] and stack_failed["remedy"], stack_failed
    assert h.lock_objects(ws.s3.client(), ws.bucket) == []

    resumed = h.run_deploy(args + ["--resume"], dict(os.environ))
    assert resumed.proc.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert h.outcomes(resumed.result) == {"attic": "no-changes"} and resumed.of("stack_materialised")


# -- status --------------------------------------------------------------------------------------


STATUS_DETAIL = {"500": "500", "401": "401", "latency": "did not answer", "blackhole": "did not answer"}
STATUS_REMEDY = {"500": "the API server answered with an error", "401": "the kubeconfig's credentials were rejected",
                 "latency": "check that honey's API server is up and reachable",
                 "blackhole": "check that honey's API server is up and reachable"}


def test_status_once_under_api_faults_reports_with_a_remedy(run: int, stages: Callable[[str], Stage]) -> None:
    staged = {name: stages(f"status-{name}") for name in FAULTS}
    for name, stage in staged.items():
        FAULTS[name](stage.api)
    before = {name: stage.digest() for name, stage in staged.items()}
    commands = {}
    for name, stage in staged.items():
        commands[f"{name} json"] = (["status", "--once", "--json"], stage.env)
        commands[f"{name} text"] = (["status", "--once"], stage.env)
    started = time.monotonic()
    results = _parallel(commands, timeout=120)
    assert time.monotonic() - started < 60, "status --once did not respect its timeouts"
    for label, proc in results.items():
        name, kind = label.split()
        assert "Traceback" not in proc.stderr, (label, proc.stderr[-2000:])
        if name == "latency" and proc.returncode == 0:
            pytest.fail(f"{label}: an API slower than the read timeout was reported healthy")
        assert proc.returncode == 1, (label, proc.stdout[-2000:], proc.stderr[-2000:])
        if kind == "json":
            doc = json.loads(proc.stdout)
            assert doc["read_only"] is True and doc["healthy"] is False
            problem = next(p for p in doc["problems"] if p["kind"] == "api-unreachable")
            assert STATUS_DETAIL[name] in problem["detail"], (label, problem)
        else:
            # Whitespace joined: piped, the report is wrapped to 80 columns.
            problems = " ".join(proc.stdout.split("\nProblems\n", 1)[-1].split())
            assert "api-unreachable" in problems and STATUS_DETAIL[name] in problems, (label, problems)
            assert f"remedy: {STATUS_REMEDY[name]}" in problems, (label, problems)
    for name, stage in staged.items():
        assert stage.digest() == before[name], f"status wrote into the workspace under {name}"
        assert not [e for e in stage.api.request_log.entries() if e["method"] not in ("GET",)
                    and "selfsubjectaccessreviews" not in e["path"]], f"status wrote to the API under {name}"


# -- the UI stays responsive ---------------------------------------------------------------------


async def test_wizard_validate_blackholed_answers_keys_then_shows_the_remedy(
        run: int, rehearsal_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from screens.launch import build_app
    from screens.validate_screen import ValidateScreen

    ws = rehearsal_workspace
    monkeypatch.setattr(ValidateScreen, "TIMEOUTS", (1.0, 1.0))
    ws.api.faults.blackhole(True)
    try:
        app = build_app(rehearsal=ws, repo=REPO, start_at="validate")  # type: ignore[arg-type]
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "validate"), "the validate step")
            screen = app.screen
            await pilot.pause(0.3)
            assert screen.report is None, "validation finished although the API is blackholed"
            pressed = time.monotonic()
            await pilot.press("escape")  # handled while the validation worker is blocked on the API
            await wait_until(pilot, lambda: on_step(app, "kubeconfig"), "the key press to be handled", timeout=5)
            assert time.monotonic() - pressed < 2.5, "the UI did not answer a key while the worker was blocked"
            await wait_until(pilot, lambda: app.screen.discovery is not None, "discovery")
            await pilot.press("enter")
            await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None,
                             "validation to time out", timeout=30)
            check = app.screen.report.check("reachable")
            assert check.level.value == "fail" and "timed out after 1s" in check.detail, check
            assert check.remedy, check
            assert app.screen.blocked_reason() is not None
            ws.api.faults.clear()
            await pilot.press("r")
            await wait_until(pilot, lambda: app.screen.report is not None and app.screen.blocked_reason() is None,
                             "validation after the API came back", timeout=30)
    finally:
        ws.api.faults.clear()


async def test_deploy_step_gates_blackholed_answer_keys_then_show_the_remedy(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path) -> None:
    from screens.launch import build_app

    from tests.functional import backends_rendered

    ws = rehearsal_workspace
    backends_rendered(ws)  # as the Backend step leaves them
    app = build_app(rehearsal=ws, repo=checkout, start_at="deploy")  # type: ignore[arg-type]
    try:
        async with app.run_test(size=(100, 36)) as pilot:  # narrow: the placement pane is an overlay (t)
            await wait_until(pilot, lambda: on_step(app, "deploy") and app.screen.engine is not None
                             and app.screen.rows, "the engine")
            screen = app.screen
            await pilot.press("p")
            await wait_until(pilot, lambda: screen.plans and screen.busy is None, "plans", timeout=120)
            ws.api.faults.blackhole(True)
            await pilot.press("A")  # the gates run first, in the worker, against the blackholed API
            await wait_until(pilot, lambda: screen.busy == "apply", "the apply worker")
            pane = screen.query_one("#placement-pane")
            shown = pane.display
            await pilot.press("t")
            # Handled while the gates' worker still waits on the API (the proof; the bound only ends a hang).
            await wait_until(pilot, lambda: pane.display != shown, "the key press to be handled", timeout=8)
            assert screen.busy == "apply", "the gates were not blocked when the key was pressed"
            await wait_until(pilot, lambda: screen.busy is None, "the gates to give up", timeout=60)
            gates = text_of(screen.query_one("#gates"))
            assert gates.startswith("Gates failed · g: details") and "FAIL" in gates, gates
            assert "safety gate failed" in text_of(screen.query_one("#step-status")).lower()
            assert not screen.done, "something was applied although a gate failed"
            await pilot.press("g")  # every gate whole, the remedy included
            await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the gates dialog")
            assert "Remedy: " in text_of(app.screen.query_one("#error-message"))
    finally:
        ws.api.faults.clear()
    assert h.current_state(ws.s3.client(), ws.bucket, "dev", "attic") is None


async def test_status_app_blackholed_and_410_on_watch_answers_keys_and_recovers(
        run: int, rehearsal_workspace: Any) -> None:
    from screens.status_app import build_status_app

    ws = rehearsal_workspace
    ws.api.faults.blackhole(True)
    try:
        app = build_status_app(ws.config_path, dict(os.environ))
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause(0.3)
            pressed = time.monotonic()
            await pilot.press("2")  # the feed's worker is blocked connecting
            tabs = app.query_one("#panes")
            # Well inside the API timeouts the blocked feed waits for (a loaded CI host is slow to render).
            await wait_until(pilot, lambda: tabs.active == "nodes", "the key press to be handled", timeout=5)
            assert time.monotonic() - pressed < 5
            banner = app.query_one("#banner")
            await wait_until(pilot, lambda: "STALE" in text_of(banner), "the stale banner", timeout=40)
            # The banner names what fails; the remedy is in the API pane, above its table.
            assert "API unreachable" in text_of(banner), text_of(banner)
            notes = app.query_one("#cluster-notes")
            await wait_until(pilot, lambda: "remedy: check that honey's API server is up and reachable"
                             in text_of(notes), "the remedy in the API pane", timeout=5)
            ws.api.faults.clear()
            await wait_until(pilot, lambda: "live" in text_of(banner), "recovery after the API came back", timeout=40)
            applied = app.snapshots_applied
            ws.api.faults.set_error(410, count=1, path_prefix="/api/v1/pods")
            await pilot.press("r")
            await wait_until(pilot, lambda: app.snapshots_applied > applied and "live" in text_of(banner),
                             "a relist after the 410", timeout=40)
            await pilot.press("1")
            await wait_until(pilot, lambda: tabs.active == "cluster", "keys after the 410", timeout=2.5)
    finally:
        ws.api.faults.clear()
