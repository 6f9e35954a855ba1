"""Authorization for the rehearsal API server: RBAC-shaped rules per user.

A policy is a list of ``PolicyRule``-shaped dicts (``verbs``, ``apiGroups``, ``resources``,
``resourceNames``, ``nonResourceURLs``), with ``"*"`` wildcards as in RBAC, plus an optional
``namespaces`` list (not an RBAC field: it stands for "bound with a RoleBinding in these
namespaces"). The same rules answer SelfSubjectAccessReviews and gate every real request, so a
review that says "allowed" is never contradicted by a 403 and vice versa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

ADMIN_RULES: list[dict[str, Any]] = [
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
]
READONLY_RULES: list[dict[str, Any]] = [
    {"verbs": ["get", "list", "watch"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["get"], "nonResourceURLs": ["*"]},
]
_RULE_KEYS = frozenset({"verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs", "namespaces"})


@dataclass(frozen=True)
class Attributes:
    """What a request (or an access review) wants to do."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""

    @property
    def is_resource(self) -> bool:
        """Resource request (as opposed to a non-resource URL like ``/version``)."""
        return bool(self.resource)


def validate_rules(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Normalise a rule list; raises ValueError for unknown keys or a rule without verbs."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        unknown = set(rule) - _RULE_KEYS
        if unknown:
            raise ValueError(f"unknown policy rule keys: {sorted(unknown)}")
        if not rule.get("verbs"):
            raise ValueError("every policy rule needs verbs")
        if bool(rule.get("nonResourceURLs")) == bool(rule.get("resources")):
            raise ValueError("a policy rule names either resources (with apiGroups) or nonResourceURLs")
        out.append({k: list(v) for k, v in rule.items()})
    return out


def _has(values: Iterable[str] | None, value: str) -> bool:
    values = list(values or [])
    return "*" in values or value in values


def _resource_matches(resources: Iterable[str], resource: str, subresource: str) -> bool:
    wanted = f"{resource}/{subresource}" if subresource else resource
    for item in resources:
        if item in ("*", wanted):
            return True
        if subresource and item in (f"{resource}/*", f"*/{subresource}"):
            return True
    return False


def _url_matches(patterns: Iterable[str], path: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == path:
            return True
        if pattern.endswith("*") and path.startswith(pattern[:-1]):
            return True
    return False


def allows(rules: Iterable[Mapping[str, Any]], attrs: Attributes) -> bool:
    """Does any rule allow ``attrs``?"""
    for rule in rules:
        if not _has(rule.get("verbs"), attrs.verb):
            continue
        if attrs.is_resource:
            if not rule.get("resources") or not _has(rule.get("apiGroups"), attrs.group):
                continue
            if not _resource_matches(rule["resources"], attrs.resource, attrs.subresource):
                continue
            if rule.get("resourceNames") and attrs.name not in rule["resourceNames"]:
                continue
            if rule.get("namespaces") and attrs.namespace not in rule["namespaces"]:
                continue
            return True
        if rule.get("nonResourceURLs") and _url_matches(rule["nonResourceURLs"], attrs.path):
            return True
    return False


def forbidden_message(user: str, attrs: Attributes) -> str:
    """The API server's wording for a 403."""
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not attrs.is_resource:
        return f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return (f'{subject} is forbidden: User "{user}" cannot {attrs.verb} resource "{resource}" '
            f'in API group "{attrs.group}" {scope}')


def rules_review(rules: Iterable[Mapping[str, Any]], namespace: str) -> dict[str, Any]:
    """``SubjectRulesReviewStatus`` for a namespace."""
    resource_rules: list[dict[str, Any]] = [
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
         "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    ]
    non_resource: list[dict[str, Any]] = []
    for rule in rules:
        if rule.get("namespaces") and namespace not in rule["namespaces"]:
            continue
        if rule.get("resources"):
            entry = {"verbs": list(rule["verbs"]), "apiGroups": list(rule.get("apiGroups") or []),
                     "resources": list(rule["resources"])}
            if rule.get("resourceNames"):
                entry["resourceNames"] = list(rule["resourceNames"])
            resource_rules.append(entry)
        else:
            non_resource.append({"verbs": list(rule["verbs"]), "nonResourceURLs": list(rule["nonResourceURLs"])})
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}
