"""HTTP side of the rehearsal API server: TLS connections, routing, auth, reads and writes.

One thread per connection (HTTP/1.1 keep-alive). Order of work per request: injected latency,
injected faults, bearer-token authentication (401), routing (404), RBAC (403), then the verb.
Every response is recorded in the request log when its status line is sent, so a long watch or
``logs -f`` shows up while it is still running. Watches and followed logs live in
:mod:`k8s_streams`.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from gfwizard.rehearsal import k8s_kinds as kinds
from gfwizard.rehearsal import k8s_proto as proto
from gfwizard.rehearsal.k8s_app import JSON, App, Disconnected, Target, parse_resource_path
from gfwizard.rehearsal.k8s_kinds import Kind
from gfwizard.rehearsal.k8s_rbac import Attributes, allows, forbidden_message, rules_review
from gfwizard.rehearsal.k8s_rest import ApiError, bad_request, status_body
from gfwizard.rehearsal.k8s_select import (
    SelectorError,
    field_predicate,
    parse_field_selector,
    parse_label_selector,
)
from gfwizard.rehearsal.k8s_store import BadContinue, Expired, dumps
from gfwizard.rehearsal.k8s_streams import StreamsMixin, socket_readable
from gfwizard.rehearsal.k8s_tables import table, wants_table

__all__ = ["APIHTTPServer", "Handler"]

TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
_DISCOVERY_PREFIXES = ("/api", "/apis", "/version", "/healthz", "/livez", "/readyz", "/openapi")
_MAX_BODY = 16 * 1024 * 1024


class Handler(StreamsMixin, BaseHTTPRequestHandler):
    """One connection's requests."""

    protocol_version = "HTTP/1.1"
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 300
    server: "APIHTTPServer"

    # ------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the stdlib's stderr line: the request log records every request."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Status line and Date only: the API server sends no ``Server`` header."""
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (malformed request line, unsupported method) as a Status, logged."""
        reason = {400: "BadRequest", 405: "MethodNotAllowed", 414: "RequestURITooLong",
                  431: "RequestHeaderFieldsTooLarge", 501: "MethodNotAllowed"}.get(code, "")
        if code == 501:
            code = 405
        # The stdlib calls this before _dispatch ever ran for the request: describe it afresh.
        split = urlsplit(getattr(self, "path", "") or "")
        self._started, self._path, self._query, self._user = time.time(), split.path, split.query, None
        self.close_connection = True
        body = dumps(status_body(code, reason, message or explain or "bad request"))
        try:
            self._head(code, JSON, len(body), {"Connection": "close"})
            if getattr(self, "command", "") != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass

    @property
    def app(self) -> App:
        return self.server.app

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
        return self.rfile.read(length) if length else b""

    def _head(self, code: int, content_type: str, length: int | None, extra: dict[str, str] | None = None) -> None:
        """Record the request in the log, then send the status line and headers."""
        # Recorded before the answer leaves: a client returns once it has the headers (urllib's urlopen does), and
        # whoever got an answer must find its request in the log (a test that clears the log next would otherwise
        # see this request arrive in its own).
        self._logged = True
        self.app.request_log.record(self._started, self.command or "", self._path, self._query, self._user, code)
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", content_type)
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, code: int, body: bytes, content_type: str = JSON, extra: dict[str, str] | None = None) -> None:
        self._head(code, content_type, len(body), extra)
        self.wfile.write(body)

    def _send_obj(self, code: int, obj: Any, content_type: str = JSON) -> None:
        self._send(code, dumps(obj), content_type)

    def _send_error(self, err: ApiError) -> None:
        extra = {"Retry-After": "1"} if err.code in (429, 503) else None
        self._send(err.code, dumps(err.status()), JSON, extra)

    # ------------------------------------------------------------ dispatch
    def _dispatch(self) -> None:
        self._started = time.time()
        split = urlsplit(self.path)
        self._path, self._query = split.path, split.query
        self._user: str | None = None
        self._logged = False
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
            faults = self.app.faults
            if faults.blackholed:
                while faults.blackholed and not self.app.stopping.is_set():
                    faults.wait_until_reachable(0.2)
                if self._client_gone():  # it gave up while the path was dark: nothing to answer
                    self.close_connection = True
                    return
            latency = faults.latency
            if latency > 0:
                time.sleep(latency)
            injected = faults.take(self._path, self.command or "GET")
            if injected is not None:
                self._injected(injected, query)
                return
            self._user = self._authenticate()
            self._route(query, body)
        except ApiError as err:
            if not self._logged:
                self._send_error(err)
        except Disconnected:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a bug here must still answer like an API server, not hang the client
            if not self._logged:
                message = f"Internal error occurred: {type(exc).__name__}: {exc}"
                self._send_error(ApiError(500, "InternalError", message))
            else:
                self.close_connection = True

    def _injected(self, code: int, query: dict[str, str]) -> None:
        reason, message = {
            401: ("Unauthorized", "Unauthorized"),
            403: ("Forbidden", "forbidden: injected by the rehearsal fault knob"),
            404: ("NotFound", "the server could not find the requested resource"),
            409: ("Conflict", "Operation cannot be fulfilled: injected conflict"),
            410: ("Expired", "too old resource version: injected by the rehearsal fault knob"),
            429: ("TooManyRequests", "Too many requests, please try again later."),
            500: ("InternalError", "Internal error occurred: injected by the rehearsal fault knob"),
            503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504: ("Timeout", "the server was unable to return a response in the time allotted"),
        }.get(code, ("", f"injected HTTP {code}"))
        if code == 410 and query.get("watch") in ("true", "1"):
            # A real server reports an expired watch inside the stream, not as the HTTP status.
            self._head(200, JSON, None)
            self._chunk(dumps({"type": "ERROR", "object": status_body(410, reason, message)}) + b"\n")
            self._end_chunks()
            return
        self._send_error(ApiError(code, reason, message))

    def _authenticate(self) -> str:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = self.app.users.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return user

    def _authorize(self, attrs: Attributes) -> None:
        rules = self.app.policies.get(self._user or "", [])
        if not allows(rules, attrs):
            details: dict[str, Any] = {}
            if attrs.name:
                details["name"] = attrs.name
            if attrs.group:
                details["group"] = attrs.group
            if attrs.resource:
                details["kind"] = attrs.resource
            raise ApiError(403, "Forbidden", forbidden_message(self._user or "system:anonymous", attrs), details)

    # --------------------------------------------------------------- routes
    def _route(self, query: dict[str, str], body: bytes) -> None:
        path = self._path.rstrip("/") or "/"
        if self.command == "GET" and self._non_resource(path):
            return
        parsed = parse_resource_path(path)
        if parsed is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        group, version, namespace, plural, name, sub = parsed
        kind = kinds.lookup(group, version, plural)
        if kind is None or (namespace and not kind.namespaced) or (sub and sub not in kind.subresources):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if kind.group == "authorization.k8s.io":
            if self.command != "POST" or name:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                        "resource")
            self._review(kind, body)
            return
        target = Target(kind, namespace, name, sub)
        watch = query.get("watch") in ("true", "1")
        verb = self._verb(target, watch)
        self._authorize(Attributes(verb=verb, group=kind.group, resource=kind.plural, subresource=sub, name=name,
                                   namespace=namespace))
        handler: Callable[[Target, dict[str, str], bytes], None] = getattr(self, f"_do_{verb}")
        handler(target, query, body)

    def _verb(self, target: Target, watch: bool) -> str:
        method = self.command
        if method == "GET":
            return "watch" if watch else ("get" if target.name else "list")
        if method == "POST" and not target.name:
            return "create"
        if method == "PUT" and target.name:
            return "update"
        if method == "PATCH" and target.name:
            return "patch"
        if method == "DELETE":
            return "delete" if target.name else "deletecollection"
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _non_resource(self, path: str) -> bool:
        """Serve discovery and health endpoints (allowed to every authenticated user)."""
        if not path.startswith(_DISCOVERY_PREFIXES) and path != "/":
            return False
        doc: Any = None
        if path == "/":
            doc = {"paths": ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1",
                             "/apis/authorization.k8s.io", "/apis/authorization.k8s.io/v1", "/healthz",
                             "/livez", "/readyz", "/version"]}
        elif path == "/version":
            doc = kinds.KUBE_VERSION
        elif path in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return True
        elif path == "/api":
            doc = kinds.api_versions(self.app.server_address)
        elif path == "/apis":
            doc = kinds.api_group_list()
        elif path == "/openapi/v3":
            doc = kinds.openapi_v3_index()
        elif path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].split("/")
            if parts[0] == "api" and len(parts) == 2:
                doc = kinds.openapi_v3("", parts[1])
            elif parts[0] == "apis" and len(parts) == 3:
                doc = kinds.openapi_v3(parts[1], parts[2])
        elif path.startswith("/openapi"):
            doc = None
        else:
            parts = path.strip("/").split("/")
            if parts[0] == "api" and len(parts) == 2:
                doc = kinds.resource_list("", parts[1])
            elif parts[0] == "apis" and len(parts) == 2 and parts[1] in kinds.GROUPS:
                doc = kinds.api_group(parts[1])
            elif parts[0] == "apis" and len(parts) == 3:
                doc = kinds.resource_list(parts[1], parts[2])
            elif (parts[0] == "api" and len(parts) > 2) or (parts[0] == "apis" and len(parts) > 3):
                return False
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self._send_obj(200, doc)
        return True

    # ---------------------------------------------------------------- reads
    def _selectors(self, target: Target, query: dict[str, str]) -> tuple[Callable[[dict[str, Any]], bool] | None,
                                                                        str | None]:
        try:
            labels = parse_label_selector(query.get("labelSelector"))
            terms = parse_field_selector(query.get("fieldSelector"), target.kind.plural)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        node_name = next((t.value for t in terms if t.path == "spec.nodeName" and t.equal), None) \
            if target.kind.plural == "pods" else None
        fields = field_predicate(terms)
        if labels and fields:
            return (lambda obj: labels(obj) and fields(obj)), node_name
        return labels or fields, node_name

    def _do_list(self, target: Target, query: dict[str, str], _body: bytes) -> None:
        kind = target.kind
        predicate, node_name = self._selectors(target, query)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise bad_request(f"invalid limit: {query.get('limit')!r}") from None
        try:
            page = self.app.store.list(kind.plural, namespace=target.namespace or None, predicate=predicate,
                                       limit=limit, continue_token=query.get("continue", ""),
                                       namespaced=kind.namespaced, node_name=node_name)
        except BadContinue as exc:
            raise bad_request(str(exc)) from None
        except Expired as exc:
            raise ApiError(410, "Expired", str(exc)) from None
        accept = self.headers.get("Accept", "")
        if wants_table(accept):
            doc = table(kind.plural, (s.obj for s in page.items), resource_version=str(page.rv),
                        continue_token=page.continue_token, remaining=page.remaining,
                        include_object=query.get("includeObject", "Metadata"))
            if doc is not None:
                self._send_obj(200, doc, TABLE_CT)
                return
        meta: dict[str, Any] = {"resourceVersion": str(page.rv)}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
        head = dumps({"kind": kind.list_kind, "apiVersion": kind.api_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(s.raw for s in page.items) + b"]}"
        self._send(200, body)

    def _do_get(self, target: Target, query: dict[str, str], _body: bytes) -> None:
        kind, ns, name = target.kind, target.namespace, target.name
        if target.subresource == "log":
            self._logs(target, query)
            return
        if target.subresource == "scale":
            self._send_obj(200, self.app.rest.get(kind, ns, name, "scale"))
            return
        accept = self.headers.get("Accept", "")
        if wants_table(accept):
            obj = self.app.rest.get(kind, ns, name)
            doc = table(kind.plural, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                        include_object=query.get("includeObject", "Metadata"))
            if doc is not None:
                self._send_obj(200, doc, TABLE_CT)
                return
        self._send(200, self.app.rest.get_raw(kind, ns, name))

    # ---------------------------------------------------------------- writes
    def _decode(self, body: bytes) -> Any:
        content_type = self.headers.get("Content-Type", JSON).split(";", 1)[0].strip().lower()
        if content_type == "application/vnd.kubernetes.protobuf":
            try:
                return proto.decode(body)
            except proto.ProtobufError as exc:
                raise ApiError(415, "UnsupportedMediaType", f"{exc}; send application/json instead "
                                                             "(kubectl apply -f / create -f do)") from None
        try:
            if content_type in ("application/yaml", "application/x-yaml", "text/yaml"):
                import yaml

                return yaml.safe_load(body.decode() or "null")
            return json.loads(body or b"null")
        except Exception as exc:  # json/yaml decoding errors of any kind are the client's bad body
            raise bad_request(f"the body of the request was in an unknown format: {exc}") from None

    def _dry_run(self, query: dict[str, str]) -> bool:
        dry = query.get("dryRun", "")
        if dry and dry != "All":
            raise bad_request(f"unsupported dryRun value {dry!r} (only All)")
        return dry == "All"

    def _do_create(self, target: Target, query: dict[str, str], body: bytes) -> None:
        if target.subresource:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        obj = self.app.rest.create(target.kind, target.namespace, self._decode(body), dry_run=self._dry_run(query))
        self._send_obj(201, obj)

    def _do_update(self, target: Target, query: dict[str, str], body: bytes) -> None:
        obj = self.app.rest.replace(target.kind, target.namespace, target.name, self._decode(body),
                                    subresource=target.subresource, dry_run=self._dry_run(query))
        self._send_obj(200, obj)

    def _do_patch(self, target: Target, query: dict[str, str], body: bytes) -> None:
        obj, created = self.app.rest.patch(
            target.kind, target.namespace, target.name, body, self.headers.get("Content-Type", ""),
            subresource=target.subresource, dry_run=self._dry_run(query), field_manager=query.get("fieldManager", ""))
        self._send_obj(201 if created else 200, obj)

    def _do_delete(self, target: Target, query: dict[str, str], body: bytes) -> None:
        options = self._decode(body) if body else None
        self._send_obj(200, self.app.rest.delete(target.kind, target.namespace, target.name, options,
                                                 dry_run=self._dry_run(query)))

    def _do_deletecollection(self, target: Target, query: dict[str, str], body: bytes) -> None:
        predicate, node_name = self._selectors(target, query)
        page = self.app.store.list(target.kind.plural, namespace=target.namespace or None, predicate=predicate,
                                   node_name=node_name)
        dry_run = self._dry_run(query)
        for item in page.items:
            meta = item.obj["metadata"]
            try:
                self.app.rest.delete(target.kind, meta.get("namespace", ""), meta["name"], dry_run=dry_run)
            except ApiError as err:
                if err.code != 404:
                    raise
        self._send_obj(200, status_body(200, "", "", status="Success"))

    # --------------------------------------------------------------- reviews
    def _review(self, kind: Kind, body: bytes) -> None:
        review = self._decode(body)
        if not isinstance(review, dict) or not isinstance(review.get("spec"), dict):
            raise bad_request(f"{kind.kind} must have a spec")
        spec = review["spec"]
        rules = self.app.policies.get(self._user or "", [])
        out = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": {"creationTimestamp": None},
               "spec": spec}
        if kind.plural == "selfsubjectrulesreviews":
            out["status"] = rules_review(rules, str(spec.get("namespace") or ""))
            self._send_obj(201, out)
            return
        res, non_res = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if isinstance(res, dict):
            attrs = Attributes(verb=str(res.get("verb") or ""), group=str(res.get("group") or ""),
                               resource=str(res.get("resource") or ""), subresource=str(res.get("subresource") or ""),
                               name=str(res.get("name") or ""), namespace=str(res.get("namespace") or ""))
            if not attrs.resource:
                raise ApiError(422, "Invalid", f'{kind.kind}.authorization.k8s.io "" is invalid: '
                                               "spec.resourceAttributes.resource: Required value")
        elif isinstance(non_res, dict):
            attrs = Attributes(verb=str(non_res.get("verb") or ""), path=str(non_res.get("path") or ""))
        else:
            raise ApiError(422, "Invalid", f'{kind.kind}.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                                           "Invalid value: exactly one of nonResourceAttributes or "
                                           "resourceAttributes must be specified")
        allowed = allows(rules, attrs)
        status: dict[str, Any] = {"allowed": allowed}
        if allowed:
            status["reason"] = (f'RBAC: allowed by ClusterRoleBinding "gfw-rehearsal-{self._user}" of ClusterRole '
                                f'"gfw-rehearsal-{self._user}" to User "{self._user}"')
        out["status"] = status
        self._send_obj(201, out)


class APIHTTPServer(ThreadingHTTPServer):
    """Threaded HTTPS server that performs the TLS handshake in the connection's own thread.

    In blackhole mode a new connection is accepted and then left hanging: the handshake never
    starts, so a client's connect succeeds and its TLS/read timeout is what fails.
    """

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext,
                 blackholed: Callable[[], bool]) -> None:
        self.app = app
        self._context = context
        self._blackholed = blackholed
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Handshake (or hang, in blackhole mode) and serve one connection."""
        with self._conns_lock:
            self._conns.add(request)
        conn: socket.socket = request
        try:
            if self._blackholed():
                self._hang(request)
                return
            request.settimeout(10)
            # Headers and body go out as separate TLS records; without NODELAY the second waits
            # for a delayed ACK (~40 ms per response).
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = self._context.wrap_socket(request, server_side=True)
            with self._conns_lock:
                self._conns.add(conn)
            conn.settimeout(Handler.timeout)
            self.finish_request(conn, client_address)
        except (OSError, ssl.SSLError):
            pass
        except Exception:  # noqa: BLE001 - never let one connection kill the server
            self.handle_error(conn, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(request)
                self._conns.discard(conn)
            self.shutdown_request(conn)

    def _hang(self, sock: socket.socket) -> None:
        """Read and drop whatever arrives until the peer gives up or the server stops."""
        while not self.app.stopping.is_set():
            if socket_readable(sock, 0.2):
                try:
                    if not sock.recv(4096):
                        return
                except OSError:
                    return

    def close_connections(self) -> None:
        """Abort every open connection (used on stop so streams and keep-alives end at once)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
