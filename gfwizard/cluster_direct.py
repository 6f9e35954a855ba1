"""The deploy gates' reads of the Kubernetes API (``GET /version``, the ``kube-system`` namespace, and
the workloads of stacks without state) over one verified, kept-alive TLS connection, without the
official client.

The gates run before every apply, and importing and building the official client costs more CPU
than the rest of a rehearsal deploy's own work. Two authenticated GETs need none of it: this module
makes them with :mod:`http.client` and :mod:`ssl`, with the same verification (the kubeconfig's CA,
the server's host name) and the same errors (:class:`ClusterAccessError` kinds and texts) as
:class:`gfwizard.cluster_client.ClusterClient`.

It is used only for the credentials it handles exactly as the official client does — a static
bearer ``token``, or a client certificate and key (data or files) — over ``https`` with a
certificate authority. Anything else (exec plugins, auth providers, basic auth, impersonation,
``proxy-url``, ``tls-server-name``, ``insecure-skip-tls-verify``, a proxy in the environment)
makes :meth:`DirectClient.supports` say no, and the caller uses the official client.

Client keys never touch the disk: they are handed to OpenSSL through an anonymous in-memory file
(``memfd``); where that does not exist the official client is used.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import time
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

from gfwizard.cluster_client import Timeouts, _check_cert
from gfwizard.cluster_errors import ClusterAccessError, tls_error
from gfwizard.cluster_network import reach_hint
from gfwizard.cluster_kubeconfig import ContextTarget, unauthorized_remedy
from gfwizard.redact import register_secret

#: User entry keys this client implements; any other key means the official client decides.
_USER_KEYS = frozenset({"token", "client-certificate", "client-certificate-data", "client-key", "client-key-data"})
#: Cluster entry keys this client implements.
_CLUSTER_KEYS = frozenset({"server", "certificate-authority", "certificate-authority-data", "extensions"})
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


#: apps/v1 workload kind -> its resource (the workloads the stacks create).
WORKLOAD_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def workload_path(kind: str, namespace: str, name: str) -> str:
    """The API path of one apps/v1 workload (a ValueError for another kind)."""
    plural = WORKLOAD_PLURALS.get(kind)
    if plural is None:
        raise ValueError(f"not an apps/v1 workload kind: {kind!r}")
    return f"/apis/apps/v1/namespaces/{quote(namespace, safe='')}/{plural}/{quote(name, safe='')}"


class DirectClient:
    """Authenticated GETs against one context's API server (see the module docstring)."""

    def __init__(self, target: ContextTarget, config_dict: Mapping[str, Any], timeouts: Timeouts) -> None:
        if not self.supports(target, config_dict):
            raise ValueError(f"context {target.context!r} needs the official client")
        _check_cert(target)
        self.target = target
        self.timeouts = timeouts
        self.exec_stderr = ""
        user = dict(config_dict["users"][0]["user"])
        self._token: str | None = user.get("token") or None
        register_secret(self._token)
        self._context = self._tls_context(user)
        parts = urlsplit(target.server)
        self._host = parts.hostname or ""
        self._port = parts.port or 443
        self._base = parts.path.rstrip("/")
        #: The connection kept alive between GETs (one TLS handshake for all of a gate's reads).
        self._conn: http.client.HTTPSConnection | None = None

    def close(self) -> None:
        """Close the kept connection (a later GET opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "DirectClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def supports(target: ContextTarget, config_dict: Mapping[str, Any], environ: Mapping[str, str] | None = None
                 ) -> bool:
        """True when this client makes the gate's requests exactly as the official client would."""
        environ = os.environ if environ is None else environ
        try:
            user = config_dict["users"][0]["user"] or {}
            cluster = config_dict["clusters"][0]["cluster"] or {}
        except (KeyError, IndexError, TypeError):
            return False
        if target.auth_kind == "token":
            auth_ok = isinstance(user.get("token"), str) and not (
                user.get("client-certificate") or user.get("client-certificate-data"))
        elif target.auth_kind == "cert":
            auth_ok = bool(user.get("client-key") or user.get("client-key-data")) and hasattr(os, "memfd_create")
        else:
            auth_ok = False
        return (auth_ok and set(user) <= _USER_KEYS and set(cluster) <= _CLUSTER_KEYS
                and urlsplit(target.server).scheme == "https" and target.ca_pem is not None
                and not target.insecure_skip_tls_verify and not any(environ.get(v) for v in _PROXY_VARS))

    # -- the two reads --------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        """``GET /version``: the server's build info (gitVersion, platform, ...)."""
        return self._get("/version")

    def kube_system_uid(self) -> str:
        """The UID of the ``kube-system`` namespace (half of the cluster fingerprint)."""
        doc = self._get("/api/v1/namespaces/kube-system")
        uid = (doc.get("metadata") or {}).get("uid")
        if not isinstance(uid, str) or not uid:
            raise ClusterAccessError("api", f"the kube-system namespace from {self.target.server} has no UID",
                                     "retry; if it persists, check the API server's health")
        return uid

    def workload_labels(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        """The labels of one apps/v1 workload (``kind`` as in :data:`WORKLOAD_PLURALS`), None when it does not exist."""
        try:
            doc = self._get(workload_path(kind, namespace, name))
        except ClusterAccessError as exc:
            if exc.status == 404:
                return None
            raise
        labels = (doc.get("metadata") or {}).get("labels") or {}
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    # -- internals ----------------------------------------------------------------------------

    def _tls_context(self, user: Mapping[str, Any]) -> ssl.SSLContext:
        assert self.target.ca_pem is not None
        try:
            context = ssl.create_default_context(cadata=self.target.ca_pem.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError) as exc:
            raise ClusterAccessError("kubeconfig", f"cannot build a client for context {self.target.context!r}: "
                                                   f"the certificate-authority is not a PEM certificate ({exc})",
                                     f"fix the entries of context {self.target.context!r} in "
                                     f"{self.target.context_file}") from exc
        if self.target.auth_kind == "cert":
            _load_client_cert(context, user, self.target)
        return context

    def _get(self, path: str) -> dict[str, Any]:
        started = time.monotonic()
        headers = {"Accept": "application/json", "User-Agent": "gfwizard"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        while True:
            kept = self._conn is not None
            conn = self._conn or self._connect(started)
            try:
                conn.request("GET", self._base + path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if kept:  # the server closed the idle kept connection: a GET may go once more, on a new one
                    continue
                raise self._transport_error(exc, connecting=False, elapsed=time.monotonic() - started) from None
            except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
                self.close()
                raise self._transport_error(exc, connecting=False, elapsed=time.monotonic() - started) from None
            if response.will_close:
                self.close()
            break
        if response.status != 200:
            raise self._api_error(response.status, response.reason, body)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise ClusterAccessError("api", f"{self.target.server}{path} did not answer with a JSON object",
                                     "retry; if it persists, check the API server's health")
        return doc

    def _connect(self, started: float) -> http.client.HTTPSConnection:
        """A new connection (TCP and the TLS handshake under the connect timeout), kept as ``_conn``."""
        conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeouts.connect,
                                           context=self._context)
        try:
            conn.connect()
        except (OSError, ssl.SSLError) as exc:
            conn.close()
            raise self._transport_error(exc, connecting=True, elapsed=time.monotonic() - started) from None
        assert conn.sock is not None
        conn.sock.settimeout(self.timeouts.read)
        self._conn = conn
        return conn

    def _api_error(self, status: int, reason: str, body: bytes) -> ClusterAccessError:
        # The same kinds, texts and remedies as ClusterClient._api_error.
        t = self.target
        try:
            message = str(json.loads(body or b"{}").get("message") or reason or "")
        except (ValueError, AttributeError):
            message = reason or ""
        if status == 401:
            remedy = unauthorized_remedy(t)
            return ClusterAccessError("unauthorized", f"credentials rejected (401 Unauthorized) by {t.server} for user "
                                                      f"{t.user_name!r} ({t.auth_kind} auth)", remedy, status=401)
        if status == 403:
            return ClusterAccessError("forbidden", f"forbidden (403): {message}",
                                      f"ask honey's admin to grant user {t.user_name!r} the missing permission",
                                      status=403)
        return ClusterAccessError("api", f"API error {status} from {t.server}: {message}",
                                  "retry; if it persists, check the API server's health", status=status)

    def _transport_error(self, exc: BaseException, *, connecting: bool, elapsed: float) -> ClusterAccessError:
        # The same kinds, texts and remedies as ClusterClient._transport_error.
        server = self.target.server
        if isinstance(exc, socket.gaierror):
            return ClusterAccessError("unreachable", f"cannot resolve the host of {server}",
                                      "check DNS / MagicDNS (tailscale status) or use the API's IP address")
        if isinstance(exc, (socket.timeout, TimeoutError)):
            if connecting:
                return ClusterAccessError("timeout", f"connecting to {server} timed out after "
                                                     f"{self.timeouts.connect:g}s",
                                          f"check the network path ({reach_hint(server)}) and that honey's API is up; "
                                          "raise --connect-timeout on a slow link")
            return ClusterAccessError("timeout", f"{server} accepted the connection but did not answer within "
                                                 f"{self.timeouts.read:g}s (read timeout)",
                                      "the API server is hung or a firewall drops the traffic; check honey's API "
                                      "server, or raise --read-timeout on a slow link")
        if isinstance(exc, ssl.SSLError):
            return tls_error(self.target, exc)
        if connecting and isinstance(exc, OSError):
            why = "connection refused" if isinstance(exc, ConnectionRefusedError) else (exc.strerror or str(exc))
            return ClusterAccessError("unreachable", f"cannot connect to {server}: {why}",
                                      f"check that honey's API server is up and reachable from here "
                                      f"({reach_hint(server)}; curl -k {server}/version)")
        return ClusterAccessError("unreachable", f"request to {server} failed after {elapsed:.1f}s: {exc}",
                                  "check the network path to honey's API server")


def _load_client_cert(context: ssl.SSLContext, user: Mapping[str, Any], target: ContextTarget) -> None:
    """Load the client certificate and key from kubeconfig data or files (data through a memfd)."""
    fds: list[int] = []

    def path_of(key: str) -> str:
        data = user.get(f"{key}-data")
        if data:
            fd = os.memfd_create(f"gfwizard-{key}", os.MFD_CLOEXEC)
            fds.append(fd)
            os.write(fd, base64.b64decode(data))
            return f"/proc/self/fd/{fd}"
        return str(user.get(key) or "")

    try:
        context.load_cert_chain(certfile=path_of("client-certificate"), keyfile=path_of("client-key"))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ClusterAccessError("kubeconfig", f"cannot build a client for context {target.context!r}: the client "
                                               f"certificate or key cannot be loaded ({exc})",
                                 f"fix the entries of context {target.context!r} in {target.context_file}") from exc
    finally:
        for fd in fds:
            os.close(fd)
