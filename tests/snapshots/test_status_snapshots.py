"""Snapshot tests of the status app at 80x24 and 120x40, fed a fixed snapshot with a frozen clock.

Regenerate after an intended change with ``pytest tests/snapshots/test_status_snapshots.py
--snapshot-update`` and look at the SVGs under ``__snapshots__/`` before keeping them.
"""

from __future__ import annotations

from typing import Any

import pytest

from screens.status_app import StatusApp
from tests.status_support import FixedFeed, fixed_clock, fixed_snapshot

SIZES = [(80, 24), (120, 40)]


def _app() -> StatusApp:
    snap = fixed_snapshot()
    return StatusApp(FixedFeed(snap), config_path=snap.config_path, envs=["dev", "prod"], clock=fixed_clock,
                     tick_seconds=0.05, age_refresh_seconds=3600)


async def _settle(pilot: Any) -> None:
    for _ in range(40):
        await pilot.pause(0.05)
        if pilot.app.snapshots_applied:
            break
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("keys", [(), ("2",), ("3",), ("4",), ("5",)], ids=["api", "nodes", "stacks", "locks", "events"])
def test_status_panes(snap_compare: Any, size: tuple[int, int], keys: tuple[str, ...]) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.1)

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_status_workload_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("3")
        await pilot.press("enter")
        # The pods and the followed log arrive from workers; wait for both (a loaded machine is slow).
        for _ in range(100):
            await pilot.pause(0.05)
            screen = pilot.app.screen
            if screen.__class__.__name__ == "WorkloadScreen" and screen.pods and \
                    screen.query_one("#pod-log").line_count >= 2:
                break
        await pilot.pause(0.3)

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)
