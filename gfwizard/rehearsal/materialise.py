"""Materialising a rehearsal deploy: the workloads a stack declares become objects in the rehearsal API.

**This exists only in rehearsal.** A real deploy's objects are created by the stack's own providers
(kubernetes, helm). The rehearsal twins in ``tofu/rehearsal/<stack>`` are provider-free: after one
applies, the deploy engine passes its outputs here, and the namespaces and apps/v1 workloads it
declares are created through the rehearsal API's normal HTTP write endpoints (the ones any client
uses), so status and placement views show what a real deploy would leave behind.

Every function refuses an API URL that is not on loopback (``127.0.0.1``, ``::1``, ``localhost``)
with :class:`~gfwizard.errors.SafetyStop`: nothing here can ever write to the real honey.

The outputs are those of ``tofu output -json`` (decoded), each twin declaring:

* ``namespaces`` — list of namespace names;
* ``workloads`` — list of ``{namespace, kind: Deployment|StatefulSet|DaemonSet, name, replicas,
  node_selector, labels, image, cpu_request, memory_request}``.

Writes are idempotent: a namespace that exists is left alone; a workload is created, or replaced
(``PUT`` with the current ``resourceVersion``) when it exists.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gfwizard.errors import CheckFailure, InputError, SafetyStop
from gfwizard.redact import redact, register_secret

#: (connect, read) seconds for every request.
TIMEOUTS: tuple[float, float] = (3.0, 15.0)
#: Label put on every materialised pod template; selects the workload's pods.
WORKLOAD_LABEL = "gloriousflywheel.io/workload"
#: Annotation that marks an object as created by a rehearsal, never by a real deploy.
MATERIALISED_ANNOTATION = "gloriousflywheel.io/materialised-by"
_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
Action = Literal["created", "updated", "exists"]


class WorkloadOutput(BaseModel):
    """One entry of a twin's ``workloads`` output."""

    model_config = ConfigDict(extra="ignore")

    namespace: str = Field(min_length=1)
    kind: Literal["Deployment", "StatefulSet", "DaemonSet"]
    name: str = Field(min_length=1)
    replicas: int = Field(default=1, ge=0)
    node_selector: dict[str, str] = {}
    labels: dict[str, str] = {}
    image: str = Field(min_length=1)
    cpu_request: str = "250m"
    memory_request: str = "256Mi"

    @field_validator("replicas", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        # Terraform numbers decode as floats when written like 2.0.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("node_selector", "labels", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


class StackOutputs(BaseModel):
    """A twin's outputs, parsed."""

    namespaces: list[str] = []
    workloads: list[WorkloadOutput] = []

    @classmethod
    def parse(cls, outputs: dict[str, Any]) -> "StackOutputs":
        """Accept ``tofu output -json`` (``{"name": {"value": ...}}``) or plain ``{"name": value}``;
        an invalid shape is an :class:`InputError` naming the field."""
        if not isinstance(outputs, dict):
            raise InputError(f"stack outputs must be a JSON object, got {type(outputs).__name__}",
                             remedy="pass the decoded output of `tofu output -json`")
        plain = {key: (value["value"] if isinstance(value, dict) and "value" in value else value)
                 for key, value in outputs.items() if key in ("namespaces", "workloads")}
        try:
            return cls.model_validate(plain)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise InputError(f"the stack's outputs do not describe namespaces/workloads: {problems}",
                             remedy="the rehearsal twin must output `namespaces` and `workloads` "
                                    "as docs/architecture.md describes") from None

    def all_namespaces(self) -> list[str]:
        """Declared namespaces, then any only a workload names, without duplicates."""
        seen: dict[str, None] = dict.fromkeys(self.namespaces)
        for workload in self.workloads:
            seen.setdefault(workload.namespace)
        return list(seen)


@dataclass(frozen=True)
class MaterialisedObject:
    """One object written (or found) in the rehearsal API."""

    kind: str
    namespace: str
    name: str
    action: Action
    #: Pods of this workload visible right after the write (None for namespaces).
    pods: int | None = None


@dataclass(frozen=True)
class MaterialiseSummary:
    """What :func:`materialise_stack` did."""

    api_url: str
    namespaces: list[MaterialisedObject] = field(default_factory=list)
    workloads: list[MaterialisedObject] = field(default_factory=list)

    @property
    def created(self) -> int:
        """How many objects were created."""
        return sum(o.action == "created" for o in (*self.namespaces, *self.workloads))


def require_loopback(api_url: str) -> None:
    """Raise :class:`SafetyStop` unless ``api_url`` is an https URL on loopback."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() in _LOOPBACK_NAMES
    if parts.scheme != "https" or not loopback:
        raise SafetyStop(
            f"refusing to materialise rehearsal workloads at {api_url}: not the loopback rehearsal API",
            remedy="materialising exists only in rehearsal; run `gfwizard rehearse` and deploy there",
        )


def _workload_object(w: WorkloadOutput) -> dict[str, Any]:
    selector = {WORKLOAD_LABEL: w.name}
    container = {
        "name": w.name,
        "image": w.image,
        "resources": {"requests": {"cpu": w.cpu_request, "memory": w.memory_request}},
    }
    pod_spec: dict[str, Any] = {"containers": [container]}
    if w.node_selector:
        pod_spec["nodeSelector"] = dict(w.node_selector)
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector},
        "template": {"metadata": {"labels": {**w.labels, **selector}}, "spec": pod_spec},
    }
    if w.kind != "DaemonSet":
        spec["replicas"] = w.replicas
    if w.kind == "StatefulSet":
        spec["serviceName"] = w.name
    return {
        "apiVersion": "apps/v1",
        "kind": w.kind,
        "metadata": {"name": w.name, "namespace": w.namespace, "labels": dict(w.labels),
                     "annotations": {MATERIALISED_ANNOTATION: "gfwizard rehearsal"}},
        "spec": spec,
    }


class _Api:
    """A minimal keep-alive HTTPS client for the rehearsal API (bearer token, pinned CA, timeouts)."""

    def __init__(self, api_url: str, token: str, ca_pem: bytes) -> None:
        parts = urlsplit(api_url)
        self._host = parts.hostname or ""
        self._port = parts.port or 443
        self._token = token
        register_secret(token)
        context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
        self._context = context
        self._conn: http.client.HTTPSConnection | None = None

    def _connection(self) -> http.client.HTTPSConnection:
        if self._conn is None:
            self._conn = http.client.HTTPSConnection(self._host, self._port, context=self._context,
                                                     timeout=TIMEOUTS[0])
            self._conn.connect()
            if self._conn.sock is not None:
                self._conn.sock.settimeout(TIMEOUTS[1])
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Send one request; returns (status, decoded JSON body). Retries once on a dropped keep-alive."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                   "User-Agent": "gfwizard-rehearsal-materialise"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                conn = self._connection()
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 2:
                    raise CheckFailure(f"the rehearsal API at {self._host}:{self._port} dropped the connection "
                                       f"({exc.__class__.__name__})",
                                       remedy="check that `gfwizard rehearse` is still running") from None
            except (OSError, ssl.SSLError) as exc:
                self.close()
                raise CheckFailure(redact(f"cannot reach the rehearsal API at {self._host}:{self._port}: {exc}"),
                                   remedy="check that `gfwizard rehearse` is running and KUBECONFIG points "
                                          "at its workspace") from None
        try:
            decoded = json.loads(raw) if raw else {}
        except ValueError:
            decoded = {"message": raw[:200].decode("utf-8", "replace")}
        return response.status, decoded if isinstance(decoded, dict) else {}


def _fail(what: str, status: int, body: dict[str, Any]) -> CheckFailure:
    message = str(body.get("message") or body.get("reason") or "no message")
    return CheckFailure(redact(f"{what} failed: HTTP {status}: {message}"),
                        remedy="see the rehearsal API's request log ($GFW_WORKSPACE/api-requests.log)")


def _ensure_namespace(api: _Api, name: str) -> MaterialisedObject:
    status, body = api.request("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "annotations": {MATERIALISED_ANNOTATION: "gfwizard rehearsal"}},
    })
    if status in (200, 201, 202):
        return MaterialisedObject("Namespace", "", name, "created")
    if status == 409:
        return MaterialisedObject("Namespace", "", name, "exists")
    raise _fail(f"creating namespace {name}", status, body)


def _apply_workload(api: _Api, workload: WorkloadOutput) -> MaterialisedObject:
    plural = _PLURALS[workload.kind]
    base = f"/apis/apps/v1/namespaces/{quote(workload.namespace, safe='')}/{plural}"
    desired = _workload_object(workload)
    what = f"{workload.kind} {workload.namespace}/{workload.name}"
    status, body = api.request("POST", base, desired)
    action: Action = "created"
    if status == 409:
        action = "updated"
        for _ in range(3):  # a concurrent writer may bump the resourceVersion between GET and PUT
            item = f"{base}/{quote(workload.name, safe='')}"
            status, current = api.request("GET", item)
            if status != 200:
                raise _fail(f"reading {what}", status, current)
            replacement = json.loads(json.dumps(desired))
            replacement["metadata"]["resourceVersion"] = current.get("metadata", {}).get("resourceVersion")
            status, body = api.request("PUT", item, replacement)
            if status != 409:
                break
    if status not in (200, 201, 202):
        raise _fail(f"{'creating' if action == 'created' else 'updating'} {what}", status, body)
    query = urlencode({"labelSelector": f"{WORKLOAD_LABEL}={workload.name}"})
    status, pods = api.request("GET", f"/api/v1/namespaces/{quote(workload.namespace, safe='')}/pods?{query}")
    visible = len(pods.get("items") or []) if status == 200 else None
    return MaterialisedObject(workload.kind, workload.namespace, workload.name, action, pods=visible)


def materialise_stack(api_url: str, token: str, ca_pem: bytes, outputs: dict[str, Any]) -> MaterialiseSummary:
    """Create (or update) the namespaces and workloads a rehearsal twin declares in ``outputs``
    (``tofu output -json``, decoded) through the rehearsal API at ``api_url``. Rehearsal only."""
    require_loopback(api_url)
    parsed = StackOutputs.parse(outputs)
    api = _Api(api_url, token, ca_pem)
    try:
        namespaces = [_ensure_namespace(api, name) for name in parsed.all_namespaces()]
        workloads = [_apply_workload(api, w) for w in parsed.workloads]
    finally:
        api.close()
    return MaterialiseSummary(api_url=api_url, namespaces=namespaces, workloads=workloads)


class _HasApi(Protocol):
    @property
    def api(self) -> Any: ...


def materialise_in(rehearsal: _HasApi, outputs: dict[str, Any]) -> MaterialiseSummary:
    """:func:`materialise_stack` against a running :class:`RehearsalEnvironment` (or anything with
    an ``.api`` :class:`RehearsalAPIServer`, like the ``rehearsal_workspace`` test fixture)."""
    api = rehearsal.api
    if api is None:
        raise InputError("the rehearsal environment is not running", remedy="start it first")
    return materialise_stack(api.url, api.admin_token, api.ca_pem, outputs)


@dataclass(frozen=True)
class KubeTarget:
    """Server, CA and token of one context of a rehearsal kubeconfig."""

    server: str
    ca_pem: bytes
    token: str


def rehearsal_target(kubeconfig: Path, context: str = "honey") -> KubeTarget:
    """Read server, CA and bearer token of ``context`` from a rehearsal workspace's kubeconfig
    (read only; the deploy engine uses this when the servers run in another process)."""
    import yaml

    try:
        doc = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read rehearsal kubeconfig {kubeconfig}: {exc.__class__.__name__}",
                         remedy="point KUBECONFIG at the workspace's kubeconfig-honey.yaml") from None

    def named(section: str, name: str) -> dict[str, Any]:
        for entry in doc.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry.get(section[:-1]) or {}
        raise InputError(f"{kubeconfig} has no {section[:-1]} named {name!r}",
                         remedy="use the kubeconfig-honey.yaml that `gfwizard rehearse` wrote")

    ctx = named("contexts", context)
    cluster = named("clusters", str(ctx.get("cluster", "")))
    user = named("users", str(ctx.get("user", "")))
    server, ca_data, token = cluster.get("server"), cluster.get("certificate-authority-data"), user.get("token")
    if not token and user.get("tokenFile"):
        token = _token_from_file(str(user["tokenFile"]), kubeconfig, str(ctx.get("user", "")))
    if not (server and ca_data and token):
        raise InputError(f"context {context!r} in {kubeconfig} is not a rehearsal context "
                         "(needs server, certificate-authority-data and a token or tokenFile)",
                         remedy="use the kubeconfig-honey.yaml that `gfwizard rehearse` wrote")
    register_secret(str(token))
    require_loopback(str(server))
    return KubeTarget(server=str(server), ca_pem=base64.b64decode(ca_data), token=str(token))


def _token_from_file(path: str, kubeconfig: Path, user: str) -> str:
    """The token of a ``tokenFile`` (relative to the kubeconfig's directory), registered as a secret."""
    from gfwizard.cluster_errors import ClusterAccessError
    from gfwizard.kubeconfig_secrets import read_token_file
    from gfwizard.paths import expand

    try:
        return read_token_file(str(kubeconfig.parent / expand(path)), user=user, kubeconfig_file=str(kubeconfig))
    except ClusterAccessError as exc:
        raise InputError(exc.message, remedy=exc.remedy) from None


def materialise_with_kubeconfig(kubeconfig: Path, outputs: dict[str, Any],
                                context: str = "honey") -> MaterialiseSummary:
    """:func:`materialise_stack` using the server, CA and token of ``context`` in a rehearsal kubeconfig."""
    target = rehearsal_target(kubeconfig, context)
    return materialise_stack(target.server, target.token, target.ca_pem, outputs)

