"""REST semantics of the rehearsal API server, independent of HTTP: get/create/update/patch/delete.

Errors are :class:`ApiError` carrying the ``metav1.Status`` a real API server would send (reason,
message wording, details), so clients that branch on ``reason`` or status code behave the same.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from gfwizard.rehearsal import k8s_objects as ko
from gfwizard.rehearsal.k8s_controllers import WORKLOADS, Cluster
from gfwizard.rehearsal.k8s_faults import validate as validate_fault
from gfwizard.rehearsal.k8s_kinds import Kind
from gfwizard.rehearsal.k8s_patch import APPLY, PATCH_TYPES, PatchError, apply_patch

Obj = dict[str, Any]


def status_body(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None,
                status: str = "Failure") -> Obj:
    """A ``metav1.Status``."""
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status}
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details:
        body["details"] = dict(details)
    body["code"] = code
    return body


class ApiError(Exception):
    """An error response: HTTP ``code`` with a Status body."""

    def __init__(self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details) if details else None

    def status(self) -> Obj:
        """The Status body."""
        return status_body(self.code, self.reason, self.message, self.details)


def qualified(kind: Kind) -> str:
    """``pods`` / ``deployments.apps`` as in API error messages."""
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


def _details(kind: Kind, name: str, **extra: Any) -> Obj:
    details: Obj = {"name": name}
    if kind.group:
        details["group"] = kind.group
    details["kind"] = kind.plural
    details.update(extra)
    return details


def not_found(kind: Kind, name: str) -> ApiError:
    """404 NotFound."""
    return ApiError(404, "NotFound", f'{qualified(kind)} "{name}" not found', _details(kind, name))


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def invalid(kind: Kind, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid with field causes."""
    group = f".{kind.group}" if kind.group else ""
    text = "; ".join(f"{field}: {msg}" for field, msg in causes)
    cause_list = [{"reason": "FieldValueRequired" if msg == "Required value" else "FieldValueInvalid",
                   "message": msg, "field": field} for field, msg in causes]
    details = {"name": name, **({"group": kind.group} if kind.group else {}), "kind": kind.kind, "causes": cause_list}
    return ApiError(422, "Invalid", f'{kind.kind}{group} "{name}" is invalid: {text}', details)


def conflict(kind: Kind, name: str) -> ApiError:
    """409 Conflict (stale resourceVersion)."""
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {qualified(kind)} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again", _details(kind, name))


def scale_of(obj: Obj) -> Obj:
    """The ``autoscaling/v1`` Scale view of a workload."""
    meta = obj["metadata"]
    labels = obj["spec"].get("selector", {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": int(obj["spec"].get("replicas", 1))},
            "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items()))}}


class Rest:
    """Create/read/update/patch/delete over a :class:`Cluster`."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store

    # ------------------------------------------------------------------ read
    def get(self, kind: Kind, namespace: str, name: str, subresource: str = "") -> Obj:
        """One object (or its ``scale`` view)."""
        stored = self.store.get(kind.plural, namespace if kind.namespaced else "", name)
        if stored is None:
            raise not_found(kind, name)
        if subresource == "scale":
            return scale_of(stored.obj)
        return stored.obj

    def get_raw(self, kind: Kind, namespace: str, name: str) -> bytes:
        """One object's cached JSON."""
        stored = self.store.get(kind.plural, namespace if kind.namespaced else "", name)
        if stored is None:
            raise not_found(kind, name)
        return stored.raw

    def _require_namespace(self, kind: Kind, namespace: str) -> None:
        if kind.namespaced and self.store.get("namespaces", "", namespace) is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})

    # ---------------------------------------------------------------- create
    def _check_type(self, kind: Kind, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format - accepted media types include: "
                              "application/json, application/yaml")
        api_version, obj_kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != kind.api_version:
            raise bad_request(f"the API version in the data ({api_version}) does not match the expected API version "
                              f"({kind.api_version})")
        if obj_kind and obj_kind != kind.kind:
            raise bad_request(f"the kind in the data ({obj_kind}) does not match the expected kind ({kind.kind})")
        if not isinstance(body.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        return body

    def create(self, kind: Kind, namespace: str, body: Any, *, dry_run: bool = False) -> Obj:
        """POST: validate, default, store, and let the controllers act on it."""
        obj = copy.deepcopy(self._check_type(kind, body))
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + ko.safe_suffix(f"{meta['generateName']}{ko.new_uid()}")
        name = meta.get("name") or ""
        if kind.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not name:
            raise invalid(kind, name, [("metadata.name", "Required value: name or generateName is required")])
        valid_name = ko.is_dns_label(name) if kind.plural == "namespaces" else ko.is_dns_subdomain(name)
        if not valid_name and kind.plural != "events":
            rule = "RFC 1123 label" if kind.plural == "namespaces" else "RFC 1123 subdomain"
            raise invalid(kind, name, [("metadata.name", f'Invalid value: "{name}": a lowercase {rule} must '
                                        "consist of lower case alphanumeric characters, '-' or '.', and must start "
                                        "and end with an alphanumeric character")])
        with self.store.lock:
            self._require_namespace(kind, namespace)
            if self.store.get(kind.plural, namespace if kind.namespaced else "", name) is not None:
                raise ApiError(409, "AlreadyExists", f'{qualified(kind)} "{name}" already exists',
                               _details(kind, name))
            self._validate(kind, name, obj)
            self._default(kind, obj)
            for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                meta.pop(key, None)
            meta["uid"] = ko.new_uid()
            meta["creationTimestamp"] = ko.ts()
            if kind.plural in WORKLOADS:
                meta["generation"] = 1
                # As created, before any controller ran; a DaemonSet's four counters have no omitempty.
                obj["status"] = dict.fromkeys(("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                                               "numberReady"), 0) if kind.plural == "daemonsets" else {}
            if dry_run:
                return obj
            if kind.plural == "pods":
                return self.cluster.create_pod(obj)
            created = self.store.put(kind.plural, obj).obj
            self.cluster.reconcile(kind.plural, created)
            return created

    def _validate(self, kind: Kind, name: str, obj: Obj) -> None:
        causes: list[tuple[str, str]] = []
        if kind.plural in WORKLOADS:
            causes = ko.validate_workload(kind.kind, obj) + validate_fault(kind.kind, obj)
        elif kind.plural == "pods":
            causes = ko.validate_pod_spec(obj.get("spec"))
        elif kind.plural == "events" and not isinstance(obj.get("involvedObject"), dict):
            causes = [("involvedObject", "Required value")]
        labels = obj.get("metadata", {}).get("labels")
        if labels is not None and (not isinstance(labels, dict)
                                   or not all(isinstance(v, str) for v in labels.values())):
            causes.append(("metadata.labels", "Invalid value: labels must be a map of strings"))
        if causes:
            raise invalid(kind, name, causes)

    def _default(self, kind: Kind, obj: Obj) -> None:
        if kind.plural in WORKLOADS:
            ko.default_workload(kind.kind, obj)
        elif kind.plural == "namespaces":
            name = obj["metadata"]["name"]
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        elif kind.plural == "pods":
            ko.default_pod_spec(obj["spec"])
        elif kind.plural == "events":
            obj.setdefault("count", 1)
            obj.setdefault("type", "Normal")
            obj.setdefault("firstTimestamp", ko.ts())
            obj.setdefault("lastTimestamp", obj["firstTimestamp"])
            obj.setdefault("source", {})
            obj.setdefault("eventTime", None)

    # ---------------------------------------------------------------- update
    def replace(self, kind: Kind, namespace: str, name: str, body: Any, *, subresource: str = "",
                dry_run: bool = False) -> Obj:
        """PUT (also the second half of PATCH)."""
        with self.store.lock:
            current = self.get(kind, namespace, name)
            if subresource == "scale":
                return self._replace_scale(kind, current, body, dry_run)
            obj = copy.deepcopy(self._check_type(kind, body))
            meta = obj.setdefault("metadata", {})
            if meta.get("name") and meta["name"] != name:
                raise bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                  f"({name})")
            if kind.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            rv = meta.get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:
                raise conflict(kind, name)
            obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
            for key in ("name", "namespace", "uid", "creationTimestamp", "generation"):
                if key in current["metadata"]:
                    meta[key] = current["metadata"][key]
            if subresource == "status":
                updated = {**current, "metadata": dict(current["metadata"]), "status": obj.get("status", {})}
            else:
                updated = self._replace_main(kind, current, obj)
            if dry_run:
                return updated
            stored = self.store.put(kind.plural, updated).obj
            # A node's status is its kubelet's report: the node lifecycle controller reacts to it.
            if kind.plural == "nodes" or (subresource != "status" and kind.plural in WORKLOADS):
                self.cluster.reconcile(kind.plural, stored)
            return self.get(kind, namespace, name)

    def _replace_main(self, kind: Kind, current: Obj, obj: Obj) -> Obj:
        name = current["metadata"]["name"]
        if "status" in current:
            obj["status"] = current["status"]
        if kind.plural in WORKLOADS:
            self._validate(kind, name, obj)
            ko.default_workload(kind.kind, obj)
            if obj["spec"].get("selector") != current["spec"].get("selector"):
                raise invalid(kind, name, [("spec.selector", "Invalid value: field is immutable")])
            if obj["spec"] != current["spec"]:
                obj["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
        elif kind.plural == "pods":
            ko.default_pod_spec(obj.setdefault("spec", {}))
            if {k: v for k, v in obj["spec"].items() if k != "nodeName"} != \
                    {k: v for k, v in current["spec"].items() if k != "nodeName"}:
                raise invalid(kind, name, [("spec", "Forbidden: pod updates may not change fields other than "
                                            "`spec.containers[*].image`, `spec.activeDeadlineSeconds`, "
                                            "`spec.tolerations` (only additions to existing tolerations)")])
            obj["spec"] = current["spec"]
        elif kind.plural == "namespaces":
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", current.get("spec", {}))
        elif kind.plural == "nodes":
            labels = obj["metadata"].setdefault("labels", {})
            labels.setdefault(ko.HOSTNAME_LABEL, name)
        return obj

    def _replace_scale(self, kind: Kind, current: Obj, body: Any, dry_run: bool) -> Obj:
        if kind.plural not in ("deployments", "replicasets", "statefulsets"):
            raise not_found(kind, current["metadata"]["name"])
        if not isinstance(body, dict) or not isinstance(body.get("spec", {}).get("replicas"), int):
            raise invalid(kind, current["metadata"]["name"], [("spec.replicas", "Required value")])
        rv = body.get("metadata", {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise conflict(kind, current["metadata"]["name"])
        updated = copy.deepcopy(current)
        replicas = body["spec"]["replicas"]
        if replicas < 0:
            raise invalid(kind, current["metadata"]["name"],
                          [("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
        if updated["spec"].get("replicas") != replicas:
            updated["spec"]["replicas"] = replicas
            updated["metadata"]["generation"] = int(updated["metadata"].get("generation", 1)) + 1
        if dry_run:
            return scale_of(updated)
        stored = self.store.put(kind.plural, updated).obj
        self.cluster.reconcile(kind.plural, stored)
        return scale_of(self.get(kind, current["metadata"].get("namespace", ""), current["metadata"]["name"]))

    # ----------------------------------------------------------------- patch
    def patch(self, kind: Kind, namespace: str, name: str, body: bytes, content_type: str, *,
              subresource: str = "", dry_run: bool = False, field_manager: str = "") -> tuple[Obj, bool]:
        """PATCH; returns ``(object, created)`` (only server-side apply can create)."""
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in PATCH_TYPES:
            raise ApiError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format - accepted media types include: "
                           f"{', '.join(PATCH_TYPES)}")
        if media == APPLY and not field_manager:
            raise bad_request("PATCH, fieldManager is required for apply requests")
        with self.store.lock:
            stored = self.store.get(kind.plural, namespace if kind.namespaced else "", name)
            if stored is None:
                if media != APPLY or subresource:
                    raise not_found(kind, name)
                try:
                    created_body = apply_patch(media, None, body)
                except PatchError as exc:
                    raise bad_request(str(exc)) from None
                if isinstance(created_body, dict):
                    created_body.setdefault("metadata", {}).setdefault("name", name)
                return self.create(kind, namespace, created_body, dry_run=dry_run), True
            base = scale_of(stored.obj) if subresource == "scale" else stored.obj
            try:
                patched = apply_patch(media, copy.deepcopy(base), body)
            except PatchError as exc:
                raise ApiError(422 if media == "application/json-patch+json" else 400,
                               "Invalid" if media == "application/json-patch+json" else "BadRequest",
                               str(exc)) from None
            if not isinstance(patched, dict):
                raise bad_request("the patch did not produce an object")
            if media == APPLY:
                patched.setdefault("metadata", {})["resourceVersion"] = ""
            return self.replace(kind, namespace, name, patched, subresource=subresource, dry_run=dry_run), False

    # ---------------------------------------------------------------- delete
    def delete(self, kind: Kind, namespace: str, name: str, options: Any = None, *, dry_run: bool = False) -> Obj:
        """DELETE, immediate. Pods answer with the pod, namespaces with the namespace (Terminating),
        everything else with a Success Status, as a real server does for these kinds."""
        with self.store.lock:
            current = self.get(kind, namespace, name)
            pre = (options or {}).get("preconditions") if isinstance(options, dict) else None
            if pre:
                if pre.get("uid") and pre["uid"] != current["metadata"]["uid"]:
                    raise ApiError(409, "Conflict",
                                   f'Operation cannot be fulfilled on {qualified(kind)} "{name}": Precondition '
                                   f"failed: UID in precondition: {pre['uid']}, UID in object meta: "
                                   f"{current['metadata']['uid']}", _details(kind, name))
                if pre.get("resourceVersion") and pre["resourceVersion"] != current["metadata"]["resourceVersion"]:
                    raise conflict(kind, name)
            if not dry_run:
                gone = self.cluster.delete(kind.plural, namespace if kind.namespaced else "", name)
                current = gone.obj if gone is not None else current
            if kind.plural == "pods":
                return current
            if kind.plural == "namespaces":
                # A real namespace lingers in Terminating while its content goes; here the content is
                # gone at once, but the answer has the real server's shape.
                return {**current, "metadata": {**current["metadata"], "deletionTimestamp": ko.ts()},
                        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}}
            return status_body(200, "", "", _details(kind, name, uid=current["metadata"]["uid"]), status="Success")
