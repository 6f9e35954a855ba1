"""Where the full-screen apps keep what an unexpected error said: its traceback, redacted. Their error dialog
shows the message only (never a traceback), and a bug report needs the rest."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from gfwizard.paths import own_dir_problem, state_dir
from gfwizard.redact import redact

#: The log's file name in the state directory.
UI_ERROR_LOG = "ui-errors.log"


def ui_error_log() -> Path:
    """The UI error log's path (nothing is created)."""
    return state_dir() / UI_ERROR_LOG


def record_unexpected(details: str) -> str:
    """Append ``details`` (redacted again here), under a UTC timestamp, to :func:`ui_error_log`, created 0600 in
    the state directory; ``""`` when done, else why it could not be written."""
    path = ui_error_log()
    problem = own_dir_problem(path.parent)
    if problem:
        return f"{path.parent}: {problem}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as log:
            log.write(f"--- {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n{redact(details).rstrip()}\n")
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return ""
