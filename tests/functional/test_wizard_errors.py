"""Worker errors open the one error modal with message and remedy (redacted), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.functional import REPO, modal_named, on_step, text_of, wait_until


def modal_texts(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every text the error modal shows."""
    return [text_of(s) for s in app.screen.query(Static)]


@pytest.mark.parametrize("error, message, remedy", [
    ("gfw", "the checkout at /srv/x is unreadable: token=[REDACTED] is in the way", "set GFW_REPO to a GloriousFlywheel checkout"),
    ("plain", "RuntimeError: kaput: secret=[REDACTED]", "This is unexpected."),
])
async def test_a_failing_worker_opens_the_error_modal(error: str, message: str, remedy: str, isolated_home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import gfwizard.preflight
    from gfwizard.errors import InputError
    from screens.launch import build_app

    def boom(repo: Path, config_path: Path, **kwargs: object) -> list[object]:
        if error == "gfw":
            raise InputError("the checkout at /srv/x is unreadable: token=s3cr3t-t0ken-value is in the way",
                             remedy="set GFW_REPO to a GloriousFlywheel checkout")
        raise RuntimeError("kaput: secret=hunter2hunter2")

    monkeypatch.setattr(gfwizard.preflight, "run_preflight", boom)
    app = build_app(config_path=isolated_home / "organization.yaml", repo=REPO)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error modal")
        texts = modal_texts(app)
        assert message in texts
        assert any(t.startswith("Remedy: " + remedy) for t in texts), texts
        shown = "\n".join(texts)
        assert "Traceback" not in shown and 'File "' not in shown
        assert "s3cr3t" not in shown and "hunter2" not in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "preflight"), "the modal closed")
        status = text_of(app.screen.query_one("#step-status"))
        assert status.startswith("The preflight checks could not run") and app.screen.blocked_reason() is not None
        await pilot.press("ctrl+n")
        assert on_step(app, "preflight")


async def test_an_unexpected_error_names_a_log_that_holds_its_traceback(isolated_home: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialog of an unexpected error said its details "were written to the UI log": nothing wrote one (no
    handler), so the traceback a bug report needs was lost. The remedy names a file, and the file holds it,
    redacted, private to the user; a GfwError (message and remedy say it all) writes nothing there."""
    import stat

    import gfwizard.preflight
    from gfwizard.errors import InputError
    from gfwizard.uilog import ui_error_log
    from screens.launch import build_app

    calls: list[str] = []

    def boom(repo: Path, config_path: Path, **kwargs: object) -> list[object]:
        calls.append("preflight")
        if len(calls) > 1:
            raise InputError("the checkout is unreadable", remedy="set GFW_REPO")
        raise RuntimeError("kaput: secret=hunter2hunter2")

    monkeypatch.setattr(gfwizard.preflight, "run_preflight", boom)
    log = ui_error_log()
    assert not log.exists()
    app = build_app(config_path=isolated_home / "organization.yaml", repo=REPO)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error modal")
        remedy = next(t for t in modal_texts(app) if t.startswith("Remedy: "))
        assert remedy == f"Remedy: This is unexpected. Its details (redacted) are in {log}: please report it with them."
        await wait_until(pilot, log.is_file, "the UI error log")
        text = log.read_text()
        assert "Traceback (most recent call last)" in text and "RuntimeError: kaput: secret=[REDACTED]" in text, text
        assert "hunter2" not in text
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "preflight"), "the modal closed")
        await pilot.press("r")  # the checks again: this time a GfwError
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal") and len(calls) == 2, "the second error")
        await pilot.pause()
        assert log.read_text() == text, "a GfwError's traceback went to the UI error log"


def test_a_crash_of_the_ui_exits_non_zero(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug outside a worker ends the app with Textual's traceback: the command must not exit 0."""
    from click.testing import CliRunner

    from gfwizard.cli import cli
    from screens.app import WizardApp

    def crash(self: WizardApp) -> None:
        raise RuntimeError("a bug in the UI")

    import gfwizard.commands._common as common

    run = WizardApp.run
    monkeypatch.setattr(common, "has_terminal", lambda: True)  # the headless app below stands in for one
    monkeypatch.setattr(WizardApp, "on_mount", crash)
    monkeypatch.setattr(WizardApp, "run", lambda self, **kwargs: run(self, headless=True, **kwargs))
    result = CliRunner().invoke(cli, ["wizard", "--config", str(isolated_home / "organization.yaml")])
    assert result.exit_code == 1, result.output


async def test_the_palette_offers_no_screenshot(isolated_home: Path) -> None:
    """Screenshot from the palette only failed over a step, and elsewhere wrote a file without asking."""
    from textual.command import CommandList, CommandPalette

    from screens.launch import build_app

    app = build_app(config_path=isolated_home / "organization.yaml", repo=REPO)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "preflight"), "the first step")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and {"Quit", "Keys"} <= set(titles), titles
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"scree")
        await pilot.pause(0.5)
        listed = app.screen.query_one(CommandList)
        prompts = [str(getattr(listed.get_option_at_index(i).prompt, "plain", listed.get_option_at_index(i).prompt))
                   for i in range(listed.option_count)]
        assert not [p for p in prompts if "Screenshot" in p], prompts
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "preflight"), "the palette closed")
    assert not list(isolated_home.rglob("*.svg")) and not list(Path.cwd().glob("gfwizard_*.svg"))
