"""Remedies name CLI commands (the core serves the CLI too); on a wizard step whose key does the
same, the key comes first: ``press r (or `gfwizard deploy --env dev --resume`)``."""

from __future__ import annotations

import re
from typing import Mapping


def with_keys(remedy: str, hints: Mapping[str, str]) -> str:
    """``remedy`` with each backticked command of ``hints`` (and a ``run``/``re-run`` before it)
    preceded by the step's key."""
    for command, key in hints.items():
        remedy = re.sub(rf"(\b(?:re-)?run )?`{re.escape(command)}`",
                        lambda m: f"press {key} (or {m.group(1) or ''}`{command}`)", remedy)
    return remedy
