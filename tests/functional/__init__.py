"""Functional tests: the wizard driven with Textual's Pilot against the rehearsal services.

Shared helpers live here (plain functions, no fixtures), so every test module reads the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from rich.text import Text

if TYPE_CHECKING:
    from textual.pilot import Pilot
    from textual.widget import Widget

    from screens.app import WizardApp

REPO = Path(__file__).resolve().parents[2]


async def wait_until(pilot: "Pilot[None]", predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    _t0 = time.monotonic()
    """Let the app run until ``predicate()`` is true; fail naming ``what`` (and the screen) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        if predicate():
            import os
            if os.environ.get("WUI_TIMING"):
                print(f"{what}: {time.monotonic() - _t0:.2f}s")
            return
    screen = pilot.app.screen
    status = ""
    try:
        status = text_of(screen.query_one("#step-status"))
    except Exception:  # noqa: BLE001 - only for the failure message
        pass
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen {screen!r}, status {status!r}")


def text_of(widget: "Widget") -> str:
    """The plain text a Static shows."""
    content = getattr(widget, "content", "")
    if isinstance(content, Text):
        return content.plain
    return str(content)


def on_step(app: "WizardApp", name: str) -> bool:
    """True when the wizard shows step ``name`` (and no dialog is on top of it)."""
    from screens.step import StepScreen

    return app.step == name and isinstance(app.screen, StepScreen)


def modal_named(app: "WizardApp", cls_name: str) -> bool:
    """True when the top screen is a dialog of class ``cls_name``, composed and showing its buttons."""
    from textual.widgets import Button

    screen = app.screen
    return type(screen).__name__ == cls_name and screen.is_mounted and bool(screen.query(Button))


async def type_into(pilot: "Pilot[None]", selector: str, text: str) -> None:
    """Replace an Input's value by typing, as an operator would (focus, clear, keys)."""
    from textual.widgets import Input

    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    await pilot.pause()
    box.action_end()
    await pilot.press("ctrl+u")
    await pilot.press(*[{" ": "space", "-": "minus", ".": "full_stop", "/": "slash", ":": "colon",
                         "_": "underscore"}.get(ch, ch) for ch in text])
    await pilot.pause()
