"""One reused Kubernetes API client per (kubeconfig files, context), every call with explicit timeouts.

Building a client reads the kubeconfig (never writes it: ``persist_config=False``), refuses an
expired client certificate before connecting, runs an ``exec`` credential plugin itself with a
deadline, and builds the official client from a standalone config dict in a worker thread with a
deadline (an auth-provider refresh cannot hang us either). urllib3's retries are off so that one
blackholed request costs one timeout, not four.

The client writes ``*-data`` certificates and keys to temp files (urllib3 can only load them from
files); they go into a private 0700 directory that is removed when the process ends.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

from gfwizard.cluster_errors import ClusterAccessError, tls_error
from gfwizard.cluster_network import reach_hint
from gfwizard.cluster_exec import ExecCredential, run_exec_plugin
from gfwizard.cluster_kubeconfig import (ContextTarget, file_stamp, kubeconfig_paths, resolve_context,
                                        unauthorized_remedy)
from gfwizard.kubeconfig_secrets import register_user_secrets

T = TypeVar("T")
_EXPIRY_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Timeouts:
    """Seconds for connecting and for waiting on a response; exec plugins get ``exec_plugin`` (default: ``read``)."""

    connect: float = 3.0
    read: float = 10.0
    exec_plugin: float | None = None

    @property
    def request(self) -> tuple[float, float]:
        """The ``_request_timeout`` tuple every API call gets."""
        return (self.connect, self.read)

    @property
    def plugin(self) -> float:
        """Deadline for an exec credential plugin."""
        return self.exec_plugin if self.exec_plugin is not None else self.read

    @classmethod
    def of(cls, value: "Timeouts | tuple[float, float] | None") -> "Timeouts":
        """Accept a :class:`Timeouts`, a ``(connect, read)`` tuple or ``None`` (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        connect, read = value
        return cls(connect=float(connect), read=float(read))


@dataclass
class _Entry:
    api: Any
    target: ContextTarget
    stamp: tuple[float, ...]
    expires: dt.datetime | None
    exec_stderr: str = ""


_cache: dict[tuple[tuple[str, ...], str], _Entry] = {}
_cache_lock = threading.Lock()
_temp_dir: str | None = None


def _private_temp_dir() -> str:
    global _temp_dir
    if _temp_dir is None:
        _temp_dir = tempfile.mkdtemp(prefix="gfwizard-kube-")
        atexit.register(shutil.rmtree, _temp_dir, True)
    return _temp_dir


def _check_cert(target: ContextTarget) -> None:
    not_after = target.client_cert_not_after
    if not_after is None:
        return
    now = dt.datetime.now(dt.timezone.utc)
    if not_after <= now:
        days = (now - not_after).days
        raise ClusterAccessError(
            "cert-expired",
            f"client certificate of user {target.user_name!r} in {target.user_file} expired on "
            f"{not_after:%Y-%m-%d %H:%M} UTC ({days} day{'s' if days != 1 else ''} ago)",
            "get a fresh kubeconfig for honey from its admin (the client certificate must be renewed)")


def _with_credential(config_dict: dict[str, Any], cred: ExecCredential) -> dict[str, Any]:
    user: dict[str, Any] = {}
    if cred.token:
        user["token"] = cred.token
    else:
        user["client-certificate-data"] = base64.b64encode(str(cred.client_certificate_pem).encode()).decode()
        user["client-key-data"] = base64.b64encode(str(cred.client_key_pem).encode()).decode()
    return _with_user(config_dict, user)


def _with_user(config_dict: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """``config_dict`` with its one user entry replaced by ``user``."""
    out = dict(config_dict)
    out["users"] = [{"name": config_dict["users"][0]["name"], "user": user}]
    return out


def _in_thread(fn: Callable[[], T], deadline: float, what: str) -> T:
    """Run ``fn`` in a daemon thread; give up (ClusterAccessError timeout) after ``deadline`` seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=run, name="gfwizard-kube-load", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise ClusterAccessError("timeout", f"{what} did not finish within {deadline:g}s",
                                 "check the kubeconfig's auth-provider / credential settings, then retry")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _build(target: ContextTarget, config_dict: dict[str, Any], timeouts: Timeouts,
           stamp: tuple[float, ...]) -> _Entry:
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import new_client_from_config_dict

    _check_cert(target)
    _check_proxy_support(target)
    if target.insecure_skip_tls_verify:
        _quiet_insecure_tls_warning()
    user = config_dict["users"][0]["user"]
    file_token = register_user_secrets(user, user_name=target.user_name, user_file=target.user_file)
    if file_token is not None and not user.get("token"):
        # The client would read the file itself, newline and all, into the Authorization header (which
        # http.client then refuses, quoting the header); client-go strips it, and so do we.
        user = {k: v for k, v in user.items() if k != "tokenFile"} | {"token": file_token}
        config_dict = _with_user(config_dict, user)
    expires: dt.datetime | None = None
    stderr = ""
    if "exec" in user:
        cred = run_exec_plugin(user["exec"], user=target.user_name, kubeconfig_file=target.user_file,
                               cluster=config_dict["clusters"][0]["cluster"], timeout=timeouts.plugin)
        config_dict = _with_credential(config_dict, cred)
        expires, stderr = cred.expires, cred.stderr

    def load() -> Any:
        conf = type.__call__(Configuration)
        conf.retries = 0
        conf.connection_pool_maxsize = 8
        return new_client_from_config_dict(config_dict=config_dict, context=target.context, persist_config=False,
                                           temp_file_path=_private_temp_dir(), client_configuration=conf)

    try:
        api = _in_thread(load, timeouts.connect + timeouts.read, f"loading credentials for context {target.context!r}")
    except (ConfigException, ValueError, OSError) as exc:
        raise ClusterAccessError("kubeconfig", f"cannot build a client for context {target.context!r}: {exc}",
                                 f"fix the entries of context {target.context!r} in {target.context_file}") from exc
    return _Entry(api=api, target=target, stamp=stamp, expires=expires, exec_stderr=stderr)


def _check_proxy_support(target: ContextTarget) -> None:
    """A ``socks5://`` proxy-url needs PySocks, which is not installed with gfwizard: the client would fail on
    the import itself. Refused up front, naming the setting (kubectl supports SOCKS5 on its own)."""
    import importlib.util

    if target.proxy_url.lower().startswith("socks") and importlib.util.find_spec("socks") is None:
        raise ClusterAccessError(
            "kubeconfig", f"proxy-url {target.proxy_url} of cluster {target.cluster_name!r} is a SOCKS proxy, which "
                          "gfwizard's Kubernetes client cannot use (the PySocks package is not installed)",
            f"use an http:// proxy-url for cluster {target.cluster_name!r} in "
            f"{target.cluster_where}, or install PySocks into gfwizard's environment "
            "(pip install PySocks)")


def _quiet_insecure_tls_warning() -> None:
    """Silence urllib3's InsecureRequestWarning: it would be printed once per request (over a hundred
    in one validation), and the ``fingerprint`` check already reports insecure-skip-tls-verify."""
    import warnings

    import urllib3

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def _fresh(entry: _Entry, paths: list[str]) -> bool:
    if entry.stamp != file_stamp(paths):
        return False
    return entry.expires is None or entry.expires - _EXPIRY_SKEW > dt.datetime.now(dt.timezone.utc)


def _status_message(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason or "")
    except (ValueError, TypeError, AttributeError):
        return str(getattr(exc, "reason", "") or "")


class ClusterClient:
    """The Kubernetes API of one context, through one cached ``ApiClient``, with explicit timeouts."""

    def __init__(self, entry: _Entry, timeouts: Timeouts) -> None:
        self._entry = entry
        self.timeouts = timeouts

    @classmethod
    def for_context(cls, kubeconfig: str | None, context: str,
                    timeouts: "Timeouts | tuple[float, float] | None" = None,
                    environ: Mapping[str, str] | None = None, origin: str = "") -> "ClusterClient":
        """The client of ``context`` in ``kubeconfig`` (``None``: ``$KUBECONFIG`` or ~/.kube/config).

        Reuses the cached client unless a kubeconfig file changed or exec credentials expire. Raises
        :class:`ClusterAccessError` for a missing file/context, an expired client certificate or a
        failing/hanging exec plugin. ``origin``: see :func:`~gfwizard.cluster_kubeconfig.resolve_context`.
        """
        t = Timeouts.of(timeouts)
        paths = kubeconfig_paths(kubeconfig, environ)
        key = (tuple(paths), context)
        with _cache_lock:
            entry = _cache.get(key)
        if entry is not None and _fresh(entry, paths):
            return cls(entry, t)
        stamp = file_stamp(paths)  # before reading: a change while we build means a rebuild next time
        target, config_dict = resolve_context(kubeconfig, context, environ, origin)
        entry = _build(target, config_dict, t, stamp)
        with _cache_lock:
            _cache[key] = entry
        return cls(entry, t)

    @property
    def target(self) -> ContextTarget:
        """What the kubeconfig says about this context."""
        return self._entry.target

    @property
    def api_client(self) -> Any:
        """The underlying ``kubernetes.client.ApiClient`` (pass ``_request_timeout=self.timeouts.request``)."""
        return self._entry.api

    @property
    def exec_stderr(self) -> str:
        """What the exec plugin printed on stderr when it succeeded (redacted), for the check detail."""
        return self._entry.exec_stderr

    def with_timeouts(self, timeouts: "Timeouts | tuple[float, float]") -> "ClusterClient":
        """The same cached client with other timeouts."""
        return ClusterClient(self._entry, Timeouts.of(timeouts))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a generated API method with this client's timeouts; failures become :class:`ClusterAccessError`."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        kwargs.setdefault("_request_timeout", self.timeouts.request)
        started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            if exc.status == 401:
                _forget(self._entry)  # the next for_context() re-reads the kubeconfig / re-runs the exec plugin
            raise self._api_error(exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._transport_error(exc, time.monotonic() - started) from None

    def _api_error(self, exc: Any) -> ClusterAccessError:
        t = self.target
        message = _status_message(exc)
        if exc.status == 401:
            remedy = unauthorized_remedy(t)
            return ClusterAccessError("unauthorized", f"credentials rejected (401 Unauthorized) by {t.server} for user "
                                                      f"{t.user_name!r} ({t.auth_kind} auth)", remedy, status=401)
        if exc.status == 403:
            return ClusterAccessError("forbidden", f"forbidden (403): {message}",
                                      f"ask honey's admin to grant user {t.user_name!r} the missing permission",
                                      status=403)
        return ClusterAccessError("api", f"API error {exc.status} from {t.server}: {message}",
                                  "retry; if it persists, check the API server's health", status=exc.status)

    def _transport_error(self, exc: Exception, elapsed: float) -> ClusterAccessError:
        import urllib3

        server = self.target.server
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, urllib3.exceptions.ProxyError):
            return self._proxy_error(reason)
        # Order matters: NameResolutionError < NewConnectionError < ConnectTimeoutError in urllib3.
        if isinstance(reason, urllib3.exceptions.NameResolutionError):
            return ClusterAccessError("unreachable", f"cannot resolve the host of {server}",
                                      "check DNS / MagicDNS (tailscale status) or use the API's IP address")
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            text = str(reason)
            why = "connection refused" if "refused" in text.lower() else text.split(": ", 1)[-1]
            return ClusterAccessError("unreachable", f"cannot connect to {server}: {why}",
                                      f"check that honey's API server is up and reachable from here "
                                      f"({reach_hint(server)}; curl -k {server}/version)")
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError) or (
                isinstance(reason, urllib3.exceptions.ReadTimeoutError) and _timed_out_connecting(reason)):
            return ClusterAccessError("timeout", f"connecting to {server} timed out after {self.timeouts.connect:g}s",
                                      f"check the network path ({reach_hint(server)}) and that honey's API is up; "
                                      "raise --connect-timeout on a slow link")
        if isinstance(reason, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            return ClusterAccessError("timeout", f"{server} accepted the connection but did not answer within "
                                                 f"{self.timeouts.read:g}s (read timeout)",
                                      "the API server is hung or a firewall drops the traffic; check honey's API "
                                      "server, or raise --read-timeout on a slow link")
        if isinstance(reason, urllib3.exceptions.SSLError):
            return tls_error(self.target, reason)
        return ClusterAccessError("unreachable", f"request to {server} failed after {elapsed:.1f}s: {reason}",
                                  "check the network path to honey's API server")

    def _proxy_error(self, exc: Any) -> ClusterAccessError:
        """The cluster's ``proxy-url`` (or a proxy from the environment) could not carry the request."""
        t = self.target
        original = getattr(exc, "original_error", None) or exc
        text = str(original)
        why = "connection refused" if "refused" in text.lower() else text.split(": ", 1)[-1]
        if t.proxy_url:
            return ClusterAccessError("unreachable", f"cannot reach {t.server} through the proxy {t.proxy_url} "
                                                     f"(proxy-url of cluster {t.cluster_name!r}): {why}",
                                      f"check that the proxy {t.proxy_url} is up and lets this machine through, or "
                                      f"remove proxy-url from cluster {t.cluster_name!r} in "
                                      f"{t.cluster_where}")
        return ClusterAccessError("unreachable", f"cannot reach {t.server} through the proxy set in the environment "
                                                 f"(HTTPS_PROXY / https_proxy): {why}",
                                  "check that the proxy is up, or add the API's address to NO_PROXY")

    # The calls validation, placement and status need.

    def version(self) -> dict[str, Any]:
        """``GET /version``: the server's build info (gitVersion, platform, ...)."""
        from kubernetes.client import VersionApi

        info = self.call(VersionApi(self.api_client).get_code)
        return self.api_client.sanitize_for_serialization(info)

    def kube_system_uid(self) -> str:
        """The UID of the ``kube-system`` namespace (half of the cluster fingerprint)."""
        from kubernetes.client import CoreV1Api

        ns = self.call(CoreV1Api(self.api_client).read_namespace, "kube-system")
        return str(ns.metadata.uid)

    def list_nodes_raw(self) -> list[dict[str, Any]]:
        """Every node as the API serves it (JSON dicts, camelCase keys)."""
        from kubernetes.client import CoreV1Api

        nodes = self.call(CoreV1Api(self.api_client).list_node)
        return [self.api_client.sanitize_for_serialization(n) for n in nodes.items]

    def workload_labels(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        """The labels of one apps/v1 workload, None when it does not exist."""
        from kubernetes.client import AppsV1Api

        api = AppsV1Api(self.api_client)
        read = {"Deployment": api.read_namespaced_deployment, "StatefulSet": api.read_namespaced_stateful_set,
                "DaemonSet": api.read_namespaced_daemon_set}.get(kind)
        if read is None:
            raise ValueError(f"not an apps/v1 workload kind: {kind!r}")
        try:
            obj = self.call(read, name, namespace)
        except ClusterAccessError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(obj.metadata.labels or {})

    def access_review(self, verb: str, resource: str, group: str = "", namespace: str | None = None
                      ) -> tuple[bool, str]:
        """SelfSubjectAccessReview: may this user ``verb`` ``resource``? Returns (allowed, reason)."""
        from kubernetes.client import (AuthorizationV1Api, V1ResourceAttributes, V1SelfSubjectAccessReview,
                                       V1SelfSubjectAccessReviewSpec)

        body = V1SelfSubjectAccessReview(spec=V1SelfSubjectAccessReviewSpec(
            resource_attributes=V1ResourceAttributes(verb=verb, resource=resource, group=group, namespace=namespace)))
        review = self.call(AuthorizationV1Api(self.api_client).create_self_subject_access_review, body)
        status = review.status
        return bool(status and status.allowed), str((status and status.reason) or "")


def _forget(entry: _Entry) -> None:
    with _cache_lock:
        for key, cached in list(_cache.items()):
            if cached is entry:
                del _cache[key]


def close_all() -> None:
    """Drop every cached client (closing its connections)."""
    with _cache_lock:
        entries = list(_cache.values())
        _cache.clear()
    for entry in entries:
        try:
            entry.api.close()
        except Exception:  # closing is best effort
            pass


def _timed_out_connecting(exc: BaseException) -> bool:
    """True for a timeout urllib3 reports as a read timeout although it happened while connecting: a
    TLS handshake that never completes runs under the connect timeout, but urllib3 raises
    ``ReadTimeoutError`` for it. The socket timeout it wraps says where it was raised."""
    cause = exc.__cause__ or exc.__context__
    tb = cause.__traceback__ if cause is not None else None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_validate_conn":
            return True
        tb = tb.tb_next
    return False
