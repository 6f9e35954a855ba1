"""Snapshot tests (pytest-textual-snapshot) and their shared helpers."""

from __future__ import annotations

import time
from typing import Any, Callable


async def settle(pilot: Any, ready: Callable[[], object], pause: float = 0.1) -> None:
    """Wait (bounded) until ``ready()``, then for the screen to finish painting."""
    deadline = time.monotonic() + 20
    while not ready() and time.monotonic() < deadline:
        await pilot.pause(0.05)
    assert ready(), f"screen never became ready: {pilot.app.screen!r}"
    await pilot.pause(pause)
    await pilot.wait_for_scheduled_animations()
