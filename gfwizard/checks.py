"""The typed result of every check: ``Check(name, level, detail, remedy)``."""

from __future__ import annotations

from enum import Enum
from typing import Iterable

from pydantic import BaseModel, ConfigDict, model_validator


class Level(str, Enum):
    """How a check ended."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class Check(BaseModel):
    """One check's outcome. A failing check always carries a remedy."""

    model_config = ConfigDict(frozen=True)

    name: str
    level: Level
    detail: str = ""
    remedy: str = ""

    @model_validator(mode="after")
    def _fail_has_remedy(self) -> "Check":
        if self.level is Level.FAIL and not self.remedy.strip():
            raise ValueError(f"check {self.name!r} fails without a remedy")
        return self

    @property
    def ok(self) -> bool:
        """True unless the check failed."""
        return self.level is not Level.FAIL


def passed(name: str, detail: str = "") -> Check:
    """A passing check."""
    return Check(name=name, level=Level.PASS, detail=detail)


def warned(name: str, detail: str, remedy: str = "") -> Check:
    """A warning: worth reading, not blocking."""
    return Check(name=name, level=Level.WARN, detail=detail, remedy=remedy)


def failed(name: str, detail: str, remedy: str) -> Check:
    """A failing check; ``remedy`` says what to do about it."""
    return Check(name=name, level=Level.FAIL, detail=detail, remedy=remedy)


def all_ok(checks: Iterable[Check]) -> bool:
    """True when no check failed."""
    return all(c.ok for c in checks)
