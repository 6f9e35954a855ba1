"""Label and field selectors, parsed the way the API server parses them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``,
comma-separated (all must hold). Field selectors: ``path=value``, ``path==value``,
``path!=value`` over the fields each kind supports (``metadata.name`` and ``metadata.namespace``
for every kind, ``spec.nodeName`` and ``status.phase`` for pods, ...); anything else is a 400 as
on a real server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

Predicate = Callable[[Mapping[str, Any]], bool]

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SET_EXPR = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\(([^)]*)\)\s*$")

#: Extra field-selector paths per resource (``metadata.name``/``metadata.namespace`` always work).
FIELD_PATHS: dict[str, frozenset[str]] = {
    "pods": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                       "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}),
    "events": frozenset({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                         "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                         "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}),
    "nodes": frozenset({"spec.unschedulable"}),
    "namespaces": frozenset({"status.phase"}),
    "replicasets": frozenset({"status.replicas"}),
}


class SelectorError(ValueError):
    """A selector that does not parse or names an unsupported field."""


@dataclass(frozen=True)
class FieldTerm:
    """One ``path op value`` term of a field selector."""

    path: str
    equal: bool
    value: str


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( ... )``."""
    terms: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t.strip() for t in terms if t.strip()]


def _check_key(key: str, text: str) -> str:
    if not _LABEL_KEY.match(key):
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r} in {text!r}")
    return key


def parse_label_selector(text: str | None) -> Predicate | None:
    """A predicate over an object's labels, or None for an empty selector."""
    if not text or not text.strip():
        return None
    checks: list[Callable[[Mapping[str, str]], bool]] = []
    for term in _split_terms(text):
        set_match = _SET_EXPR.match(term)
        if set_match:
            key = _check_key(set_match.group(1), text)
            values = frozenset(v.strip() for v in set_match.group(3).split(",") if v.strip())
            if set_match.group(2) == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            continue
        for op in ("!=", "==", "="):
            if op in term:
                key, value = (part.strip() for part in term.split(op, 1))
                _check_key(key, text)
                if op == "!=":
                    checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
                else:
                    checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
                break
        else:
            if term.startswith("!"):
                key = _check_key(term[1:].strip(), text)
                checks.append(lambda labels, k=key: k not in labels)
            else:
                key = _check_key(term, text)
                checks.append(lambda labels, k=key: k in labels)

    def predicate(obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return predicate


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Does a ``metav1.LabelSelector`` (matchLabels + matchExpressions) select ``labels``?"""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def parse_field_selector(text: str | None, plural: str) -> list[FieldTerm]:
    """The terms of a field selector (empty list for none); unsupported fields raise."""
    if not text or not text.strip():
        return []
    allowed = FIELD_PATHS.get(plural, frozenset()) | {"metadata.name", "metadata.namespace"}
    terms: list[FieldTerm] = []
    for term in _split_terms(text):
        for op in ("!=", "==", "="):
            if op in term:
                path, value = (part.strip() for part in term.split(op, 1))
                break
        else:
            raise SelectorError(f"invalid selector: {text!r}; can't understand {term!r}")
        if path not in allowed:
            raise SelectorError(f'field label not supported: {path}')
        terms.append(FieldTerm(path, op != "!=", value))
    return terms


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of ``obj``'s field at a dotted ``path`` ("" when absent)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    if path == "source" and isinstance(current, Mapping):
        return str(current.get("component", ""))
    return str(current)


def field_predicate(terms: list[FieldTerm]) -> Predicate | None:
    """A predicate for parsed field terms, or None when there are none."""
    if not terms:
        return None

    def predicate(obj: Mapping[str, Any]) -> bool:
        return all((field_value(obj, t.path) == t.value) == t.equal for t in terms)

    return predicate
