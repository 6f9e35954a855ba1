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
    """What the Deploy step had finished when the operator left it, shown again on coming back."""

    env: str
    #: stack -> (state, detail) of every stack applied, unchanged or up to date in that visit.
    done: dict[str, tuple[str, str]]


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
    deploy_view: DeployView | None = None
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
