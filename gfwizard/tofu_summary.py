"""What a saved plan will do, from ``show -json <planfile>`` (never from human-readable output).

:func:`plan_summary` counts creates, in-place updates, deletes and replaces (disjoint: a replace is
counted once, as a replace, not as an add plus a destroy) and lists the resource addresses of each.
:func:`plan_hash` identifies the change a plan makes, stable across re-plans of the same change.
:func:`sensitive_values` lists the values the plan JSON holds in clear text (sensitive variables and
sensitive attributes), so the caller can register them with the redactor before anything is shown.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterator, Mapping

from pydantic import BaseModel, ConfigDict

class PlanSummary(BaseModel):
    """Counts and addresses of one plan. Replaces are not counted in ``add`` or ``destroy``."""

    model_config = ConfigDict(frozen=True)

    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0
    forget: int = 0
    outputs_changed: int = 0
    creates: list[str] = []
    updates: list[str] = []
    deletes: list[str] = []
    replaces: list[str] = []
    forgets: list[str] = []

    @property
    def has_changes(self) -> bool:
        """True when an apply would change infrastructure, state or outputs."""
        return bool(self.add or self.change or self.destroy or self.replace or self.forget or self.outputs_changed)

    @property
    def destructive(self) -> list[tuple[str, str]]:
        """``(action, address)`` of every delete and replace, deletes first."""
        return [("delete", a) for a in self.deletes] + [("replace", a) for a in self.replaces]

    def counts(self) -> str:
        """``"+2 ~1 -0 ±0"``: add, change, destroy, replace."""
        return f"+{self.add} ~{self.change} -{self.destroy} \u00b1{self.replace}"

    def text(self) -> str:
        """``"2 to add, 1 to change, 0 to destroy, 0 to replace"``."""
        return (f"{self.add} to add, {self.change} to change, {self.destroy} to destroy, "
                f"{self.replace} to replace")


def _is_replace(actions: list[str]) -> bool:
    return len(actions) == 2 and set(actions) == {"delete", "create"}


def plan_summary(plan: Mapping[str, Any]) -> PlanSummary:
    """Summarise a decoded ``show -json`` plan document."""
    creates: list[str] = []
    updates: list[str] = []
    deletes: list[str] = []
    replaces: list[str] = []
    forgets: list[str] = []
    for rc in plan.get("resource_changes") or []:
        if rc.get("mode") == "data":
            continue
        actions = list((rc.get("change") or {}).get("actions") or [])
        address = str(rc.get("address", ""))
        if _is_replace(actions):
            replaces.append(address)
        elif actions == ["create"]:
            creates.append(address)
        elif actions == ["update"]:
            updates.append(address)
        elif actions == ["delete"]:
            deletes.append(address)
        elif actions == ["forget"]:
            forgets.append(address)
    outputs_changed = sum(
        1 for oc in (plan.get("output_changes") or {}).values()
        if any(a not in ("no-op", "read") for a in (oc.get("actions") or []))
    )
    return PlanSummary(add=len(creates), change=len(updates), destroy=len(deletes), replace=len(replaces),
                       forget=len(forgets), outputs_changed=outputs_changed, creates=creates, updates=updates,
                       deletes=deletes, replaces=replaces, forgets=forgets)


def plan_hash(plan: Mapping[str, Any]) -> str:
    """SHA-256 of the plan's resource changes, output changes and configuration (canonical JSON).

    Timestamps, the prior state's serial and the binary version are left out, so re-planning the
    same change gives the same hash; any different change (or different code) gives another.
    """
    material = {
        "resource_changes": plan.get("resource_changes") or [],
        "output_changes": plan.get("output_changes") or {},
        "configuration": plan.get("configuration") or {},
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _sensitive_leaves(value: Any, marks: Any) -> Iterator[str]:
    """Strings in ``value`` at the positions ``marks`` (an ``*_sensitive`` structure) flags as sensitive."""
    if marks is True:
        yield from _all_strings(value)
        return
    if isinstance(marks, Mapping) and isinstance(value, Mapping):
        for key, mark in marks.items():
            if key in value:
                yield from _sensitive_leaves(value[key], mark)
    elif isinstance(marks, list) and isinstance(value, list):
        for item, mark in zip(value, marks):
            yield from _sensitive_leaves(item, mark)


def _all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_strings(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def sensitive_values(plan: Mapping[str, Any]) -> list[str]:
    """Every clear-text value the plan document marks as sensitive (variables, attributes, outputs)."""
    found: list[str] = []
    declared = ((plan.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    for name, spec in declared.items():
        if (spec or {}).get("sensitive"):
            found.extend(_all_strings(((plan.get("variables") or {}).get(name) or {}).get("value")))
    for rc in plan.get("resource_changes") or []:
        change = rc.get("change") or {}
        found.extend(_sensitive_leaves(change.get("before"), change.get("before_sensitive")))
        found.extend(_sensitive_leaves(change.get("after"), change.get("after_sensitive")))
    for oc in (plan.get("output_changes") or {}).values():
        found.extend(_sensitive_leaves(oc.get("before"), oc.get("before_sensitive")))
        found.extend(_sensitive_leaves(oc.get("after"), oc.get("after_sensitive")))
    return [v for v in dict.fromkeys(found) if v]


def sensitive_output_values(outputs: Mapping[str, Any]) -> list[str]:
    """Clear-text values of the outputs ``output -json`` marks ``sensitive``."""
    found: list[str] = []
    for spec in outputs.values():
        if isinstance(spec, Mapping) and spec.get("sensitive"):
            found.extend(_all_strings(spec.get("value")))
    return [v for v in dict.fromkeys(found) if v]
