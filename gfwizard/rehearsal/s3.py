"""The rehearsal S3 endpoint: moto's S3 server on 127.0.0.1, standing in for RustFS on honey.

It is a real HTTP service spoken to by real clients (boto3, ``terraform``/``tofu``'s S3 backend).
Three things are added in front of moto by a thin WSGI middleware:

* **atomic conditional writes.** moto 5.2 answers ``PutObject`` with ``If-None-Match: *`` (and
  ``If-Match: <etag>``) correctly — 412 ``PreconditionFailed`` when the key exists — but it checks
  and writes in two steps while serving requests on several threads, so two racing lock writers
  could both win. The middleware serialises every conditional write, which makes the check-and-put
  atomic: exactly what the S3 backend's ``use_lockfile`` relies on;
* **a request log**: ``(time, method, path, status, conditional)`` per request, kept in memory and
  written as JSON lines to ``log_path`` (``$GFW_WORKSPACE/s3-requests.log`` in a rehearsal
  workspace). Query strings are not logged: presigned URLs carry credentials there.

* **the access key is checked.** moto alone accepts any credentials; a store on honey does not. A
  request signed with another access key id is answered 403 ``InvalidAccessKeyId`` and an unsigned
  one 403 ``AccessDenied``, as RustFS and S3 answer them, so a stale ``AWS_ACCESS_KEY_ID`` fails in
  rehearsal as it would for real. The signature itself is not verified (a wrong secret with the
  right key id still passes); moto's IAM mode (``INITIAL_NO_AUTH_ACTION_COUNT``, with
  ``accept_any_key=True`` here) does that, and the tests that need it use it.

moto keeps its buckets in process-wide memory, so every :class:`RehearsalS3` in one process sees
the same buckets. Tests isolate themselves with fresh bucket names (:func:`fresh_bucket_name`)
rather than resetting moto. Credentials are random per instance. moto is imported only when the
server starts.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qs

from gfwizard.errors import CheckFailure
from gfwizard.redact import register_secret
from gfwizard.rehearsal.serving import serve_in_thread, stop_serving

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

REGION = "us-east-1"
#: (connect, read) seconds for every client this module builds.
CLIENT_TIMEOUTS: tuple[float, float] = (3.0, 15.0)

_CONDITIONAL_HEADERS = (("HTTP_IF_NONE_MATCH", "If-None-Match"), ("HTTP_IF_MATCH", "If-Match"))
#: SigV4's ``Credential=<access key id>/<date>/...`` in an Authorization header.
_SIGV4_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_UNKNOWN_KEY = ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
_UNSIGNED = ("AccessDenied", "Access Denied")


@dataclass(frozen=True)
class S3Request:
    """One request the endpoint answered."""

    time: float
    method: str
    path: str
    status: int
    #: ``"If-None-Match: *"`` / ``"If-Match: <etag>"`` when the request was a conditional write.
    conditional: str | None = None


class S3RequestLog:
    """Thread-safe in-memory request log, mirrored as JSON lines to a file when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: list[S3Request] = []
        self.path = path

    def record(self, entry: S3Request) -> None:
        """Append ``entry`` (and write it to the file, if any)."""
        line = json.dumps(asdict(entry), sort_keys=True)
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")

    def entries(self) -> list[dict[str, Any]]:
        """Every request since the last :meth:`clear`, oldest first, as dicts."""
        with self._lock:
            return [asdict(e) for e in self._entries]

    def requests(self) -> list[S3Request]:
        """Every request since the last :meth:`clear`, as typed values."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget the in-memory entries (the file keeps its history)."""
        with self._lock:
            self._entries.clear()


def request_access_key(environ: dict[str, Any]) -> str | None:
    """The access key id a WSGI request is signed with (SigV4 header or presigned query, SigV2), or None."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    found = _SIGV4_CREDENTIAL.search(auth)
    if found:
        return found.group(1)
    if auth.startswith("AWS "):
        return auth[4:].split(":", 1)[0]
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    credential = (query.get("X-Amz-Credential") or query.get("AWSAccessKeyId") or [""])[0]
    return credential.split("/", 1)[0] or None


class _ConditionalWriteGuard:
    """WSGI middleware: refuse requests not signed with ``access_key`` (unless None), serialise the rest into
    moto (conditional writes included), and log every one."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log: S3RequestLog, access_key: str | None) -> None:
        self._app = app
        self._log = log
        self._access_key = access_key
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "")).upper()
        conditional = next(
            (f"{name}: {environ[key]}" for key, name in _CONDITIONAL_HEADERS if environ.get(key)), None
        )
        status: list[int] = [0]

        def _start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        try:
            refusal = self._refusal(environ)
            if refusal is not None:
                return _refuse(method, refusal, _start)
            # moto's backends are not thread-safe (a listing raced by a delete answers 500, and a
            # conditional put is check-then-write), so one request at a time reaches them. Each is
            # fully produced under the lock; rehearsal traffic is small enough for that.
            with self._lock:
                body = self._drain(environ, _start)
        finally:
            self._log.record(S3Request(time=time.time(), method=method,
                                       path=str(environ.get("PATH_INFO", "")),
                                       status=status[0] or 500, conditional=conditional))
        return body

    def _refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        if self._access_key is None:
            return None
        key = request_access_key(environ)
        if key is None:
            return _UNSIGNED
        return None if key == self._access_key else _UNKNOWN_KEY

    def _drain(self, environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        # Fully produce the response here: moto's write happens while it is produced, and the
        # status must be known before the request is logged.
        result = self._app(environ, start)
        try:
            return list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


def _refuse(method: str, refusal: tuple[str, str], start: Callable[..., Any]) -> list[bytes]:
    """A 403 as S3 sends it: the error document, without a body for HEAD."""
    code, message = refusal
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>").encode()
    start("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [] if method == "HEAD" else [body]


def _warm_moto_error_names() -> None:
    """moto names the service of an error it answers (NoSuchKey, NoSuchBucket, ...) through a botocore Session
    built the first time, which reads ``AWS_PROFILE``: in a process whose profile does not exist (an operator's
    typo, a test of one) every error answer became a 500. Looked up once here without a profile, it is cached."""
    from moto.core.utils import service_name_from_moto_package_name

    saved = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if name in os.environ}
    try:
        service_name_from_moto_package_name("s3")
    finally:
        os.environ.update(saved)


def fresh_bucket_name(prefix: str = "gfw-rehearsal") -> str:
    """A bucket name nobody has used in this process (S3 rules: lowercase, 3-63 chars)."""
    return f"{prefix}-{secrets.token_hex(6)}"[:63]


class RehearsalS3:
    """moto's S3 server on ``127.0.0.1:<random free port>`` with atomic conditional writes.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, log_path: Path | None = None, host: str = "127.0.0.1", *, accept_any_key: bool = False) -> None:
        self.host = host
        #: True: every access key reaches moto (for moto's own IAM authentication); see the module docstring.
        self.accept_any_key = accept_any_key
        self.port = 0
        self.region = REGION
        # Not AWS-shaped on purpose: nobody mistakes these for real keys.
        self.access_key = "GFWREHEARSAL" + secrets.token_hex(4).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.request_log = S3RequestLog(log_path)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        register_secret(self.access_key, self.secret_key)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after :meth:`start`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def start(self) -> "RehearsalS3":
        """Bind a free port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError as exc:  # moto is the optional "rehearsal" extra
            raise CheckFailure(
                f"the rehearsal S3 endpoint needs moto[server], which is not installed ({exc})",
                remedy="pip install 'gfwizard[rehearsal]'",
            ) from exc

        class _QuietHandler(MotoRequestHandler):
            """Our middleware keeps the request log; werkzeug's per-request stderr line would duplicate it."""

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                return None

        _warm_moto_error_names()
        app = _ConditionalWriteGuard(DomainDispatcherApplication(create_backend_app), self.request_log,
                                     None if self.accept_any_key else self.access_key)
        self._server = make_server(self.host, 0, app, threaded=True, request_handler=_QuietHandler)
        self.port = int(self._server.server_address[1])
        self._thread = serve_in_thread(self._server, f"rehearsal-s3-{self.port}")
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            stop_serving(server, thread)

    def __enter__(self) -> "RehearsalS3":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The AWS environment a client (boto3, terraform) needs to use this endpoint."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint: path-style, explicit timeouts, few retries.

        It reads no AWS config or credentials file and no profile: everything it needs is here.
        """
        import boto3
        import botocore.session
        from botocore.config import Config

        if self._server is None:
            raise CheckFailure("the rehearsal S3 endpoint is not running", remedy="call RehearsalS3.start() first")
        # Override where botocore looks for these (no env var, no file) rather than only their values.
        core = botocore.session.Session(session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        })
        return boto3.session.Session(botocore_session=core).client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, connect_timeout=CLIENT_TIMEOUTS[0],
                          read_timeout=CLIENT_TIMEOUTS[1], retries={"max_attempts": 2, "mode": "standard"}),
        )

    def create_bucket(self, name: str | None = None, versioning: bool = True) -> str:
        """Create bucket ``name`` (a fresh name when omitted), versioned unless told otherwise."""
        name = name or fresh_bucket_name()
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioning:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name
