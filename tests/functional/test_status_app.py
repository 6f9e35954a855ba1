"""The status app driven with Pilot against the rehearsal services: it writes nothing whatever is
pressed, names what a limited user cannot read, survives an API outage (stale marker, recovery),
re-lists after a 410 on a watch, and redraws only the cells that changed."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Callable
from urllib.parse import parse_qs

import pytest

from gfwizard.rehearsal.workspace import write_kubeconfig
from gfwizard.status import StatusOptions, StatusSource
from gfwizard.status_readonly import SSAR_PATH
from gfwizard.status_text import node_state
from screens.status_app import StatusApp, build_status_app
from screens.status_banner import ReadOnlyBanner
from screens.status_table import DiffTable
from tests.helpers import REPO, tree_digest
from tests.status_support import FixedFeed, fixed_clock, fixed_snapshot, journal_applied, put_lock, seed_deploy, \
    twin_outputs

FAST = StatusOptions(refresh_seconds=0.3, state_refresh_seconds=0.3, watch_timeout=2, backoff_initial=0.1,
                     backoff_cap=0.5, timeouts=(1.0, 3.0))


async def _until(pilot: Any, cond: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what or cond}")


def _banner(app: StatusApp) -> str:
    return getattr(app.screen.query_one(ReadOnlyBanner), "_text", "")


def _fixed_app(feed: FixedFeed, **options: Any) -> StatusApp:
    """The status app over ``feed`` for both environments, on the fixed clock, ticking fast."""
    return StatusApp(feed, envs=["dev", "prod"], clock=fixed_clock, tick_seconds=0.05, **options)


async def _open_first_workload(pilot: Any, app: StatusApp) -> None:
    """From the Stacks pane, Enter on the first workload row: its workload screen."""
    await pilot.press("3")
    await pilot.press("enter")
    await _until(pilot, lambda: app.screen.__class__.__name__ == "WorkloadScreen", what="workload screen")


@asynccontextmanager
async def _on_first_workload(feed: FixedFeed, size: tuple[int, int] = (80, 24)) -> AsyncIterator[tuple[StatusApp, Any]]:
    """The status app over ``feed`` (ages not refreshed), its first workload's screen open."""
    app = _fixed_app(feed, age_refresh_seconds=3600)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await _open_first_workload(pilot, app)
        yield app, pilot


def _notes(app: StatusApp, pane: str) -> str:
    return str(getattr(app.query_one(f"#{pane}-pane"), "_notes_text", ""))


def _cells(app: StatusApp, table_id: str) -> str:
    return " ".join(" ".join(str(c[0] if isinstance(c, tuple) else c) for c in cells)
                    for cells in app.query_one(f"#{table_id}", DiffTable).shown.values())


async def test_no_writes_through_every_pane_and_key(rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"))
    journal_applied(ws.dir, "dev", "attic")
    put_lock(ws, "dev", "gitlab-runners", age=timedelta(hours=2))
    ws.api.request_log.clear()
    ws.s3.request_log.clear()
    before = _digests(ws)

    app = build_status_app(ws.config_path, ws.env, options=FAST, tick_seconds=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0, what="first snapshot")
        await _until(pilot, lambda: "attic-dev/attic" in _cells(app, "stacks-table"), what="attic workload")
        cycles = app.snapshots_applied
        for key in ("1", "2", "3", "4", "5", "e", "e", "e", "r", "down", "up", "tab", "r", "3"):
            await pilot.press(key)
            await pilot.pause(0.05)
        # Open the attic workload: its pods and their followed log.
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)
        table.move_cursor(row=list(table.shown).index(next(k for k in table.shown if k.endswith("/attic"))))
        await pilot.press("enter")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "WorkloadScreen", what="workload screen")
        await _until(pilot, lambda: len(app.screen.query_one("#pod-log").lines) > 5, what="log lines")
        for key in ("c", "r", "down", "up", "r"):
            await pilot.press(key)
            await pilot.pause(0.2)
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen.__class__.__name__ != "WorkloadScreen", what="back")
        await pilot.press("r")
        await _until(pilot, lambda: app.snapshots_applied >= cycles + 5, what="several refresh cycles")
        assert "OLD" in _cells(app, "locks-table") and "live" in _banner(app)
        await pilot.press("q")

    api, s3 = _assert_nothing_written(ws, before)
    assert any(e["method"] == "POST" and e["path"] == SSAR_PATH for e in api)  # the permission checks ran
    assert any(e["path"].endswith("/log") for e in api)  # the log was followed
    assert any("watch=true" in e["query"] for e in api)  # ... and the kinds watched
    assert any(e["path"].endswith(".tflock") for e in s3)


def _digests(ws: Any) -> tuple[dict[str, str], ...]:
    """What status must leave as it was: the checkout's config, the workspace and the kubeconfig."""
    return tree_digest(REPO / "config"), tree_digest(ws.dir), tree_digest(ws.kubeconfig_path)


Requests = list[dict[str, Any]]


def _assert_nothing_written(ws: Any, before: tuple[dict[str, str], ...]) -> tuple[Requests, Requests]:
    """No request but a read reached the rehearsal API (a SelfSubjectAccessReview only asks) or this workspace's
    bucket, and no file changed since ``before`` (:func:`_digests`); returns both request logs."""
    api = ws.api.request_log.entries()
    # Only this workspace's bucket: the S3 server is shared by the session, and a terraform left running by
    # another test (a fault scenario lets it finish on purpose) may still write to its own bucket.
    s3 = [e for e in ws.s3.request_log.entries() if e["path"].startswith(f"/{ws.bucket}")]
    writes = [(e["method"], e["path"]) for e in api if e["method"] != "GET" and
              not (e["method"] == "POST" and e["path"] == SSAR_PATH)]
    assert writes == []
    assert [(e["method"], e["path"]) for e in s3 if e["method"] not in ("GET", "HEAD")] == []
    assert _digests(ws) == before
    return api, s3


#: A secret in an event's message, as a failing mount or pull can quote one.
EVENT_SECRET = "hunter2-Zq8vR4tLm9"


async def test_enter_or_a_click_shows_a_long_event_whole_redacted_and_writes_nothing(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    """An event message of 400 characters runs off the Events table at 80 columns: Enter on its row (or one
    click) opens it whole, redacted as in the table; Esc closes it; nothing is written meanwhile."""
    from gfwizard.rehearsal import k8s_objects as ko
    from screens.status_event import EventModal

    ws = rehearsal_workspace
    namespace = "events-long"
    scratch_namespaces.append(namespace)
    message = (f'MountVolume.SetUp failed for volume "attic-s3" : vault login refused password={EVENT_SECRET} '
               "for role attic; " + " ".join(f"retry {i} of 40 after backoff" for i in range(40)))
    message = message[:389] + " LAST-WORDS"
    assert len(message) == 400
    ws.api.store.put("namespaces", ko.namespace(namespace))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "attic-7d9f-x2", "namespace": namespace}}
    ws.api.store.put("events", ko.event(pod, "FailedMount", message, type_="Warning", component="kubelet"))
    ws.api.store.put("events", ko.event(pod, "BackOff", "Back-off restarting failed container", type_="Warning",
                                        component="kubelet", last=time.time() - 60))
    ws.api.request_log.clear()
    ws.s3.request_log.clear()
    before = _digests(ws)

    app = build_status_app(ws.config_path, ws.env, options=FAST, tick_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        table = app.query_one("#events-table", DiffTable)
        await _until(pilot, lambda: len([k for k in table.shown if k.startswith(f"{namespace}/")]) == 2,
                     what="the events")
        row = next(i for i, k in enumerate(table.shown) if k.startswith(f"{namespace}/Pod/attic-7d9f-x2/FailedMount"))
        other = next(i for i, k in enumerate(table.shown) if k.startswith(f"{namespace}/Pod/attic-7d9f-x2/BackOff"))
        table.move_cursor(row=row)
        shown = table.get_cell_at((row, len(table.columns) - 1)).plain
        assert table.virtual_size.width > table.scrollable_content_region.width, "the message fits: nothing to open"
        assert shown.endswith("LAST-WORDS") and EVENT_SECRET not in shown and "[REDACTED]" in shown
        footer_enter = app.screen.active_bindings["enter"].binding
        assert (footer_enter.description, footer_enter.show) == ("Message", True)

        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, EventModal), what="the event dialog")
        await pilot.pause()
        body = app.screen.query_one("#event-message")
        assert str(body.render()) == shown, "the dialog's message differs from the table's"
        assert body.region.height >= 6 and body.region.width < 80, "the message is not wrapped whole"
        screen_text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "LAST-WORDS" in screen_text and "[REDACTED]" in screen_text and EVENT_SECRET not in screen_text
        assert "FailedMount · events-long Pod/attic-7d9f-x2" in screen_text
        # Closing it, scrolling its message, moving focus, copying selected text: nothing else is offered.
        actions = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert {a for a in actions if not a.startswith(("scroll_", "page_"))} == {
            "dismiss", "app.focus_next", "app.focus_previous", "screen.copy_text"}, actions
        assert app.screen.active_bindings["escape"].binding.description == "Close"
        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, EventModal), what="the dialog closed")
        assert table.has_focus and table.cursor_row == row

        # One click on a row opens it (a plain table only moves its cursor there); on the row under the cursor,
        # which the table selects too, still one dialog.
        table.move_cursor(row=other)
        for _ in range(2):
            await pilot.click(table, offset=(2, 1 + row))
            await _until(pilot, lambda: isinstance(app.screen, EventModal), what="the dialog from a click")
            await pilot.pause()
            assert len(app.screen_stack) == 2 and app.screen.row.message == message
            await pilot.press("escape")
            await _until(pilot, lambda: len(app.screen_stack) == 1, what="the dialog closed again")

    _assert_nothing_written(ws, before)


async def test_limited_user_sees_notes_instead_of_failing(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    token = ws.api.set_policy("status-tui-limited", [
        {"verbs": ["get", "list", "watch"], "apiGroups": ["", "apps"],
         "resources": ["nodes", "pods", "deployments", "statefulsets", "daemonsets"]},
        {"verbs": ["get"], "nonResourceURLs": ["*"]},
    ])
    write_kubeconfig(ws.kubeconfig_path, server=ws.api.url, ca_pem=ws.api.ca_pem, token=token)
    ws.api.request_log.clear()
    app = build_status_app(ws.config_path, ws.env, options=FAST, tick_seconds=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("5")
        await _until(pilot, lambda: "could not read: events (403)" in getattr(
            app.query_one("#events-pane"), "_notes_text", ""), what="events note")
        # A read that failed is not an empty pane.
        assert "no recent warning events" not in getattr(app.query_one("#events-pane"), "_notes_text", "")
        assert "could not read: pods/log (403)" in getattr(app.query_one("#stacks-pane"), "_notes_text", "")
        assert "could not read: namespaces/kube-system (403)" in getattr(app.query_one("#cluster-pane"),
                                                                         "_notes_text", "")
        assert "honey" in _cells(app, "nodes-table")
        await pilot.press("q")
    # The denied kinds were never requested: the access reviews said no first.
    assert not [e for e in ws.api.request_log.entries() if e["path"] == "/api/v1/events"]


async def test_api_outage_shows_stale_then_recovers(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    app = build_status_app(ws.config_path, ws.env, options=FAST, tick_seconds=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0 and "live" in _banner(app), what="live")
        ws.api.faults.set_error(503)
        try:
            await _until(pilot, lambda: "STALE since" in _banner(app), what="stale marker")
            assert "API answering with errors" in _banner(app)
            # The banner names what fails; the reason itself is in the API pane.
            assert "503" in _notes(app, "cluster") or "unable" in _notes(app, "cluster")
            assert app.screen.query_one(ReadOnlyBanner).has_class("stale")
            await pilot.press("2")  # still responsive while stale
            # The panes fed by the API say that their rows are the last ones read; S3 still answers.
            await _until(pilot, lambda: "STALE since" in _notes(app, "nodes"), what="the nodes pane marked stale")
            assert "these are the last rows read, not live" in _notes(app, "nodes")
            assert app.query_one("#nodes-notes").has_class("stale")
            assert "honey" in _cells(app, "nodes-table")  # the last rows stay
            assert "STALE" not in _notes(app, "locks")
            await pilot.pause(0.3)
        finally:
            ws.api.faults.clear()
        await _until(pilot, lambda: "live" in _banner(app) and "STALE" not in _banner(app), what="recovery")
        assert not app.screen.query_one(ReadOnlyBanner).has_class("stale")
        await _until(pilot, lambda: "STALE" not in _notes(app, "nodes"), what="the nodes pane live again")
        assert not app.query_one("#nodes-notes").has_class("stale")
        await pilot.press("q")


async def test_an_api_that_stops_answering_marks_every_pane_it_feeds_stale(rehearsal_workspace: Any) -> None:
    # Connections accepted, never answered (a dropped tailnet): the probe times out in seconds, while each
    # watch sits on its open connection until its read timeout, minutes later. The rows listed through the
    # watches are no longer live from the probe's failure on, and the panes say so.
    ws = rehearsal_workspace
    slow_watches = StatusOptions(refresh_seconds=0.3, state_refresh_seconds=0.3, watch_timeout=120,
                                 backoff_initial=0.1, backoff_cap=0.5, timeouts=(1.0, 2.0))
    app = build_status_app(ws.config_path, ws.env, options=slow_watches, tick_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0 and "live" in _banner(app), what="live")
        await _until(pilot, lambda: "honey" in _cells(app, "nodes-table"), what="the nodes")
        ws.api.faults.blackhole(True)
        try:
            await _until(pilot, lambda: "STALE since" in _banner(app), what="the stale banner")
            fed = ("nodes", "stacks", "events")
            await _until(pilot, lambda: all("STALE since" in _notes(app, pane) for pane in fed),
                         what="the panes fed by the API marked stale")
            assert "these are the last rows read, not live" in _notes(app, "nodes")
            assert "honey" in _cells(app, "nodes-table")  # the last rows stay
            assert "STALE" not in _notes(app, "locks")  # S3 still answers
        finally:
            ws.api.faults.blackhole(False)
        await _until(pilot, lambda: "STALE" not in _banner(app) and "STALE" not in _notes(app, "nodes"),
                     what="recovery")
        await pilot.press("q")


async def test_a_view_started_during_an_api_outage_says_unknown_not_missing(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"))
    ws.api.faults.set_error(503)
    app = build_status_app(ws.config_path, ws.env, options=FAST, tick_seconds=0.2)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: "attic-dev/attic" in _cells(app, "stacks-table"), what="attic workload")
            cells = _cells(app, "stacks-table")
            assert "unknown" in cells and "missing" not in cells, cells
            snap = app.feed.snapshot()
            assert [p.kind for p in snap.problems] == ["api-unreachable"], snap.problems
            assert snap.notes_for("nodes") and not snap.nodes
            ws.api.faults.clear()
            await _until(pilot, lambda: "1/1" in _cells(app, "stacks-table"), what="the workload once listed")
            await pilot.press("q")
    finally:
        ws.api.faults.clear()


async def test_a_state_store_outage_keeps_the_last_known_state(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    from tests.backend_doubles import S3Proxy

    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"), serial=1)
    down = threading.Event()
    proxy = S3Proxy(ws.s3.endpoint, fail_when=lambda *_: down.is_set(), fail_status=503).__enter__()
    try:
        app = build_status_app(ws.config_path, {**ws.env, "AWS_ENDPOINT_URL_S3": proxy.endpoint}, options=FAST,
                               tick_seconds=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: "serial 1" in _cells(app, "stacks-table"), what="the dev state")
            await pilot.press("3")
            down.set()  # the store answers 503 to everything
            await _until(pilot, lambda: "STALE since" in _notes(app, "stacks"), what="the stacks pane marked stale")
            await _until(pilot, lambda: app.feed.snapshot().unreadable and app.snapshots_applied > 2)
            await pilot.pause(0.5)
            cells = _cells(app, "stacks-table")
            # dev keeps its last known state; prod, never applied, is still not applied (not "missing").
            assert "serial 1" in cells and "1/1" in cells and "not applied" in cells, cells
            assert "missing" not in cells and "unreadable" not in cells and "expected" not in cells, cells
            assert [p.kind for p in app.feed.snapshot().problems] == ["state-unreachable"]
            await pilot.press("q")
    finally:
        proxy.__exit__()


async def test_watch_410_triggers_a_relist(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    app = build_status_app(ws.config_path, ws.env, options=FAST, tick_seconds=0.2)
    source = app.feed
    assert isinstance(source, StatusSource)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0 and source.watchers["pods"].watches > 0)
        lists_before = source.watchers["pods"].lists
        ws.api.request_log.clear()
        ws.api.faults.set_error(410, count=1, path_prefix="/api/v1/pods")
        await _until(pilot, lambda: source.watchers["pods"].lists > lists_before, what="re-list")
        await pilot.press("q")
    pods = [e for e in ws.api.request_log.entries() if e["path"] == "/api/v1/pods"]
    kinds = ["watch" if parse_qs(e["query"]).get("watch") == ["true"] else "list" for e in pods]
    assert kinds[0] == "watch"  # the watch that got 410 Gone (in-stream, as a real server sends it)
    assert "list" in kinds[1:]
    assert all(e["method"] == "GET" for e in ws.api.request_log.entries() if e["path"] != SSAR_PATH)


async def test_only_changed_cells_are_redrawn() -> None:
    snap = fixed_snapshot()
    feed = FixedFeed(snap)
    app = _fixed_app(feed, age_refresh_seconds=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        nodes = app.query_one("#nodes-table", DiffTable)
        rebuilds, updates = nodes.rebuilds, nodes.cell_updates
        changed = list(snap.nodes)
        changed[0] = changed[0].model_copy(update={"pods": 13})
        feed.set_snapshot(snap.model_copy(update={"nodes": changed}))
        # Ticks may re-apply the unchanged snapshot first; wait for the change itself.
        await _until(pilot, lambda: nodes.shown["bumble"][5] == "13")
        assert (nodes.rebuilds, nodes.cell_updates - updates) == (rebuilds, 1)
        assert nodes.shown["bumble"][5] == "13"
        await pilot.press("r")
        await _until(pilot, lambda: feed.refreshes >= 1, what="the refresh")
        await pilot.pause(0.1)
        assert feed.refreshes == 1
    assert feed.started and feed.stopped


async def test_feed_error_opens_the_error_modal() -> None:
    class Broken(FixedFeed):
        def start(self) -> None:
            raise RuntimeError("kubeconfig loader exploded")

    app = StatusApp(Broken(fixed_snapshot()), clock=fixed_clock, tick_seconds=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: bool(app.screen.query("#error-message")), what="error modal")
        assert "kubeconfig loader exploded" in str(app.screen.query_one("#error-message").render())
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen.__class__.__name__ != "ErrorModal", what="the modal dismissed")


@pytest.mark.parametrize("size", [(80, 24)])
async def test_env_filter_is_a_view_filter(size: tuple[int, int]) -> None:
    app = _fixed_app(FixedFeed(fixed_snapshot()))
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        stacks = app.query_one("#stacks-table", DiffTable)
        assert {k.split("/")[0] for k in stacks.shown} == {"dev", "prod"}
        await pilot.press("e")
        await asyncio.sleep(0.05)
        assert app.env_filter == "dev" and {k.split("/")[0] for k in stacks.shown} == {"dev"}
        await pilot.press("e")
        assert app.env_filter == "prod" and {k.split("/")[0] for k in stacks.shown} == {"prod"}
        await pilot.press("e")
        assert app.env_filter is None


async def test_hostile_text_from_the_cluster_and_the_bucket_is_shown_escaped() -> None:
    from gfwizard.status_model import EventRow
    from tests.status_support import _Lines

    hostile = "ok\x1b[2J\x1b[32mALL HEALTHY\x1b[0m\nfake line"
    snap = fixed_snapshot()
    snap = snap.model_copy(update={
        "events": [EventRow(namespace="attic-dev", object="Pod/attic-7d9f-x2", reason="BackOff", message=hostile,
                            count=1, last_seen=snap.taken_at)],
        "locks": [snap.locks[0].model_copy(update={"who": "eve\x1b[31mRED\x1b[0m"})]})

    class ColourfulLogs(FixedFeed):
        def open_logs(self, namespace: str, pod: str, container: str, tail: int = 200) -> _Lines:
            return _Lines([b"\x1b[32mINFO\x1b[0m started \x1b[2Jcleared?"])

    app = _fixed_app(ColourfulLogs(snap))
    async with app.run_test(size=(160, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        events = app.query_one("#events-table", DiffTable)
        shown = [events.get_cell_at((row, col)).plain for row in range(events.row_count)
                 for col in range(len(events.columns))]
        assert "ok\\x1b[2J\\x1b[32mALL HEALTHY\\x1b[0m\\nfake line" in shown
        locks = app.query_one("#locks-table", DiffTable)
        assert "eve\\x1b[31mRED\\x1b[0m" in [locks.get_cell_at((0, col)).plain for col in range(len(locks.columns))]
        await pilot.press("5")
        await pilot.press("enter")  # the event whole: escaped as in its cell
        await _until(pilot, lambda: app.screen.__class__.__name__ == "EventModal", what="the event dialog")
        assert str(app.screen.query_one("#event-message").render()) == "ok\\x1b[2J\\x1b[32mALL HEALTHY\\x1b[0m\\nfake line"
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen.__class__.__name__ != "EventModal", what="the dialog closed")
        await _open_first_workload(pilot, app)
        await _until(pilot, lambda: len(app.screen.query_one("#pod-log").lines) > 0, what="log lines")
        assert list(app.screen.query_one("#pod-log").lines) == ["INFO started cleared?"]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_an_outage_of_both_sources_leaves_room_for_the_rows(size: tuple[int, int]) -> None:
    from gfwizard.status_model import Unreadable
    from tests.status_support import FIXED_NOW

    since = FIXED_NOW - timedelta(seconds=14)
    api = "API (events): cannot reach https://127.0.0.1:41567: connection refused"
    s3 = "S3: connection refused by http://127.0.0.1:43549: nothing is listening there"
    states = [Unreadable(pane="stacks", what=f"state gloriousflywheel/{env}/{stack}.tfstate", outage=True,
                         detail="connection refused by http://127.0.0.1:43549: nothing is listening there")
              for env in ("dev", "prod") for stack in ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")]
    locks = [Unreadable(pane="locks", what=f"locks of {env}", outage=True, detail="connection refused")
             for env in ("dev", "prod")]
    snap = fixed_snapshot(stale_since=since, stale_reason=f"{api}; {s3}", unreadable=states + locks,
                          stale_panes={pane: since for pane in ("nodes", "stacks", "locks", "events")})
    app = _fixed_app(FixedFeed(snap))
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        banner = app.query_one("#banner", ReadOnlyBanner)
        assert banner.size.height <= 2, _banner(app)
        assert "API unreachable, S3 not answering" in _banner(app)
        # The whole reason and remedy stay readable in the API pane.
        cluster = _notes(app, "cluster")
        assert api in cluster and s3 in cluster and "remedy: check that honey's API server" in cluster
        assert "the state store (RustFS on honey)" in cluster
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "stacks" and table.size.height > 0,
                     what="the stacks pane laid out")
        notes = _notes(app, "stacks")
        assert notes.count("could not read") == 1 and "could not read: 8 state objects (S3 not answering)" in notes
        assert "could not read: locks of dev, locks of prod (not answering)" in _notes(app, "locks")
        # Every stack row of the fixed snapshot (3) is on screen, with room to spare.
        assert table.size.height >= 8 and table.region.bottom <= size[1] - 1, (table.size, table.region)


async def test_node_and_workload_problems_say_their_remedy_above_the_table() -> None:
    """The banner only names a NotReady node or a crash-looping workload: its pane says what to do, as the
    Locks pane does for an old lock (at 80x24, with every row still on screen; the env filter applies)."""
    app = _fixed_app(FixedFeed(fixed_snapshot()), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        assert ("node sting: not Ready (role sting); remedy: check the node (`kubectl describe node`)"
                in _notes(app, "nodes"))
        stacks = _notes(app, "stacks")
        # 0/1 ready and crash-looping share a remedy: said once, for that workload.
        assert ("dev/attic Deployment attic-dev/attic: 0/1 ready; CrashLoopBackOff: attic-7d9f-x2; remedy: open the "
                "workload (Stacks pane, Enter)") in stacks and stacks.count("remedy:") == 1, stacks
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "stacks" and table.size.height > 0,
                     what="the stacks pane laid out")
        notes = app.query_one("#stacks-notes")
        assert notes.display and notes.region.height >= 2 and table.region.bottom <= 23, (notes.region, table.region)
        assert table.size.height >= len(table.shown) + 1
        await pilot.press("e", "e")  # prod only: dev's workload is not this view's problem
        await _until(pilot, lambda: "remedy" not in _notes(app, "stacks"), what="prod's stacks without dev's remedy")
        assert "node sting" in _notes(app, "nodes")


async def test_the_footer_names_enter_on_the_stacks_pane_as_it_does_on_the_events_pane() -> None:
    """Enter on a workload row opens it; the footer says so (a keyboard user had no hint it does anything)."""
    app = _fixed_app(FixedFeed(fixed_snapshot()), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        await _until(pilot, lambda: app.focused is app.query_one("#stacks-table"), what="the stacks table focused")
        footer_enter = app.screen.active_bindings["enter"].binding
        assert (footer_enter.description, footer_enter.show) == ("Workload", True)
        await pilot.press("enter")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "WorkloadScreen", what="workload screen")


async def test_enter_on_a_stack_without_workloads_says_so() -> None:
    snap = fixed_snapshot()
    app = _fixed_app(FixedFeed(snap), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        table = app.query_one("#stacks-pane").query_one(DiffTable)
        rows = list(table.shown)
        table.move_cursor(row=rows.index("prod/attic"))
        await pilot.press("enter")
        await _until(pilot, lambda: any("prod/attic has no workload to open: its State says why" in str(n.message)
                                        for n in app._notifications), what="the note")
        assert app.screen.__class__.__name__ != "WorkloadScreen"


async def test_the_workload_title_follows_new_snapshots() -> None:
    from textual.widgets import Static

    snap = fixed_snapshot()
    feed = FixedFeed(snap)
    async with _on_first_workload(feed) as (app, pilot):

        def title() -> str:
            return str(app.screen.query_one(".pane-title", Static).render())

        assert "dev/attic · Deployment attic-dev/attic · 0/1 ready" in title()
        stacks = list(snap.stacks)
        scaled = stacks[0].workloads[0].model_copy(update={"desired": 3, "ready": 3})
        stacks[0] = stacks[0].model_copy(update={"workloads": [scaled]})
        feed.set_snapshot(snap.model_copy(update={"stacks": stacks}))
        await _until(pilot, lambda: "attic-dev/attic · 3/3 ready" in title(), what=f"the new count, not {title()}")


async def test_a_broken_log_stream_says_so_and_resumes_when_the_api_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    from gfwizard.status_readonly import ReadError
    from screens.status_workload import WorkloadScreen

    monkeypatch.setattr(WorkloadScreen, "RESUME_SECONDS", (0.3, 0.6), raising=False)
    feed = FixedFeed(fixed_snapshot())
    feed.log_end = ReadError("unreachable", "cannot reach https://127.0.0.1:1: connection reset", "retry")
    async with _on_first_workload(feed) as (app, pilot):

        def title() -> str:
            return str(app.screen.query_one("#log-title", Static).render())

        # The stream broke: no "(following, read-only)" any more, but when, why, and that it comes back.
        feed.open_error = ReadError("unreachable", "cannot reach https://127.0.0.1:1: connection refused", "retry")
        await _until(pilot, lambda: "STOPPED" in title() or "connection refused" in title(), what="the stop")
        assert "following" not in title() and "r: now" in title(), title()
        await _until(pilot, lambda: "connection refused" in title() and "retrying in" in title(),
                     what=f"a failed retry, not {title()}")
        assert app.screen.query_one("#pod-log").line_count == 2  # the last lines stay while it retries
        tries = len(feed.log_requests)
        feed.open_error, feed.log_end = None, "follow"  # the API answers again
        await _until(pilot, lambda: "(following again, read-only)" in title(),
                     what=f"the resumed follow, not {title()}")
        assert len(feed.log_requests) > tries
        await _until(pilot, lambda: app.screen.query_one("#pod-log").line_count >= 2, what="the log again")
        n = len(feed.log_requests)
        await pilot.pause(1.0)
        assert len(feed.log_requests) == n, "a live follow is not reopened"


async def test_the_log_of_a_pod_not_started_yet_says_the_servers_reason() -> None:
    from textual.widgets import Static

    from gfwizard.status_readonly import ReadError

    feed = FixedFeed(fixed_snapshot())
    # What the API answers (400) for the log of a pod whose container waits (Pending, ContainerCreating).
    feed.open_error = ReadError("api", 'API error 400 for GET /api/v1/namespaces/attic-dev/pods/attic-7d9f-x2/log: '
                                       'container "main" in pod "attic-7d9f-x2" is waiting to start: ContainerCreating',
                                "retrying with backoff", 400)
    async with _on_first_workload(feed, size=(120, 40)) as (app, pilot):
        log_title = app.screen.query_one("#log-title", Static)
        await _until(pilot, lambda: "pods/log (400)" in str(log_title.render()), what="the log note")
        title = str(log_title.render())
        assert ('could not read: pods/log (400): container "main" in pod "attic-7d9f-x2" is waiting to start: '
                'ContainerCreating') in title, title
        assert "/api/v1/" not in title and "retrying in" in title, title


async def test_a_pods_waiting_reason_is_on_screen_at_80_columns_with_a_real_pod_name() -> None:
    from gfwizard.status_model import PodRow
    from tests.status_support import FIXED_NOW

    name = "gitlab-runner-npfrhzq6kj-kmq8q"  # a Deployment's pod: name, ReplicaSet hash, suffix
    feed = FixedFeed(fixed_snapshot(), pods=[PodRow(
        namespace="attic-dev", name=name, node="sting", phase="Pending", ready=False, restarts=3,
        waiting_reason="CreateContainerConfigError", containers=["main"], created=FIXED_NOW - timedelta(hours=1))])
    async with _on_first_workload(feed) as (app, pilot):
        table = app.screen.query_one("#pods-table", DiffTable)
        await _until(pilot, lambda: name in table.shown, what="the pod row")
        spans = _column_spans(table)
        for key in ("pod", "ready", "waiting", "restarts"):
            assert spans[key][1] <= 80, (key, spans)
        assert spans["waiting"][1] - spans["waiting"][0] >= len("CreateContainerConfigError")


async def test_a_log_stream_that_ends_says_it_ended() -> None:
    from textual.widgets import Static

    feed = FixedFeed(fixed_snapshot())
    feed.log_end = "end"
    async with _on_first_workload(feed) as (app, pilot):
        log_title = app.screen.query_one("#log-title", Static)
        await _until(pilot, lambda: "the stream ended" in str(log_title.render()), what="the end")
        assert "r reconnects" in str(log_title.render()) and "following" not in str(log_title.render())
        await pilot.press("r")
        await _until(pilot, lambda: len(feed.log_requests) >= 2, what="the reconnect")


async def test_a_running_pods_log_that_ends_is_followed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    from gfwizard.status_model import PodRow
    from screens.status_workload import WorkloadScreen

    # A killed API server may end the stream cleanly: the pod still runs, so its log is followed again.
    monkeypatch.setattr(WorkloadScreen, "RESUME_SECONDS", (0.3, 0.6), raising=False)
    pod = PodRow(namespace="attic-dev", name="attic-7d9f-x2", node="bumble", phase="Running", ready=True,
                 containers=["main"])
    feed = FixedFeed(fixed_snapshot(), pods=[pod])
    feed.log_end = "end"
    async with _on_first_workload(feed) as (app, pilot):
        log_title = app.screen.query_one("#log-title", Static)
        await _until(pilot, lambda: "STOPPED" in str(log_title.render()), what="the stop")
        assert "the API closed the stream" in str(log_title.render())
        feed.log_end = "follow"
        await _until(pilot, lambda: len(feed.log_requests) >= 2 and "(following again, read-only)" in str(
            log_title.render()), what="the resumed follow")


async def test_the_banner_names_the_problem_and_the_old_lock_is_visible_at_80_columns() -> None:
    snap = fixed_snapshot()
    lock = snap.locks[0].model_copy(update={"who": "jenkins-agent-7f9c2d@build-runner-pool-03.ci.internal.example"})
    healthy_stacks = [s for s in snap.stacks if s.stack != "attic" or s.env != "dev"]
    snap = snap.model_copy(update={"locks": [lock], "stacks": healthy_stacks,
                                   "nodes": [n.model_copy(update={"ready": True}) for n in snap.nodes]})
    assert [p.kind for p in snap.problems] == ["old-lock"]
    app = _fixed_app(FixedFeed(snap))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        assert "1 problem: old lock dev/gitlab-runners" in _banner(app) and "see 4 Locks" in _banner(app)
        assert app.query_one("#banner", ReadOnlyBanner).size.height <= 2
        await pilot.press("4")
        table = app.query_one("#locks-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "locks" and table.size.width > 0,
                     what="the locks pane laid out")
        right = 0
        ends = {}
        for column in table.ordered_columns:
            right += column.get_render_width(table)
            ends[str(column.key.value)] = right
        # Age (with OLD) and the lock id are on screen without scrolling right.
        assert ends["age"] <= table.size.width and ends["id"] <= table.size.width, (ends, table.size)
        assert "2h00m OLD" in _cells(app, "locks-table")
        # The holder's whole name and what to do are above the table, wrapped, not cut at the right edge.
        notes = _notes(app, "locks")
        assert ("OLD dev/gitlab-runners: held by jenkins-agent-7f9c2d@build-runner-pool-03.ci.internal.example "
                "(OperationTypeApply) for 2h00m, over the 30m threshold; remedy: ask the holder whether that run "
                "still goes on; `gfwizard backend locks --env dev` shows the lock") in notes, notes
        notes_widget = app.query_one("#locks-notes")
        assert notes_widget.size.height >= 3 and notes_widget.size.width <= 80


def test_the_locks_pane_says_each_old_lock_of_the_shown_environment_below_what_old_means() -> None:
    """The Locks pane's OLD lines are the one problem-with-remedy line of every pane (``subject: what; remedy:
    ...``) marked OLD, for the environment shown only, after the line that says what OLD means."""
    from gfwizard.status_model import problem_remedy
    from screens.status_locks import LocksPane
    from tests.status_support import FIXED_NOW

    snap = fixed_snapshot()
    prod = snap.locks[0].model_copy(update={"env": "prod", "stack": "attic", "who": "alice@laptop"})
    snap = snap.model_copy(update={"locks": [*snap.locks, prod]})
    old = [p for p in snap.problems if p.kind == "old-lock"]
    assert [p.subject for p in old] == ["dev/gitlab-runners", "prod/attic"]
    pane = LocksPane()
    for env in (None, "dev", "prod"):
        notes = pane.notes(snap, pane.rows(snap, FIXED_NOW, env), env)
        assert notes[0] == "locks held longer than 30m are marked OLD", notes
        assert notes[1:] == [f"OLD {p.subject}: {p.detail}; remedy: {problem_remedy(p)}" for p in old
                             if env is None or p.subject.startswith(f"{env}/")], notes


async def test_the_stale_banner_keeps_the_pane_it_points_at_on_one_line() -> None:
    """At 80 columns the STALE banner's `see 1 API` fell across its two lines (`see 1`, then `API`)."""
    from tests.status_support import FIXED_NOW

    snap = fixed_snapshot(stale_since=FIXED_NOW - timedelta(seconds=11),
                          stale_reason="API: https://127.0.0.1:39757 did not answer GET /version in time (3.0s)")
    app = _fixed_app(FixedFeed(snap))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: "STALE since" in _banner(app), what="the stale banner")
        banner = app.query_one("#banner", ReadOnlyBanner)
        await _until(pilot, lambda: banner.size.height > 0, what="the banner laid out")
        lines = [banner.render_line(y).text.strip() for y in range(banner.size.height)]
        assert len(lines) <= 2 and lines[-1].endswith("· see 1 API"), lines
        assert "READ-ONLY · STALE since" in lines[0] and "API unreachable, retrying" in " ".join(lines), lines


async def test_many_problems_keep_the_banner_to_two_lines() -> None:
    app = _fixed_app(FixedFeed(fixed_snapshot()))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        banner = _banner(app)
        assert banner.startswith("READ-ONLY · live · 4 problems: node sting not Ready"), banner
        assert "see 2 Nodes, 3 Stacks, 4 Locks" in banner
        assert app.query_one("#banner", ReadOnlyBanner).size.height <= 2


async def test_a_shrunk_terminal_gets_a_banner_made_for_its_width_at_once() -> None:
    """Made at 200 columns the banner names every problem on one line; shrunk to 80 that text took three lines
    of the banner's two, cutting the panes to see, until the next snapshot (none comes while nothing changes)."""
    app = _fixed_app(FixedFeed(fixed_snapshot()), age_refresh_seconds=3600)
    async with app.run_test(size=(200, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        assert ", ".join(["node sting not Ready", "dev/attic 0/1 ready"]) in _banner(app), _banner(app)
        applied = app.snapshots_applied
        await pilot.resize_terminal(80, 24)
        banner = app.query_one("#banner", ReadOnlyBanner)
        await _until(pilot, lambda: app.size.width == 80 and "and 3 more · see 2 Nodes, 3 Stacks, 4 Locks" in
                     _banner(app), what="the banner made again for 80 columns")
        assert app.snapshots_applied == applied, "a new snapshot, not the resize, made the banner again"
        lines = [banner.render_line(y).text.strip() for y in range(banner.size.height)]
        assert len(lines) <= 2 and lines[-1].endswith("see 2 Nodes, 3 Stacks, 4 Locks"), lines


async def test_healthy_with_failed_reads_says_as_far_as_could_be_read() -> None:
    snap = fixed_snapshot()
    snap = fixed_snapshot(nodes=snap.nodes[:1], stacks=[], locks=[])  # nothing unhealthy; events still 403
    assert snap.healthy and snap.unreadable
    app = _fixed_app(FixedFeed(snap))
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        assert "live · healthy as far as could be read (1 read(s) failed)" in _banner(app)
        feed_snap = snap.model_copy(update={"unreadable": []})
        app.feed.set_snapshot(feed_snap)  # type: ignore[attr-defined]
        await _until(pilot, lambda: _banner(app).endswith("live · healthy"), what="plain healthy")


async def test_stacks_running_without_state_are_named_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.commands import _common
    from gfwizard.status_model import StackRow, StateRow, WorkloadRow

    monkeypatch.setattr(_common, "_explicit_config", Path("/srv/gf/org.yaml"))
    snap = fixed_snapshot()
    untracked = StackRow(env="dev", stack="gitlab-runners", role="sting", source="untracked",
                         state=StateRow(key="gloriousflywheel/dev/gitlab-runners.tfstate", exists=False),
                         workloads=[WorkloadRow(namespace="gitlab-runners-dev", kind="Deployment", name="gitlab-runner",
                                                desired=1, ready=1, found=True, pods=1)])
    snap = snap.model_copy(update={"stacks": [*snap.stacks, untracked]})
    app = _fixed_app(FixedFeed(snap))
    async with app.run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        # First, before the remedy of dev/attic's crash-looping workload.
        assert _notes(app, "stacks").split(" · ")[:2] == [
            "NO STATE, yet running: dev/gitlab-runners — do not deploy it yet (an apply without the state would "
            "create it all again); if its state is still on the GitLab HTTP backend, move it with "
            "`gfwizard backend migrate --env dev --stack gitlab-runners --config /srv/gf/org.yaml`; if it was "
            "deleted, restore the previous version of the state object (the bucket is versioned)",
            "dev/attic Deployment attic-dev/attic: 0/1 ready; CrashLoopBackOff: attic-7d9f-x2; remedy: open the "
            "workload (Stacks pane, Enter) to see its pods and logs; its Warning events are in the Events pane (5)"]
        # At 100 columns the workload's "(no state)" gives way to its name: the State on its row says it.
        shown = app.query_one("#stacks-table", DiffTable).shown
        row = shown["dev/gitlab-runners/Deployment/gitlab-runners-dev/gitlab-runner"]
        assert row[2] == ("NO STATE, yet running", "bold red") and str(row[5]).endswith("gitlab-runner"), row
        assert "5 problems" in _banner(app)  # the fixed four, and this one
        # The view filtered to prod: dev's stacks are not named there.
        for _ in range(3):  # all → dev → prod
            if app.env_filter == "prod":
                break
            await pilot.press("e")
            await pilot.pause()
        assert app.env_filter == "prod"
        await _until(pilot, lambda: "NO STATE" not in _notes(app, "stacks"), what="the prod view's notes")

        # Two stacks without state: one line for both, the command given once for each.
        second = untracked.model_copy(update={"stack": "runner-dashboard", "role": "bumble"})
        app.feed.set_snapshot(snap.model_copy(update={"stacks": [*snap.stacks, second]}))  # type: ignore[attr-defined]
        await pilot.press("e")  # prod → all
        await _until(pilot, lambda: "runner-dashboard" in _notes(app, "stacks"), what="both stacks named")
        assert _notes(app, "stacks").split(" · ")[0] == (
            "NO STATE, yet running: dev/gitlab-runners, dev/runner-dashboard — deploy none of them yet (an apply "
            "without the state would create it all again); if their state is still on the GitLab HTTP backend, "
            "move it with `gfwizard backend migrate --env dev --config /srv/gf/org.yaml`; "
            "if it was deleted, restore the previous version of the state object (the bucket is versioned)")


async def test_the_state_and_readiness_of_each_stack_are_on_screen_at_80_columns() -> None:
    """An operator in an incident has 80 columns: a stack's State (``NO STATE, yet running``) and its workload's
    Ready come before a workload name of any length, which is what gets cut."""
    from gfwizard.status_model import StackRow, StateRow, WorkloadRow

    snap = fixed_snapshot()
    untracked = StackRow(env="dev", stack="gitlab-runners", role="sting", source="untracked",
                         state=StateRow(key="gloriousflywheel/dev/gitlab-runners.tfstate", exists=False),
                         workloads=[WorkloadRow(namespace="gitlab-runners-dev", kind="Deployment", name="gitlab-runner",
                                                desired=1, ready=1, found=True, pods=1)])
    app = _fixed_app(FixedFeed(snap.model_copy(update={"stacks": [*snap.stacks, untracked]})))
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)

        def visible() -> list[str]:
            """The table's lines as the terminal shows them (what is right of column 80 is not there)."""
            return [table.render_line(y).text for y in range(table.size.height)]

        # A stack name shown whole: the columns have their widths (a name cut to "Stack"'s width before).
        await _until(pilot, lambda: app.query_one("#panes").active == "stacks" and table.region.right <= 80
                     and any("gitlab-runners" in line for line in visible()), what="the stacks laid out")
        lines = visible()
        assert lines[0].split()[:5] == ["Env", "Stack", "State", "Apply", "Ready"], lines[0]
        row = {tuple(line.split()[:2]): " ".join(line.split()) for line in lines[1:] if line.strip()}
        assert row[("dev", "gitlab-runners")].startswith("dev gitlab-runners NO STATE, yet running - 1/1 "), lines
        assert row[("dev", "attic")].startswith("dev attic serial 7, 30m applied 30m 0/1 "), lines
        assert row[("dev", "arc-runners")].startswith("dev arc-runners serial 3, 3h00m - 1/1 "), lines
        assert row[("prod", "attic")].startswith("prod attic not applied - -"), lines
        # Whatever is cut, it is right of the stack's State and Last apply and the workload's Ready.
        spans = _column_spans(table)
        assert max(spans[key][1] for key in ("env", "stack", "state", "apply", "ready")) <= 80, spans
        await pilot.press("q")


def _column_spans(table: DiffTable) -> dict[str, tuple[int, int]]:
    """Each column's x range in the table (its cell padding included), left to right."""
    spans, x = {}, 0
    for key, column in table.columns.items():
        width = column.get_render_width(table)
        spans[str(key.value)] = (x, x + width)
        x += width
    return spans


async def test_the_stacks_pane_fits_80_columns_and_keeps_everything_at_120() -> None:
    """At 80x24 every column of the Stacks pane is on screen, Last apply's cells whole; at 120 columns
    nothing is shortened but the headers and the ages' "ago"; a resize lays the pane out again."""
    app = _fixed_app(FixedFeed(fixed_snapshot()), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "stacks" and table.size.width > 0,
                     what="the stacks pane laid out")

        def visible() -> list[str]:
            return [table.render_line(y).text for y in range(table.size.height)]

        def attic_row() -> str:
            return next(line for line in visible() if line.split()[:2] == ["dev", "attic"])

        shown = table.scrollable_content_region.width
        assert shown == 80 and table.virtual_size.width <= shown, (table.virtual_size, shown)
        spans = _column_spans(table)
        assert list(spans) == ["env", "stack", "state", "apply", "ready", "workload", "restarts"], spans
        assert spans["restarts"][1] <= shown, spans
        start, end = spans["apply"]
        assert attic_row()[start:end].strip() == "applied 30m", attic_row()
        assert visible()[0][start:end].strip() == "Apply"
        # The workload's name gives way (Enter shows it whole); its restarts say it is crash-looping.
        assert " ".join(attic_row().split()).endswith(" 0/1 …/attic 14 crash"), attic_row()

        await pilot.resize_terminal(120, 40)
        await _until(pilot, lambda: table.scrollable_content_region.width == 120 and "attic-7d9f-x2" in attic_row(),
                     what="the pane laid out again for 120 columns")
        assert table.virtual_size.width <= 120
        assert list(_column_spans(table)) == ["env", "stack", "state", "apply", "ready", "workload", "restarts",
                                              "crash"]
        assert " ".join(attic_row().split()) == (
            "dev attic serial 7, 30m applied 30m 0/1 attic-dev/attic 14 attic-7d9f-x2")
        assert any("arc-systems-dev/arc-dev-gha-rs-controller" in line for line in visible())

        await pilot.resize_terminal(80, 24)
        await _until(pilot, lambda: table.scrollable_content_region.width == 80 and "…/attic" in attic_row(),
                     what="the pane laid out again for 80 columns")
        assert table.virtual_size.width <= 80
        await pilot.press("q")


async def test_the_stacks_pane_measures_a_wide_workload_name_in_cells() -> None:
    """A workload named in a wide script (two cells a character) is elided to its column's cells with an
    ellipsis, not cut short silently where the column ends, and the row stays within the screen's 120 columns."""
    from gfwizard.status_model import WorkloadRow
    from gfwizard.textfit import cell_width

    base = fixed_snapshot()
    wide = WorkloadRow(namespace="arc-systems-dev", kind="Deployment",
                       name="アーク制御ランナーコントローラー本体の長い名前です", desired=1, ready=1, found=True, pods=1)
    stacks = [s.model_copy(update={"workloads": [wide]}) if s.stack == "arc-runners" else s for s in base.stacks]
    app = _fixed_app(FixedFeed(base.model_copy(update={"stacks": stacks})), age_refresh_seconds=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "stacks" and table.size.width > 0,
                     what="the stacks pane laid out")
        lines = [table.render_line(y).text for y in range(table.size.height)]
        row = next(line for line in lines if line.split()[:2] == ["dev", "arc-runners"])
        assert cell_width(row.rstrip()) <= 120, row
        # The namespace gives way first, as for any long name; the name is whole, not cut at a column's edge.
        assert "…/アーク制御ランナーコントローラー本体の長い名前です " in row, row
        await pilot.press("q")


@pytest.mark.parametrize("containers", [["main"], ["main", "sidecar"]], ids=["one", "two"])
async def test_c_is_offered_only_when_the_pod_has_another_container_to_follow(containers: list[str]) -> None:
    """c on the workload screen follows the pod's next container: with one container it only restarted the
    same log, so it is neither in the footer nor acted on; with two it is, and follows the other one."""
    from gfwizard.status_model import PodRow
    from tests.status_support import FIXED_NOW

    feed = FixedFeed(fixed_snapshot(), pods=[PodRow(
        namespace="attic-dev", name="attic-7d9f-x2", node="bumble", phase="Running", ready=True, restarts=0,
        containers=containers, created=FIXED_NOW - timedelta(hours=1))])
    async with _on_first_workload(feed) as (app, pilot):
        screen = app.screen
        await _until(pilot, lambda: feed.log_requests == [("attic-dev", "attic-7d9f-x2", "main")], what="the log")
        offered = "c" in screen.active_bindings and screen.check_action("next_container", ()) is True
        await pilot.press("c")
        await pilot.pause()
        if len(containers) == 1:
            assert not offered
            assert feed.log_requests == [("attic-dev", "attic-7d9f-x2", "main")], "c restarted the same log"
        else:
            assert offered and screen.active_bindings["c"].binding.show
            await _until(pilot, lambda: feed.log_requests[-1] == ("attic-dev", "attic-7d9f-x2", "sidecar"),
                         what="the sidecar's log")


def _columns_on_screen(table: DiffTable) -> bool:
    """Whether every column of ``table`` ends inside its visible width (no horizontal scrolling needed)."""
    return table.virtual_size.width <= table.scrollable_content_region.width


@pytest.mark.parametrize("long", [False, True], ids=["fixture", "long-taints-and-name"])
async def test_every_nodes_column_is_on_screen_at_80_columns_and_enter_gives_the_taints_whole(long: bool) -> None:
    """At 80x24 the Taints column (which the not-Ready remedy talks about) used to run off screen: the headers
    shorten, then the taints and a long node name are elided, and Enter on the node says them whole."""
    snap = fixed_snapshot()
    if long:
        nodes = list(snap.nodes)
        nodes[2] = nodes[2].model_copy(update={
            "name": "ip-10-0-113-27.eu-central-1.compute.internal-worker-pool-b",
            "taints": ["node-role.kubernetes.io/control-plane:NoSchedule", "example.com/maintenance=true:NoExecute"]})
        snap = snap.model_copy(update={"nodes": nodes})
    node = snap.nodes[2]
    app = _fixed_app(FixedFeed(snap), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("2")
        table = app.query_one("#nodes-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "nodes" and table.size.height > 0,
                     what="the nodes pane laid out")
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == ["Role", "Node", "Status", "CPU", "Mem", "Pods", "Pressure", "Taints"], labels
        assert _columns_on_screen(table), (table.virtual_size.width, table.scrollable_content_region.width)
        taints = table.shown[node.name][7]
        assert isinstance(taints, str) and taints.startswith("control") and taints.endswith("…"), taints
        await _until(pilot, lambda: app.focused is table, what="the nodes table focused")
        assert app.screen.active_bindings["enter"].binding.description == "Node"
        table.move_cursor(row=2)
        await pilot.press("enter")
        whole = ", ".join(node.taints)
        await _until(pilot, lambda: node.name in _node_dialog(app) and whole in _node_dialog(app),
                     what="the node's taints whole")
        assert not app._notifications  # a dialog, not a timed note that lingers over the next screen
        await pilot.press("escape")
        await _until(pilot, lambda: not _node_dialog(app) and app.focused is table, what="back to the nodes pane")


async def test_the_nodes_pane_keeps_its_full_headers_and_taints_when_they_fit() -> None:
    snap = fixed_snapshot()
    app = _fixed_app(FixedFeed(snap), age_refresh_seconds=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("2")
        table = app.query_one("#nodes-table", DiffTable)
        await _until(pilot, lambda: table.size.height > 0, what="the nodes pane laid out")
        assert [str(c.label) for c in table.columns.values()][3:5] == ["CPU req/alloc", "Mem req/alloc"]
        assert table.shown["honey"][7] == "control-plane:NoSchedule"


async def test_an_empty_kubeconfig_file_skipped_is_named_in_the_api_pane() -> None:
    note = ("/k/empty.yaml is empty (no YAML document: no bytes, or only whitespace or comments): skipped, as kubectl "
            "skips it")
    snap = fixed_snapshot()
    plain = _fixed_app(FixedFeed(snap))
    async with plain.run_test(size=(160, 40)) as pilot:
        await _until(pilot, lambda: plain.snapshots_applied > 0)
        assert "kubeconfig" not in _cells(plain, "cluster-table")
    snap = snap.model_copy(update={"cluster": snap.cluster.model_copy(update={"kubeconfig_note": note})})
    app = _fixed_app(FixedFeed(snap))
    async with app.run_test(size=(160, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        assert f"kubeconfig {note}" in _cells(app, "cluster-table")


async def test_every_nodes_condition_and_role_fits_80_columns_and_enter_says_the_status_whole() -> None:
    """A control-plane node both NotReady and cordoned made the Nodes table wider than 80 columns
    (``NotReady,SchedulingDisabled`` beside ``control-plane``). Every combination of readiness, cordon,
    pressures and a long name now fits: the status keeps its first word whole (the cordon too, with the
    fixture's capacities) and Enter on the node says its role, status, pressures and taints whole."""
    snap = fixed_snapshot()
    base = snap.nodes[2]
    assert base.role == "control-plane"
    pressures = ["MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"]
    long_name = "ip-10-0-113-27.eu-central-1.compute.internal-worker-pool-b"
    combos = [dict(ready=ready, unschedulable=cordoned, pressure=pressure, name=name)
              for ready in (True, False) for cordoned in (False, True) for pressure in ([], pressures[1:2], pressures)
              for name in (base.name, long_name)]
    feed = FixedFeed(snap)
    app = _fixed_app(feed, age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("2")
        table = app.query_one("#nodes-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "nodes" and table.size.height > 0,
                     what="the nodes pane laid out")
        for combo in combos:
            node = base.model_copy(update=combo)
            await _show(pilot, app, feed, snap.model_copy(update={"nodes": [*snap.nodes[:2], node]}))
            assert _columns_on_screen(table), (combo, table.virtual_size.width, table.scrollable_content_region.width)
            assert table.region.right <= 80, (combo, table.region)
            cell = table.shown[node.name][2]
            status = cell[0] if isinstance(cell, tuple) else cell
            first = "Ready" if node.ready else "NotReady"
            assert status.split(",")[0].removesuffix("…") == first, (combo, status)
            if node.name == base.name:  # the fixture's capacities leave the whole status room
                assert status in (node_state(node), node_state(node, short=True)), (combo, status)
        worst = base.model_copy(update=dict(ready=False, unschedulable=True, pressure=pressures, name=long_name))
        await _show(pilot, app, feed, snap.model_copy(update={"nodes": [*snap.nodes[:2], worst]}))
        assert _columns_on_screen(table)
        await _until(pilot, lambda: app.focused is table, what="the nodes table focused")
        table.move_cursor(row=2)
        await pilot.press("enter")
        # "sting (role sting)": a node named after its role read "sting (sting)".
        whole = [f"{worst.name} (role {worst.role}): {node_state(worst)}", ",".join(worst.pressure),
                 ", ".join(worst.taints)]
        await _until(pilot, lambda: all(part in _node_dialog(app) for part in whole),
                     what="the node's role, status, pressures and taints whole")
        dialog = app.screen.query_one("#node-dialog")
        assert dialog.region.right <= 80 and dialog.region.bottom <= 24, dialog.region
        await pilot.press("b")
        await _until(pilot, lambda: not _node_dialog(app), what="the node dialog closed with b")


def _node_dialog(app: StatusApp) -> str:
    """The text of the node dialog when it is the screen on top, else ''."""
    from textual.widgets import Static

    from screens.status_node import NodeModal

    if not isinstance(app.screen, NodeModal):
        return ""
    return str(app.screen.query_one("#node-summary", Static).render())


async def _show(pilot: Any, app: StatusApp, feed: FixedFeed, snap: Any) -> None:
    """Serve ``snap`` and wait until the panes show it, laid out."""
    feed.set_snapshot(snap)
    await _until(pilot, lambda: app.last_snapshot is snap, what="the new snapshot shown")
    await pilot.pause()


@pytest.mark.parametrize("pane,enter_opens", [("3", "WorkloadScreen"), ("5", "EventModal")], ids=["stacks", "events"])
async def test_a_pane_key_typed_ahead_of_enter_sends_enter_to_that_pane(pane: str, enter_opens: str) -> None:
    """Typed quickly (``3`` then Enter, both queued before either is handled), Enter went to the pane left
    behind (the Nodes table: a node dialog instead of the workload): focus moved only once the tab switch's
    message came round, behind the queued Enter."""
    from textual import events

    from screens.status_node import NodeModal

    app = _fixed_app(FixedFeed(fixed_snapshot()), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("2")
        await _until(pilot, lambda: app.focused is app.query_one("#nodes-table"), what="the nodes table focused")
        app.post_message(events.Key(pane, pane))
        app.post_message(events.Key("enter", "\r"))
        await _until(pilot, lambda: app.screen.__class__.__name__ in (enter_opens, NodeModal.__name__),
                     what="Enter handled")
        assert app.screen.__class__.__name__ == enter_opens
        # Let the new screen finish mounting before the app exits: Textual's Header sets its title in a callback
        # that fails (NoMatches) when its children are already gone, as they are when the app exits at once.
        await _until(pilot, lambda: all(h.query("HeaderTitle") for h in app.screen.query("Header")),
                     what="the screen mounted")
        await pilot.pause()


async def test_workloads_sharing_a_remedy_say_it_once_and_leave_the_stacks_table_its_rows_at_80x24() -> None:
    """Four crash-looping workloads said the same remedy four times above the Stacks table: at 80x24 the
    notes took 15 lines and the table showed one row. Subjects with the same remedy now share it."""
    snap = fixed_snapshot()
    attic = snap.stacks[0]
    failing = [attic.model_copy(update={"stack": f"attic-{i}", "workloads": [attic.workloads[0].model_copy(
        update={"name": f"attic-{i}", "crash_looping": [f"attic-{i}-7d9f-x2"]})]}) for i in range(4)]
    more = [row.model_copy(update={"stack": f"{row.stack}-{i}"}) for i in range(4) for row in snap.stacks[1:]]
    snap = snap.model_copy(update={"stacks": [*failing, *snap.stacks[1:], *more]})
    app = _fixed_app(FixedFeed(snap), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("3")
        table = app.query_one("#stacks-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "stacks" and table.size.height > 0,
                     what="the stacks pane laid out")
        stacks = _notes(app, "stacks")
        assert stacks.count("remedy:") == 1, stacks
        for i in range(4):  # each workload is still named with what is wrong with it
            assert f"dev/attic-{i} Deployment attic-dev/attic-{i}: 0/1 ready; CrashLoopBackOff: attic-{i}-7d9f-x2" \
                in stacks, stacks
        # The header and every failing workload's row are on screen.
        assert table.size.height >= 1 + len(failing) and table.region.bottom <= 23, (table.size, table.region)
        # So is every column: the notes' lines leave the rows a scrollbar, which takes its column from the
        # table (the restarts read `14 cras` when the notes were counted as one line).
        assert table.virtual_size.height > table.size.height, (table.virtual_size, table.size)
        assert _columns_on_screen(table), (table.virtual_size.width, table.scrollable_content_region.width)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_long_event_object_is_elided_so_reason_and_count_stay_on_screen(size: tuple[int, int]) -> None:
    """A pod name of 60 characters pushed the Events table's Reason and Count off an 80-column screen (only
    the Message is meant to run off it): the object is now elided in the middle, and Enter shows it whole."""
    snap = fixed_snapshot()
    long_object = "Pod/attic-mfl8jwxnqr-pl8sp-with-a-much-longer-name-of-sixty-1"
    event = snap.events[0].model_copy(update={"object": long_object, "reason": "FailedMount", "count": 4321})
    snap = snap.model_copy(update={"events": [event, *snap.events[1:]]})
    app = _fixed_app(FixedFeed(snap), age_refresh_seconds=3600)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("5")
        table = app.query_one("#events-table", DiffTable)
        await _until(pilot, lambda: app.query_one("#panes").active == "events" and table.size.height > 0,
                     what="the events pane laid out")
        columns = list(table.columns.values())
        assert [str(c.label) for c in columns][3:5] == ["Reason", "Count"]
        right_of_count = sum(c.get_render_width(table) for c in columns[:5])
        assert right_of_count <= table.scrollable_content_region.width, (right_of_count, table.size)
        cells = table.shown[next(iter(table.shown))]
        assert cells[4] == "4321" and "FailedMount" in str(cells[3])
        shown_object = str(cells[2])
        assert shown_object == long_object or ("…" in shown_object and shown_object.endswith("sixty-1")), shown_object
        table.move_cursor(row=0)
        await pilot.press("enter")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "EventModal", what="the event dialog")
        assert long_object in str(app.screen.query_one("#event-title").render())


async def test_the_workload_screen_says_its_pods_and_log_are_stale_while_the_api_does_not_answer() -> None:
    """The panes said STALE above their tables, but an open workload went on showing its pods and
    "(following, read-only)" with nothing marked while the API was silent (a silent API leaves the log's
    stream open). Its title now says since when they are the last read; an S3 outage alone does not."""
    from datetime import datetime, timezone

    from textual.widgets import Static

    snap = fixed_snapshot()
    feed = FixedFeed(snap)
    async with _on_first_workload(feed) as (app, pilot):

        def title() -> str:
            return str(app.screen.query_one(".pane-title", Static).render())

        assert "STALE" not in title()
        since = datetime(2025, 6, 1, 11, 58, 0, tzinfo=timezone.utc)
        feed.set_snapshot(snap.model_copy(update={"stale_panes": {"stacks": since, "locks": since}}))
        await _until(pilot, lambda: app.last_snapshot is not None and "locks" in app.last_snapshot.stale_panes,
                     what="the S3-only outage shown")
        assert "STALE" not in title()  # the pods come from the API, which still answers
        feed.set_snapshot(snap.model_copy(update={"stale_panes": {"cluster": since, "stacks": since}}))
        await _until(pilot, lambda: "STALE since 11:58:00Z" in title(), what=f"the stale mark, not {title()}")
        assert "these pods and the log are the last read, not live" in title()
        assert "dev/attic · Deployment attic-dev/attic · 0/1 ready" in title()


def test_the_node_dialog_says_which_name_is_the_role() -> None:
    """The node named after its role read "sting (sting): NotReady; …" in its dialog."""
    from gfwizard.status_model import NodeRow
    from screens.status_node import node_summary, node_title

    sting = NodeRow(name="sting", role="sting", ready=False)
    assert node_title(sting) == "sting (role sting)"
    assert node_summary(sting) == "sting (role sting): NotReady; pressure none; taints none"


@pytest.mark.parametrize("fingerprint", ["match", "mismatch"])
async def test_the_api_pane_wraps_a_long_fingerprint_instead_of_cutting_the_ca_hash(fingerprint: str) -> None:
    """At 80x24 the fingerprint row read "…, CA sha256 bb" and stopped: the table cut the value at the screen's
    edge without a mark. A value wider than the screen now goes on over the rows under it, whole, and a wider
    screen puts it back on one row."""
    uid, ca = "acced74d-02b7-4ee1-899a-70755d6279cf", "bb176df360ed2345"
    detail = (f"kube-system UID {uid}, CA sha256 {ca}…" if fingerprint == "match" else
              f"kube-system UID and CA sha256 differ: pinned {uid} / {ca}…, actual "
              f"2f9c8a1e-0000-4000-8000-000000000001 / 77c17c45db1b000b…")
    snap = fixed_snapshot()
    snap = snap.model_copy(update={"cluster": snap.cluster.model_copy(update={
        "fingerprint": fingerprint, "fingerprint_detail": detail})})
    app = _fixed_app(FixedFeed(snap), age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        table = app.query_one("#cluster-table", DiffTable)
        await _until(pilot, lambda: "fingerprint-detail+1" in table.shown, what="the fingerprint wrapped")
        parts = [k for k in table.shown if k.startswith("fingerprint-detail")]
        lines = [str(table.shown[k][1]) for k in parts]
        assert " ".join(lines) == detail, lines
        assert all(table.shown[k][0] == "" for k in parts)
        assert _columns_on_screen(table), (table.virtual_size.width, table.scrollable_content_region.width)
        assert list(table.shown)[-len(parts):] == parts  # the wrapped lines follow their row
        await pilot.resize_terminal(200, 40)
        await _until(pilot, lambda: "fingerprint-detail+1" not in table.shown, what="one row again")
        assert table.shown["fingerprint-detail"][1] == detail
        assert _columns_on_screen(table)
        column = table.columns["value"]  # type: ignore[index]
        assert column.auto_width, "the Value width fixed for 80 columns stayed after the widening"


async def test_a_widened_screen_gives_the_elided_event_object_its_whole_width_back() -> None:
    """The Object column got a fixed width when a long object was elided at 80 columns; widened to 200 the rows
    came back whole, but the column kept the 80-column width, so the table cut the object without a mark."""
    snap = fixed_snapshot()
    long_object = "Pod/attic-mfl8jwxnqr-pl8sp-with-a-much-longer-name-of-sixty-1"
    event = snap.events[0].model_copy(update={"object": long_object, "reason": "FailedMount", "count": 4321})
    app = _fixed_app(FixedFeed(snap.model_copy(update={"events": [event, *snap.events[1:]]})),
                     age_refresh_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("5")
        table = app.query_one("#events-table", DiffTable)
        await _until(pilot, lambda: "…" in str(table.shown.get(next(iter(table.shown), ""), ("", "", ""))[2]),
                     what="the object elided at 80 columns")
        await pilot.resize_terminal(200, 40)
        await _until(pilot, lambda: str(table.shown[next(iter(table.shown))][2]) == long_object,
                     what="the object whole at 200 columns")
        column = table.columns["object"]  # type: ignore[index]
        assert column.auto_width and column.get_render_width(table) >= len(long_object) + 2, column


async def test_a_shrunk_screen_shows_the_events_reason_whole_at_once() -> None:
    """Shrunk from 200 to 80 columns the Events pane elides a long object and rebuilds its columns; the rows were
    drawn before the new columns were measured, at the width of their labels ("Failed" for FailedMount, the age
    cut to three cells), and stayed so until the next snapshot (none comes while nothing changes)."""
    snap = fixed_snapshot()
    long_object = "Pod/attic-mfl8jwxnqr-pl8sp-with-a-much-longer-name-of-sixty-1"
    event = snap.events[0].model_copy(update={"object": long_object, "reason": "FailedMount", "count": 4321})
    app = _fixed_app(FixedFeed(snap.model_copy(update={"events": [event, *snap.events[1:]]})),
                     age_refresh_seconds=3600)
    async with app.run_test(size=(200, 40)) as pilot:
        await _until(pilot, lambda: app.snapshots_applied > 0)
        await pilot.press("5")
        table = app.query_one("#events-table", DiffTable)
        await _until(pilot, lambda: table.size.height > 0 and long_object in table.render_line(1).text,
                     what="the object whole at 200 columns")
        applied = app.snapshots_applied
        await pilot.resize_terminal(80, 24)
        await _until(pilot, lambda: "…" in str(table.shown[next(iter(table.shown))][2]), what="the object elided")

        def first_row() -> str:
            return table.render_line(1).text

        await _until(pilot, lambda: " FailedMount " in first_row() and " 4321 " in first_row(),
                     what="the first event's reason and count whole on screen")
        assert app.snapshots_applied == applied, "a new snapshot, not the resize, drew the rows again"
