"""Typed events of the IaC binary's machine-readable UI stream (``plan -json`` / ``apply -json``).

Every line the binary prints with ``-json`` is one JSON object with a ``type``; see
https://developer.hashicorp.com/terraform/internals/machine-readable-ui (OpenTofu emits the same
format). :func:`parse_ui_line` turns a line into one of the dataclasses below. Every string inside
the event is redacted before the event is built, so an event can be shown or saved as it is.
Human-readable text is never parsed: the ``message`` field is kept for display only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from gfwizard.redact import MASK, is_secret_key
from gfwizard.redact import redact as _default_redact

Redact = Callable[[str], str]


def redact_obj(obj: Any, redact: Redact = _default_redact, *, keys: bool = False) -> Any:
    """Return ``obj`` (decoded JSON) with every string redacted, and every value under a secret-named key
    (:func:`~gfwizard.redact.is_secret_key`) masked whatever it looks like: ``{"password": "hunter2"}`` holds
    nothing that looks like a secret, yet is one. Keys are kept as they are unless ``keys`` (a document whose
    keys can be data, such as a URL with its password).

    Redacting decoded values, not JSON text, keeps the result valid JSON whatever a secret looks like.
    """
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, Mapping):
        return {_key(k, redact, keys): (_masked(v, redact, keys) if isinstance(k, str) and is_secret_key(k)
                                        else redact_obj(v, redact, keys=keys)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v, redact, keys=keys) for v in obj]
    return obj


def _key(key: Any, redact: Redact, keys: bool) -> Any:
    return redact(key) if keys and isinstance(key, str) else key


def _masked(obj: Any, redact: Redact, keys: bool) -> Any:
    """``obj`` (a secret-named key's value) masked: each string and number, leaf by leaf in a list or a
    mapping (which keeps its shape); an empty string, a boolean or null says nothing and stays."""
    if obj is None or isinstance(obj, bool) or obj == "":
        return obj
    if isinstance(obj, Mapping):
        return {_key(k, redact, keys): _masked(v, redact, keys) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_masked(v, redact, keys) for v in obj]
    return MASK


@dataclass(frozen=True)
class UIEvent:
    """Fields every UI stream message carries."""

    type: str
    level: str
    message: str
    timestamp: str


@dataclass(frozen=True)
class VersionEvent(UIEvent):
    """First message of every run: the binary's version and UI stream version."""

    version: str = ""
    ui: str = ""


@dataclass(frozen=True)
class LogEvent(UIEvent):
    """A free-form log message (for display only)."""


@dataclass(frozen=True)
class Diagnostic(UIEvent):
    """An error or warning, with the structured fields the stream gives."""

    severity: str = ""
    summary: str = ""
    detail: str = ""
    address: str | None = None
    filename: str | None = None
    line: int | None = None

    @property
    def is_error(self) -> bool:
        """True for error diagnostics (warnings are not failures)."""
        return self.severity == "error"


@dataclass(frozen=True)
class ResourceEvent(UIEvent):
    """A message about one resource instance (``hook`` or ``change`` block)."""

    address: str = ""
    action: str = ""
    resource_type: str = ""
    module: str = ""


@dataclass(frozen=True)
class PlannedChange(ResourceEvent):
    """``planned_change``: the plan will act on a resource."""

    reason: str = ""


@dataclass(frozen=True)
class ResourceDrift(ResourceEvent):
    """``resource_drift``: the resource changed outside OpenTofu since the last apply."""


@dataclass(frozen=True)
class ApplyStart(ResourceEvent):
    """``apply_start``: the binary started changing a resource."""

    id_value: str | None = None


@dataclass(frozen=True)
class ApplyProgress(ResourceEvent):
    """``apply_progress``: a resource change is still running."""

    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class ApplyComplete(ResourceEvent):
    """``apply_complete``: a resource change finished."""

    id_value: str | None = None
    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class ApplyErrored(ResourceEvent):
    """``apply_errored``: a resource change failed (the diagnostics say why)."""

    elapsed_seconds: float = 0.0


@dataclass(frozen=True)
class ProvisionEvent(ResourceEvent):
    """``provision_start|progress|complete|errored``: a provisioner on a resource."""

    provisioner: str = ""
    output: str = ""


@dataclass(frozen=True)
class RefreshEvent(ResourceEvent):
    """``refresh_start|refresh_complete``: reading a resource's current state."""


@dataclass(frozen=True)
class ChangeSummary(UIEvent):
    """``change_summary``: counts at the end of a plan or an apply."""

    add: int = 0
    change: int = 0
    remove: int = 0
    import_: int = 0
    operation: str = ""


@dataclass(frozen=True)
class OutputsEvent(UIEvent):
    """``outputs``: names of the root module outputs and their actions (values are not kept)."""

    names: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class UnknownEvent(UIEvent):
    """A message type this version does not know (kept so nothing is silently dropped)."""


def _resource_fields(block: Mapping[str, Any]) -> dict[str, Any]:
    resource = block.get("resource") or {}
    return {
        "address": str(resource.get("addr", "")),
        "action": str(block.get("action", "") or ""),
        "resource_type": str(resource.get("resource_type", "")),
        "module": str(resource.get("module", "")),
    }


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def event_from_message(raw: Mapping[str, Any], redact: Redact = _default_redact) -> UIEvent:
    """Build the typed event of one decoded UI stream message (strings redacted)."""
    msg = redact_obj(raw, redact)
    kind = str(msg.get("type", ""))
    base = {
        "type": kind,
        "level": str(msg.get("@level", "")),
        "message": str(msg.get("@message", "")),
        "timestamp": str(msg.get("@timestamp", "")),
    }
    hook = msg.get("hook") or {}
    if kind == "version":
        return VersionEvent(**base, version=str(msg.get("terraform") or msg.get("tofu") or ""),
                            ui=str(msg.get("ui", "")))
    if kind == "log":
        return LogEvent(**base)
    if kind == "diagnostic":
        diag = msg.get("diagnostic") or {}
        rng = diag.get("range") or {}
        start = rng.get("start") or {}
        return Diagnostic(**base, severity=str(diag.get("severity", "")), summary=str(diag.get("summary", "")),
                          detail=str(diag.get("detail", "")), address=diag.get("address"),
                          filename=rng.get("filename"), line=start.get("line"))
    if kind in ("planned_change", "resource_drift"):
        change = msg.get("change") or {}
        fields = _resource_fields(change)
        if kind == "resource_drift":
            return ResourceDrift(**base, **fields)
        return PlannedChange(**base, **fields, reason=str(change.get("reason", "") or ""))
    if kind == "apply_start":
        return ApplyStart(**base, **_resource_fields(hook), id_value=hook.get("id_value"))
    if kind == "apply_progress":
        return ApplyProgress(**base, **_resource_fields(hook), elapsed_seconds=_number(hook.get("elapsed_seconds")))
    if kind == "apply_complete":
        return ApplyComplete(**base, **_resource_fields(hook), id_value=hook.get("id_value"),
                             elapsed_seconds=_number(hook.get("elapsed_seconds")))
    if kind == "apply_errored":
        return ApplyErrored(**base, **_resource_fields(hook), elapsed_seconds=_number(hook.get("elapsed_seconds")))
    if kind.startswith("provision_"):
        return ProvisionEvent(**base, **_resource_fields(hook), provisioner=str(hook.get("provisioner", "")),
                              output=str(hook.get("output", "") or ""))
    if kind in ("refresh_start", "refresh_complete"):
        return RefreshEvent(**base, **_resource_fields(hook))
    if kind == "change_summary":
        changes = msg.get("changes") or {}
        return ChangeSummary(**base, add=int(changes.get("add", 0)), change=int(changes.get("change", 0)),
                             remove=int(changes.get("remove", 0)), import_=int(changes.get("import", 0)),
                             operation=str(changes.get("operation", "")))
    if kind == "outputs":
        return OutputsEvent(**base, names=tuple(sorted((msg.get("outputs") or {}).keys())))
    return UnknownEvent(**base)


def parse_ui_line(line: str, redact: Redact = _default_redact) -> UIEvent | None:
    """The typed event of one raw stdout line, or None when the line is not a UI stream message."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict) or "type" not in raw:
        return None
    return event_from_message(raw, redact)
