"""A GitLab-compatible Terraform HTTP state server on 127.0.0.1, for rehearsing the transitional
HTTP backend and the HTTP → S3 migration with real ``terraform``/``tofu``.

The URL shape and the protocol are GitLab's managed Terraform state API:

* ``GET  /api/v4/projects/<id>/terraform/state/<name>`` — the latest state (200), or 204 when none;
* ``POST /api/v4/projects/<id>/terraform/state/<name>[?ID=<lock id>]`` — store a new state version.
  While the state is locked, a POST must carry the holder's lock ID, otherwise 423 with the lock info;
* ``DELETE /api/v4/projects/<id>/terraform/state/<name>`` — delete the state (refused while locked);
* ``POST /api/v4/projects/<id>/terraform/state/<name>/lock`` — take the lock; the body is terraform's
  lock info JSON. 200 when taken, 409 with the *current* lock info when someone else holds it;
* ``DELETE /api/v4/projects/<id>/terraform/state/<name>/lock`` — release it (the body's ``ID`` must
  match, 409 with the current lock info otherwise; an empty body force-unlocks, as GitLab does).

Terraform's own http backend defaults (``LOCK`` / ``UNLOCK`` methods on the state address) are
accepted too, so a backend block without ``lock_method``/``unlock_method`` also works. Every request
needs HTTP basic auth with the server's username and password (401 otherwise). State versions are
kept in memory; every request is logged (time, method, path, user, status) — never the password.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from gfwizard.redact import register_secret
from gfwizard.rehearsal.serving import serve_in_thread, stop_serving

#: The GitLab project id used in rehearsal addresses.
DEFAULT_PROJECT_ID = 1
_PREFIX = "/api/v4/projects/"
_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class StateVersion:
    """One stored state version."""

    serial: int | None
    lineage: str | None
    data: bytes
    time: float


@dataclass(frozen=True)
class HttpStateRequest:
    """One request the server answered."""

    time: float
    method: str
    path: str
    user: str | None
    status: int


@dataclass
class _Entry:
    versions: list[StateVersion] = field(default_factory=list)
    lock: dict[str, Any] | None = None


class HttpStateLog:
    """Thread-safe request log, mirrored as JSON lines to a file when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: list[HttpStateRequest] = []
        self.path = path

    def record(self, entry: HttpStateRequest) -> None:
        """Append ``entry`` (and write it to the file, if any)."""
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(entry), sort_keys=True) + "\n")

    def entries(self) -> list[dict[str, Any]]:
        """Every request since the last :meth:`clear`, oldest first."""
        with self._lock:
            return [asdict(e) for e in self._entries]

    def clear(self) -> None:
        """Forget the in-memory entries."""
        with self._lock:
            self._entries.clear()


class HttpStateServer:
    """GitLab-compatible Terraform HTTP state server on ``127.0.0.1:<random port>``.

    ``address_for(stack, env)`` is the state address of a stack in an environment (state name
    ``<stack>-<env>``); the lock and unlock addresses are ``<address>/lock`` with methods
    ``POST`` / ``DELETE``, exactly as GitLab documents for its managed state.
    """

    lock_method = "POST"
    unlock_method = "DELETE"

    def __init__(self, username: str = "rehearsal", password: str | None = None, *,
                 project_id: int = DEFAULT_PROJECT_ID, host: str = "127.0.0.1",
                 log_path: Path | None = None) -> None:
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(24)
        self.project_id = project_id
        self.host = host
        self.port = 0
        self.request_log = HttpStateLog(log_path)
        self._states: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        register_secret(self.password)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after :meth:`start`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def address_template(self) -> str:
        """The state address with ``{stack}`` and ``{env}`` placeholders (for ``state.http.address``)."""
        return f"{self.url}{_PREFIX}{self.project_id}/terraform/state/{{stack}}-{{env}}"

    def address_for(self, stack: str, env: str) -> str:
        """The state address of ``stack`` in ``env``."""
        return self.address_template.format(stack=stack, env=env)

    def lock_address_for(self, stack: str, env: str) -> str:
        """The lock address (``POST``) of ``stack`` in ``env``."""
        return self.address_for(stack, env) + "/lock"

    def unlock_address_for(self, stack: str, env: str) -> str:
        """The unlock address (``DELETE``) of ``stack`` in ``env``."""
        return self.address_for(stack, env) + "/lock"

    # -- inspection (tests and the rehearsal UI) --------------------------------------------

    def state_names(self) -> list[str]:
        """Names of every state that has at least one version."""
        with self._lock:
            return sorted(n for n, e in self._states.items() if e.versions)

    def versions(self, stack: str, env: str) -> list[StateVersion]:
        """Every stored version of ``stack``/``env``'s state, oldest first."""
        with self._lock:
            entry = self._states.get(f"{stack}-{env}")
            return list(entry.versions) if entry else []

    def current_state(self, stack: str, env: str) -> bytes | None:
        """The latest state of ``stack``/``env``, or None."""
        versions = self.versions(stack, env)
        return versions[-1].data if versions else None

    def lock_info(self, stack: str, env: str) -> dict[str, Any] | None:
        """The lock info JSON of ``stack``/``env`` while it is locked, else None."""
        with self._lock:
            entry = self._states.get(f"{stack}-{env}")
            return dict(entry.lock) if entry and entry.lock else None

    def put_state(self, stack: str, env: str, data: bytes) -> None:
        """Store a state version directly (seeding a test; bypasses locks)."""
        with self._lock:
            self._states.setdefault(f"{stack}-{env}", _Entry()).versions.append(_version(data))

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "HttpStateServer":
        """Bind a free port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self.host, 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = serve_in_thread(server, f"rehearsal-httpstate-{self.port}")
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            stop_serving(server, thread)

    def __enter__(self) -> "HttpStateServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (called from handler threads) --------------------------------------

    def _authorised(self, header: str | None) -> str | None:
        """The user name when ``header`` carries the right basic credentials, else None."""
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        ok_user = hmac.compare_digest(user.encode(), self.username.encode())
        ok_pass = hmac.compare_digest(password.encode(), self.password.encode())
        return user if ok_user and ok_pass else None

    def _handle(self, method: str, name: str, is_lock: bool, query: dict[str, list[str]],
                body: bytes) -> tuple[int, bytes]:
        with self._lock:
            entry = self._states.setdefault(name, _Entry())
            if is_lock or method in ("LOCK", "UNLOCK"):
                if method in ("POST", "LOCK"):
                    return _take_lock(entry, body)
                if method in ("DELETE", "UNLOCK"):
                    return _release_lock(entry, body)
                return HTTPStatus.METHOD_NOT_ALLOWED, b""
            if method == "GET":
                if not entry.versions:
                    return HTTPStatus.NO_CONTENT, b""
                return HTTPStatus.OK, entry.versions[-1].data
            if method == "POST":
                lock_id = (query.get("ID") or [""])[0]
                if entry.lock is not None and entry.lock.get("ID") != lock_id:
                    return HTTPStatus.LOCKED, _lock_json(entry.lock)
                try:
                    json.loads(body or b"null")
                except ValueError:
                    return HTTPStatus.BAD_REQUEST, b'{"message":"state is not JSON"}'
                entry.versions.append(_version(body))
                return HTTPStatus.OK, b""
            if method == "DELETE":
                if entry.lock is not None:
                    return HTTPStatus.LOCKED, _lock_json(entry.lock)
                entry.versions.clear()
                return HTTPStatus.OK, b""
            return HTTPStatus.METHOD_NOT_ALLOWED, b""


def _version(data: bytes) -> StateVersion:
    serial: int | None = None
    lineage: str | None = None
    try:
        doc = json.loads(data)
        if isinstance(doc, dict):
            serial = doc.get("serial") if isinstance(doc.get("serial"), int) else None
            lineage = doc.get("lineage") if isinstance(doc.get("lineage"), str) else None
    except ValueError:
        pass
    return StateVersion(serial=serial, lineage=lineage, data=bytes(data), time=time.time())


def _lock_json(lock: dict[str, Any]) -> bytes:
    return json.dumps(lock).encode()


def _take_lock(entry: _Entry, body: bytes) -> tuple[int, bytes]:
    try:
        info = json.loads(body or b"{}")
    except ValueError:
        return HTTPStatus.BAD_REQUEST, b'{"message":"lock info is not JSON"}'
    if not isinstance(info, dict):
        return HTTPStatus.BAD_REQUEST, b'{"message":"lock info is not an object"}'
    if entry.lock is not None:
        # 409 with the holder's info: terraform shows "Lock Info: ID, Who, Operation, Created".
        return HTTPStatus.CONFLICT, _lock_json(entry.lock)
    entry.lock = info
    return HTTPStatus.OK, b""


def _release_lock(entry: _Entry, body: bytes) -> tuple[int, bytes]:
    if entry.lock is None:
        return HTTPStatus.OK, b""
    try:
        info = json.loads(body) if body.strip() else {}
    except ValueError:
        return HTTPStatus.BAD_REQUEST, b'{"message":"lock info is not JSON"}'
    wanted = info.get("ID") if isinstance(info, dict) else None
    if wanted and wanted != entry.lock.get("ID"):
        return HTTPStatus.CONFLICT, _lock_json(entry.lock)
    entry.lock = None
    return HTTPStatus.OK, b""


def _parse_path(path: str, project_id: int) -> tuple[str, bool] | None:
    """``(state name, is_lock_path)`` for a state API path of this project, else None."""
    base = f"{_PREFIX}{project_id}/terraform/state/"
    if not path.startswith(base):
        return None
    rest = unquote(path[len(base):])
    is_lock = rest.endswith("/lock")
    name = rest[: -len("/lock")] if is_lock else rest
    if not name or "/" in name:
        return None
    return name, is_lock


def _make_handler(server: HttpStateServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gfwizard-rehearsal-httpstate"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return None  # the request log replaces the stderr line

        def _serve(self) -> None:
            method = self.command.upper()
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"", None, close=True)
                return
            body = self.rfile.read(length) if length else b""
            user = server._authorised(self.headers.get("Authorization"))
            if user is None:
                self._reply(HTTPStatus.UNAUTHORIZED, b'{"message":"401 Unauthorized"}', None,
                            extra={"WWW-Authenticate": 'Basic realm="gfwizard rehearsal state"'})
                return
            parsed = _parse_path(split.path, server.project_id)
            if parsed is None:
                self._reply(HTTPStatus.NOT_FOUND, b'{"message":"404 Not Found"}', user)
                return
            name, is_lock = parsed
            status, payload = server._handle(method, name, is_lock, parse_qs(split.query), body)
            self._reply(status, payload, user)

        def _reply(self, status: int, payload: bytes, user: str | None, *,
                   extra: dict[str, str] | None = None, close: bool = False) -> None:
            # Recorded before the answer leaves: whoever got an answer finds its request in the log.
            server.request_log.record(HttpStateRequest(time=time.time(), method=self.command,
                                                       path=urlsplit(self.path).path, user=user,
                                                       status=int(status)))
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            if status != HTTPStatus.NO_CONTENT:
                self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if payload and status != HTTPStatus.NO_CONTENT:
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_LOCK = do_UNLOCK = _serve

    return Handler
