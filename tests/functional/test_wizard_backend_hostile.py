"""The Backend step against a broken AWS configuration and an endpoint that is not an S3 API: the failed
check and its remedy are shown (no error dialog with a traceback, no offer to create a bucket), Next stays
blocked, and nothing is written or created."""

from __future__ import annotations

import pytest

from tests.backend_doubles import RawServer, html_page
from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import modal_named, on_step, text_of, wait_until, workspace_files
from tests.functional.test_wizard_steps import app_at


async def _backend_step_result(ws: WorkspaceFixture) -> tuple[list, str, str]:
    """Open the Backend step, wait for its checks; (checks, status line, top screen's class name)."""
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        await pilot.pause()
        screen = type(app.screen).__name__
        status = text_of(app.screen.query_one("#step-status"))
        checks = list(app.screen.checks)
        assert app.screen.check_action("render", ()) is False and not app.session.backend_ready
        assert not modal_named(app, "ErrorModal") and not modal_named(app, "ConfirmModal")
    return checks, status, screen


async def test_an_unknown_aws_profile_is_a_failed_check_not_an_error_dialog(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "rustfs-typo")
    before = workspace_files(ws)
    checks, status, screen = await _backend_step_result(ws)
    assert screen == "BackendScreen"
    creds = checks[-1]
    assert creds.name == "s3 credentials" and creds.level.value == "fail"
    assert "AWS profile 'rustfs-typo' (AWS_PROFILE) is not defined" in creds.detail
    assert status.startswith("s3 credentials failed: see its remedy above")
    assert workspace_files(ws) == before and not (ws.dir / "backends").exists()


async def test_an_html_console_is_not_offered_a_bucket(rehearsal_workspace: WorkspaceFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    before = workspace_files(ws)
    with RawServer(html_page) as console:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", console.endpoint)
        checks, _status, screen = await _backend_step_result(ws)
        methods = [r.split(b" ", 1)[0] for r in console.requests]
    assert screen == "BackendScreen"
    assert checks[-1].name == "s3 credentials" and "an HTML page (text/html)" in checks[-1].detail
    assert b"PUT" not in methods and b"POST" not in methods
    assert workspace_files(ws) == before and not (ws.dir / "backends").exists()
