"""Test doubles for the state backend tests: a forwarding proxy in front of the rehearsal S3 that can
strip ``If-None-Match``, skew the ``Date`` header or hold requests; a moto server in a subprocess
with IAM authentication switched on (so wrong credentials really fail); a blackholed endpoint;
and a small config builder."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from tests.helpers import REPO

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class S3Proxy:
    """Forward every request to ``upstream``; optionally drop ``If-None-Match`` (a store that
    ignores conditional writes), shift the ``Date`` header by ``date_offset`` seconds, hold
    requests matching ``hold_when(method, path)`` until :attr:`release` is set and then drop them
    (never forwarded), or answer those
    matching ``fail_when(method, path)`` with 403 AccessDenied (``fail_status=503``: a store that is down;
    ``fail_error``: another ``(code, message)``, e.g. a store whose message quotes the request's credentials).
    ``accept_when(method, path)``: answered 200 with an empty body and never forwarded (a store that accepts a
    request and ignores it, e.g. PutBucketVersioning on a store that keeps no versioning).
    ``drop_answer_when(method, path)``: forwarded (the store does it), then the connection is closed without
    an answer (a connection dropped after the write landed).
    ``tls_cert`` (a trustme leaf certificate) serves https instead of http."""

    def __init__(self, upstream: str, *, strip_if_none_match: bool = False, date_offset: float = 0.0,
                 hold_when: Callable[[str, str], bool] | None = None,
                 fail_when: Callable[[str, str], bool] | None = None, fail_status: int = 403,
                 fail_error: tuple[str, str] | None = None, tls_cert: Any = None,
                 accept_when: Callable[[str, str], bool] | None = None,
                 drop_answer_when: Callable[[str, str], bool] | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.scheme = "https" if tls_cert is not None else "http"
        self.fail_status = fail_status
        self.fail_error = fail_error
        self.strip_if_none_match = strip_if_none_match
        self.date_offset = date_offset
        self.hold_when = hold_when
        self.fail_when = fail_when
        self.accept_when = accept_when
        self.drop_answer_when = drop_answer_when
        self.release = threading.Event()
        self.held = threading.Event()
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls_cert is not None:  # a trustme LeafCert: the store behind TLS with a private CA
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_cert.configure_cert(context)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "S3Proxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(time.time() + proxy.date_offset, usegmt=True)

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if proxy.strip_if_none_match:
                    headers = {k: v for k, v in headers.items() if k.lower() != "if-none-match"}
                proxy.seen.append((self.command, self.path, headers))
                if proxy.hold_when is not None and proxy.hold_when(self.command, self.path):
                    # Like an upload cut off mid-way: held, then dropped, never forwarded.
                    proxy.held.set()
                    proxy.release.wait(timeout=60)
                    self.close_connection = True
                    return
                if proxy.fail_when is not None and proxy.fail_when(self.command, self.path):
                    code, text = ((b"AccessDenied", b"Access Denied (test double)") if proxy.fail_status == 403 else
                                  (b"ServiceUnavailable", b"Service Unavailable (test double)"))
                    if proxy.fail_error is not None:
                        code, text = (escape(part).encode() for part in proxy.fail_error)
                    payload = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>' + code + b'</Code>'
                               b'<Message>' + text + b'</Message></Error>')
                    self.send_response(proxy.fail_status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if proxy.accept_when is not None and proxy.accept_when(self.command, self.path):
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    payload = resp.read()
                    if proxy.drop_answer_when is not None and proxy.drop_answer_when(self.command, self.path):
                        self.close_connection = True
                        return
                    self.send_response(resp.status)
                    for key, value in resp.getheaders():
                        if key.lower() in HOP_BY_HOP or key.lower() in ("content-length", "date", "server"):
                            continue
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        return Handler


class AuthS3:
    """moto's S3 in a subprocess with IAM authentication on, plus one user whose key may use S3.

    ``INITIAL_NO_AUTH_ACTION_COUNT`` is process-wide in moto, so this cannot share the session's
    in-process endpoint. ``allow=False`` gives the user no policy: every S3 call is AccessDenied.
    """

    def __init__(self, allow: bool = True) -> None:
        self.allow = allow
        self.proc: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.access_key = ""
        self.secret_key = ""

    def __enter__(self) -> "AuthS3":
        import boto3

        unauthenticated = 3 if self.allow else 2
        code = ("from gfwizard.rehearsal.s3 import RehearsalS3\nimport sys\n"
                "s = RehearsalS3(accept_any_key=True).start()\nprint(s.port, flush=True)\nsys.stdin.read()\n")
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(unauthenticated))
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=REPO)
        assert self.proc.stdout is not None
        self.endpoint = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="state")
        key = iam.create_access_key(UserName="state")["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        if self.allow:
            iam.put_user_policy(UserName="state", PolicyName="s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        return self

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=Config(s3={"addressing_style": "path"}))

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Blackhole:
    """A listening socket that never answers: connections succeed, reads hang."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> "Blackhole":
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


class RawServer:
    """A loopback TCP service that is not an S3 API: each connection gets ``answer(request bytes)`` and is
    closed (``reset=True``: reset at once, before reading anything). ``requests`` keeps what arrived."""

    def __init__(self, answer: Callable[[bytes], bytes] | None = None, reset: bool = False) -> None:
        self.answer = answer
        self.reset = reset
        self.requests: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                if self.reset:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue
                conn.settimeout(5)
                try:
                    data = conn.recv(65536)
                    self.requests.append(data)
                    if self.answer is not None:
                        conn.sendall(self.answer(data))
                except OSError:
                    pass

    def __enter__(self) -> "RawServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def html_page(_request: bytes) -> bytes:
    """What a web console or a proxy's landing page answers to anything: 200 and some HTML."""
    page = b"<html><body><h1>RustFS Console</h1></body></html>"
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + str(len(page)).encode()
            + b"\r\nConnection: close\r\n\r\n" + page)


def free_port_endpoint() -> str:
    """An http endpoint on a loopback port nothing listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_cfg(endpoint: str, bucket: str, *, http_address: str | None = None, use_lockfile: bool = True,
             stacks: tuple[str, ...] = ("attic", "arc-runners"), envs: tuple[str, ...] = ("dev",),
             network: str = "loopback") -> Any:
    """A valid OrgConfig with S3 state at ``endpoint``/``bucket`` (and HTTP state when given)."""
    from gfwizard.orgconfig import OrgConfig

    state: dict[str, Any] = {"backend": "s3", "s3": {
        "endpoint": endpoint, "bucket": bucket, "region": "us-east-1", "key_prefix": "gloriousflywheel",
        "use_lockfile": use_lockfile, "use_path_style": True}}
    if http_address:
        state["http"] = {"address": http_address, "lock_address": http_address + "/lock",
                         "unlock_address": http_address + "/lock", "username": "rehearsal"}
    api = "https://127.0.0.1:6443" if network == "loopback" else "https://100.113.89.12:6443"
    return OrgConfig.model_validate({
        "version": 1, "organization": {"name": "tinyland", "full_name": "Tinyland"},
        "cluster": {"name": "honey", "context": "honey", "kubeconfig": "", "api_server": api,
                    "network": network, "fingerprint": None, "legacy_contexts": []},
        "state": state,
        "environments": {e: {"cluster": "honey", "tfvars": f"{e}.tfvars"} for e in envs},
        "stacks": [{"name": s, "depends_on": []} for s in stacks],
    })
