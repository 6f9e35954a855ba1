"""Snapshot tests of the Deploy and Done steps (and the prod apply confirmation) at 80x24 and 120x40.

Everything in the picture is fixed: ``DeployScreen.LIVE`` is off, so no engine or placement worker
starts, and the screen is fed fixed EngineReady / EngineEvent / PlacementComputed messages, fixed log
lines and fixed session data (transcript paths, outcomes). No port, temp path, time or UID reaches
an SVG. Regenerate after an intended change with
``pytest tests/snapshots/test_deploy_snapshots.py --snapshot-update`` and look at the SVGs under
``__snapshots__/test_deploy_snapshots/`` before keeping them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.snapshots import settle

PAINT_PAUSE = 0.2  # the deploy panes need a little longer to paint than the wizard steps

if TYPE_CHECKING:
    from gfwizard.gates import ConfirmRequest
    from gfwizard.placement import PlacementTable
    from screens.app import WizardApp

SIZES = [(80, 24), (120, 40)]
ids = [f"{w}x{h}" for w, h in SIZES]
REPO = Path("/srv/gloriousflywheel")
CONFIG = REPO / "config" / "organization.yaml"
ORDER = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
RUN = "20250601T113000Z-4f2a9c"
TRANSCRIPTS = {s: f"/home/operator/.local/state/gfwizard/transcripts/dev/{RUN}-{s}.log" for s in ORDER}
BINARY = "terraform 1.11.4 (/usr/bin/terraform)"


@pytest.fixture(autouse=True)
def no_live_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deploy step paints only what the test feeds it."""
    from screens.deploy_screen import DeployScreen

    monkeypatch.setattr(DeployScreen, "LIVE", False)


def wizard(step: str) -> "WizardApp":
    """The wizard at ``step`` for fixed paths, with the session as the earlier steps leave it."""
    from screens.launch import build_app

    app = build_app(config_path=CONFIG, repo=REPO, start_at=step)
    app.session.context, app.session.kubeconfig = "honey", "/home/operator/.kube/kubeconfig-honey.yaml"
    return app


def placement() -> "PlacementTable":
    """Three ready nodes (honey, bumble, sting) with fixed capacity; the default workloads."""
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.placement import NodeInfo, compute_placement, requests_for

    cfg = build_config(ConfigAnswers())
    gib = 1024 ** 3
    nodes = [NodeInfo(name=name, labels={"kubernetes.io/hostname": name}, cpu_allocatable_m=cpu,
                      memory_allocatable=mem * gib, ready=True)
             for name, cpu, mem in (("honey", 4000, 8), ("bumble", 8000, 32), ("sting", 8000, 16))]
    return compute_placement(cfg, nodes, requests_for(cfg))


def summary(add: int = 0, change: int = 0, destroy: int = 0, replace: int = 0, **lists: list[str]) -> Any:
    from gfwizard.tofu_summary import PlanSummary

    return PlanSummary(add=add, change=change, destroy=destroy, replace=replace, **lists)


def deploy_events() -> list[Any]:
    """A run in the middle: attic applied, arc-runners applying, gitlab-runners planned, the
    dashboard locked by another operator."""
    from datetime import datetime, timezone

    from gfwizard import stacks_events as ev
    from gfwizard.checks import passed
    from gfwizard.journal import LockHolder

    lock = LockHolder(id="6d1f0b6e-8a57-4c1e-9a42-2f7e1c0c5b11", who="bob@ci-runner",
                      operation="OperationTypeApply", created=datetime(2025, 6, 1, 11, 18, tzinfo=timezone.utc))
    return [
        *(ev.StackPlanning(s) for s in ORDER),
        ev.StackPlanned("attic", summary(add=3), "sha256:1", 2.1),
        ev.StackPlanned("arc-runners", summary(add=3), "sha256:2", 2.3),
        ev.StackPlanned("gitlab-runners", summary(add=2, change=1), "sha256:3", 2.2),
        ev.StackLocked("runner-dashboard", "plan", lock, 720.0,
                       "wait for bob@ci-runner to finish, then re-run `gfwizard deploy --env dev --resume`"),
        ev.GateChecked((passed("server", "ok"), passed("fingerprint", "ok"), passed("lock probe", "ok")), True),
        ev.ApplyStarted("attic", "sha256:1", summary(add=3)),
        *(ev.ResourceApplied("attic", f"terraform_data.r[{i}]", "create", 0.1) for i in range(3)),
        ev.StackApplied("attic", 3, 0, 0, 1.5),
        ev.ApplyStarted("arc-runners", "sha256:2", summary(add=3)),
        ev.ResourceApplied("arc-runners", 'terraform_data.namespace["arc-systems-dev"]', "create", 0.1),
    ]


LOG = [
    "$ terraform apply -input=false -json -lock-timeout=0s plan.tfplan",
    'terraform_data.namespace["arc-systems-dev"]: Creating...',
    'terraform_data.namespace["arc-systems-dev"]: Creation complete after 0s [id=5b1c]',
    "terraform_data.workload[\"arc-systems-dev/arc-dev-gha-rs-controller\"]: Creating...",
]


async def fill_deploy(pilot: Any, busy: bool = True) -> None:
    """Feed the fixed run into the deploy screen and select arc-runners; ``busy``: the apply is still
    running (else it has stopped, with the dashboard locked)."""
    from gfwizard.stacks_events import LogLine
    from screens.deploy_screen import DeployScreen
    from screens.stack_list import StackList

    screen = pilot.app.screen
    assert isinstance(screen, DeployScreen)
    pilot.app.session.transcripts.update(TRANSCRIPTS)
    screen.post_message(DeployScreen.EngineReady("dev", ORDER, BINARY))
    for event in deploy_events():
        screen.post_message(DeployScreen.EngineEvent(event))
    screen.post_message(DeployScreen.PlacementComputed(placement()))
    await settle(pilot, lambda: screen.rows and screen.rows["arc-runners"].state == "applying", PAINT_PAUSE)
    screen.busy = "apply" if busy else None
    for line in LOG:
        screen._on_event(LogLine("arc-runners", "stdout", line))
    screen.query_one(StackList).move_cursor(row=1)
    screen._status("apply running… (c cancels)" if busy else
                   "runner-dashboard is locked by bob@ci-runner for 12m: wait for bob@ci-runner to finish, "
                   "then r resumes", not busy)
    screen.refresh_bindings()
    await settle(pilot, lambda: screen.log_pane.selected == "arc-runners" and screen.log_pane.buffers.get(
        "arc-runners"), PAINT_PAUSE)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_deploy(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(wizard("deploy"), terminal_size=size, run_before=fill_deploy)


def test_deploy_narrow_placement_overlay(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await fill_deploy(pilot, busy=False)
        await pilot.press("t")
        await settle(pilot, lambda: pilot.app.screen.query_one("#placement-pane").display, PAINT_PAUSE)

    assert snap_compare(wizard("deploy"), terminal_size=(80, 24), run_before=run_before)


def prod_request() -> "ConfirmRequest":
    """A prod apply that deletes one resource and replaces another."""
    from gfwizard.gates import PlannedStack, build_request

    return build_request("prod", True, [
        PlannedStack("attic", summary(change=1, replace=1, updates=['terraform_data.namespace["attic"]'],
                                      replaces=["terraform_data.apply_delay[0]"]), "sha256:1"),
        PlannedStack("gitlab-runners", summary(add=1, destroy=1, creates=["terraform_data.workload[\"b\"]"],
                                               deletes=['terraform_data.workload["gitlab-runners/old"]']),
                     "sha256:3"),
    ])


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_prod_typed_confirmation(snap_compare: Any, size: tuple[int, int]) -> None:
    from screens.confirm_modal import TypedConfirmModal
    from screens.deploy_bridge import confirm_body

    app = wizard("deploy")
    app.session.env = "prod"

    async def run_before(pilot: Any) -> None:
        from textual.widgets import Button

        await fill_deploy(pilot)
        pilot.app.push_screen(TypedConfirmModal("Apply to prod?", confirm_body(prod_request()), "prod"))
        await settle(pilot, lambda: type(pilot.app.screen).__name__ == "TypedConfirmModal"
                     and bool(pilot.app.screen.query(Button)), PAINT_PAUSE)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_done(snap_compare: Any, size: tuple[int, int]) -> None:
    app = wizard("done")
    app.session.deploy_outcomes.update({"attic": "applied", "arc-runners": "applied", "gitlab-runners": "no changes",
                                        "runner-dashboard": "unchanged"})
    app.session.transcripts.update(TRANSCRIPTS)

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: pilot.app.screen.query_one("#summary").row_count == 4, PAINT_PAUSE)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
