"""The wizard on a config without a ``dev`` environment (``config init --plain`` writes one for a
prod-only answer): every step works on an environment the config has, never on a ``dev`` it lacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import REPO, modal_named, on_step, text_of, wait_until, workspace_files

if TYPE_CHECKING:
    from screens.app import WizardApp


def prod_only(ws: WorkspaceFixture) -> None:
    """Drop dev from the workspace's organization.yaml, as a prod-only answer to `config init` does."""
    from gfwizard.orgconfig import load_config, save_config

    cfg = load_config(ws.config_path)
    save_config(cfg.model_copy(update={"environments": {"prod": cfg.environments["prod"]}}), ws.config_path)


def wizard_at(ws: WorkspaceFixture, step: str) -> "WizardApp":
    from screens.launch import build_app

    app = build_app(rehearsal=ws, repo=REPO, start_at=step)  # type: ignore[arg-type]
    app.session.context, app.session.kubeconfig = "honey", str(ws.kubeconfig_path)
    return app


async def test_the_backend_step_of_a_prod_only_config_works_on_prod(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    prod_only(ws)
    before = workspace_files(ws)
    app = wizard_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: modal_named(app, "ErrorModal")
                         or (on_step(app, "backend") and app.screen.checks is not None), "the backend checks")
        assert not modal_named(app, "ErrorModal"), "unknown environment 'dev' on a config that has only prod"
        assert app.session.env == "prod"
        assert "for env 'prod'" in text_of(app.screen.query_one(".step-help"))
    assert workspace_files(ws) == before, "entering the backend step wrote something"


async def test_validate_on_a_prod_only_config_hands_prod_to_the_next_steps(
        rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    prod_only(ws)
    app = wizard_at(ws, "validate")
    assert app.session.env == "dev", "nothing is loaded before Validate drafts the config"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None, "validation")
        assert app.session.env == "prod"
