"""The deploy screen's log pane: fed from another thread, bounded, redacted where shown, searchable."""

from __future__ import annotations

import threading

from textual.app import App, ComposeResult

from screens.logpane import LogPane, LogView
from tests.functional import text_of, wait_until

SECRET = "glpat-abcdefghijklmnopqrstu"


class PaneApp(App[None]):
    """Just the pane, as the deploy screen holds it."""

    def compose(self) -> ComposeResult:
        yield LogPane(max_lines=50, id="log-pane")


def feed(pane: LogPane, stack: str, count: int, start: int = 0) -> None:
    """``count`` numbered lines for ``stack`` from a thread (as the engine does); every 10th holds a token."""
    def run() -> None:
        for i in range(start, start + count):
            pane.add_line(stack, f"{stack}: terraform_data.app[{i}]: Creating..." +
                          (f" token={SECRET}" if i % 10 == 0 else ""))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


async def test_bounded_follows_the_tail_and_never_shows_a_secret() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(LogPane)
        view = pane.query_one(LogView)
        feed(pane, "attic", 1000)
        feed(pane, "arc-runners", 30)
        await wait_until(pilot, lambda: pane.ingested == 1030, "every line taken in")
        # Bounded per stack; the first stack to speak is shown; the view follows its tail (the scroll
        # to the end happens after the next refresh, which a loaded machine may delay).
        assert len(pane.buffers["attic"]) == 50 and len(pane.buffers["arc-runners"]) == 30
        assert pane.selected == "attic" and text_of(pane.query_one("#log-title")) == "Log · attic"
        last = "attic: terraform_data.app[999]: Creating..."
        await wait_until(pilot, lambda: view.visible_text()[-1:] == [last], "the view to follow the tail")
        shown = view.visible_text()
        assert len(shown) == view.size.height
        assert any("[REDACTED]" in line for line in shown)
        assert not any(SECRET in line for line in shown)
        # The transcript path is in the footer; f stops following.
        pane.set_transcript("attic", "/tmp/transcripts/dev/attic-plan.log")
        await pilot.pause()
        assert "transcript: /tmp/transcripts/dev/attic-plan.log" in text_of(pane.query_one("#log-transcript"))
        view.focus()
        await pilot.press("f")
        assert not pane.follow and "follow off" in text_of(pane.query_one("#log-transcript"))
        view.scroll_home(animate=False)
        feed(pane, "attic", 5, start=1000)
        await wait_until(pilot, lambda: pane.ingested == 1035, "five more lines")
        await pilot.pause()
        assert round(view.scroll_offset.y) == 0, "with follow off the view must stay where it is"
        pane.select("arc-runners")
        await pilot.pause()
        assert view.visible_text()[0] == "arc-runners: terraform_data.app[0]: Creating... token=[REDACTED]"


async def test_search_matches_redacted_text_only_and_escape_clears_it() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(LogPane)
        view = pane.query_one(LogView)
        feed(pane, "attic", 40)
        await wait_until(pilot, lambda: pane.ingested == 40, "the lines")
        view.focus()
        await pilot.press("slash")
        await pilot.press(*"app[3")
        await pilot.press("enter")
        await pilot.pause()
        assert pane.query_text == "app[3"
        assert list(view.lines) == [f"attic: terraform_data.app[{i}]: Creating..." + (f" token={SECRET}" if i == 30 else "")
                                    for i in (3, *range(30, 40))]
        assert "filter 'app[3'" in text_of(pane.query_one("#log-transcript"))
        # New lines that match join the filtered view.
        feed(pane, "attic", 1, start=300)
        await wait_until(pilot, lambda: pane.ingested == 41, "one more line")
        await pilot.pause()
        assert view.visible_text()[-1] == "attic: terraform_data.app[300]: Creating... token=[REDACTED]"
        # A query that only matches the secret finds nothing: a search must not reveal it.
        await pilot.press("slash")
        await pilot.press(*SECRET[:12])
        await pilot.press("enter")
        await pilot.pause()
        assert pane.query_text == SECRET[:12] and list(view.lines) == []
        await pilot.press("slash")
        await pilot.press("escape")
        await pilot.pause()
        assert pane.query_text == "" and len(view.lines) == 41


async def test_the_deploy_screen_may_clear_the_buffers() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.query_one(LogPane)
        feed(pane, "attic", 20)
        await wait_until(pilot, lambda: pane.ingested == 20, "the lines")
        pane.buffers.clear()  # what the deploy screen does before a new run
        feed(pane, "attic", 3, start=500)
        await wait_until(pilot, lambda: pane.ingested == 23, "the new lines")
        await wait_until(pilot, lambda: "[500]" in "".join(pane.query_one(LogView).visible_text()[:1]),
                         "the new lines shown")
        assert list(pane.buffers["attic"])[0].startswith("attic: terraform_data.app[500]")
        assert pane.query_one(LogView).visible_text()[:3] == [
            "attic: terraform_data.app[500]: Creating... token=[REDACTED]",
            "attic: terraform_data.app[501]: Creating...",
            "attic: terraform_data.app[502]: Creating...",
        ]


async def test_a_smaller_window_keeps_the_tail_in_view_while_following() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(LogPane)
        view = pane.query_one(LogView)
        feed(pane, "attic", 45)
        last = "attic: terraform_data.app[44]: Creating..."
        await wait_until(pilot, lambda: view.visible_text()[-1:] == [last], "the view to follow the tail")
        await pilot.resize_terminal(80, 14)
        await wait_until(pilot, lambda: view.visible_text()[-1:] == [last], "the tail after the resize")
        # Multi-line messages (terraform's `Interrupt received.\nPlease wait...`) read as one line.
        pane.add_line("attic", "Interrupt received.\nPlease wait for Terraform to exit")
        await wait_until(pilot, lambda: view.visible_text()[-1:] == [
            "Interrupt received. Please wait for Terraform to exit"], "the joined line")
        # With follow off, a resize leaves the view where the operator put it.
        view.focus()
        await pilot.press("f")
        view.scroll_home(animate=False)
        await pilot.resize_terminal(90, 12)
        await pilot.pause(0.2)
        assert round(view.scroll_offset.y) == 0


async def test_control_characters_and_bidi_overrides_are_painted_inert() -> None:
    """A line from outside (an API error, a resource name) cannot drive the terminal or reorder the text."""
    app = PaneApp()
    async with app.run_test(size=(100, 12)) as pilot:
        pane = app.query_one(LogPane)
        pane.add_line("attic", "attic: \x1b[31mError\x1b[0m: name \u202eevil\u202c\x07 at\tcol")
        await wait_until(pilot, lambda: pane.ingested == 1, "the line")
        await wait_until(pilot, lambda: bool(pane.query_one(LogView).visible_text()), "the line shown")
        [shown] = pane.query_one(LogView).visible_text()
        assert shown.startswith("attic: Error: name \\u202eevil\\u202c\\x07 at ") and shown.endswith(" col"), shown
        assert shown.isprintable(), shown  # no escape, bell, tab or override left to reach the terminal
