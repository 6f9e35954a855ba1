"""Preflight without tofu or terraform on PATH: a rehearsal can still be walked (the binary is only a
warning there), a real run cannot; the rehearsal's Deploy step then refuses to plan, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import REPO, make_app, modal_named, on_step, text_of, wait_until, workspace_files


@pytest.fixture
def no_iac_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with neither tofu nor terraform on it, and no GFW_TOFU_BIN."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("GFW_TOFU_BIN", raising=False)


def iac_check(app):  # type: ignore[no-untyped-def]
    """The preflight's IaC binary check."""
    return next(c for c in app.screen.checks if c.name == "IaC binary")


async def test_a_rehearsal_without_the_binary_warns_and_walks_on(
        rehearsal_workspace: WorkspaceFixture, no_iac_binary: None) -> None:
    app = make_app(rehearsal_workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "preflight") and app.screen.checks is not None, "preflight checks")
        check = iac_check(app)
        assert check.level.value == "warn"
        assert check.detail == "tofu or terraform not found on PATH: the deploy step needs it"
        assert check.remedy.startswith("Install OpenTofu or Terraform >= 1.10 on PATH (or set GFW_TOFU_BIN before "
                                       "starting gfwizard) before the deploy step")
        assert text_of(app.screen.query_one("#step-status")) == "Ready. Ctrl+N for Next."
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "kubeconfig"), "the kubeconfig step")


async def test_a_real_run_without_the_binary_stops_at_preflight(isolated_home: Path, no_iac_binary: None) -> None:
    from screens.launch import build_app

    app = build_app(config_path=isolated_home / "organization.yaml", repo=REPO)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "preflight") and app.screen.checks is not None, "preflight checks")
        check = iac_check(app)
        assert check.level.value == "fail"
        assert check.detail == "tofu or terraform not found on PATH"
        assert text_of(app.screen.query_one("#step-status")).startswith("Fix before continuing: IaC binary")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert on_step(app, "preflight")
    assert not (isolated_home / "organization.yaml").exists()


async def test_the_rehearsal_deploy_step_without_the_binary_refuses_to_plan(
        rehearsal_workspace: WorkspaceFixture, no_iac_binary: None) -> None:
    from screens.launch import build_app

    ws = rehearsal_workspace
    before = workspace_files(ws)
    app = build_app(rehearsal=ws, repo=REPO, start_at="deploy")  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the error modal")
        assert text_of(app.screen.query_one("#error-message")) == "neither tofu nor terraform was found on PATH"
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "deploy"), "the modal closed")
        screen = app.screen
        assert text_of(screen.query_one("#step-status")) == (
            "The deploy engine could not start, so nothing can be planned: neither tofu nor terraform was found "
            "on PATH. Install OpenTofu or Terraform >= 1.10 on PATH (or set GFW_TOFU_BIN before starting gfwizard), "
            "then Escape and come back to this step.")
        assert screen.check_action("plan_all", ()) is False
        await pilot.press("p")
        await pilot.pause()
        assert screen.engine is None and screen.busy is None
    assert workspace_files(ws) == before, "a deploy step without the binary wrote files"
