"""Read-only Kubernetes access for status mode: a client that cannot write, enforced before any byte
leaves the process (the S3 side is :mod:`gfwizard.status_state`).

:class:`ReadOnlyKube` wraps a ``kubernetes.client.ApiClient``. Every request, whether it comes
through :meth:`ReadOnlyKube.get_json`, a generated API class given :attr:`ReadOnlyKube.api_client`,
or the client's REST layer or urllib3 pool reached directly, is checked at three layers (the
ApiClient, its REST client, its connection pool): anything but ``GET`` raises
:class:`ReadOnlyViolation` before a connection is opened. The one exception is ``POST`` of a
SelfSubjectAccessReview, which only asks "may I?" and creates nothing.

Nothing here imports the deploy engine, the IaC runner or the backend's writers.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import TYPE_CHECKING, Any, Iterator, Literal, Mapping
from urllib.parse import urlsplit

from gfwizard.errors import CheckFailure, SafetyStop
from gfwizard.redact import redact

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: The only non-GET request status mode may send (it creates nothing).
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
ReadErrorKind = Literal["forbidden", "unauthorized", "gone", "not-found", "unreachable", "timeout", "api"]


class ReadOnlyViolation(SafetyStop):
    """A write was attempted in status mode; it was refused before anything was sent."""

    def __init__(self, method: str, target: str) -> None:
        super().__init__(
            f"status mode is read-only: refused {method.upper()} {redact(target)} before sending it",
            "status never changes anything; make changes outside status mode (`gfwizard deploy`, kubectl)",
        )
        self.method = method.upper()
        self.target = target


class ReadError(CheckFailure):
    """A read failed: ``kind`` says how (``forbidden`` and ``unauthorized`` carry the HTTP status)."""

    def __init__(self, kind: ReadErrorKind, message: str, remedy: str, status: int | None = None) -> None:
        super().__init__(redact(message), redact(remedy))
        self.kind: ReadErrorKind = kind
        self.status = status


def path_of(url: str) -> str:
    """The path of ``url``."""
    return urlsplit(url).path


class _Guard:
    """Decides whether a Kubernetes request may be sent."""

    def __init__(self, host: str) -> None:
        base = urlsplit(host).path.rstrip("/")
        self._ssar = base + SSAR_PATH

    def check(self, method: str, url: str) -> None:
        verb = str(method).upper()
        if verb == "GET":
            return
        if verb == "POST" and path_of(url).rstrip("/") == self._ssar:
            return
        raise ReadOnlyViolation(verb, path_of(url) or url)


class _GuardedPool:
    """A urllib3 pool manager that refuses every method the guard refuses."""

    def __init__(self, inner: Any, guard: _Guard) -> None:
        self._inner = inner
        self._guard = guard

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._guard.check(method, url)
        return self._inner.request(method, url, *args, **kwargs)

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._guard.check(method, url)
        return self._inner.urlopen(method, url, *args, **kwargs)

    def clear(self) -> None:
        self._inner.clear()

    def __getattr__(self, name: str) -> Any:
        if name in ("request_encode_url", "request_encode_body", "connection_from_url", "connection_from_host",
                    "connection_from_context", "connection_from_pool_key"):
            # Lower-level entry points would bypass the method check: not available here.
            raise AttributeError(f"{name} is not available on the read-only client")
        return getattr(self._inner, name)


class _GuardedRest:
    """The ApiClient's REST layer, refusing every method the guard refuses."""

    def __init__(self, inner: Any, guard: _Guard) -> None:
        self._inner = inner
        self._guard = guard
        self.pool_manager = _GuardedPool(inner.pool_manager, guard)
        inner.pool_manager = self.pool_manager
        self.configuration = inner.configuration

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._guard.check(method, url)
        return self._inner.request(method, url, *args, **kwargs)

    def close(self) -> None:
        self._inner.close()


def _guarded_api_client_class() -> type:
    from kubernetes.client import ApiClient

    class GuardedApiClient(ApiClient):  # type: ignore[misc, valid-type]
        """An ApiClient whose every call passes the read-only guard first."""

        _gfw_guard: _Guard

        def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            self._gfw_guard.check(method, url)
            return super().call_api(method, url, *args, **kwargs)

    return GuardedApiClient


class ReadOnlyKube:
    """The Kubernetes API for status mode: GET (and SelfSubjectAccessReview) only, explicit timeouts.

    ``api_client`` is a ``kubernetes.client.ApiClient`` (built with ``persist_config=False``); its
    configuration and transport are reused behind the guard. ``timeouts`` is ``(connect, read)``.
    """

    def __init__(self, api_client: Any, timeouts: tuple[float, float] = (3.0, 10.0)) -> None:
        guard = _Guard(api_client.configuration.host)
        cls = _guarded_api_client_class()
        guarded = cls(configuration=api_client.configuration)
        guarded.rest_client.close()  # the freshly built pool is never used: the given transport is
        guarded._gfw_guard = guard
        guarded.rest_client = _GuardedRest(api_client.rest_client, guard)
        guarded.default_headers = dict(api_client.default_headers)
        self._api = guarded
        self.timeouts = (float(timeouts[0]), float(timeouts[1]))
        self.server = str(api_client.configuration.host)
        self._streams: set[Any] = set()
        self._streams_lock = threading.Lock()
        #: SHA-256 of the kubeconfig's CA certificate (the fingerprint's second half), when known.
        self.ca_sha256: str | None = None
        #: The server the kubeconfig context names.
        self.context_server: str = self.server
        #: What was skipped reading the kubeconfig list (files that are empty), "" when nothing was.
        self.kubeconfig_note: str = ""

    @classmethod
    def for_config(cls, cfg: "OrgConfig", *, environ: Mapping[str, str] | None = None,
                   timeouts: tuple[float, float] = (3.0, 10.0), pool_size: int = 16) -> "ReadOnlyKube":
        """A read-only client for ``cfg``'s kubeconfig (``cluster.kubeconfig``, else ``$KUBECONFIG``) and context.

        Reads the kubeconfig (never writes it) through :class:`gfwizard.cluster_client.ClusterClient`
        and builds a private client with a pool big enough for the watches.
        Raises :class:`gfwizard.cluster_errors.ClusterAccessError` when the context cannot be used.
        """
        from kubernetes.client import ApiClient

        from gfwizard.cluster_client import ClusterClient
        from gfwizard.cluster_kubeconfig import CONFIG_ORIGIN

        shared = ClusterClient.for_context(cfg.cluster.kubeconfig or None, cfg.cluster.context, timeouts, environ,
                                           CONFIG_ORIGIN)
        conf = copy.deepcopy(shared.api_client.configuration)
        conf.connection_pool_maxsize = pool_size
        conf.retries = 0
        ro = cls(ApiClient(configuration=conf), timeouts)
        ro.ca_sha256 = shared.target.ca_sha256
        ro.context_server = shared.target.server
        ro.kubeconfig_note = shared.target.empty_note()[0]
        return ro

    @property
    def api_client(self) -> Any:
        """The guarded ApiClient (safe to hand to generated API classes: writes raise before I/O)."""
        return self._api

    # ------------------------------------------------------------------ requests
    def _call(self, method: str, path: str, query: Mapping[str, Any] | None,
              timeout: float | tuple[float, float] | None,
              body: Any = None) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        params = [(k, v) for k, v in (query or {}).items() if v is not None and v != ""]
        request = self._api.param_serialize(method=method, resource_path=path, query_params=params,
                                            header_params={"Accept": "application/json",
                                                           **({"Content-Type": "application/json"} if body else {})},
                                            body=body, auth_settings=["BearerToken"])
        started = time.monotonic()
        try:
            resp = self._api.call_api(*request, _request_timeout=timeout or self.timeouts)
        except ApiException as exc:  # raised by the REST layer for some statuses
            raise self._status_error(exc.status or 0, path, str(exc.body or exc.reason or "")) from None
        except urllib3.exceptions.HTTPError as exc:
            raise self._transport_error(exc, path, time.monotonic() - started) from None
        if not 200 <= resp.status <= 299:
            raw = resp.response
            try:
                text = raw.data.decode("utf-8", "replace") if raw is not None else ""
            finally:
                raw.release_conn()
            raise self._status_error(resp.status, path, text)
        return resp.response

    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """Send one request (JSON answer). Anything but GET (and a SelfSubjectAccessReview POST) raises
        :class:`ReadOnlyViolation` before it is sent."""
        raw = self._call(method, path, query, None, body)
        try:
            return json.loads(raw.data or b"null")
        finally:
            raw.release_conn()

    def get_json(self, path: str, query: Mapping[str, Any] | None = None,
                 timeout: float | tuple[float, float] | None = None) -> Any:
        """``GET path`` with ``_preload_content=False`` semantics: the raw body is parsed here, once.
        ``timeout``: (connect, read) seconds, or one number for connect and response headers in all."""
        raw = self._call("GET", path, query, timeout)
        try:
            return json.loads(raw.data or b"null")
        finally:
            raw.release_conn()

    def get_text(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        """``GET path`` returning the body as text (pod logs)."""
        raw = self._call("GET", path, query, None)
        try:
            return (raw.data or b"").decode("utf-8", "replace")
        finally:
            raw.release_conn()

    def open_stream(self, path: str, query: Mapping[str, Any] | None = None,
                    read_timeout: float = 60.0) -> "LineStream":
        """``GET path`` and return its body as a :class:`LineStream` (watches, followed logs).

        The request is sent (and its status checked) here; lines are read as they arrive.
        """
        raw = self._call("GET", path, query, (self.timeouts[0], read_timeout))
        stream = LineStream(self, raw, path)
        with self._streams_lock:
            self._streams.add(stream)
        return stream

    def _forget(self, stream: "LineStream") -> None:
        with self._streams_lock:
            self._streams.discard(stream)

    def close_streams(self) -> None:
        """Close every open stream (watches, logs): their readers end with :class:`ReadError`."""
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()

    def close(self) -> None:
        """Close the streams and the connection pool."""
        self.close_streams()
        self._api.rest_client.close()

    def access_review(self, verb: str, resource: str, group: str = "", subresource: str = "",
                      namespace: str = "") -> bool:
        """SelfSubjectAccessReview: may this user ``verb`` ``resource``? (The one allowed POST.)"""
        attrs: dict[str, str] = {"verb": verb, "resource": resource, "group": group}
        if subresource:
            attrs["subresource"] = subresource
        if namespace:
            attrs["namespace"] = namespace
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}
        answer = self.request("POST", SSAR_PATH, body=body)
        return bool((answer or {}).get("status", {}).get("allowed"))

    # -------------------------------------------------------------------- errors
    def _status_error(self, status: int, path: str, body: str) -> ReadError:
        message = body
        try:
            message = str(json.loads(body).get("message") or body)
        except (ValueError, AttributeError):
            pass
        message = message.strip()[:300]
        if status == 401:
            return ReadError("unauthorized", f"401 Unauthorized for GET {path}",
                             "the kubeconfig's credentials expired or are wrong: get a fresh kubeconfig for honey",
                             status)
        if status == 403:
            return ReadError("forbidden", f"403 Forbidden: {message}",
                             "status needs get/list/watch; ask honey's admin for a read-only role", status)
        if status == 404:
            return ReadError("not-found", f"404 Not Found: GET {path}", "the object or API is not there", status)
        if status == 410:
            return ReadError("gone", f"410 Gone: {message}", "re-listing", status)
        return ReadError("api", f"API error {status} for GET {path}: {message}",
                         "retrying with backoff; if it persists, check honey's API server", status)

    def _transport_error(self, exc: Exception, path: str, elapsed: float) -> ReadError:
        import urllib3

        from gfwizard.cluster_network import reach_hint

        reason = getattr(exc, "reason", None) or exc
        # Order matters: NewConnectionError (refused, DNS) subclasses ConnectTimeoutError in urllib3 2.
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            why = "connection refused" if "refused" in str(reason).lower() else str(reason).split(": ", 1)[-1]
            return ReadError("unreachable", f"cannot reach {self.server}: {why}",
                             f"check that honey's API is up and reachable from here ({reach_hint(self.server)})")
        if isinstance(reason, (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError,
                               TimeoutError)) or isinstance(exc, urllib3.exceptions.TimeoutError):
            return ReadError("timeout", f"{self.server} did not answer GET {path} in time ({elapsed:.1f}s)",
                             f"check the network path to honey ({reach_hint(self.server)}) and the API server's "
                             "health")
        return ReadError("unreachable", f"cannot reach {self.server}: {type(reason).__name__}: {reason}",
                         f"check that honey's API is up and reachable from here ({reach_hint(self.server)})")


class LineStream:
    """An open streaming GET: iterate for lines (bytes, without the newline); :meth:`close` from any
    thread ends the iteration with :class:`ReadError` (kind ``unreachable``)."""

    def __init__(self, owner: ReadOnlyKube, raw: Any, path: str) -> None:
        self._owner = owner
        self._raw = raw
        self.path = path
        self.closed = False
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        import urllib3

        buffer = b""
        started = time.monotonic()
        try:
            for chunk in self._raw.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield line
            if buffer.strip():
                yield buffer
            self._finished = True
        except urllib3.exceptions.HTTPError as exc:
            if self.closed:
                raise ReadError("unreachable", f"stream {self.path} closed", "reopened automatically") from None
            raise self._owner._transport_error(exc, self.path, time.monotonic() - started) from None
        except (OSError, ValueError, AttributeError) as exc:
            # A stream closed from another thread while blocked in read.
            raise ReadError("unreachable", f"stream {self.path} ended: {type(exc).__name__}",
                            "reopened automatically") from None
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection (idempotent, any thread)."""
        if self.closed:
            return
        self.closed = True
        self._owner._forget(self)
        # A fully read body leaves a reusable connection; a stream cut short must not go back to the pool.
        methods = ("release_conn",) if self._finished else ("shutdown", "close")
        for method in methods:
            try:
                getattr(self._raw, method)()
            except Exception:  # noqa: BLE001 - already closed or never opened
                pass

    def __enter__(self) -> "LineStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LineStream", "ReadError", "ReadErrorKind", "ReadOnlyKube", "ReadOnlyViolation", "SSAR_PATH", "path_of"]
