"""The Validate step: a failing check blocks Next and shows its remedy; pinning needs consent; the UI
stays responsive while a check hangs until its timeout (the rehearsal API in blackhole mode)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (  # noqa: F401 - unpinned_workspace is a fixture
    REPO,
    modal_named,
    on_step,
    text_of,
    unpinned_workspace,
    wait_until,
    workspace_files,
)
from tests.helpers import tree_digest

if TYPE_CHECKING:
    from screens.app import WizardApp


def validate_app(ws: WorkspaceFixture) -> "WizardApp":
    """The wizard opened at Validate, with the honey context chosen (as the Kubeconfig step does)."""
    from screens.launch import build_app

    app = build_app(rehearsal=ws, repo=REPO, start_at="validate")  # type: ignore[arg-type]
    app.session.context, app.session.kubeconfig = "honey", str(ws.kubeconfig_path)
    return app


def with_api_server(ws: WorkspaceFixture, url: str) -> None:
    """Point the workspace's organization.yaml at another API server URL (the kubeconfig keeps the real one)."""
    from gfwizard.orgconfig import load_config, save_config

    cfg = load_config(ws.config_path)
    save_config(cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"api_server": url})}), ws.config_path)


async def test_server_mismatch_fails_blocks_next_and_shows_the_remedy(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    with_api_server(ws, "https://127.0.0.1:1")
    before = workspace_files(ws)
    app = validate_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
        server = app.screen.report.check("server")
        assert server is not None and server.level.value == "fail"
        assert "https://127.0.0.1:1" in server.detail and server.remedy
        status = text_of(app.screen.query_one("#step-status"))
        assert status.startswith("server failed: see its remedy above")
        # The highlighted row is the failure; its full detail and remedy are on screen below the table.
        detail = text_of(app.screen.query_one(".check-detail"))
        assert "FAIL server" in detail and "Remedy: " + server.remedy in detail
        assert app.screen.check_action("next", ()) is None, "Next is shown disabled"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert on_step(app, "validate"), "a failing check must block Next"
        assert not app.session.validated
    assert workspace_files(ws) == before, "a failed validation wrote something"


async def test_with_no_config_file_yet_a_server_mismatch_says_to_write_it_first(
        rehearsal_workspace: WorkspaceFixture, tmp_path: Any) -> None:
    """No organization.yaml yet: the wizard drafts one with honey's address (it asks none), so a context pointing
    elsewhere cannot be fixed by correcting cluster.api_server in a file that does not exist; the remedy says how
    to write one that asks (`config init --plain`). Nothing is written."""
    from screens.launch import build_app

    ws = rehearsal_workspace
    (tmp_path / "new").mkdir()
    missing = tmp_path / "new" / "organization.yaml"
    before = workspace_files(ws)
    app = build_app(rehearsal=ws, config_path=missing, repo=REPO, start_at="validate")  # type: ignore[arg-type]
    app.session.context, app.session.kubeconfig = "honey", str(ws.kubeconfig_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
        assert app.session.existing_config is None
        server = app.screen.report.check("server")
        assert server is not None and server.level.value == "fail", server
        assert "there is no organization.yaml yet to correct, so write it first with `gfwizard config init " \
               "--plain` (it asks the API server and the network)" in server.remedy, server.remedy
        assert "cluster.api_server in organization.yaml" not in server.remedy
        assert "Remedy: " + server.remedy in text_of(app.screen.query_one(".check-detail"))
        assert not app.session.validated
    assert list(missing.parent.iterdir()) == []
    assert workspace_files(ws) == before


async def test_opened_at_validate_with_no_config_file_a_missing_default_kubeconfig_says_where_to_pick_one(
        rehearsal_workspace: WorkspaceFixture, tmp_path: Any) -> None:
    """`gfwizard wizard --step validate` with no organization.yaml yet skips the Kubeconfig step, so the draft's
    default ~/.kube/kubeconfig-honey.yaml is validated; it is missing, and the remedy said to fix cluster.kubeconfig
    in organization.yaml, a file that does not exist. It says to go Back to the Kubeconfig step (which Esc does)
    or write the file first. Nothing is written."""
    from pathlib import Path

    from screens.launch import build_app

    ws = rehearsal_workspace
    (tmp_path / "new").mkdir()
    missing = tmp_path / "new" / "organization.yaml"
    default = Path.home() / ".kube" / "kubeconfig-honey.yaml"
    assert not default.exists()
    # ~/.kube only: the Kubeconfig step keeps its discovery cache in the state dir (documented).
    before, kube_before = workspace_files(ws), tree_digest(Path.home() / ".kube")
    app = build_app(rehearsal=ws, config_path=missing, repo=REPO, start_at="validate")  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
        assert app.session.existing_config is None
        check = app.screen.report.check("kubeconfig")
        assert check is not None and check.level.value == "fail", check
        assert str(default) in check.detail
        assert check.remedy.startswith(f"the wizard's draft names {default}, which does not exist, as the "
                                       "kubeconfig: there is no organization.yaml yet to correct: go Back (Esc) to "
                                       "the wizard's Kubeconfig step"), check.remedy
        assert "write organization.yaml first with `gfwizard config init --plain`" in check.remedy
        assert "in organization.yaml" not in check.remedy
        assert "Remedy: " + check.remedy in text_of(app.screen.query_one(".check-detail"))
        assert not app.session.validated
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "kubeconfig"), "the Kubeconfig step, as the remedy says")
    assert list(missing.parent.iterdir()) == []
    assert workspace_files(ws) == before
    assert tree_digest(Path.home() / ".kube") == kube_before


async def test_pin_declined_writes_nothing_and_keeps_next_blocked(unpinned_workspace: WorkspaceFixture) -> None:
    ws = unpinned_workspace
    before = workspace_files(ws)
    app = validate_app(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the pin consent dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "validate"), "the dialog closed")
        assert "not pinned" in text_of(app.screen.query_one("#step-status"))
        assert app.screen.blocked_reason() == "Pin the cluster fingerprint first (p)."
        assert app.screen.check_action("pin", ()) is True
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert on_step(app, "validate")
        # p asks again; this time the answer is yes, and the pin goes to the file.
        await pilot.press("p")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the pin dialog again")
        assert workspace_files(ws) == before, "nothing may be written before consent"
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None
                         and app.screen.blocked_reason() is None, "validation after pinning")
    assert set(tree_digest(ws.dir)) >= {"organization.yaml", "organization.yaml.bak"}


def waiting_on_the_network(function: str, module_file: str) -> bool:
    """True when some thread running ``function`` (of ``module_file``) sits in a socket/TLS call right now."""
    frames = sys._current_frames()
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        inner = frame
        while frame is not None:
            if frame.f_code.co_name == function and frame.f_code.co_filename.endswith(module_file):
                assert inner is not None
                return inner.f_code.co_filename.endswith(("ssl.py", "socket.py", "selectors.py"))
            frame = frame.f_back
    return False


async def test_ui_answers_keys_while_a_check_hangs_until_its_timeout(rehearsal_workspace: WorkspaceFixture,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Blackhole mode: the API accepts the connection and never answers. While the validate worker waits
    for its connect timeout, key presses are handled in well under 100 ms."""
    from textual.worker import WorkerState

    from screens.checklist import Checklist
    from screens.validate_screen import ValidateScreen

    handled: list[float] = []
    original = Checklist.on_data_table_row_highlighted

    def record(self: Checklist, event: Any) -> None:
        handled.append(time.perf_counter())
        original(self, event)

    monkeypatch.setattr(Checklist, "on_data_table_row_highlighted", record)
    ws = rehearsal_workspace
    app = validate_app(ws)
    ws.api.faults.blackhole(True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "validate")
                             and app.screen.query_one(Checklist).table.row_count == 9, "the pending checks")
            # Measure while the check really hangs: the worker is blocked in the TLS handshake.
            await wait_until(pilot, lambda: waiting_on_the_network("validate", "validate_screen.py"),
                             "the validate worker blocked on the API", timeout=ValidateScreen.TIMEOUTS[0])
            screen = app.screen
            assert isinstance(screen, ValidateScreen)
            table = screen.query_one(Checklist).table
            worker = next(w for w in app.workers if w.group == "validate")
            latencies: list[float] = []
            for expected_row in range(1, 6):
                handled.clear()
                sent = time.perf_counter()
                await pilot.press("down")
                assert table.cursor_row == expected_row and handled, "the key press was not handled"
                latencies.append(handled[0] - sent)
            assert worker.state is WorkerState.RUNNING and screen.report is None, "the check should still hang"
            assert max(latencies) < 0.1, f"key press latencies while a check hangs: {latencies}"
            # Then the timeout: reachable fails with a remedy and Next stays blocked.
            await wait_until(pilot, lambda: screen.report is not None, "the timeout", timeout=ValidateScreen.TIMEOUTS[0] * 4)
            reachable = screen.report.check("reachable")
            assert reachable is not None and reachable.level.value == "fail" and reachable.remedy
            # The handshake never completes: the connect timeout bounds it, and the message says so.
            assert "timed out after" in reachable.detail and "--connect-timeout" in reachable.remedy
            assert text_of(screen.query_one("#step-status")).startswith("reachable failed")
            assert screen.check_action("next", ()) is None
    finally:
        ws.api.faults.blackhole(False)


async def test_a_picked_context_that_is_not_the_configured_one_is_not_called_the_target(
        rehearsal_workspace: WorkspaceFixture) -> None:
    import yaml

    ws = rehearsal_workspace
    doc = yaml.safe_load(ws.kubeconfig_path.read_text())
    doc["clusters"].append({"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:1"}})
    doc["contexts"].append({"name": "other-cluster", "context": {"cluster": "elsewhere",
                                                                 "user": doc["users"][0]["name"]}})
    ws.kubeconfig_path.write_text(yaml.safe_dump(doc))
    before = workspace_files(ws)
    app = validate_app(ws)
    app.session.context = "other-cluster"  # picked at the Kubeconfig step
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
        classification = app.screen.report.check("classification")
        assert classification is not None and classification.level.value == "warn", classification
        assert "is the deploy target" not in classification.detail
        assert app.screen.report.check("server").level.value == "fail"
        assert app.session.draft.cluster.context == "other-cluster", "the draft follows the pick"
        assert not app.session.validated
    assert workspace_files(ws) == before


async def test_a_kubeconfig_others_can_read_is_a_warning_on_screen_that_does_not_block_next(
        rehearsal_workspace: WorkspaceFixture) -> None:
    import shutil
    import stat
    import tempfile
    from pathlib import Path

    from gfwizard.cluster import validate_context
    from gfwizard.orgconfig import load_config
    from screens.checklist import Checklist

    ws = rehearsal_workspace
    # The rehearsal writes its kubeconfig as kubectl does (0600), so it shows no such warning.
    assert stat.S_IMODE(ws.kubeconfig_path.stat().st_mode) == 0o600
    clean = validate_context(load_config(ws.config_path), timeouts=(3, 10)).check("kubeconfig")
    assert clean is not None and clean.level.value == "pass" and not clean.remedy
    # A copy others can read, at a path as long as ~/.kube/kubeconfig-honey.yaml in a home directory (pytest's
    # own paths are twice that: no operator's row would wrap like them).
    short = Path(tempfile.mkdtemp(prefix="gfw-"))
    try:
        kube = short / "kubeconfig-honey.yaml"
        shutil.copyfile(ws.kubeconfig_path, kube)
        kube.chmod(0o644)
        before = workspace_files(ws), kube.read_bytes()
        app = validate_app(ws)
        app.session.kubeconfig = str(kube)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
            check = app.screen.report.check("kubeconfig")
            assert check is not None and check.level.value == "warn"
            assert check.detail.startswith(f"context 'honey' in {kube}: ")
            assert check.detail.endswith("; that file is mode 0644: every local user can read the token it holds "
                                         "inline")
            assert app.screen.query_one(Checklist).table.cursor_row == 0, "the cursor goes to the (first) warning"
            detail_box = app.screen.query_one(".check-detail")
            # The detail follows the highlighted row through a message: wait for it, and for the layout after it.
            await wait_until(pilot, lambda: "WARN kubeconfig" in text_of(detail_box), "the warning's detail")
            await pilot.pause()
            detail = text_of(detail_box)
            assert "WARN kubeconfig" in detail and detail.rstrip().endswith(f"Remedy: chmod 600 {kube}")
            # At 80x24 the whole detail and remedy fit in the box under the table, above the status line.
            status = app.screen.query_one("#step-status")
            assert detail_box.virtual_size.height <= detail_box.size.height
            assert detail_box.region.bottom <= status.region.y, (detail_box.region, status.region)
            assert ws.api.admin_token not in detail
            assert app.screen.blocked_reason() is None and app.session.validated, "a warning never blocks Next"
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: not on_step(app, "validate"), "the next step")
        assert (workspace_files(ws), kube.read_bytes()) == before
        assert stat.S_IMODE(kube.stat().st_mode) == 0o644, "validate never changes the operator's file mode"
    finally:
        shutil.rmtree(short)


def with_context_elsewhere(ws: WorkspaceFixture, name: str) -> None:
    """Add context ``name`` to the workspace's kubeconfig, pointing at a server that is not honey's."""
    import yaml

    doc = yaml.safe_load(ws.kubeconfig_path.read_text())
    doc["clusters"].append({"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:1"}})
    doc["contexts"].append({"name": name, "context": {"cluster": "elsewhere", "user": doc["users"][0]["name"]}})
    ws.kubeconfig_path.write_text(yaml.safe_dump(doc))


@pytest.mark.parametrize("repeat", [1, 2], ids=["remedy-fits-the-box", "remedy-longer-than-the-box"])
async def test_a_long_context_name_leaves_the_whole_remedy_reachable_at_80x24(
        rehearsal_workspace: WorkspaceFixture, repeat: int) -> None:
    """The context's name in the help line took 4 rows at 80x24; the failing check's box under the table then got
    3, its remedy cut below the fold, and Tab never reached it. Now the step scrolls to the remedy when the
    checks come back, and Tab reaches the box (scrolled by the keyboard when the remedy is longer than it)."""
    from textual.widgets import DataTable

    ws = rehearsal_workspace
    name = "-".join(["a-very-long-context-name-for-the-honey-cluster-as-some-operators-write-them-in-their-kubeconfig"
                     "-files"] * repeat)
    with_context_elsewhere(ws, name)
    before = workspace_files(ws)
    app = validate_app(ws)
    app.session.context = name  # picked at the Kubeconfig step
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
        screen = app.screen
        server = screen.report.check("server")
        assert server is not None and server.level.value == "fail" and server.remedy
        assert screen.query_one(".step-help").region.height >= 4, "the help line is as tall as it was found"
        body = screen.query_one(".step-body")
        detail = screen.query_one(".check-detail")
        box = detail.parent  # the box the detail scrolls in
        await wait_until(pilot, lambda: "FAIL server" in text_of(detail), "the failure's detail")
        assert text_of(detail).rstrip().endswith("Remedy: " + server.remedy)
        # Without a key press the box is in view whole, above the status line.
        await wait_until(pilot, lambda: body.scrollable_content_region.contains_region(box.region),
                         "the box scrolled into view")
        assert screen.focused is screen.query_one(DataTable)
        # Tab reaches the box; the keyboard scrolls it to the end of the remedy.
        await pilot.press("tab")
        await wait_until(pilot, lambda: screen.focused is box, "the box focused")
        if repeat == 1:
            assert box.max_scroll_y == 0, "a remedy this long fits the box"
        else:
            assert box.max_scroll_y > 0, "a remedy this long is longer than the box"
            await pilot.press("end")
            await wait_until(pilot, lambda: box.scroll_offset.y == box.max_scroll_y, "the box scrolled to its end")
        assert body.scrollable_content_region.contains_region(box.region)
        # Another row's detail starts at its top again.
        await pilot.press("shift+tab", "down")
        await wait_until(pilot, lambda: "FAIL server" not in text_of(detail), "the next row's detail")
        assert box.scroll_offset.y == 0
        assert not app.session.validated
    assert workspace_files(ws) == before, "a failed validation wrote something"
