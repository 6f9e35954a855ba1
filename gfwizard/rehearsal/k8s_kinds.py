"""The resource kinds the rehearsal API server serves, and its discovery documents.

Discovery is served the classic way (``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>/<version>``
as ``application/json``). kubectl asks for aggregated discovery first and falls back to these when
the response is plain JSON, exactly as it does against an older API server.
"""

from __future__ import annotations

import hashlib
import base64
from dataclasses import dataclass, field
from typing import Any

KUBE_VERSION = {
    "major": "1",
    "minor": "32",
    "emulationMajor": "1",
    "emulationMinor": "32",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "31",
    "gitVersion": "v1.32.4+k3s1",
    "gitCommit": "d2b4a1c9b5e4f6a7c8d9e0f1a2b3c4d5e6f7a8b9",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T18:34:16Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_RO = ("get", "list", "watch")


@dataclass(frozen=True)
class Kind:
    """One REST resource: where it lives and what it is called."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = _RW
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    #: subresource name -> (kind, verbs)
    subresources: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        """``v1`` or ``<group>/<version>``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        """Same as :attr:`api_version` (the discovery spelling)."""
        return self.api_version

    @property
    def list_kind(self) -> str:
        """``PodList`` etc."""
        return f"{self.kind}List"

    @property
    def singular(self) -> str:
        """Lower-case kind, as discovery's ``singularName``."""
        return self.kind.lower()


_STATUS_RW = ("get", "patch", "update")
_SCALE = {"scale": ("Scale", _STATUS_RW)}

KINDS: tuple[Kind, ...] = (
    Kind("", "v1", "Namespace", "namespaces", False, ("create", "delete", "get", "list", "patch", "update", "watch"),
         ("ns",), (), {"status": ("Namespace", _STATUS_RW), "finalize": ("Namespace", ("update",))}),
    Kind("", "v1", "Node", "nodes", False, _RW, ("no",), (), {"status": ("Node", _STATUS_RW)}),
    Kind("", "v1", "Pod", "pods", True, _RW, ("po",), ("all",),
         {"log": ("Pod", ("get",)), "status": ("Pod", _STATUS_RW)}),
    Kind("", "v1", "Event", "events", True, _RW, ("ev",)),
    Kind("apps", "v1", "Deployment", "deployments", True, _RW, ("deploy",), ("all",),
         {"status": ("Deployment", _STATUS_RW), **_SCALE}),
    Kind("apps", "v1", "ReplicaSet", "replicasets", True, _RW, ("rs",), ("all",),
         {"status": ("ReplicaSet", _STATUS_RW), **_SCALE}),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True, _RW, ("sts",), ("all",),
         {"status": ("StatefulSet", _STATUS_RW), **_SCALE}),
    Kind("apps", "v1", "DaemonSet", "daemonsets", True, _RW, ("ds",), ("all",),
         {"status": ("DaemonSet", _STATUS_RW)}),
    Kind("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, ("create",)),
    Kind("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, ("create",)),
)

#: (group, plural) -> Kind
BY_RESOURCE: dict[tuple[str, str], Kind] = {(k.group, k.plural): k for k in KINDS}
#: (apiVersion, kind) -> Kind
BY_KIND: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in KINDS}
#: Kinds kept in the object store (the review kinds are answered, not stored).
STORED: tuple[Kind, ...] = tuple(k for k in KINDS if k.group != "authorization.k8s.io")

GROUPS: dict[str, list[str]] = {"apps": ["v1"], "authorization.k8s.io": ["v1"]}


def lookup(group: str, version: str, plural: str) -> Kind | None:
    """The kind served at ``group/version/plural``, if any."""
    kind = BY_RESOURCE.get((group, plural))
    if kind is None or kind.version != version:
        return None
    return kind


def _storage_hash(kind: Kind) -> str:
    digest = hashlib.sha256(f"{kind.api_version}/{kind.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """The ``APIResourceList`` for one group version, or None when it is not served."""
    kinds = [k for k in KINDS if k.group == group and k.version == version]
    if not kinds:
        return None
    resources: list[dict[str, Any]] = []
    for k in kinds:
        entry: dict[str, Any] = {
            "name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
            "kind": k.kind, "verbs": list(k.verbs),
        }
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        if k.group != "authorization.k8s.io":
            entry["storageVersionHash"] = _storage_hash(k)
        resources.append(entry)
        for sub, (sub_kind, verbs) in k.subresources.items():
            sub_entry: dict[str, Any] = {
                "name": f"{k.plural}/{sub}", "singularName": "", "namespaced": k.namespaced,
                "kind": sub_kind, "verbs": list(verbs),
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1")
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": kinds[0].api_version,
            "resources": resources}


def api_versions(server_address: str) -> dict[str, Any]:
    """``/api``: the core group's ``APIVersions``."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(name: str) -> dict[str, Any]:
    """``/apis/<group>``: one ``APIGroup``."""
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in GROUPS[name]]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": versions,
            "preferredVersion": versions[0]}


def api_group_list() -> dict[str, Any]:
    """``/apis``: every non-core group."""
    groups = []
    for name in GROUPS:
        group = api_group(name)
        del group["kind"], group["apiVersion"]
        groups.append(group)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


_WRITE_PARAMS = [
    {"name": name, "in": "query", "description": text, "schema": {"type": "string", "uniqueItems": True}}
    for name, text in (
        ("dryRun", "When present, indicates that modifications should not be persisted."),
        ("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
        ("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request "
                            "containing unknown or duplicate fields: Ignore, Warn or Strict."),
    )
]


def _operation(kind: Kind, action: str, verb_name: str, scope: str, write: bool) -> dict[str, Any]:
    group_id = "".join(p.capitalize() for p in (kind.group.split(".")[0] if kind.group else "core", kind.version))
    op: dict[str, Any] = {
        "operationId": f"{verb_name}{group_id}{scope}{kind.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
    }
    if write:
        op["parameters"] = list(_WRITE_PARAMS)
    return op


def openapi_v3_index() -> dict[str, Any]:
    """``/openapi/v3``: the group versions that have a document."""
    paths: dict[str, Any] = {}
    for gv in sorted({k.group_version for k in KINDS}):
        key = f"api/{gv}" if "/" not in gv else f"apis/{gv}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:32].upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_v3(group: str, version: str) -> dict[str, Any] | None:
    """A minimal OpenAPI v3 document for one group version.

    It carries what kubectl reads from it: each kind's operations with their
    ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` parameter (so kubectl
    leaves validation to the server instead of downloading schemas). There are no schemas:
    ``kubectl explain`` is not supported by the rehearsal server.
    """
    kinds = [k for k in KINDS if k.group == group and k.version == version]
    if not kinds:
        return None
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    paths: dict[str, Any] = {}
    for k in kinds:
        scopes = [("Namespaced", f"{prefix}/namespaces/{{namespace}}/{k.plural}")] if k.namespaced else []
        scopes.append(("", f"{prefix}/{k.plural}"))
        for scope, collection in scopes:
            item: dict[str, Any] = {}
            coll: dict[str, Any] = {}
            if "list" in k.verbs:
                coll["get"] = _operation(k, "list", "list", scope, False)
            if "create" in k.verbs and (scope or not k.namespaced):
                coll["post"] = _operation(k, "post", "create", scope, True)
            if scope or not k.namespaced:
                if "get" in k.verbs:
                    item["get"] = _operation(k, "get", "read", scope, False)
                if "update" in k.verbs:
                    item["put"] = _operation(k, "put", "replace", scope, True)
                if "patch" in k.verbs:
                    item["patch"] = _operation(k, "patch", "patch", scope, True)
                if "delete" in k.verbs:
                    item["delete"] = _operation(k, "delete", "delete", scope, False)
            if coll:
                paths[collection] = coll
            if item:
                paths[f"{collection}/{{name}}"] = item
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}
