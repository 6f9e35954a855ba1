"""The wizard's working copy of organization.yaml: the file on disk, or a draft from the defaults.

The wizard never writes this draft by itself: the Config step shows it (with a diff against the
file) and writes it only when the operator confirms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig


@dataclass(frozen=True)
class Draft:
    """The config the wizard works on, and whether it came from an existing file."""

    config: "OrgConfig"
    existing: "OrgConfig | None"
    existing_text: str | None


def load_or_draft(config_path: Path, *, kubeconfig: str | None, context: str | None) -> Draft:
    """Load ``config_path`` when it exists (raising its ConfigError when invalid), else draft one from
    the honey defaults; either way the operator's chosen kubeconfig and context are applied."""
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.orgconfig import load_config

    if config_path.is_file():
        existing = load_config(config_path)
        text = config_path.read_text(encoding="utf-8")
        cfg = existing
        if context and (context != cfg.cluster.context or (kubeconfig or "") != cfg.cluster.kubeconfig):
            answers = ConfigAnswers.from_config(existing)
            answers.context = context
            if kubeconfig:
                answers.kubeconfig = _home_relative(kubeconfig)
            cfg = build_config(answers)
        return Draft(cfg, existing, text)
    answers = ConfigAnswers()
    if context:
        answers.context = context
    if kubeconfig:
        answers.kubeconfig = _home_relative(kubeconfig)
    return Draft(build_config(answers), None, None)


def _home_relative(path: str) -> str:
    """``/home/op/.kube/x`` -> ``~/.kube/x``: the file stays valid for other operators' homes."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def wizard_env(cfg: "OrgConfig", current: str = "dev") -> str:
    """The environment the wizard sets up with ``cfg``: ``current`` when the config has it, else ``dev``,
    else the config's first (a prod-only file, which ``config init --plain`` writes, is walked as prod)."""
    for name in (current, "dev"):
        if name in cfg.environments:
            return name
    return next(iter(cfg.environments), current)
