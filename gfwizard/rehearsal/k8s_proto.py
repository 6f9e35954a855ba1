"""Decode the Kubernetes protobuf request bodies kubectl's typed commands send.

kubectl sends JSON for ``apply``, ``create -f``, ``patch``, ``scale``, ``label``, ``delete`` and
``run``, but its built-in generators and reviews (``kubectl create namespace``, ``kubectl create
deployment``, ``kubectl auth can-i``) POST ``application/vnd.kubernetes.protobuf`` with no JSON
fallback. This module turns those bodies into the same dicts the JSON path produces.

Only the message types those commands send are described (field numbers from k8s.io/api's
``generated.proto``). Fields left at their zero value are dropped, as JSON's ``omitempty`` would;
a non-zero field this schema does not know raises :class:`ProtobufError` (a 415 naming the field),
never a silent loss.
"""

from __future__ import annotations

from typing import Any, Callable

MAGIC = b"k8s\x00"

# Field spec: number -> (json name, type, repeated, pointer). Types: "string", "int", "bool",
# "bytes", "time", "quantity", "intorstring", "map:string", "map:quantity", or a message name.
Field = tuple[str, str, bool, bool]
_S, _I, _B = "string", "int", "bool"


def _f(name: str, kind: str, repeated: bool = False, pointer: bool = False) -> Field:
    return (name, kind, repeated, pointer)


SCHEMA: dict[str, dict[int, Field]] = {
    "Unknown": {1: _f("typeMeta", "TypeMeta"), 2: _f("raw", "bytes"), 3: _f("contentEncoding", _S),
                4: _f("contentType", _S)},
    "TypeMeta": {1: _f("apiVersion", _S), 2: _f("kind", _S)},
    "ObjectMeta": {1: _f("name", _S), 2: _f("generateName", _S), 3: _f("namespace", _S), 4: _f("selfLink", _S),
                   5: _f("uid", _S), 6: _f("resourceVersion", _S), 7: _f("generation", _I),
                   8: _f("creationTimestamp", "time"), 9: _f("deletionTimestamp", "time"),
                   10: _f("deletionGracePeriodSeconds", _I, pointer=True), 11: _f("labels", "map:string"),
                   12: _f("annotations", "map:string"), 13: _f("ownerReferences", "OwnerReference", True),
                   14: _f("finalizers", _S, True)},
    "OwnerReference": {1: _f("kind", _S), 3: _f("name", _S), 4: _f("uid", _S), 5: _f("apiVersion", _S),
                       6: _f("controller", _B, pointer=True), 7: _f("blockOwnerDeletion", _B, pointer=True)},
    "Namespace": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "NamespaceSpec"), 3: _f("status", "NamespaceStatus")},
    "NamespaceSpec": {1: _f("finalizers", _S, True)},
    "NamespaceStatus": {1: _f("phase", _S)},
    "Deployment": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "DeploymentSpec"),
                   3: _f("status", "DeploymentStatus")},
    "DeploymentSpec": {1: _f("replicas", _I, pointer=True), 2: _f("selector", "LabelSelector"),
                       3: _f("template", "PodTemplateSpec"), 4: _f("strategy", "DeploymentStrategy"),
                       5: _f("minReadySeconds", _I), 6: _f("revisionHistoryLimit", _I, pointer=True),
                       7: _f("paused", _B), 9: _f("progressDeadlineSeconds", _I, pointer=True)},
    "DeploymentStrategy": {1: _f("type", _S), 2: _f("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: _f("maxUnavailable", "intorstring"), 2: _f("maxSurge", "intorstring")},
    "DeploymentStatus": {1: _f("observedGeneration", _I), 2: _f("replicas", _I), 3: _f("updatedReplicas", _I),
                         4: _f("availableReplicas", _I), 5: _f("unavailableReplicas", _I),
                         7: _f("readyReplicas", _I), 8: _f("collisionCount", _I, pointer=True),
                         9: _f("terminatingReplicas", _I, pointer=True)},
    "LabelSelector": {1: _f("matchLabels", "map:string"),
                      2: _f("matchExpressions", "LabelSelectorRequirement", True)},
    "LabelSelectorRequirement": {1: _f("key", _S), 2: _f("operator", _S), 3: _f("values", _S, True)},
    "PodTemplateSpec": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "PodSpec")},
    "PodSpec": {2: _f("containers", "Container", True), 3: _f("restartPolicy", _S),
                4: _f("terminationGracePeriodSeconds", _I, pointer=True),
                5: _f("activeDeadlineSeconds", _I, pointer=True), 6: _f("dnsPolicy", _S),
                7: _f("nodeSelector", "map:string"), 8: _f("serviceAccountName", _S), 9: _f("serviceAccount", _S),
                10: _f("nodeName", _S), 11: _f("hostNetwork", _B), 12: _f("hostPID", _B), 13: _f("hostIPC", _B),
                16: _f("hostname", _S), 17: _f("subdomain", _S), 19: _f("schedulerName", _S),
                20: _f("initContainers", "Container", True), 22: _f("tolerations", "Toleration", True),
                24: _f("priorityClassName", _S)},
    "Container": {1: _f("name", _S), 2: _f("image", _S), 3: _f("command", _S, True), 4: _f("args", _S, True),
                  5: _f("workingDir", _S), 6: _f("ports", "ContainerPort", True), 7: _f("env", "EnvVar", True),
                  8: _f("resources", "ResourceRequirements"), 13: _f("terminationMessagePath", _S),
                  14: _f("imagePullPolicy", _S), 16: _f("stdin", _B), 17: _f("stdinOnce", _B), 18: _f("tty", _B),
                  20: _f("terminationMessagePolicy", _S)},
    "ContainerPort": {1: _f("name", _S), 2: _f("hostPort", _I), 3: _f("containerPort", _I), 4: _f("protocol", _S),
                      5: _f("hostIP", _S)},
    "EnvVar": {1: _f("name", _S), 2: _f("value", _S)},
    "ResourceRequirements": {1: _f("limits", "map:quantity"), 2: _f("requests", "map:quantity")},
    "Toleration": {1: _f("key", _S), 2: _f("operator", _S), 3: _f("value", _S), 4: _f("effect", _S),
                   5: _f("tolerationSeconds", _I, pointer=True)},
    "SelfSubjectAccessReview": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "SelfSubjectAccessReviewSpec"),
                                3: _f("status", "SubjectAccessReviewStatus")},
    "SelfSubjectAccessReviewSpec": {1: _f("resourceAttributes", "ResourceAttributes"),
                                    2: _f("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: _f("namespace", _S), 2: _f("verb", _S), 3: _f("group", _S), 4: _f("version", _S),
                           5: _f("resource", _S), 6: _f("subresource", _S), 7: _f("name", _S)},
    "NonResourceAttributes": {1: _f("path", _S), 2: _f("verb", _S)},
    "SubjectAccessReviewStatus": {1: _f("allowed", _B), 2: _f("reason", _S), 3: _f("evaluationError", _S),
                                  4: _f("denied", _B)},
    "SelfSubjectRulesReview": {1: _f("metadata", "ObjectMeta"), 2: _f("spec", "SelfSubjectRulesReviewSpec"),
                               3: _f("status", "SubjectRulesReviewStatus")},
    "SelfSubjectRulesReviewSpec": {1: _f("namespace", _S)},
    "SubjectRulesReviewStatus": {3: _f("incomplete", _B), 4: _f("evaluationError", _S)},
}

#: (apiVersion, kind) -> top-level message.
TOP_LEVEL: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("apps/v1", "Deployment"): "Deployment",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
}


class ProtobufError(ValueError):
    """A protobuf body this server cannot decode faithfully."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """``(number, wire type, value)`` for every field of a message (bytes for length-delimited)."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
            if pos > len(data):
                raise ProtobufError("truncated field")
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data: bytes) -> str | None:
    seconds = nanos = 0
    for number, _wire, value in _fields(data):
        if number == 1:
            seconds = _signed(value)
        elif number == 2:
            nanos = value
    if not seconds and not nanos:
        return None
    import time as _t

    return _t.strftime("%Y-%m-%dT%H:%M:%SZ", _t.gmtime(seconds))


def _quantity(data: bytes) -> str:
    return next((v.decode() for n, _w, v in _fields(data) if n == 1), "")


def _int_or_string(data: bytes) -> int | str:
    kind, int_val, str_val = 0, 0, ""
    for number, _wire, value in _fields(data):
        if number == 1:
            kind = value
        elif number == 2:
            int_val = _signed(value)
        elif number == 3:
            str_val = value.decode()
    return str_val if kind == 1 else int_val


def _map(data_items: list[bytes], value_fn: Callable[[bytes], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in data_items:
        key, value = "", None
        for number, _wire, raw in _fields(entry):
            if number == 1:
                key = raw.decode()
            elif number == 2:
                value = value_fn(raw)
        out[key] = value if value is not None else value_fn(b"")
    return out


def _is_zero(wire: int, value: Any) -> bool:
    return value == 0 if wire in (0, 1, 5) else len(value) == 0


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind == "string":
        return value.decode()
    if kind == "int":
        return _signed(value)
    if kind == "bool":
        return bool(value)
    if kind == "bytes":
        return value
    if kind == "time":
        return _time(value)
    if kind == "quantity":
        return _quantity(value)
    if kind == "intorstring":
        return _int_or_string(value)
    raise ProtobufError(f"unknown scalar kind {kind}")


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """Decode one message of type ``name`` into its JSON-shaped dict."""
    schema = SCHEMA[name]
    out: dict[str, Any] = {}
    repeated: dict[int, list[Any]] = {}
    for number, wire, value in _fields(data):
        spec = schema.get(number)
        if spec is None:
            if _is_zero(wire, value):
                continue
            raise ProtobufError(f"field {number} of {name} is not understood by the rehearsal API server")
        json_name, kind, is_repeated, pointer = spec
        if kind.startswith("map:") or is_repeated:
            repeated.setdefault(number, []).append(value)
            continue
        if kind in SCHEMA:
            out[json_name] = decode_message(kind, value)
            continue
        decoded = _scalar(kind, wire, value)
        if decoded is None or (not pointer and decoded in ("", 0, False) and kind != "intorstring"):
            continue
        out[json_name] = decoded
    for number, items in repeated.items():
        json_name, kind, _rep, _ptr = schema[number]
        if kind == "map:string":
            out[json_name] = _map(items, lambda b: b.decode())
        elif kind == "map:quantity":
            out[json_name] = _map(items, _quantity)
        elif kind in SCHEMA:
            out[json_name] = [decode_message(kind, item) for item in items]
        else:
            out[json_name] = [_scalar(kind, 2, item) for item in items]
    return out


def decode(body: bytes) -> dict[str, Any]:
    """Decode a ``application/vnd.kubernetes.protobuf`` body into an API object dict."""
    if not body.startswith(MAGIC):
        raise ProtobufError("protobuf body without the k8s\\0 envelope")
    envelope = decode_message("Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta", {})
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    message = TOP_LEVEL.get((api_version, kind))
    if message is None:
        raise ProtobufError(f"protobuf bodies of {api_version}/{kind} are not understood by the rehearsal API server")
    obj = decode_message(message, envelope.get("raw", b""))
    return {"apiVersion": api_version, "kind": kind, **obj}
