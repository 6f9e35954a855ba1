"""Error types shared by every core module.

Each error carries a message and a remedy so that the CLI and the UI can show both without a
traceback. ``InputError`` maps to exit code 2, ``CheckFailure`` to exit code 1.
"""

from __future__ import annotations


class GfwError(Exception):
    """Base class for every error gfwizard raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        return self.message


class InputError(GfwError):
    """Bad input from the operator: a flag, a file, a config value. Exit code 2."""

    exit_code = 2


class CheckFailure(GfwError):
    """A check or operation failed against the outside world. Exit code 1."""

    exit_code = 1


class SafetyStop(CheckFailure):
    """A safety gate refused to continue (fingerprint mismatch, lock probe failed, ...)."""
