"""The Deploy step without terraform: the apply confirmation's body, the bounded log pane with follow
and search, which plans "apply next" hands to the engine, cancel and its escalation, the env switch,
and a worker error opening the error modal (never a traceback).

Most tests turn ``DeployScreen.LIVE`` off and feed the screen fixed engine events, as the snapshot
tests do; the error-modal test builds the real engine against a rehearsal workspace.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import REPO, modal_named, on_step, text_of, type_into, wait_until, workspace_files

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from gfwizard.placement import PlacementTable
    from screens.app import WizardApp
    from screens.deploy_screen import DeployScreen
    from screens.placement_pane import PlacementPane

ORDER = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
CONFIG = Path("/srv/gloriousflywheel/config/organization.yaml")


def summary(**counts: Any) -> Any:
    from gfwizard.tofu_summary import PlanSummary

    return PlanSummary(**counts)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No engine, no placement worker: the screen shows what the test posts."""
    from screens.deploy_screen import DeployScreen

    monkeypatch.setattr(DeployScreen, "LIVE", False)


def offline_app() -> "WizardApp":
    from screens.launch import build_app

    return build_app(config_path=CONFIG, repo=REPO, start_at="deploy")


async def ready(pilot: "Pilot[None]", app: "WizardApp") -> "DeployScreen":
    """The deploy screen with the four stacks listed."""
    from screens.deploy_screen import DeployScreen

    await wait_until(pilot, lambda: on_step(app, "deploy"), "the deploy step")
    screen = app.screen
    assert isinstance(screen, DeployScreen)
    screen.post_message(DeployScreen.EngineReady("dev", ORDER, "terraform 1.11.4 (/usr/bin/terraform)"))
    await wait_until(pilot, lambda: list(screen.rows) == ORDER, "the stack rows")
    return screen


def test_confirm_body_lists_destroys_and_replaces_first_in_red() -> None:
    from gfwizard.gates import PlannedStack, build_request
    from screens.deploy_bridge import confirm_body

    request = build_request("prod", True, [
        PlannedStack("attic", summary(add=1, replace=1, creates=["terraform_data.workload[\"a\"]"],
                                      replaces=["terraform_data.apply_delay[0]"]), "sha256:1"),
        PlannedStack("arc-runners", summary(destroy=2, deletes=["terraform_data.namespace[\"old\"]",
                                                                 "terraform_data.workload[\"old\"]"]), "sha256:2"),
        PlannedStack("gitlab-runners", summary(), "sha256:3"),
    ])
    body = confirm_body(request)
    lines = body.plain.splitlines()
    assert lines[0] == "DESTROYS AND REPLACES: 2 deletes, 1 replace"
    assert [line.split()[0] for line in lines[1:4]] == ["delete", "delete", "replace"]
    assert "arc-runners: terraform_data.namespace[\"old\"]" in lines[1]
    assert "attic: terraform_data.apply_delay[0]" in lines[3]
    # Every destructive line is red, and they all come before the per-stack counts.
    red = [body.plain[span.start:span.end] for span in body.spans if "red" in str(span.style)]
    assert any("DESTROYS AND REPLACES" in text for text in red)
    for line in lines[1:4]:
        assert any(line.strip() in text for text in red), line
    counts = [i for i, line in enumerate(lines) if line.strip().startswith(("attic ", "arc-runners "))]
    assert counts and min(counts) > 3
    assert "gitlab-runners" not in body.plain, "a stack without changes is not part of the request"
    assert lines[-1] == "Environment: prod"

    harmless = confirm_body(build_request("dev", False, [PlannedStack("attic", summary(add=2), "sha256:1")]))
    assert "DESTROYS" not in harmless.plain and not [s for s in harmless.spans if "red" in str(s.style)]
    assert "+2 ~0 -0 ±0" in harmless.plain


async def test_log_pane_is_bounded_and_follow_and_search_work(offline: None) -> None:
    from gfwizard.stacks_events import LogLine
    from screens.logpane import LogView
    from textual.widgets import Input

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        pane = screen.log_pane
        total = pane.max_lines * 2 + 345

        def engine_thread() -> None:  # lines arrive from the engine's loop thread
            for i in range(total):
                screen._on_event(LogLine("attic", "stdout", f"line {i:05d}"))

        feeder = threading.Thread(target=engine_thread)
        feeder.start()
        feeder.join()
        await wait_until(pilot, lambda: pane.ingested == total, "every line ingested")
        buffer = pane.buffers["attic"]
        assert len(buffer) == pane.max_lines, "the buffer grew past max_lines"
        assert buffer[0] == f"line {total - pane.max_lines:05d}" and buffer[-1] == f"line {total - 1:05d}"
        log = screen.query_one("#log", LogView)
        assert len(log.lines) <= pane.max_lines and log.lines[-1] == f"line {total - 1:05d}"
        await wait_until(pilot, lambda: log.visible_text()[-1:] == [f"line {total - 1:05d}"],
                         "follow on: the view at the end")
        assert pane.selected == "attic"

        # f: follow off, and new lines no longer scroll the view.
        await pilot.press("f")
        assert pane.follow is False and "follow off" in text_of(screen.query_one("#log-transcript"))
        log.scroll_home(animate=False)
        await pilot.pause()
        screen._on_event(LogLine("attic", "stdout", "line after follow off"))
        await wait_until(pilot, lambda: log.lines[-1] == "line after follow off", "the new line")
        assert log.scroll_y == 0
        await pilot.press("f")
        assert pane.follow is True

        # /: a filter over the buffered lines; Escape clears it.
        from screens.stack_list import StackList

        stack_list = screen.query_one(StackList)
        stack_list.focus()
        await pilot.pause()
        await pilot.press("slash")
        box = screen.query_one("#log-search", Input)
        assert box.display and box.has_focus
        await pilot.press(*"0999", "enter")
        await wait_until(pilot, lambda: pane.query_text == "0999", "the filter")
        assert list(log.lines) == [line for line in buffer if "0999" in line] and len(log.lines) >= 1
        assert "filter '0999'" in text_of(screen.query_one("#log-transcript"))
        assert stack_list.has_focus, "after a search the arrow keys pick stacks again"
        await pilot.press("slash")
        await pilot.press("escape")
        await wait_until(pilot, lambda: pane.query_text == "", "the cleared filter")
        assert list(log.lines) == list(buffer) and stack_list.has_focus
        # Escape while a filter is on clears it, from the stack list or the log; only the next one goes back.
        for focused in (stack_list, log):
            await pilot.press("slash", *"0999", "enter")
            await wait_until(pilot, lambda: pane.query_text == "0999", "the filter again")
            focused.focus()
            await pilot.press("escape")
            await wait_until(pilot, lambda: pane.query_text == "", "the filter cleared by Escape")
            assert on_step(app, "deploy") and list(log.lines) == list(buffer)


async def test_apply_next_takes_exactly_the_next_stack_that_changes(offline: None) -> None:
    from gfwizard.stacks import StackPlan

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)

        def planned(stack: str, changes: bool) -> StackPlan:
            return StackPlan(stack, outcome="planned", summary=summary(add=1) if changes else summary())

        screen._accept_plans({s: planned(s, True) for s in ORDER})
        plans = screen._plans_for("next")
        assert plans is not None and [s for s, p in plans.items() if p.ready] == ["attic"]
        assert [s for s, p in screen._plans_for("all").items() if p.ready] == ORDER
        assert text_of(screen.query_one("#step-status")) == (
            "4/4 stacks planned, 4 with changes. a applies the next, A applies all.")

        # attic is done; arc-runners has nothing to do: it rides along (recorded as "no changes").
        screen.done["attic"] = ("applied", "+1 ~0 -0")
        screen._accept_plans({"attic": planned("attic", False), "arc-runners": planned("arc-runners", False),
                              "gitlab-runners": planned("gitlab-runners", True),
                              "runner-dashboard": planned("runner-dashboard", True)})
        plans = screen._plans_for("next")
        assert plans is not None
        assert {s: p.outcome for s, p in plans.items()} == {
            "attic": "skipped", "arc-runners": "planned", "gitlab-runners": "planned", "runner-dashboard": "not-run"}
        assert "4/4 stacks planned, 2 with changes." in text_of(screen.query_one("#step-status"))

        # Nothing changes anywhere: the status says so instead of offering to apply.
        screen._accept_plans({s: planned(s, False) for s in ORDER})
        assert text_of(screen.query_one("#step-status")) == (
            "4/4 stacks planned: nothing to change. A records them as up to date (nothing is applied).")
        assert screen.check_action("apply_all", ()) is True

        # Every stack applied in this session and still up to date: nothing is offered but the summary.
        screen.done.update({s: ("applied", "+1 ~0 -0") for s in ORDER})
        screen._accept_plans({s: planned(s, False) for s in ORDER})
        assert text_of(screen.query_one("#step-status")) == (
            "4/4 stacks planned: nothing to change, every stack is applied. Ctrl+N for the summary.")
        assert screen.check_action("apply_all", ()) is False and screen.blocked_reason() is None

        # Plans made by an apply in progress (it plans again first) offer nothing: that apply goes on.
        screen.done.clear()
        screen.busy = "apply"
        screen._accept_plans({s: planned(s, True) for s in ORDER})
        assert text_of(screen.query_one("#step-status")) == "4/4 stacks planned; apply continues… (c cancels)"
        screen.busy = None

        # A stack done earlier whose new plan changes something is not done any more.
        screen._accept_plans({s: planned(s, True) for s in ORDER})
        assert "attic" not in screen.done
        # Nothing planned after a failed plan: apply next has nothing to take.
        screen._accept_plans({"attic": StackPlan("attic", outcome="failed"),
                              **{s: planned(s, True) for s in ORDER[1:]}})
        assert screen._plans_for("next") is None and screen.check_action("apply_next", ()) is False


class RecordingEngine:
    """Stands in for the engine while an action runs: records cancel requests."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.workers: dict[str, Any] = {}

    def cancel(self, escalate: bool = False) -> None:
        self.calls.append(escalate)

    def discard(self) -> None:
        """Nothing was planned."""


def transcript_engine(screen: "DeployScreen", tmp_path: Path, prefix: str) -> RecordingEngine:
    """A stand-in engine on ``screen`` whose stacks write ``<prefix>-<stack>.log`` transcripts."""
    from types import SimpleNamespace

    engine = RecordingEngine()
    engine.workers = {name: SimpleNamespace(transcript=tmp_path / f"{prefix}-{name}.log") for name in ORDER}
    screen.engine = engine  # type: ignore[assignment]
    return engine


def test_a_plan_without_changes_reads_no_changes_in_the_stack_list() -> None:
    from gfwizard.stacks_events import StackPlanned
    from screens.stack_list import StackRow

    row = StackRow("attic")
    assert row.update(StackPlanned("attic", summary(), "sha256:1", 0.1))
    assert row.label().plain == "planned (no changes)"
    assert row.update(StackPlanned("attic", summary(add=2, destroy=1), "sha256:2", 0.1))
    assert row.label().plain == "planned +2 ~0 -1"


async def test_a_plan_summary_is_whole_in_its_row_at_80x24(offline: None) -> None:
    """Every kind of change planned, next to the longest stack name: the row shows each count (a cut ``-1``
    or ``±1`` would hide a destroy), so nothing is left to repeat under the list."""
    from gfwizard import stacks_events as ev
    from screens.stack_list import StackList

    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        for stack in ORDER:
            screen.post_message(screen.EngineEvent(ev.StackPlanned(
                stack, summary(add=2, change=1, destroy=1, replace=1), f"sha256:{stack}", 0.1)))
        table = screen.query_one(StackList)
        whole = "planned +2 ~1 -1 ±1"
        # The rows are planned and the State column measured for them (it grows on the next idle).
        await wait_until(pilot, lambda: all(row.label().plain == whole for row in screen.rows.values())
                         and table.columns["state"].content_width >= len(whole), "the plan summaries")
        visible = [table.render_line(y).text for y in range(table.size.height)]
        shown = {line.split()[0]: " ".join(line.split()[1:]) for line in visible[1:] if line.strip()}
        assert shown == {stack: whole for stack in ORDER}, visible
        await wait_until(pilot, lambda: text_of(screen.query_one("#stack-detail")) == "", "no state repeated")


async def test_a_state_longer_than_the_column_is_whole_even_when_painted_before_the_column_grew(
        offline: None) -> None:
    """A cancel turns "planned +4 ~0 -0" into "interrupted (apply)", three cells wider. A paint between the
    event and the table's next idle (where it measures the column again) used to be cached cut to the old
    width and stayed that way: the walk showed "interrupted (app" until something else changed the row."""
    from gfwizard import stacks_events as ev
    from screens.stack_list import StackList

    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        for stack in ORDER:
            screen.post_message(screen.EngineEvent(ev.StackPlanned(stack, summary(add=4), f"sha256:{stack}", 0.1)))
        table = screen.query_one(StackList)
        await wait_until(pilot, lambda: table.columns["state"].content_width == len("planned +4 ~0 -0"),
                         "the plan summaries measured")

        screen.on_deploy_screen_engine_event(screen.EngineEvent(ev.StackInterrupted("attic", "apply")))
        painted = [table.render_line(y).text for y in range(table.size.height)]  # before the next idle
        await wait_until(pilot, lambda: table.columns["state"].content_width >= len("interrupted (apply)"),
                         "the column measured again")
        await pilot.pause()
        for lines in (painted, [table.render_line(y).text for y in range(table.size.height)]):
            assert lines[1].split() == ["attic", "interrupted", "(apply)"], lines
        assert text_of(screen.query_one("#stack-detail")) == "", "a state shown whole is not repeated"


async def test_done_links_only_the_transcripts_of_stacks_whose_binary_ran(offline: None, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        engine = transcript_engine(screen, tmp_path, "run")
        # A resume: attic and arc-runners are unchanged since the run that deployed them (no binary
        # runs, no transcript is written); gitlab-runners is planned again.
        screen.post_message(screen.EngineEvent(ev.StackSkipped("attic", "deployed in run r1", "sha256:a")))
        screen.post_message(screen.EngineEvent(ev.StackSkipped("arc-runners", "deployed in run r1", "sha256:b")))
        screen.post_message(screen.EngineEvent(ev.StackPlanning("gitlab-runners")))
        await wait_until(pilot, lambda: "gitlab-runners" in app.session.transcripts, "the planning event")
        assert app.session.transcripts == {"gitlab-runners": str(tmp_path / "run-gitlab-runners.log")}
        assert set(screen.done) == {"attic", "arc-runners"}
        # A deployed stack planned again by a later run keeps the transcript of the run that deployed it.
        screen.post_message(screen.EngineEvent(ev.StackApplied("gitlab-runners", 1, 0, 0, 1.0)))
        await wait_until(pilot, lambda: "gitlab-runners" in screen.done, "gitlab-runners applied")
        engine.workers = {name: SimpleNamespace(transcript=tmp_path / f"later-{name}.log") for name in ORDER}
        screen.post_message(screen.EngineEvent(ev.StackPlanning("gitlab-runners")))
        screen.post_message(screen.EngineEvent(ev.StackPlanning("runner-dashboard")))
        await wait_until(pilot, lambda: "runner-dashboard" in app.session.transcripts, "the later planning")
        assert app.session.transcripts["gitlab-runners"] == str(tmp_path / "run-gitlab-runners.log")
        assert app.session.transcripts["runner-dashboard"] == str(tmp_path / "later-runner-dashboard.log")


async def test_an_engine_note_is_shown_once_per_session_not_per_engine_build(offline: None) -> None:
    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        shown: list[str] = []
        screen.notify = lambda message, **_: shown.append(message)  # type: ignore[method-assign]
        note = "TF_CLI_CONFIG_FILE=/root/.terraformrc: not a readable file"
        for _ in range(3):  # plan, apply, resume: one engine each, the same note each time
            screen.post_message(screen.EngineEvent(ev.RunNote(note)))
        screen.post_message(screen.EngineEvent(ev.RunNote("another note")))
        await wait_until(pilot, lambda: len(shown) == 2, "the notes")
        await pilot.pause()
        assert shown == [note, "another note"]


async def test_a_stack_planned_again_gets_a_separator_before_its_new_lines(offline: None) -> None:
    from gfwizard.stacks_events import LogLine, StackPlanning

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)

        def engine_thread() -> None:  # events and lines arrive from the engine's loop thread, in order
            screen._on_event(StackPlanning("attic"))
            screen._on_event(LogLine("attic", "stdout", "first plan"))
            screen._on_event(StackPlanning("attic"))
            screen._on_event(LogLine("attic", "stdout", "second plan"))

        worker = threading.Thread(target=engine_thread)
        worker.start()
        worker.join()
        await wait_until(pilot, lambda: "second plan" in screen.log_pane.buffers.get("attic", ()), "the lines")
        lines = list(screen.log_pane.buffers["attic"])
        assert lines[0] == "first plan" and lines[2] == "second plan", lines
        assert lines[1].startswith("──── planned again at ") and len(lines) == 3


async def test_a_failure_remedy_offers_the_key_before_the_command(offline: None) -> None:
    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.StackFailed(
            "attic", "apply", "apply failed: boom", "read the transcript, fix the cause, then "
            "`gfwizard deploy --env dev --resume`")))
        await wait_until(pilot, lambda: screen.rows["attic"].state == "failed", "the failure")
        assert text_of(screen.query_one("#step-status")).endswith(
            "then press r (or `gfwizard deploy --env dev --resume`)")
        # Enter on the failed stack shows the message and the remedy whole.
        screen.query_one("#stack-list").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the failure in full")
        assert text_of(app.screen.query_one("#error-message")) == "apply failed: boom"
        assert text_of(app.screen.query_one("#error-remedy")) == (
            "Remedy: read the transcript, fix the cause, then press r (or `gfwizard deploy --env dev --resume`)")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "back on the step")


async def test_enter_on_a_failed_stack_shows_what_the_binary_said_not_only_its_exit_code(offline: None) -> None:
    from gfwizard import stacks_events as ev
    from gfwizard.redact import register_secret

    secret = "Zq8vN3kR7tW1xY5bL0mP"
    register_secret(secret)
    error = ('Error: Failed to get existing workspaces: Unable to list objects in S3 bucket "gfw-state": '
             'dial tcp 127.0.0.1:38449: connect: connection refused')
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.StackFailed(
            "attic", "init", "init failed (exit 1)", "read the transcript /t/attic.log, fix the cause, then "
            "`gfwizard deploy --env dev --resume`",
            diagnostics=("Initializing the backend...", "", error, f"token={secret}", "", ""))))
        await wait_until(pilot, lambda: screen.rows["attic"].state == "failed", "the failure")
        screen.query_one("#stack-list").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the failure in full")
        shown = text_of(app.screen.query_one("#error-message"))
        assert shown.startswith("init failed (exit 1)\n\nThe binary said:\nInitializing the backend...\n\n")
        assert error in shown and "connection refused" in shown
        assert secret not in shown and shown.endswith("[REDACTED]")


async def test_a_failure_message_with_brackets_is_shown_as_written_not_as_markup(offline: None) -> None:
    from gfwizard import stacks_events as ev

    # terraform quotes addresses and ids in brackets; Textual markup would eat them, or raise on some.
    message = 'apply failed: terraform_data.workload["attic-dev/attic"] [id=d1a] [link=file:///etc] [/] [bold]x'
    app = offline_app()
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.StackFailed("attic", "apply", message, "fix it, then r")))
        await wait_until(pilot, lambda: screen.rows["attic"].state == "failed", "the failure")
        await pilot.pause()
        assert message in text_of(screen.query_one("#step-status"))
        assert app.return_code is None and on_step(app, "deploy")


async def test_a_remedy_in_the_status_line_carries_the_wizards_config(offline: None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import gfwizard.commands._common as common
    from gfwizard import stacks_events as ev

    monkeypatch.setattr(common, "_explicit_config", Path("/srv/other/organization.yaml"))
    app = offline_app()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.StackFailed(
            "attic", "apply", "apply failed: boom", "fix it, then `gfwizard deploy --env dev --resume`")))
        await wait_until(pilot, lambda: screen.rows["attic"].state == "failed", "the failure")
        assert "`gfwizard deploy --env dev --resume --config /srv/other/organization.yaml`" in text_of(
            screen.query_one("#step-status"))


async def test_cancel_sends_one_interrupt_and_escalates_only_after_a_confirm(offline: None) -> None:
    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        assert screen.check_action("cancel", ()) is False, "cancel is offered while nothing runs"
        engine = RecordingEngine()
        screen.engine = engine  # type: ignore[assignment]
        screen._start("apply")
        assert screen.check_action("cancel", ()) is True
        await pilot.press("c")
        assert engine.calls == [False] and screen.spent
        assert "one SIGINT" in text_of(screen.query_one("#step-status"))
        await pilot.press("c")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the force-stop dialog")
        assert "SIGKILL" in text_of(app.screen.query_one("#confirm-body"))
        await pilot.press("n")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the dialog closed")
        assert engine.calls == [False], "declining the dialog escalated anyway"
        await pilot.press("c")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the force-stop dialog again")
        await pilot.press("y")
        await wait_until(pilot, lambda: engine.calls == [False, True], "the escalation")
        screen.post_message(screen.ActionFinished("apply"))
        await wait_until(pilot, lambda: screen.busy is None, "the action finished")
        assert text_of(screen.query_one("#step-status")).startswith(
            "Force-stopped: the binary was killed, so its state lock may still be held (`gfwizard backend locks "
            "--env dev` shows it)")
        assert screen.check_action("cancel", ()) is False


async def test_a_declined_apply_is_said_as_a_sentence_in_the_status_line(offline: None) -> None:
    """The engine's reason ("nothing applied: ...", as gfwizard deploy prints it) starts the status line with
    a capital, as every other status line does."""
    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.ApplyRefused("nothing applied: the confirmation was cancelled")))
        status = screen.query_one("#step-status")
        await wait_until(pilot, lambda: "confirmation" in text_of(status), "the refusal")
        assert text_of(status) == ("Nothing applied: the confirmation was cancelled. Next needs every stack applied "
                                   "(a or A asks again; Escape goes back).")


@pytest.mark.parametrize("around", ["none", "before-and-after", "no-messages"])
async def test_a_journal_stop_is_shown_from_the_result_not_from_the_order_of_its_messages(
        offline: None, around: str) -> None:
    # The step read the last three messages as why, what was applied and the remedy: a note after them (or none
    # at all) made it show a note as the reason and lose the remedy.
    from gfwizard import stacks_events as ev

    stop = ev.JournalStop("the run journal /j/dev.jsonl cannot be written: No space left on device; the entry was "
                          "not recorded", ("the 'applied' entry of arc-runners",), ("attic", "arc-runners"),
                          ("arc-runners",), "free space on /j, then `gfwizard deploy --env dev --resume`")
    said = (stop.why, stop.applied_text, f"remedy: {stop.remedy}")
    messages = {"none": said, "before-and-after": ("a note before", *said, "a note after"), "no-messages": ()}
    stacks = (ev.StackResult("attic", "applied"),
              ev.StackResult("arc-runners", "applied", error="its 'applied' entry could not be written to the journal"),
              ev.StackResult("gitlab-runners", "not-run"), ev.StackResult("runner-dashboard", "not-run"))
    result = ev.DeployResult("r1", "dev", "journal-unwritable", stacks, messages=messages[around], journal_stop=stop)
    app = offline_app()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.RunFinished(result)))
        await wait_until(pilot, lambda: screen.journal_stop is not None, "the stopped run")
        assert [screen.rows[s].state for s in ORDER[:2]] == ["applied", "applied"]
        remedy = "free space on /j, then press r (or `gfwizard deploy --env dev --resume`)"
        assert screen.journal_stop == (
            "The run stopped: its journal cannot be written",
            "the run journal /j/dev.jsonl cannot be written: No space left on device; the entry was not recorded: the "
            "'applied' entry of arc-runners; the run stopped there.\n\napplied in this run: attic, arc-runners (not "
            "recorded in the journal).", remedy)
        assert text_of(screen.query_one("#step-status")) == (
            "The run stopped: its journal cannot be written. Applied in this run: attic, arc-runners (not recorded "
            f"in the journal). Enter shows why whole — {remedy}")


async def test_an_engine_built_by_a_running_action_leaves_the_status_on_that_action(offline: None) -> None:
    # After a cancel, a or r builds a new engine as it starts: its EngineReady must not say "p plans every
    # stack" (nor "r resumes") while the action it started runs, nor replace a dialog's "Waiting for your answer".
    import concurrent.futures

    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        status = screen.query_one("#step-status")
        screen.engine = RecordingEngine()  # type: ignore[assignment]
        screen._start("resume")
        screen.post_message(screen.EngineReady("dev", ORDER, "terraform 1.11.4 (/usr/bin/terraform)", True))
        await wait_until(pilot, lambda: screen.resumable, "the rebuilt engine")
        assert text_of(status) == "resume running… (c cancels)"
        assert screen.check_action("cancel", ()) is True
        screen._asking[concurrent.futures.Future()] = False
        screen._status("Waiting for your answer in the dialog (nothing runs until then).", False)
        screen.resumable = False
        screen.post_message(screen.EngineReady("dev", ORDER, "terraform 1.11.4 (/usr/bin/terraform)", True))
        await wait_until(pilot, lambda: screen.resumable, "the engine built again")
        assert text_of(status) == "Waiting for your answer in the dialog (nothing runs until then)."
        screen._asking.clear()
        screen.post_message(screen.ActionFinished("resume"))
        await wait_until(pilot, lambda: screen.busy is None, "the action finished")


async def test_a_force_stop_dialog_left_open_when_the_run_ends_closes_and_escalates_nothing(offline: None) -> None:
    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        engine = RecordingEngine()
        screen.engine = engine  # type: ignore[assignment]
        screen._start("apply")
        await pilot.press("c", "c")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the force-stop dialog")
        screen.post_message(screen.ActionFinished("apply"))  # the first SIGINT was enough
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the dialog closed by the run's end")
        await pilot.press("y")  # a late answer meets the deploy screen, where y is no key
        await pilot.pause()
        assert engine.calls == [False], "a run that had ended was force-stopped"
        assert "Cancelled" in text_of(screen.query_one("#step-status"))


async def test_env_switch_changes_the_banner_and_forgets_the_old_env(offline: None) -> None:
    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineEvent(ev.StackApplied("attic", 1, 0, 0, 1.0)))
        await wait_until(pilot, lambda: "attic" in screen.done, "attic applied")
        assert app.session.deploy_outcomes["attic"] == "applied"
        assert text_of(screen.query_one("#deploy-banner")).startswith(" ENV DEV")
        await pilot.press("e")
        assert app.session.env == "prod"
        banner = text_of(screen.query_one("#deploy-banner"))
        assert banner.startswith(" ENV PROD") and "typed confirmation" in banner
        assert screen.query_one("#deploy-bar").has_class("prod")
        assert screen.rows == {} and screen.log_pane.buffers == {}
        screen.post_message(screen.EngineReady("prod", ORDER, "terraform"))
        await wait_until(pilot, lambda: list(screen.rows) == ORDER, "the prod rows")
        assert screen.done == {} and set(app.session.deploy_outcomes.values()) == {"not applied"}
        assert screen.blocked_reason() is not None


async def test_switching_back_to_an_env_shows_what_it_reached_there(offline: None, tmp_path: Path) -> None:
    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        engine = transcript_engine(screen, tmp_path, "dev")
        for stack in ("attic", "arc-runners", "gitlab-runners"):
            screen.post_message(screen.EngineEvent(ev.StackPlanning(stack)))
        screen.post_message(screen.EngineEvent(ev.StackApplied("attic", 1, 0, 0, 1.0)))
        screen.post_message(screen.EngineEvent(ev.StackApplied("arc-runners", 1, 0, 0, 1.0)))
        screen.post_message(screen.EngineEvent(ev.StackFailed("gitlab-runners", "apply", "apply failed: boom",
                                                              "fix it, then r")))
        from gfwizard.journal import LockHolder

        screen.post_message(screen.EngineEvent(ev.StackLocked(
            "runner-dashboard", "plan", LockHolder(id="l-1", who="alice@a-very-long-hostname.example"), 300.0,
            "wait for alice")))
        await wait_until(pilot, lambda: screen.rows["gitlab-runners"].state == "failed"
                         and screen.rows["runner-dashboard"].state == "locked", "the dev rows")
        await pilot.pause()
        assert "runner-dashboard: locked by alice@" in text_of(screen.query_one("#stack-detail"))
        dev_rows = {name: (row.state, row.detail) for name, row in screen.rows.items()}
        dev_outcomes = dict(app.session.deploy_outcomes)

        await pilot.press("e")
        screen.engine = None
        screen.post_message(screen.EngineReady("prod", ORDER, "terraform"))
        await wait_until(pilot, lambda: list(screen.rows) == ORDER, "the prod rows")
        assert {row.state for row in screen.rows.values()} == {"pending"} and app.session.transcripts == {}
        await pilot.pause()
        assert text_of(screen.query_one("#stack-detail")) == "", "dev's lock shown under prod"

        await pilot.press("e")
        assert app.session.env == "dev"
        screen.post_message(screen.EngineReady("dev", ORDER, "terraform", True))
        await wait_until(pilot, lambda: list(screen.rows) == ORDER, "the dev rows again")
        assert {name: (row.state, row.detail) for name, row in screen.rows.items()} == dev_rows
        await pilot.pause()
        assert "runner-dashboard: locked by alice@" in text_of(screen.query_one("#stack-detail"))
        assert set(screen.done) == {"attic", "arc-runners"}
        assert app.session.deploy_outcomes == dev_outcomes
        assert app.session.transcripts == {s: str(tmp_path / f"dev-{s}.log") for s in ORDER}
        assert screen.check_action("resume", ()) is True


async def test_narrow_terminal_toggles_the_placement_overlay(offline: None) -> None:
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        pane = screen.query_one("#placement-pane")
        assert pane.has_class("overlay") and not pane.display
        await pilot.press("t")
        assert pane.display
        await pilot.resize_terminal(81, 24)  # a resize that stays narrow keeps the operator's choice
        await pilot.pause()
        assert pane.display
        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: not pane.has_class("overlay") and pane.display, "the wide layout")
        assert screen.check_action("toggle_placement", ()) is False
        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: pane.has_class("overlay") and not pane.display, "the narrow layout")


async def test_search_over_the_placement_overlay_shows_the_search_box_it_types_into(offline: None) -> None:
    from textual.widgets import Input

    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        pane = screen.query_one("#placement-pane")
        await pilot.press("t")
        assert pane.display
        await pilot.press("slash")
        box = screen.query_one("#log-search", Input)
        await wait_until(pilot, lambda: box.has_focus, "the search box focused")
        assert not pane.display, "the placement overlay still covers the log and its search box"
        assert box.region.width > 0 and screen.get_widget_at(box.region.x + 1, box.region.y + 1)[0] is box
        await pilot.press("escape")
        await wait_until(pilot, lambda: not box.has_focus, "the search closed")
        await pilot.press("t")  # t is the placement key again, not a letter typed into a hidden box
        assert pane.display and box.value == ""


async def test_coming_back_says_the_plans_made_before_leaving_were_deleted(offline: None, tmp_path: Path) -> None:
    """Leaving the step deletes its saved plans (they hold variable values): back on it, the rows read pending
    again, and the status line says why once, instead of plans that silently vanished."""
    from gfwizard import stacks_events as ev

    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        transcript_engine(screen, tmp_path, "dev")
        screen.post_message(screen.EngineEvent(ev.StackApplied("attic", 1, 0, 0, 1.0)))
        for stack in ("arc-runners", "gitlab-runners"):
            screen.post_message(screen.EngineEvent(ev.StackPlanned(stack, summary(add=1), f"sha256:{stack}", 0.1)))
        await wait_until(pilot, lambda: screen.rows["gitlab-runners"].state == "planned", "the dev plans")

        await pilot.press("e")
        screen.engine = None
        screen.post_message(screen.EngineReady("prod", ORDER, "terraform"))
        await wait_until(pilot, lambda: app.session.env == "prod" and list(screen.rows) == ORDER, "the prod rows")
        assert "deleted" not in text_of(screen.query_one("#step-status")), "prod had no plans to drop"

        await pilot.press("e")
        screen.post_message(screen.EngineReady("dev", ORDER, "terraform"))
        await wait_until(pilot, lambda: app.session.env == "dev" and screen.rows["attic"].state == "applied",
                         "the dev rows again")
        assert [screen.rows[s].state for s in ORDER] == ["applied", "pending", "pending", "pending"]
        assert text_of(screen.query_one("#step-status")) == (
            "p plans every stack (nothing is applied). arc-runners, gitlab-runners: their plans were "
            "deleted when you left this step (saved plans hold variable values). terraform.")

        screen.post_message(screen.EngineReady("dev", ORDER, "terraform"))  # said once, not on every rebuild
        await wait_until(pilot, lambda: "deleted" not in text_of(screen.query_one("#step-status")), "said once")


async def test_back_on_the_step_after_a_cancel_the_status_line_is_whole_at_80x24(offline: None,
                                                                                 tmp_path: Path) -> None:
    """Back on the step after a cancel: r resumes, and three stacks' plans were deleted. At 80x24 the status
    line has room for four lines; it said the binary first and cut the rest mid-sentence ("...deleted when you
    left this"). What to press comes first now, and the binary last."""
    from rich.console import Console
    from rich.text import Text

    from gfwizard import stacks_events as ev

    binary = "terraform 1.11.4 (/usr/local/bin/terraform)"
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        transcript_engine(screen, tmp_path, "dev")
        screen.post_message(screen.EngineEvent(ev.StackInterrupted("attic", "apply")))
        for stack in ORDER[1:]:
            screen.post_message(screen.EngineEvent(ev.StackPlanned(stack, summary(add=4), f"sha256:{stack}", 0.1)))
        await wait_until(pilot, lambda: screen.rows["runner-dashboard"].state == "planned", "the dev plans")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "config"), "the config step")
        app.goto("deploy")  # Ctrl+N, had the config step a file to stand on
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the deploy step again")
        screen = app.screen
        screen.post_message(screen.EngineReady("dev", ORDER, binary, resumable=True))
        status = screen.query_one("#step-status")
        await wait_until(pilot, lambda: "deleted" in text_of(status), "the status line")
        said = text_of(status)
        assert said == ("p plans every stack (nothing is applied). The last run did not finish: r resumes it. "
                        "arc-runners, gitlab-runners, runner-dashboard: their plans were deleted when you left this "
                        f"step (saved plans hold variable values). {binary}.")
        await pilot.pause()
        lines = Text(said).wrap(Console(width=status.content_region.width), status.content_region.width)
        assert len(lines) <= status.content_region.height, (
            f"{len(lines)} lines in a status line of {status.content_region.height}: {said!r}")


async def test_an_engine_error_opens_the_error_modal_not_a_traceback(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from screens.launch import build_app

    ws = rehearsal_workspace
    monkeypatch.setenv("GFW_TOFU_BIN", "/nonexistent/tofu")
    before = workspace_files(ws)
    app = build_app(rehearsal=ws, repo=REPO, start_at="deploy")  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error modal")
        message = text_of(app.screen.query_one("#error-message"))
        assert message == "GFW_TOFU_BIN='/nonexistent/tofu' is not an executable file"
        assert text_of(app.screen.query_one("#error-remedy")).startswith("Remedy: point GFW_TOFU_BIN at")
        assert "Traceback" not in message
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the modal closed")
        screen = app.screen
        assert screen.engine is None
        assert "could not start" in text_of(screen.query_one("#step-status"))
        for action in ("plan_all", "apply_next", "apply_all", "resume", "cancel"):
            assert screen.check_action(action, ()) is False, action
    assert workspace_files(ws) == before, "a failed engine start wrote files"



def _run_in_flight(screen: "DeployScreen") -> tuple[RecordingEngine, Any]:
    """An engine whose apply runs on the engine loop until it is cancelled (the binary then saves state
    and exits); returns the engine and the run's future."""
    import asyncio

    host = screen.host
    stopped = asyncio.Event()

    class Engine(RecordingEngine):
        def cancel(self, escalate: bool = False) -> None:
            super().cancel(escalate)
            host.loop.call_soon_threadsafe(stopped.set)

    engine = Engine()
    screen.engine = engine  # type: ignore[assignment]
    run = host.submit(stopped.wait())
    screen._start("apply")
    return engine, run


@pytest.mark.parametrize("quit_key", ["y", "ctrl+q"])
async def test_quitting_mid_apply_asks_first_a_no_keeps_the_run_and_y_or_ctrl_q_quits(offline: None,
                                                                                      quit_key: str) -> None:
    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        engine, run = _run_in_flight(screen)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the quit question")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert body.startswith("An apply is running on dev. Quitting sends one SIGINT"), body
        assert "no later stack is applied" in body
        await pilot.press("n")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the question closed")
        assert app.is_running and engine.calls == [] and not run.done(), "declining quit touched the run"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the quit question again")
        await pilot.press(quit_key)  # y, or Ctrl+Q a second time
    assert engine.calls == [False], "quitting mid-run did not send the one interrupt"
    assert run.done() and not screen.host.busy and screen.host.loop.is_closed()


@pytest.mark.parametrize("quit_key", ["y", "ctrl+q"])
async def test_quitting_mid_apply_says_what_it_waits_for_until_the_binary_has_stopped(
        offline: None, monkeypatch: pytest.MonkeyPatch, quit_key: str) -> None:
    """After the quit question's y the binary may take many seconds to save state and release its lock: the step
    says that it is quitting and what it waits for (before, the exit waited with a blank terminal), offers only
    the force stop, a further Ctrl+Q sends no second signal, and the wizard closes once the run has stopped."""
    import asyncio

    from screens import deploy_screen

    monkeypatch.setattr(deploy_screen, "STOP_WAIT", 20.0)  # well beyond a loaded test's steps; still short
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        stopped = asyncio.Event()
        engine = RecordingEngine()  # its cancel does not end the run: the binary takes its time to stop
        screen.engine = engine  # type: ignore[assignment]
        run = screen.host.submit(stopped.wait())
        screen._start("apply")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the quit question")
        await pilot.press(quit_key)  # y, or Ctrl+Q a second time
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the question closed")
        await pilot.pause()
        assert app.is_running and app.return_code is None, "the wizard vanished while the binary was stopping"
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith("Quitting: one SIGINT sent; waiting (at most 20 s) for the binary to save state"), \
            status
        assert engine.calls == [False]
        assert [a for a in ("plan_all", "apply_next", "apply_all", "resume", "back", "next", "cancel")
                if screen.check_action(a, ())] == ["cancel"], "only the force stop is offered while quitting"
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and engine.calls == [False], "a second Ctrl+Q signalled the binary again"
        screen.host.loop.call_soon_threadsafe(stopped.set)  # the binary has saved state and exits
        await wait_until(pilot, lambda: app.return_code is not None, "the wizard closing")
    assert app.return_code == 0 and run.done() and engine.calls == [False]


async def test_ctrl_q_with_nothing_running_quits_without_asking(offline: None) -> None:
    app = offline_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        assert screen.quit_warning() is None
        assert app.return_code is None
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0 and not modal_named(app, "ConfirmModal")


@pytest.mark.parametrize("answer", ["n", "y"])
async def test_a_run_ending_under_the_quit_question_closes_the_force_stop_dialog_not_the_question(
        offline: None, answer: str) -> None:
    """Force stop? open, Ctrl+Q opens Quit now? over it, then the run ends on the first SIGINT: the
    force-stop dialog closes (once uncovered), the quit question stays and still answers."""
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        engine, run = _run_in_flight(screen)
        await pilot.press("c", "c")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the force-stop dialog")
        force = app.screen
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal") and app.screen is not force,
                         "the quit question over it")
        question = app.screen
        assert question.title_text == "Quit now?"  # type: ignore[attr-defined]
        screen.post_message(screen.ActionFinished("apply"))  # the first SIGINT was enough
        await wait_until(pilot, lambda: screen.busy is None, "the run's end")
        await pilot.pause()
        assert app.screen is question, "the run's end closed the quit question instead of the force-stop dialog"
        await pilot.press(answer)
        if answer == "y":
            await wait_until(pilot, lambda: app.return_code is not None, "the quit")
        else:
            await wait_until(pilot, lambda: on_step(app, "deploy"), "both dialogs closed")
            assert force not in app.screen_stack and app.is_running
            assert app._quit_asked is False, "the quit question's answer was lost"
            await pilot.press("y")  # no dialog left to take it
            await pilot.pause()
            # A later run asks again before quitting.
            engine2, run2 = _run_in_flight(screen)
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the quit question for the next run")
            assert app.is_running and engine2.calls == []
            await pilot.press("n")
            await wait_until(pilot, lambda: on_step(app, "deploy"), "the question closed")
            screen.engine.cancel()  # type: ignore[union-attr]
            await wait_until(pilot, lambda: run2.done(), "the second run's end")
            screen.post_message(screen.ActionFinished("apply"))
            await wait_until(pilot, lambda: screen.busy is None, "the second run finished")
    assert engine.calls == [False], "a run that had ended was force-stopped"
    assert app.return_code == (0 if answer == "y" else None), "the wizard crashed"


async def test_the_quit_question_stops_warning_about_a_run_that_has_ended(offline: None) -> None:
    """Quit now? asked during a plan, then the plan ends before the answer: the question stays (the
    operator asked to quit) but no longer says a plan is running; n keeps the wizard, Ctrl+Q then quits."""
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        engine, run = _run_in_flight(screen)
        screen.busy = "plan"
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the quit question")
        question = app.screen
        assert text_of(question.query_one("#confirm-body")).startswith("A plan is running on dev.")
        engine.cancel()  # the plan ends on its own (here: stopped) while the question is open
        await wait_until(pilot, lambda: run.done(), "the run's end")
        screen.post_message(screen.ActionFinished("plan"))
        await wait_until(pilot, lambda: screen.busy is None, "the action finished")
        await pilot.pause()
        assert app.screen is question, "the operator's quit question vanished"
        body = text_of(question.query_one("#confirm-body"))
        assert "running" not in body and "SIGINT" not in body, body
        assert body.startswith("The run this question warned about has ended: nothing runs now"), body
        await pilot.press("n")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the question closed")
        assert app.is_running
        await pilot.press("ctrl+q")  # nothing runs: no question
        await pilot.pause()
        assert app.return_code == 0


@pytest.mark.parametrize("typed", ["x", "prod-" * 24], ids=["short", "pasted"])
async def test_the_prod_confirmation_keeps_its_buttons_at_80x24_after_a_wrong_name(offline: None, typed: str) -> None:
    """Four stacks and a replace, then a wrong name: the note under the input used to push the dialog past the
    screen, cutting the Apply and Cancel buttons off. The body scrolls instead, destroys and replaces first;
    a pasted answer is repeated cut short (as `gfwizard deploy` repeats it), so the note stays two lines."""
    from textual.containers import VerticalScroll

    from gfwizard.gates import PlannedStack, build_request
    from screens.confirm_modal import TypedConfirmModal
    from screens.deploy_bridge import confirm_body

    request = build_request("prod", True, [
        PlannedStack("attic", summary(replace=1, replaces=["terraform_data.apply_delay[0]"]), "sha256:1"),
        *(PlannedStack(stack, summary(add=4), f"sha256:{stack}") for stack in ORDER[1:])])
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        answers: list[bool | None] = []
        app.push_screen(TypedConfirmModal("Apply to prod?", confirm_body(request), "prod"), answers.append)
        await wait_until(pilot, lambda: modal_named(app, "TypedConfirmModal"), "the typed confirmation")
        modal = app.screen
        await pilot.press(*typed, "enter")
        note = modal.query_one("#typed-mismatch")
        await wait_until(pilot, lambda: note.display and note.region.height > 0, "the wrong-name note")
        said = text_of(note)
        assert said.endswith("is not 'prod': type the environment name exactly to apply, or Escape to cancel"), said
        assert ("…" in said) == (len(typed) > 40) and note.region.height <= 2, said
        dialog = modal.query_one(".dialog").content_region
        for button in ("#confirm-yes", "#confirm-no"):
            region = modal.query_one(button).region
            assert dialog.contains_region(region), f"{button} at {region} is cut by the dialog {dialog}"
        assert dialog.bottom < app.size.height, "the dialog covers the footer"
        body = modal.query_one(".dialog-body", VerticalScroll)
        assert body.scroll_y == 0 and body.max_scroll_y > 0, "the body does not scroll"
        assert "DESTROYS AND REPLACES" in text_of(modal.query_one("#confirm-body")).splitlines()[0]
        assert answers == [], "a wrong name answered the dialog"


@pytest.mark.parametrize(("typed", "applies"), [(" prod ", True), ("prod  ", True), ("Prod", False), (" PROD ", False)],
                         ids=["spaces", "trailing", "case", "case-and-spaces"])
async def test_the_typed_confirmation_strips_surrounding_whitespace_as_the_terminal_does(
        offline: None, typed: str, applies: bool) -> None:
    # `gfwizard deploy` took " prod " (it strips the answer) while the wizard refused it; neither case-folds.
    from gfwizard.gates import ConfirmRequest, answer_approves
    from screens.confirm_modal import TypedConfirmModal

    assert answer_approves(ConfirmRequest("prod", True, (), ()), typed) is applies  # the terminal's comparison
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        answers: list[bool | None] = []
        app.push_screen(TypedConfirmModal("Apply to prod?", "body", "prod"), answers.append)
        await wait_until(pilot, lambda: modal_named(app, "TypedConfirmModal"), "the typed confirmation")
        modal = app.screen
        await type_into(pilot, "#typed-confirm", typed)
        assert modal.query_one("#confirm-yes").disabled is not applies
        await pilot.press("enter")
        if applies:
            await wait_until(pilot, lambda: answers == [True], "the dialog answered yes")
        else:
            note = modal.query_one("#typed-mismatch")
            await wait_until(pilot, lambda: note.display, "the wrong-name note")
            assert text_of(note).startswith(f"{typed.strip()!r} is not 'prod': "), text_of(note)
            assert answers == [] and modal_named(app, "TypedConfirmModal")


async def test_the_prod_confirmation_says_how_many_destroys_even_when_the_list_scrolls_at_80x24(
        offline: None) -> None:
    """Twelve deletes and a replace: at 80x24 the dialog shows seven of them and a scroll bar, and nothing said how
    many there were (the per-stack counts sit below the list, out of view). The count heads the list, in red."""
    from textual.containers import VerticalScroll
    from textual.geometry import Region

    from gfwizard.gates import PlannedStack, build_request
    from screens.confirm_modal import TypedConfirmModal
    from screens.deploy_bridge import confirm_body

    request = build_request("prod", True, [
        PlannedStack("attic", summary(replace=1, replaces=["terraform_data.apply_delay[0]"]), "sha256:1"),
        *(PlannedStack(stack, summary(destroy=4, deletes=[f"terraform_data.workload[\"{stack}-{i}\"]"
                                                          for i in range(4)]), f"sha256:{stack}")
          for stack in ORDER[1:])])
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        answers: list[bool | None] = []
        app.push_screen(TypedConfirmModal("Apply to prod?", confirm_body(request), "prod"), answers.append)
        await wait_until(pilot, lambda: modal_named(app, "TypedConfirmModal"), "the typed confirmation")
        modal = app.screen
        body = modal.query_one(".dialog-body", VerticalScroll)
        await wait_until(pilot, lambda: body.max_scroll_y > 0, "the body laid out")
        assert body.scroll_y == 0
        shown = modal.query_one("#confirm-body")
        first = text_of(shown).splitlines()[0]
        assert first == "DESTROYS AND REPLACES: 12 deletes, 1 replace", first
        # On screen, in red: the first line of the body is inside the part of the dialog that is not scrolled.
        assert body.content_region.contains_region(Region(shown.region.x, shown.region.y, shown.region.width, 1))
        rendered = shown.render()
        assert any("red" in str(span.style) and first in rendered.plain[span.start:span.end]
                   for span in rendered.spans), "the count is not red"
        assert answers == [], "the dialog answered itself: something would have been applied"


async def test_a_failed_gate_is_readable_whole_at_80x24(offline: None) -> None:
    """The pane under the stacks has room for a summary only: g (or Enter on a stack) shows every
    gate's detail and remedy, and the status line says so."""
    from gfwizard import stacks_events as ev
    from gfwizard.checks import failed, passed
    from screens.stack_list import StackList

    detail = ("the probe write failed: could not connect to the endpoint URL http://127.0.0.1:37181 after 5 "
              "attempts (connection refused)")
    remedy = "start the S3 endpoint (RustFS on honey), then re-run `gfwizard backend check --env dev`"
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        assert screen.check_action("show_gates", ()) is False, "g offered before any gate ran"
        screen.post_message(screen.EngineEvent(ev.GateChecked(
            (passed("server", "https://127.0.0.1:6443 is the pinned api_server"), passed("fingerprint", "matches"),
             failed("s3 lock probe", detail, remedy)), False)))
        await wait_until(pilot, lambda: screen.gates is not None, "the gate results")
        await pilot.pause()
        status = text_of(screen.query_one("#step-status"))
        assert status.startswith("A safety gate failed (s3 lock probe): nothing was applied.")
        assert "g shows each gate's detail and remedy" in status
        gates = screen.query_one("#gates")
        left = screen.query_one("#deploy-left")
        assert gates.region.bottom <= left.region.bottom and gates.region.height == len(text_of(gates).splitlines())
        assert text_of(gates).splitlines() == ["Gates failed · g: details", "FAIL s3 lock probe"]

        await pilot.press("g")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the gates dialog")
        shown = text_of(app.screen.query_one("#error-message"))
        assert f"FAIL s3 lock probe: {detail}\n  Remedy: {remedy}" in shown
        assert shown.startswith("PASS server: https://127.0.0.1:6443 is the pinned api_server")
        assert "PASS fingerprint: matches" in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "back on the step")

        # Enter on a stack the run stopped before shows the same.
        screen.query_one(StackList).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the gates dialog from the stack list")
        assert text_of(app.screen.query_one("#error-message")) == shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "back on the step again")

        # Passed gates: one short line, nothing cut.
        screen.post_message(screen.EngineEvent(ev.GateChecked(
            (passed("server"), passed("fingerprint"), passed("s3 lock probe")), True)))
        await wait_until(pilot, lambda: screen.gates is not None and screen.gates.ok, "the passed gates")
        await pilot.pause()
        assert text_of(screen.query_one("#gates")) == "Gates passed · g: details"
        # Passed gates are no error: the dialog says so without the error dialog's red Close.
        await pilot.press("g")
        await wait_until(pilot, lambda: modal_named(app, "InfoModal"), "the passed gates' dialog")
        assert str(app.screen.query_one("#error-close").variant) == "primary"
        assert text_of(app.screen.query_one("#error-message")).startswith("PASS server")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "back on the step once more")


async def test_resume_is_not_offered_while_a_failed_gate_holds_the_plans_back(offline: None) -> None:
    """A gate failed beside the plans: the engine held every plan back, and r (offered since the last run did not
    finish, or a stack is "not planned") would only plan again and stop at the same gates. p is what helps."""
    from gfwizard import stacks_events as ev
    from gfwizard.checks import failed, passed
    from gfwizard.stacks import StackPlan

    binary = "terraform 1.11.4 (/usr/bin/terraform)"
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        screen.post_message(screen.EngineReady("dev", ORDER, binary, resumable=True))
        await wait_until(pilot, lambda: screen.resumable, "the unfinished last run")
        assert screen.check_action("resume", ()) is True
        screen.post_message(screen.EngineEvent(ev.StackPlanned("attic", summary(add=2), "sha256:a", 0.1)))
        screen.post_message(screen.EngineEvent(ev.GateChecked(
            (passed("server"), failed("fingerprint", "fingerprint mismatch", "run `gfwizard validate`")), False)))
        await wait_until(pilot, lambda: screen.gates is not None, "the failed gates")
        held = {name: StackPlan(name, error="planned while the deploy gates failed: no preview, and not applied (see "
                                            "the gates)") for name in ORDER}
        screen._accept_plans(held)
        await pilot.pause()
        assert text_of(screen.query_one("#step-status")).startswith("A safety gate failed (fingerprint) while "
                                                                    "planning")
        assert screen.check_action("resume", ()) is False
        assert screen.check_action("plan_all", ()) is True, "p, which plans again once the remedy is followed"
        await pilot.press("r")
        await pilot.pause()
        assert screen.busy is None, "r started an action"

        # Planned again with the gates passing: r is offered again for the unfinished run.
        screen.post_message(screen.EngineEvent(ev.GateChecked((passed("server"), passed("fingerprint")), True)))
        await wait_until(pilot, lambda: screen.gates is not None and screen.gates.ok, "the passed gates")
        screen._accept_plans({name: StackPlan(name, outcome="planned", summary=summary(add=1), plan_hash=f"h{name}")
                              for name in ORDER})
        assert screen.check_action("resume", ()) is True


async def test_placement_tables_are_marked_not_live_when_nodes_cannot_be_read(offline: None) -> None:
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.placement import NodeInfo, compute_placement, requests_for
    from screens.placement_pane import PlacementPane
    from textual.widgets import DataTable

    cfg = build_config(ConfigAnswers())
    nodes = [NodeInfo(name=name, labels={"kubernetes.io/hostname": name}, cpu_allocatable_m=8000,
                      memory_allocatable=16 * 1024 ** 3, ready=True) for name in ("honey", "bumble", "sting")]
    table = compute_placement(cfg, nodes, requests_for(cfg))
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        pane = screen.query_one(PlacementPane)
        title, foot = pane.query_one(".pane-title"), pane.query_one("#placement-conflicts")

        # Never read: only the reason, nothing to mark.
        screen.post_message(screen.PlacementComputed(None, "nodes could not be read: connection refused"))
        await wait_until(pilot, lambda: "connection refused" in text_of(foot), "the first error")
        assert text_of(foot) == "nodes could not be read: connection refused" and text_of(title) == "Placement"

        screen.post_message(screen.PlacementComputed(table))
        await wait_until(pilot, lambda: text_of(foot) == "No conflicts.", "the live placement")
        counts = [t.row_count for t in pane.query(DataTable)]
        assert all(counts) and not pane.has_class("-stale")

        screen.post_message(screen.PlacementComputed(None, "nodes could not be read: connection refused"))
        await wait_until(pilot, lambda: "connection refused" in text_of(foot), "the later error")
        assert text_of(title) == "Placement · last known, NOT LIVE"
        assert text_of(foot).startswith("Not live: nodes could not be read: connection refused\n"
                                        "The tables above are the last known placement, read at ")
        assert pane.has_class("-stale") and [t.row_count for t in pane.query(DataTable)] == counts

        screen.post_message(screen.PlacementComputed(table))  # readable again: live again
        await wait_until(pilot, lambda: text_of(foot) == "No conflicts.", "the live placement again")
        assert text_of(title) == "Placement" and not pane.has_class("-stale")


async def _placement_shown(pilot: Any, app: Any, table: "PlacementTable") -> tuple[Any, "PlacementPane"]:
    """The deploy step ready with ``table`` posted to its placement pane, shown (``t`` when it is the overlay)."""
    from screens.placement_pane import PlacementPane

    screen = await ready(pilot, app)
    pane = screen.query_one(PlacementPane)
    if not pane.display:
        await pilot.press("t")
    screen.post_message(screen.PlacementComputed(table))
    return screen, pane


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["column", "overlay"])
async def test_placement_roles_fit_the_pane_whole(offline: None, size: tuple[int, int]) -> None:
    """The rehearsal honey's own figures (``320Mi/31.9Gi``, ``200m/16``) fit the pane as a column (from 110
    columns) and as the overlay (below): no cell cut, no horizontal scrollbar."""
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.placement import NodeInfo, compute_placement, requests_for
    from textual.coordinate import Coordinate
    from textual.widgets import DataTable

    cfg = build_config(ConfigAnswers())
    nodes = [NodeInfo(name=name, labels={"kubernetes.io/hostname": name}, cpu_allocatable_m=16000,
                      memory_allocatable=int(31.9 * 1024 ** 3), ready=True) for name in ("honey", "bumble", "sting")]
    table = compute_placement(cfg, nodes, requests_for(cfg))
    app = offline_app()
    async with app.run_test(size=size) as pilot:
        screen, pane = await _placement_shown(pilot, app, table)
        roles = pane.query_one("#placement-roles", DataTable)
        await wait_until(pilot, lambda: roles.row_count == 2, "the roles")
        await pilot.pause()
        cells = [str(roles.get_cell_at(Coordinate(row, 3))) for row in range(roles.row_count)]
        assert all(cell.endswith("/31.9Gi") for cell in cells), cells
        assert roles.virtual_size.width <= roles.scrollable_content_region.width, (
            roles.virtual_size.width, roles.scrollable_content_region.width)


@pytest.mark.parametrize(("candidates", "role", "shown"), [
    (["bumble"], "bumble", ""),
    (["bumble", "bumble-2"], "bumble", " (bumble)"),
    (["node-7"], "bumble", " (bumble)"),
    ([], "bumble", " (bumble)"),
    ([], None, " (no role)"),
    (["bumble"], None, " (no role)"),
], ids=["named-after-role", "two-nodes", "other-name", "nowhere", "no-role", "no-role-node-named-bumble"])
def test_where_a_stack_lands_names_its_role_unless_its_one_node_is_named_after_it(
        candidates: list[str], role: str | None, shown: str) -> None:
    """``bumble (bumble)`` said the same name twice: the one node named after the role stands alone; otherwise the
    role follows in brackets (the column says ``Lands on (role)``), and a row without one says so."""
    from screens.placement_pane import role_note

    assert role_note(candidates, role) == shown


#: A cloud node's name: 58 characters, more than the whole Nodes column of the 40-column pane.
LONG_NODE = "ip-10-0-113-27.eu-central-1.compute.internal-worker-pool-b"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["column", "overlay"])
async def test_a_long_node_name_is_elided_in_the_middle_and_whole_under_the_mouse(
        offline: None, size: tuple[int, int]) -> None:
    """A node named as a cloud names it: cut in the middle (its start and its pool at the end kept) so both
    placement tables fit the pane without a horizontal scrollbar, and whole in the tooltip of its cell."""
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.placement import NodeInfo, compute_placement, requests_for
    from textual.coordinate import Coordinate
    from textual.widgets import DataTable
    from textual.widgets._tooltip import Tooltip

    cfg = build_config(ConfigAnswers())
    names = {"bumble": "bumble", "sting": LONG_NODE}
    nodes = [NodeInfo(name=names[role], labels={"kubernetes.io/hostname": role}, cpu_allocatable_m=16000,
                      memory_allocatable=int(31.9 * 1024 ** 3), ready=True) for role in names]
    table = compute_placement(cfg, nodes, requests_for(cfg))
    app = offline_app()
    async with app.run_test(size=size, tooltips=True) as pilot:
        screen, pane = await _placement_shown(pilot, app, table)
        roles = pane.query_one("#placement-roles", DataTable)
        rows = pane.query_one("#placement-rows", DataTable)
        await wait_until(pilot, lambda: roles.row_count == 2 and rows.row_count == 4, "the placement tables")
        await pilot.pause()
        for shown in (roles, rows):
            assert shown.virtual_size.width <= shown.scrollable_content_region.width, (
                shown.id, shown.virtual_size.width, shown.scrollable_content_region.width)
        sting = [str(roles.get_cell_at(Coordinate(row, 0))) for row in range(2)].index("sting")
        cut = str(roles.get_cell_at(Coordinate(sting, 1)))
        assert cut != LONG_NODE and "…" in cut and len(cut) >= 6, cut
        head, tail = cut.split("…")
        assert LONG_NODE.startswith(head) and LONG_NODE.endswith(tail) and head.startswith("ip-"), cut
        bumble = str(roles.get_cell_at(Coordinate(1 - sting, 1)))
        assert bumble == "bumble", "a name that fits is cut"
        lands = {str(rows.get_cell_at(Coordinate(r, 0))): str(rows.get_cell_at(Coordinate(r, 1))) for r in range(4)}
        # The node named after its role alone ("bumble (bumble)" repeated it); another name, the role after it.
        assert lands["attic"] == "bumble"
        assert [str(column.label) for column in rows.columns.values()] == ["Stack", "Lands on (role)"]
        head, tail = lands["arc-runners"].removesuffix(" (sting)").split("…")
        assert LONG_NODE.startswith(head) and LONG_NODE.endswith(tail) and len(head) >= 4, lands

        # The mouse on the cut cell: its full text as the tooltip; on a whole one, none.
        def column_x(table: DataTable[object], column: int) -> int:
            return sum(c.get_render_width(table) for c in list(table.columns.values())[:column]) + 1

        await pilot.hover(roles, offset=(column_x(roles, 1), 1 + sting))
        assert roles.tooltip == LONG_NODE
        tip = app.screen.query_one(Tooltip)
        await wait_until(pilot, lambda: tip.display and LONG_NODE in str(tip.render()), "the tooltip")
        await pilot.hover(roles, offset=(column_x(roles, 1), 2 - sting))
        assert roles.tooltip is None
        arc = list(lands).index("arc-runners")
        await pilot.hover(rows, offset=(column_x(rows, 1), 1 + arc))
        assert rows.tooltip == f"{LONG_NODE} (sting)"

        # The other layout (the column has a border, the overlay none): the tables are laid out for it.
        await pilot.resize_terminal(*((80, 24) if size[0] > 80 else (120, 40)))
        await wait_until(pilot, lambda: pane.has_class("overlay") != (size[0] < 110), "the other layout")
        if not pane.display:
            await pilot.press("t")
        await pilot.pause()
        for shown in (roles, rows):
            assert 0 < shown.virtual_size.width <= shown.scrollable_content_region.width, shown.id


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["column", "overlay"])
async def test_a_cut_node_name_is_read_whole_without_a_mouse(offline: None, size: tuple[int, int]) -> None:
    """The tooltip needs a mouse: while a name is cut, a line under the tables names n, and n shows the placement
    with every name whole in a dialog (Escape closes it); with every name whole, neither is offered."""
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.placement import NodeInfo, compute_placement, requests_for
    from screens.placement_pane import CUT_HINT, PlacementPane

    cfg = build_config(ConfigAnswers())

    def placement(sting: str) -> Any:
        names = {"bumble": "bumble", "sting": sting}
        return compute_placement(cfg, [NodeInfo(name=names[role], labels={"kubernetes.io/hostname": role},
                                                cpu_allocatable_m=16000, memory_allocatable=int(31.9 * 1024 ** 3),
                                                ready=True) for role in names], requests_for(cfg))

    app = offline_app()
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot, app)
        pane = screen.query_one(PlacementPane)
        hint = pane.query_one("#placement-cut")
        screen.post_message(screen.PlacementComputed(placement("sting")))
        await wait_until(pilot, lambda: pane.query_one("#placement-rows").row_count == 4, "the placement tables")
        assert not hint.display and screen.check_action("show_placement_names", ()) is False
        await pilot.press("n")
        await pilot.pause()
        assert not modal_named(app, "InfoModal"), "n opened a dialog with nothing cut"

        screen.post_message(screen.PlacementComputed(placement(LONG_NODE)))
        await wait_until(pilot, lambda: hint.display, "the line naming n")
        assert text_of(hint) == CUT_HINT and screen.check_action("show_placement_names", ()) is True
        assert "n" in screen.active_bindings and screen.active_bindings["n"].enabled
        await pilot.press("n")
        await wait_until(pilot, lambda: modal_named(app, "InfoModal"), "the placement dialog")
        assert app.screen.title_text == "Placement, node names whole"  # type: ignore[attr-defined]
        lines = text_of(app.screen.query_one("#error-message")).splitlines()
        assert lines[:3] == ["Nodes by role", "  bumble: bumble", f"  sting: {LONG_NODE}"], lines
        assert "Where each stack lands (role)" in lines, lines
        assert f"  arc-runners: {LONG_NODE} (sting)" in lines and "  attic: bumble" in lines, lines
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the dialog closed")

        # Nodes unreadable now: the last tables stay, and the dialog says they are not live.
        screen.post_message(screen.PlacementComputed(None, "nodes could not be read: connection refused"))
        await wait_until(pilot, lambda: pane.has_class("-stale"), "the tables marked not live")
        await pilot.press("n")
        await wait_until(pilot, lambda: modal_named(app, "InfoModal"), "the placement dialog again")
        lines = text_of(app.screen.query_one("#error-message")).splitlines()
        assert lines[0].startswith("Last known placement, read at ") and lines[0].endswith(": NOT LIVE."), lines
        assert f"  sting: {LONG_NODE}" in lines, lines


async def test_the_wizard_refuses_a_state_dir_others_may_write_to_as_deploy_does(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The wizard builds the engine itself: a world-writable state dir (plans, journals, the provider cache go
    there) stops it as it stops `gfwizard deploy`, with the same message, and nothing is written there."""
    from screens.launch import build_app

    ws = rehearsal_workspace
    shared = tmp_path / "shared-state"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("GFW_STATE_DIR", str(shared))
    before = workspace_files(ws)
    app = build_app(rehearsal=ws, repo=REPO, start_at="deploy")  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error modal")
        message = text_of(app.screen.query_one("#error-message"))
        assert message == (f"the gfwizard state directory {shared} (from $GFW_STATE_DIR) cannot be used: every "
                           "local user may write to it (mode 0777) and so plant files or links in it; nothing "
                           "was run")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the modal closed")
        assert app.screen.engine is None
        assert app.screen.check_action("plan_all", ()) is False
    assert list(shared.iterdir()) == [], "something was written into the shared state dir"
    assert workspace_files(ws) == before, "a refused engine start wrote files"
