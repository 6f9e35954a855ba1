"""Where things live: the repo checkout, the organization config, the user state directory."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "GFW_CONFIG"
STATE_DIR_ENV = "GFW_STATE_DIR"
REPO_ENV = "GFW_REPO"


def repo_root(start: Path | None = None) -> Path:
    """The GloriousFlywheel checkout: ``$GFW_REPO``, else the nearest parent holding ``tofu/stacks``,
    else the checkout gfwizard itself runs from (an editable install).

    Falls back to the current directory when none looks like a checkout.
    """
    if os.environ.get(REPO_ENV):
        return Path(os.environ[REPO_ENV]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "tofu" / "stacks").is_dir():
            return candidate
    own = Path(__file__).resolve().parent.parent
    if (own / "tofu" / "stacks").is_dir():
        return own
    return here


def default_config_path() -> Path:
    """``$GFW_CONFIG``, else ``config/organization.yaml`` under the repo root."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    return repo_root() / "config" / "organization.yaml"


def state_dir() -> Path:
    """The user state directory for journals and transcripts (``$GFW_STATE_DIR`` or XDG)."""
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gfwizard"


def expand(path: str | Path) -> Path:
    """Expand ``~`` and environment variables in a user-supplied path."""
    return Path(os.path.expandvars(os.path.expanduser(str(path))))
