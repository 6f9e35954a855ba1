"""What the wizard has learned so far, handed from step to step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.rehearsal.workspace import RehearsalEnvironment


@dataclass
class DeployView:
    """What the Deploy step had reached in one environment when the operator left it (Back, Next, or
    switching environment), shown again on coming back."""

    env: str
    #: stack -> (state, detail) of every stack applied, unchanged or up to date.
    done: dict[str, tuple[str, str]]
    #: stack -> (state, detail) of stacks that stopped (failed, interrupted, locked, not planned).
    stopped: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: stack -> outcome, as the Done step lists it.
    outcomes: dict[str, str] = field(default_factory=dict)
    #: stack -> transcript path of its last run in this environment.
    transcripts: dict[str, str] = field(default_factory=dict)
    #: Stacks planned but not applied when the step was left: their saved plans were deleted.
    dropped: tuple[str, ...] = ()


@dataclass
class WizardSession:
    """The operator's answers and the services' results, shared by every step screen."""

    repo: Path
    config_path: Path
    rehearsal: "RehearsalEnvironment | None" = None
    existing_config: "OrgConfig | None" = None
    draft: "OrgConfig | None" = None
    kubeconfig: str | None = None
    context: str | None = None
    env: str = "dev"
    validated: bool = False
    backend_ready: bool = False
    config_written: bool = False
    deploy_outcomes: dict[str, str] = field(default_factory=dict)
    transcripts: dict[str, str] = field(default_factory=dict)
    #: env -> what the Deploy step had reached there.
    deploy_views: dict[str, DeployView] = field(default_factory=dict)
    #: Engine notes already shown (the same note comes with every engine build; it is shown once).
    notes_shown: set[str] = field(default_factory=set)
    extras: dict[str, Any] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        """The environment core services run with: this process's, plus the rehearsal exports."""
        import os

        env = dict(os.environ)
        if self.rehearsal is not None:
            env.update(self.rehearsal.env)
        return env

    def home(self) -> Path | None:
        """The home directory discovery searches (the rehearsal workspace keeps ``~/.kube`` out)."""
        return Path(self.rehearsal.dir) if self.rehearsal is not None else None

    @property
    def is_rehearsal(self) -> bool:
        """True when the wizard runs against the embedded rehearsal services."""
        return self.rehearsal is not None
