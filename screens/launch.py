"""The one factory that builds the wizard app, used by the CLI and by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gfwizard.paths import default_config_path, repo_root
from screens.app import WizardApp
from screens.session import WizardSession

if TYPE_CHECKING:
    from gfwizard.rehearsal.workspace import RehearsalEnvironment


def build_app(*, config_path: Path | None = None, repo: Path | None = None,
              rehearsal: "RehearsalEnvironment | None" = None, start_at: str = "preflight") -> WizardApp:
    """Build the wizard for the real machine, or for a running rehearsal environment."""
    if rehearsal is not None:
        config_path = config_path or Path(rehearsal.config_path)
    session = WizardSession(repo=repo or repo_root(), config_path=config_path or default_config_path(),
                            rehearsal=rehearsal)
    if start_at in ("backend", "config", "deploy", "done"):
        # Steps after Validate work on the draft; starting there loads it now, before the UI runs.
        from gfwizard.draft import load_or_draft, wizard_env

        draft = load_or_draft(session.config_path, kubeconfig=None, context=None)
        session.draft, session.existing_config = draft.config, draft.existing
        session.env = wizard_env(draft.config, session.env)
        session.context, session.kubeconfig = draft.config.cluster.context, draft.config.cluster.kubeconfig or None
    return WizardApp(session, start_at=start_at)


def run_wizard(*, start_at: str = "preflight", config_path: Path | None = None,
               rehearsal: "RehearsalEnvironment | None" = None) -> int:
    """Run the wizard in this terminal until the operator quits; its Done step may hand over to the
    read-only status view. Returns the exit code: 0 after a quit, non-zero when the UI crashed."""
    app = build_app(config_path=config_path, rehearsal=rehearsal, start_at=start_at)
    app.run()
    if app.return_code:
        return app.return_code
    if app.return_value == "status":
        from screens.status_app import build_status_app

        status = build_status_app(app.session.config_path, app.session.environ())
        status.run()
        return status.return_code or 0
    return 0
