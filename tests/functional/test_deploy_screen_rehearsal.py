"""The Deploy step with real terraform against the rehearsal S3 endpoint and API, driven by keys:
prod's typed confirmation (a wrong name applies nothing) and "apply next" applying exactly one stack;
cancel mid-apply (one SIGINT, lock released, stack interrupted) and resume; a lock held by another
operator shown as "locked by <who>".

The workspace's organization.yaml keeps two stacks (attic, arc-runners <- attic), which is enough
for ordering and apply-next, and keeps each test to seconds of terraform.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (
    REPO, backends_rendered, modal_named, on_step, text_of, type_into, wait_until, workspace_files,
)
from tests.helpers import journal_replaced_at_apply

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from screens.app import WizardApp
    from screens.deploy_screen import DeployScreen

pytestmark = pytest.mark.timeout(180)

STACKS = ["attic", "arc-runners"]
PREFIX = "gloriousflywheel"


@pytest.fixture
def two_stacks(rehearsal_workspace: WorkspaceFixture, scratch_namespaces: list[str]) -> WorkspaceFixture:
    """The rehearsal workspace with only attic and arc-runners in organization.yaml; the namespaces
    their twins materialise in the shared honey are deleted afterwards."""
    import re

    from gfwizard.orgconfig import OrgConfig, load_config, save_config

    namespace = re.compile(r'^(?:runners_)?namespace\s*=\s*"([^"]+)"', re.M)
    for stack in STACKS:
        for tfvars in (REPO / "tofu" / "rehearsal" / stack).glob("*.tfvars"):
            scratch_namespaces.extend(namespace.findall(tfvars.read_text()))
    ws = rehearsal_workspace
    data = load_config(ws.config_path).model_dump()
    data["stacks"] = [s for s in data["stacks"] if s["name"] in STACKS]
    data["placement"]["stacks"] = {k: v for k, v in data["placement"]["stacks"].items() if k in STACKS}
    save_config(OrgConfig.model_validate(data), ws.config_path)
    return ws


def keys(ws: WorkspaceFixture) -> list[str]:
    """Every object key in the workspace bucket."""
    client = ws.s3.client()
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=ws.bucket):
        out += [o["Key"] for o in page.get("Contents", []) or []]
    return out


def states(ws: WorkspaceFixture, env: str) -> set[str]:
    """Stacks with a state object in ``env``."""
    prefix = f"{PREFIX}/{env}/"
    return {k[len(prefix):-len(".tfstate")] for k in keys(ws) if k.startswith(prefix) and k.endswith(".tfstate")}


def applied(ws: WorkspaceFixture, env: str) -> set[str]:
    """Stacks whose state object in ``env`` holds resources: a plan the run stopped may leave an empty state
    object behind (the binary persists state on its way out); resources are what an apply leaves."""
    import json

    client = ws.s3.client()
    return {stack for stack in states(ws, env) if json.loads(client.get_object(
        Bucket=ws.bucket, Key=f"{PREFIX}/{env}/{stack}.tfstate")["Body"].read()).get("resources")}


def locks(ws: WorkspaceFixture) -> list[str]:
    return [k for k in keys(ws) if k.endswith(".tflock")]


def deploy_app(ws: WorkspaceFixture) -> "WizardApp":
    from screens.launch import build_app

    backends_rendered(ws)  # as the Backend step leaves them
    return build_app(rehearsal=ws, repo=REPO, start_at="deploy")  # type: ignore[arg-type]


async def engine_for(pilot: "Pilot[None]", app: "WizardApp", env: str) -> "DeployScreen":
    """The deploy screen once its engine for ``env`` is ready."""
    from screens.deploy_screen import DeployScreen

    await wait_until(pilot, lambda: on_step(app, "deploy") and isinstance(app.screen, DeployScreen)
                     and app.screen.engine is not None and app.screen.engine.env == env
                     and list(app.screen.rows) == STACKS, f"the {env} engine")
    return app.screen  # type: ignore[return-value]


async def idle(pilot: "Pilot[None]", screen: "DeployScreen", what: str, timeout: float = 90) -> None:
    await wait_until(pilot, lambda: screen.busy is None, what, timeout=timeout)


async def test_prod_needs_the_typed_name_and_apply_next_applies_exactly_one_stack(
        two_stacks: WorkspaceFixture, iac_bin: str) -> None:
    from textual.widgets import Button

    ws = two_stacks
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("e")
        screen = await engine_for(pilot, app, "prod")
        assert text_of(screen.query_one("#deploy-banner")).startswith(" ENV PROD")
        before = workspace_files(ws)
        assert screen.engine is not None
        prod_files = {screen.engine.layout.backend_file(s, "prod", "s3") for s in STACKS}
        assert all(str(path).startswith(str(ws.dir)) for path in prod_files)
        assert not any(path.exists() for path in prod_files), "prod's backend files exist before anyone asked"

        # Planning prod renders prod's backend files: asked first; declining writes and plans nothing.
        await pilot.press("p")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the backend files dialog")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert "Planning prod renders its backend files first" in body and "prod.s3.tfbackend" in body
        await pilot.press("escape")
        await idle(pilot, screen, "the declined plan")
        assert text_of(screen.query_one("#step-status")) == (
            "Not planned: prod's backend files were not written. p asks again.")
        assert workspace_files(ws) == before and [screen.rows[s].state for s in STACKS] == ["pending", "pending"]

        await pilot.press("p")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the backend files dialog again")
        await pilot.press("y")
        await idle(pilot, screen, "plan all in prod")
        assert [screen.rows[s].state for s in STACKS] == ["planned", "planned"]
        assert all(path.is_file() for path in prod_files)

        await pilot.press("a")
        await wait_until(pilot, lambda: modal_named(app, "TypedConfirmModal"), "the typed confirmation")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert "attic" in body and "arc-runners" not in body, "apply next asks for more than one stack"
        # The step says it waits for the dialog (not "running… c cancels"), and the dialog shows its own keys.
        assert text_of(screen.query_one("#step-status")) == \
            "Waiting for your answer in the dialog (nothing runs until then)."
        from textual.widgets import Footer
        assert app.screen.query(Footer), "the dialog shows the step's keys instead of its own"
        await type_into(pilot, "#typed-confirm", "prd")
        assert app.screen.query_one("#confirm-yes", Button).disabled
        await pilot.press("enter")  # a wrong name submitted: nothing is applied, and the dialog says why
        await wait_until(pilot, lambda: text_of(app.screen.query_one("#typed-mismatch")) != "", "the mismatch note")
        assert modal_named(app, "TypedConfirmModal")
        assert text_of(app.screen.query_one("#typed-mismatch")) == \
            "'prd' is not 'prod': type the environment name exactly to apply, or Escape to cancel"
        await type_into(pilot, "#typed-confirm", "[b]x")  # typing again clears it; markup is shown as typed
        assert text_of(app.screen.query_one("#typed-mismatch")) == ""
        await pilot.press("enter")
        await wait_until(pilot, lambda: text_of(app.screen.query_one("#typed-mismatch")) != "", "the second note")
        assert text_of(app.screen.query_one("#typed-mismatch")).startswith("'[b]x' is not 'prod'")
        assert states(ws, "prod") == set() and locks(ws) == []
        await pilot.press("escape")
        await idle(pilot, screen, "the refused apply")
        refused = text_of(screen.query_one("#step-status"))
        assert refused.startswith("Nothing applied: the confirmation was cancelled."), refused
        assert refused.endswith("Next needs every stack applied (a or A asks again; Escape goes back)."), refused
        assert states(ws, "prod") == set() and locks(ws) == []
        assert [screen.rows[s].state for s in STACKS] == ["planned", "planned"]

        await pilot.press("a")  # the refused run deleted its saved plans: this plans again, then asks
        await wait_until(pilot, lambda: modal_named(app, "TypedConfirmModal"), "the typed confirmation again")
        await type_into(pilot, "#typed-confirm", "prod")
        assert not app.screen.query_one("#confirm-yes", Button).disabled
        await pilot.press("enter")
        await idle(pilot, screen, "apply next in prod")
        assert [screen.rows[s].state for s in STACKS] == ["applied", "planned"]
        assert states(ws, "prod") == {"attic"} and states(ws, "dev") == set() and locks(ws) == []
        assert app.session.deploy_outcomes == {"attic": "applied", "arc-runners": "not applied"}
        assert screen.blocked_reason() is not None and screen.check_action("apply_next", ()) is True


async def test_cancel_mid_apply_interrupts_once_releases_the_lock_and_resume_completes(
        two_stacks: WorkspaceFixture, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.faults.helpers import DELAY_ADDRESS, make_wrapper

    ws = two_stacks
    wrapper = make_wrapper(tmp_path, iac_bin)
    monkeypatch.setenv("GFW_TOFU_BIN", str(wrapper.path))
    monkeypatch.setenv("TF_VAR_apply_delay_seconds", "60")
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("A")  # apply all: plans first, then asks
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply confirmation", timeout=90)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.rows["attic"].state == "applying" and any(
            DELAY_ADDRESS in line and "Creating" in line for line in screen.log_pane.buffers.get("attic", ())),
            "attic sleeping in its apply", timeout=60)
        assert screen.check_action("cancel", ()) is True
        await pilot.press("c")
        await idle(pilot, screen, "the cancelled apply", timeout=60)

        assert screen.rows["attic"].state == "interrupted" and screen.rows["attic"].detail == "(apply)"
        assert screen.rows["arc-runners"].state == "planned", "a stack after the interrupt was touched"
        assert app.session.deploy_outcomes["attic"] == "interrupted"
        assert "Cancelled" in text_of(screen.query_one("#step-status"))
        applies = wrapper.runs("apply")
        assert len(applies) == 1
        assert wrapper.signals("SIGINT") == {applies[0]: 1}, wrapper.lines()
        assert not wrapper.signals("SIGTERM") and not wrapper.signals("SIGKILL")
        assert locks(ws) == [], "the state lock was left behind"
        assert states(ws, "dev") <= {"attic"}
        assert screen.check_action("resume", ()) is True and screen.check_action("cancel", ()) is False

        monkeypatch.delenv("TF_VAR_apply_delay_seconds")
        await pilot.press("r")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the resume confirmation", timeout=90)
        await pilot.press("y")
        await idle(pilot, screen, "the resumed run")
        assert [screen.rows[s].state for s in STACKS] == ["applied", "applied"]
        assert states(ws, "dev") == set(STACKS) and locks(ws) == []
        assert screen.blocked_reason() is None
        assert wrapper.signals("SIGINT") == {applies[0]: 1}, "the resumed run was interrupted too"
        # Nothing is left to resume, and the Done step will link transcripts that exist.
        assert screen.check_action("resume", ()) is False
        assert all(Path(app.session.transcripts[s]).is_file() for s in STACKS), app.session.transcripts
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "done"), "the Done step")
        # Back from Done: the Deploy step still shows what was applied, and Next still works.
        await pilot.press("escape")
        back = await engine_for(pilot, app, "dev")
        assert back is not screen and [back.rows[s].state for s in STACKS] == ["applied", "applied"]
        assert back.blocked_reason() is None and app.session.deploy_outcomes == {s: "applied" for s in STACKS}
        assert text_of(back.query_one("#step-status")).startswith("Every stack is applied.")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "done"), "the Done step again")


async def test_a_lock_held_by_another_operator_shows_who_holds_it(two_stacks: WorkspaceFixture, iac_bin: str) -> None:
    from tests.status_support import put_lock

    ws = two_stacks
    lock_id = put_lock(ws, "dev", "attic", age=timedelta(minutes=7), who="bob@ci-runner")
    held = ws.s3.client().get_object(Bucket=ws.bucket, Key=f"{PREFIX}/dev/attic.tfstate.tflock")["Body"].read()
    app = deploy_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("p")
        await idle(pilot, screen, "plan all")
        attic = screen.rows["attic"]
        assert attic.state == "locked" and attic.label().plain == "locked by bob@ci-runner for 7m"
        # The engine plans independent of a dependency still planning; nothing after attic is applied.
        assert screen.rows["arc-runners"].state in ("planned", "not planned")
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith("attic is locked by bob@ci-runner for 7m") and lock_id in status
        # At 80 columns the cell is cut: the whole state is repeated under the list.
        assert "attic: locked by bob@ci-runner for 7m" in text_of(screen.query_one("#stack-detail"))
        assert app.session.deploy_outcomes["attic"] == "locked by bob@ci-runner for 7m"
        assert screen.check_action("apply_all", ()) is False and screen.check_action("resume", ()) is True
        assert screen.blocked_reason() is not None
    body = ws.s3.client().get_object(Bucket=ws.bucket, Key=f"{PREFIX}/dev/attic.tfstate.tflock")["Body"].read()
    assert body == held, "someone else's lock was touched"
    assert states(ws, "dev") == set()



async def test_quitting_with_the_apply_question_open_declines_it_and_exits(
        two_stacks: WorkspaceFixture, iac_bin: str) -> None:
    import time

    ws = two_stacks
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("p")
        await idle(pilot, screen, "plan all")
        await pilot.press("a")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply question")
        assert screen.quit_warning() is None, "quitting is said to interrupt a run while only a question waits"
        started = time.monotonic()
        await pilot.press("ctrl+q")
    assert time.monotonic() - started < 20, "quitting waited for an answer nobody could give"
    assert app.return_code == 0
    assert not screen.host.busy and screen.host.loop.is_closed()
    assert states(ws, "dev") == set() and locks(ws) == []
    assert not list((ws.dir / "work").rglob("*.tfplan")), "the saved plans were left behind"


async def test_a_plan_refused_by_another_run_of_the_environment_says_so_and_p_retries(
        two_stacks: WorkspaceFixture, iac_bin: str) -> None:
    from gfwizard.stacks_runlock import RunLock

    ws = two_stacks
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        assert screen.engine is not None
        other = RunLock(screen.engine.journal.path.with_name("dev.lock"), "dev")
        other.acquire("20261207T000000Z-other1")  # as a `gfwizard deploy` in another shell would
        try:
            await pilot.press("p")
            await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error")
            await pilot.press("escape")
            await idle(pilot, screen, "the refused plan")
            status = text_of(screen.query_one("#step-status"))
            assert status.startswith("Plan stopped: another deploy run of dev is running on this machine "
                                     "(run 20261207T000000Z-other1, pid "), status
            assert status.endswith("Wait for it to end (or stop it where it runs), then try again; the wizard's "
                                   "Deploy step holds it from its first plan until its apply ends or the step is "
                                   "left (p plans again)."), status
            assert "running…" not in status and keys(ws) == []
        finally:
            other.release()
        await pilot.press("p")
        await idle(pilot, screen, "the plan once the other run ended")
        assert [screen.rows[s].state for s in STACKS] == ["planned", "planned"]


async def test_a_journal_that_cannot_be_written_mid_apply_ends_the_run_with_its_result_not_an_error(
        two_stacks: WorkspaceFixture, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The wizard's two-step path raised the journal's error out of apply: the generic error modal, and neither
    # what each stack reached nor that arc-runners' apply was not recorded.
    ws = two_stacks
    journal = ws.dir / "journal" / "dev.jsonl"
    wrapper = journal_replaced_at_apply(tmp_path / "terraform", iac_bin, journal)
    monkeypatch.setenv("GFW_TOFU_BIN", str(wrapper))
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("p")
        await idle(pilot, screen, "plan all")
        await pilot.press("A")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply question")
        await pilot.press("y")
        await idle(pilot, screen, "apply all")
        await pilot.pause()
        assert not modal_named(app, "ErrorModal"), "the stopped run opened the generic error modal"
        assert [(n, r.state) for n, r in screen.rows.items()] == [("attic", "applied"), ("arc-runners", "applied")]
        assert app.session.deploy_outcomes["arc-runners"] == "applied (not recorded in the journal)"
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith("The run stopped: its journal cannot be written. Applied in this run: attic, "
                                 "arc-runners (not recorded in the journal). Enter shows why whole — free space on "
                                 f"(or fix the permissions of) {journal.parent}"), status
        await pilot.press("enter")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the stop, whole")
        message = text_of(app.screen.query_one("#error-message"))
        assert message.startswith(f"the run journal {journal} cannot be written: Is a directory; the entry was not "
                                  "recorded: the 'applied' entry of arc-runners"), message
        assert "applied in this run: attic, arc-runners (not recorded in the journal)." in message
    assert states(ws, "dev") == set(STACKS)
    assert not list((ws.dir / "work").rglob("*.tfplan")), "the saved plans were left behind"


@pytest.mark.parametrize("first_locked", [False, True], ids=["second-locked", "first-locked"])
async def test_an_apply_that_stops_at_a_lock_found_when_it_plans_again_names_the_lock(
        two_stacks: WorkspaceFixture, iac_bin: str, first_locked: bool) -> None:
    # The apply plans first (nothing is planned yet) and finds the lock then; what it said after (the question
    # answered, attic applied) replaced the lock with "a applies the next" or "Nothing to apply".
    from tests.status_support import put_lock

    ws = two_stacks
    locked = "attic" if first_locked else "arc-runners"
    lock_id = put_lock(ws, "dev", locked, age=timedelta(minutes=7), who="bob@ci-runner")
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("a" if first_locked else "A")
        if not first_locked:
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply question")
            await pilot.press("y")
        await idle(pilot, screen, "the apply")
        await pilot.pause()
        assert screen.rows[locked].state == "locked"
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith(f"{locked} is locked by bob@ci-runner for 7m (Enter on {locked} shows the way out "
                                 "whole): wait for bob@ci-runner to finish"), status
        assert lock_id in status and "applies the next" not in status
    assert states(ws, "dev") == ({"attic"} if not first_locked else set())


async def test_a_journal_that_cannot_be_written_while_planning_ends_the_run_and_p_plans_afresh(
        two_stacks: WorkspaceFixture, iac_bin: str) -> None:
    # plan_all's journal error opened the generic error modal; and the stopped run's stacks stayed stopped: the
    # next plan on the same engine said "interrupted" at once for a stack whose binary the stop had interrupted.
    ws = two_stacks
    journal = ws.dir / "journal" / "dev.jsonl"
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        stopped = screen.engine
        assert stopped is not None
        await pilot.press("p")  # (a journal that cannot be read when the engine first reads it is another error)
        await idle(pilot, screen, "the first plan")
        aside = journal.with_name("dev.jsonl.aside")
        if journal.exists():
            journal.rename(aside)
        journal.mkdir()
        await pilot.press("p")
        await idle(pilot, screen, "the stopped plan")
        await pilot.pause()
        assert not modal_named(app, "ErrorModal"), "the stopped run opened the generic error modal"
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith("The run stopped: its journal cannot be written. Nothing was applied in this run. "
                                 "Enter shows why whole"), status
        assert {row.state for row in screen.rows.values()} <= {"not run", "interrupted"}
        journal.rmdir()
        if aside.exists():
            aside.rename(journal)
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.busy is None and screen.engine is not stopped, "a new engine's plan")
        assert screen.engine is not None and screen.engine.run_id != stopped.run_id
        assert [(n, r.state) for n, r in screen.rows.items()] == [("attic", "planned"), ("arc-runners", "planned")]
        assert not text_of(screen.query_one("#step-status")).startswith("The run stopped")
    assert applied(ws, "dev") == set()


async def test_a_journal_that_cannot_be_read_at_the_first_plan_is_refused_as_at_the_engine_start(
        two_stacks: WorkspaceFixture, iac_bin: str) -> None:
    # The journal was checked only when the engine was built: replaced by a directory after that, the first plan
    # read it unchecked and the step showed a raw IsADirectoryError in the generic error modal.
    ws = two_stacks
    journal = ws.dir / "journal" / "dev.jsonl"
    app = deploy_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        if journal.exists():
            journal.rename(journal.with_name("dev.jsonl.aside"))
        journal.mkdir(parents=True)
        before = workspace_files(ws)
        await pilot.press("p")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error")
        message = text_of(app.screen.query_one("#error-message"))
        assert message == f"the run journal {journal} cannot be read: Is a directory; nothing was run", message
        remedy = text_of(app.screen.query_one("#error-remedy"))
        assert f"move it aside (`mv {journal} {journal}.aside`)" in remedy, remedy
        await pilot.press("escape")
        await idle(pilot, screen, "the refused plan")
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith(f"Plan stopped: the run journal {journal} cannot be read: Is a directory; nothing "
                                 f"was run. Fix its permissions, or move it aside (`mv {journal} {journal}.aside`)"), \
            status
        assert status.endswith("(p plans again)."), status
        assert [screen.rows[s].state for s in STACKS] == ["pending", "pending"]
        assert workspace_files(ws) == before, "the refused plan wrote files"
        assert keys(ws) == [] and list(journal.iterdir()) == []


_SLOW_SECOND_PLAN = """#!{python}
import os, sys, time
started = {started!r}
# arc-runners' first plan says it runs, then runs until it is interrupted (a stop of the run sends one SIGINT).
if sys.argv[1:2] == ["plan"] and os.path.basename(os.getcwd()) == "arc-runners" and not os.path.exists(started):
    open(started, "w").close()
    time.sleep(120)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


@pytest.mark.parametrize("broken", ["stack-plan", "event-handler"])
async def test_a_plan_stopped_by_an_unexpected_error_is_followed_by_a_fresh_engine(
        two_stacks: WorkspaceFixture, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        broken: str) -> None:
    # Only a cancel or a journal stop built a new engine for the next action: after another error stopped plan_all
    # partway (a bug in a stack's plan, or in the step's handling of the engine's events), the stacks it had
    # stopped stayed stopped, and the next p said "plan interrupted" at once for arc-runners.
    import asyncio
    import sys

    from gfwizard.stacks_events import StackPlanned
    from gfwizard.stacks_worker import StackWorker
    from screens.deploy_screen import DeployScreen

    started = tmp_path / "arc-runners-planning"
    wrapper = tmp_path / "terraform"
    wrapper.write_text(_SLOW_SECOND_PLAN.format(python=sys.executable, real=iac_bin, started=str(started)))
    wrapper.chmod(0o755)
    if broken == "stack-plan":
        monkeypatch.setenv("GFW_TOFU_BIN", str(wrapper))
    failed: list[str] = []

    async def arc_runners_planning() -> None:
        while not started.exists():
            await asyncio.sleep(0.05)

    summarise = StackWorker.summarise

    async def broken_summarise(self: StackWorker) -> object:
        if broken == "stack-plan" and self.name == "attic" and not failed:
            await arc_runners_planning()
            failed.append(self.name)
            raise RuntimeError("a bug in attic's plan")
        return await summarise(self)

    on_event = DeployScreen._on_event

    def broken_on_event(self: DeployScreen, event: object) -> None:
        if broken == "event-handler" and isinstance(event, StackPlanned) and event.stack == "attic" and not failed:
            failed.append(event.stack)
            raise RuntimeError("a bug in the step's event handler")
        on_event(self, event)  # type: ignore[arg-type]

    monkeypatch.setattr(StackWorker, "summarise", broken_summarise)
    monkeypatch.setattr(DeployScreen, "_on_event", broken_on_event)
    app = deploy_app(ws := two_stacks)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        stopped = screen.engine
        assert stopped is not None
        await pilot.press("p")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error")
        assert text_of(app.screen.query_one("#error-message")).startswith("RuntimeError: a bug in "), failed
        await pilot.press("escape")
        await idle(pilot, screen, "the stopped plan")
        assert text_of(screen.query_one("#step-status")) == (
            "Plan stopped on an error (see the error); p plans again once it is fixed.")
        # No row claims a plan still runs: the stopped ones say so.
        assert all(r.state != "planning" for r in screen.rows.values()), [(n, r.state) for n, r in screen.rows.items()]
        assert "not planned" in [r.state for r in screen.rows.values()]
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.busy is None and screen.engine is not stopped, "a new engine's plan")
        assert not modal_named(app, "ErrorModal")
        assert screen.engine is not None and screen.engine.run_id != stopped.run_id
        assert [(n, r.state) for n, r in screen.rows.items()] == [("attic", "planned"), ("arc-runners", "planned")]
    assert applied(ws, "dev") == set()


async def test_planning_runs_the_gates_and_a_failed_one_holds_every_plan_back(two_stacks: WorkspaceFixture,
                                                                               iac_bin: str) -> None:
    # p planned without a gate, while `gfwizard deploy --plan-only` ran them: a preview of a cluster that is not
    # the pinned honey read as one of it, and a applied it once the apply's gates passed.
    from gfwizard.orgconfig import load_config

    ws = two_stacks
    good = ws.config_path.read_text()
    ws.config_path.write_text(good.replace(ws.api.kube_system_uid, "00000000-0000-4000-8000-000000000000", 1))
    app = deploy_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        ws.api.request_log.clear()
        bucket = keys(ws)
        await pilot.press("p")
        await idle(pilot, screen, "the plan")
        await pilot.pause()
        assert screen.gates is not None and not screen.gates.ok, screen.gates
        fingerprint = next(c for c in screen.gates.checks if c.name == "fingerprint")
        assert fingerprint.detail.startswith("fingerprint mismatch") and fingerprint.remedy
        assert text_of(screen.query_one("#gates")).splitlines() == ["Gates failed · g: details", "FAIL fingerprint"]
        status = text_of(screen.query_one("#step-status"))
        assert status == ("A safety gate failed (fingerprint) while planning: these plans are no preview of a deploy, "
                          "and none can be applied. g shows each gate's detail and remedy; p plans again once it is "
                          "followed."), status
        assert screen.query_one("#step-status").has_class("blocked")
        assert not screen.check_action("apply_next", ()) and not screen.check_action("apply_all", ())
        assert not list((ws.dir / "work").rglob("*.tfplan")), "a held-back plan was kept"
        # No row says "planned" of a plan that is gone (which stacks got as far as planning is timing).
        states_shown = [r.state for r in screen.rows.values()]
        assert "planned" not in states_shown and "held back" in states_shown, states_shown
        # Resume would only plan again and stop at the same gates: not offered (whether or not the gates failed before
        # a stack started planning: "not planned" offers r otherwise), and r does nothing.
        assert screen.check_action("resume", ()) is False
        held_engine = screen.engine
        await pilot.press("r")
        await pilot.pause()
        assert screen.busy is None and screen.engine is held_engine and text_of(screen.query_one("#step-status")) == \
            status
        await pilot.press("g")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the gates dialog")
        shown = text_of(app.screen.query_one("#error-message"))
        assert f"FAIL fingerprint: {fingerprint.detail}\n  Remedy: {fingerprint.remedy}" in shown, shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "back on the step")
        # Nothing was written: no state, nothing into the unverified cluster, the lock probe's object removed.
        assert states(ws, "dev") == set() and keys(ws) == bucket
        assert [e for e in ws.api.request_log.entries() if e["method"] != "GET"] == []

        # The remedy followed (organization.yaml edited back), p plans again on a new engine that reads it.
        ws.config_path.write_text(good)
        held = screen.engine
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.busy is None and screen.engine is not held, "the plan after the fix")
        await pilot.pause()
        assert screen.gates is not None and screen.gates.ok, screen.gates
        assert text_of(screen.query_one("#gates")) == "Gates passed · g: details"
        assert [(n, r.state) for n, r in screen.rows.items()] == [("attic", "planned"), ("arc-runners", "planned")]
        assert screen.check_action("apply_next", ())
        assert text_of(screen.query_one("#step-status")).startswith("2/2 stacks planned, 2 with changes.")
    assert states(ws, "dev") == set()
    assert load_config(ws.config_path).cluster.fingerprint is not None


async def test_an_apply_stopped_by_an_unexpected_error_is_followed_by_a_fresh_engine(
        two_stacks: WorkspaceFixture, iac_bin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # After an unexpected error in the engine's apply (a bug in a stack's apply) the next action ran on the same
    # engine, as only a cancel, a journal stop or an error in plan_all made a new one.
    from typing import Any

    from gfwizard.stacks_worker import StackWorker

    failed: list[str] = []
    apply = StackWorker.apply

    async def broken_apply(self: StackWorker, planned: Any) -> Any:
        if not failed:
            failed.append(self.name)
            raise RuntimeError(f"a bug in {self.name}'s apply")
        return await apply(self, planned)

    monkeypatch.setattr(StackWorker, "apply", broken_apply)
    app = deploy_app(ws := two_stacks)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        stopped = screen.engine
        assert stopped is not None
        await pilot.press("p")
        await idle(pilot, screen, "the plan")
        await pilot.press("a")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply question")
        await pilot.press("y")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error")
        assert text_of(app.screen.query_one("#error-message")) == "RuntimeError: a bug in attic's apply"
        await pilot.press("escape")
        await idle(pilot, screen, "the stopped apply")
        assert stopped.spent
        # No event will end the apply now: its row stopped saying "applying".
        assert screen.rows["attic"].state == "interrupted", [(n, r.state) for n, r in screen.rows.items()]
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.busy is None and screen.engine is not stopped, "a new engine's plan")
        assert not modal_named(app, "ErrorModal")
        assert screen.engine is not None and screen.engine.run_id != stopped.run_id
        assert [(n, r.state) for n, r in screen.rows.items()] == [("attic", "planned"), ("arc-runners", "planned")]
    assert states(ws, "dev") == set()


async def test_e_leaves_an_environment_whose_engine_could_not_start(two_stacks: WorkspaceFixture,
                                                                     iac_bin: str) -> None:
    """An environment whose engine cannot be built (its tfvars file does not exist) offers no plan, but e still
    switches to the next environment: it was hidden with the engine, and the step came back to the same error
    after every Escape and return, so the operator could not reach dev again without editing organization.yaml."""
    from gfwizard.orgconfig import OrgConfig, load_config, save_config

    ws = two_stacks
    data = load_config(ws.config_path).model_dump()
    data["environments"]["qa"] = {"cluster": "honey", "tfvars": "qa.tfvars"}
    save_config(OrgConfig.model_validate(data), ws.config_path)
    app = deploy_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await engine_for(pilot, app, "dev")
        await pilot.press("e")
        screen = await engine_for(pilot, app, "prod")
        await pilot.press("e")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the engine error")
        assert "qa.tfvars does not exist" in text_of(app.screen.query_one("#error-message"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the error closed")
        assert app.session.env == "qa" and screen.engine is None
        assert "could not start" in text_of(screen.query_one("#step-status"))
        assert screen.check_action("plan_all", ()) is False
        assert screen.check_action("switch_env", ()) is True, "e is hidden: the operator is stuck on qa"
        await pilot.press("e")
        screen = await engine_for(pilot, app, "dev")
        assert app.session.env == "dev" and not modal_named(app, "ErrorModal")
        assert "could not start" not in text_of(screen.query_one("#step-status"))
