"""The deploy gates' S3 calls (the lock probe's conditional put, list versions and delete; the HEAD of
state objects) signed with SigV4 by hand, without botocore.

The probe runs before every apply; importing botocore and building an S3 client costs more CPU than
the three small requests it makes. :func:`direct_s3` returns a :class:`DirectS3` only where it signs
and sends exactly what botocore would use — static credentials from the environment
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` [/ ``AWS_SESSION_TOKEN``], which botocore's
chain also takes first), no proxy variables, a bucket name that needs no special addressing — and
``None`` everywhere else, so the caller builds the botocore client as before.

Failures keep botocore's shapes: an S3 error answer raises :class:`DirectS3Error` with a
``response`` dict like a ``ClientError``'s (so :func:`gfwizard.backend_s3.error_code` and
:func:`~gfwizard.backend_s3.http_status` read it), a network failure raises :class:`DirectS3Timeout`
or the ``OSError`` itself; :func:`explain_direct` words them as :func:`gfwizard.backend_s3.explain` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.util
import http.client
import os
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

from gfwizard.backend_endpoint import CA_BUNDLE_ENV, CABundleError, tls_context
from gfwizard.backend_s3 import DEFAULT_TIMEOUTS, MAX_ATTEMPTS, S3Target, explain_client_error, explain_os_error
from gfwizard.redact import register_secret

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: Statuses botocore's standard retry mode tries again (with the same attempt budget).
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class DirectS3Error(Exception):
    """The store answered with an error; ``response`` has botocore's ``ClientError`` shape."""

    def __init__(self, status: int, code: str, message: str, operation: str) -> None:
        super().__init__(f"An error occurred ({code or status}) when calling the {operation} operation: {message}")
        self.response: dict[str, Any] = {"Error": {"Code": code, "Message": message},
                                         "ResponseMetadata": {"HTTPStatusCode": status}}


class DirectS3Timeout(TimeoutError):
    """No answer in time; ``connecting`` says whether the connection was ever made."""

    def __init__(self, connecting: bool) -> None:
        super().__init__("timed out")
        self.connecting = connecting


@dataclass(frozen=True)
class _Credentials:
    access_key: str
    secret_key: str
    token: str | None


def direct_s3(target: S3Target, *, timeouts: tuple[float, float] = DEFAULT_TIMEOUTS,
              environ: Mapping[str, str] | None = None) -> "DirectS3 | None":
    """A :class:`DirectS3` for ``target``, or None when botocore must do it (see the module docstring)."""
    environ = os.environ if environ is None else environ
    access, secret = environ.get("AWS_ACCESS_KEY_ID", ""), environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not access or not secret or any(environ.get(v) for v in _PROXY_VARS):
        return None
    parts = urlsplit(target.endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
        return None
    if not target.path_style and (not _DNS_BUCKET.match(target.bucket) or "." in target.bucket):
        return None
    context: ssl.SSLContext | None = None
    if parts.scheme == "https":
        if not environ.get(CA_BUNDLE_ENV) and importlib.util.find_spec("certifi") is None:
            return None  # botocore's own bundle then: let botocore do it
        try:
            context = tls_context(environ)
        except CABundleError:
            return None  # botocore fails on it too, and explain() words that failure
    token = environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or None
    register_secret(secret, token)
    return DirectS3(target, _Credentials(access, secret, token), timeouts, context)


def state_reader(cfg: "OrgConfig", environ: Mapping[str, str] | None = None,
                 timeouts: tuple[float, float] = DEFAULT_TIMEOUTS) -> Any:
    """A client for reads of ``cfg``'s state bucket: a :class:`DirectS3` where it may sign, else botocore's."""
    from gfwizard.backend_s3 import s3_client, s3_target

    return (direct_s3(s3_target(cfg, environ), timeouts=timeouts, environ=environ)
            or s3_client(cfg, timeouts=timeouts, environ=environ))


class DirectS3:
    """The S3 calls of the deploy gates, with botocore's method names and result shapes."""

    def __init__(self, target: S3Target, credentials: _Credentials, timeouts: tuple[float, float],
                 context: ssl.SSLContext | None) -> None:
        self.target = target
        self._creds = credentials
        self.timeouts = timeouts
        self._context = context
        parts = urlsplit(target.endpoint)
        self._scheme = parts.scheme
        self._port = parts.port
        self._endpoint_host = parts.hostname or ""
        default_port = 443 if parts.scheme == "https" else 80
        shown = f"[{self._endpoint_host}]" if ":" in self._endpoint_host else self._endpoint_host
        self._endpoint_netloc = shown if parts.port in (None, default_port) else f"{shown}:{parts.port}"

    # -- the calls -------------------------------------------------------------------------------

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, IfNoneMatch: str | None = None) -> dict[str, Any]:
        """``PutObject`` (``If-None-Match`` as given); ``VersionId`` when the store named the version."""
        extra = {"If-None-Match": IfNoneMatch} if IfNoneMatch else {}
        _, headers = self._send("PUT", Bucket, Key, {}, Body, extra, "PutObject")
        version = headers.get("x-amz-version-id")
        return {"VersionId": version} if version else {}

    def list_object_versions(self, *, Bucket: str, Prefix: str) -> dict[str, Any]:
        """``ListObjectVersions`` of ``Prefix`` (first page: the probe has at most a few versions)."""
        body, _ = self._send("GET", Bucket, "", {"versions": "", "prefix": Prefix}, b"", {}, "ListObjectVersions")
        root = ElementTree.fromstring(body)
        out: dict[str, Any] = {}
        for tag, name in (("Version", "Versions"), ("DeleteMarker", "DeleteMarkers")):
            items = [{"Key": e.findtext(f"{_S3_NS}Key", ""), "VersionId": e.findtext(f"{_S3_NS}VersionId", "")}
                     for e in root.iter(f"{_S3_NS}{tag}")]
            if items:
                out[name] = items
        return out

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        """``HeadObject``: raises :class:`DirectS3Error` with code ``404`` when ``Key`` does not exist."""
        _, headers = self._send("HEAD", Bucket, Key, {}, b"", {}, "HeadObject")
        return {"ContentLength": int(headers.get("content-length") or 0)}

    def delete_object(self, *, Bucket: str, Key: str, VersionId: str | None = None) -> dict[str, Any]:
        """``DeleteObject`` (one version when ``VersionId`` is given)."""
        self._send("DELETE", Bucket, Key, {"versionId": VersionId} if VersionId else {}, b"", {}, "DeleteObject")
        return {}

    # -- HTTP and SigV4 --------------------------------------------------------------------------

    def _send(self, method: str, bucket: str, key: str, query: Mapping[str, str], body: bytes,
              extra: Mapping[str, str], operation: str) -> tuple[bytes, Mapping[str, str]]:
        last: BaseException | None = None
        for _attempt in range(MAX_ATTEMPTS):
            try:
                status, data, headers = self._once(method, bucket, key, query, body, extra)
            except (DirectS3Timeout, ConnectionError) as exc:
                last = exc
                continue
            if status in _RETRY_STATUSES:
                last = _error(status, data, operation)
                continue
            if status >= 300:
                raise _error(status, data, operation)
            return data, headers
        assert last is not None
        raise last

    def _once(self, method: str, bucket: str, key: str, query: Mapping[str, str], body: bytes,
              extra: Mapping[str, str]) -> tuple[int, bytes, Mapping[str, str]]:
        if self.target.path_style:
            host, netloc, path = self._endpoint_host, self._endpoint_netloc, f"/{bucket}" + (f"/{key}" if key else "")
        else:
            host, netloc, path = f"{bucket}.{self._endpoint_host}", f"{bucket}.{self._endpoint_netloc}", f"/{key}"
        canonical_path = quote(path, safe="/~")
        canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))
        headers = self.sign(method, netloc, canonical_path, canonical_query, body)
        headers.update(extra)
        if method == "PUT":
            headers["Content-Length"] = str(len(body))
        url = canonical_path + (f"?{canonical_query}" if canonical_query else "")
        conn: http.client.HTTPConnection
        if self._scheme == "https":
            conn = http.client.HTTPSConnection(host, self._port, timeout=self.timeouts[0], context=self._context)
        else:
            conn = http.client.HTTPConnection(host, self._port, timeout=self.timeouts[0])
        try:
            try:
                conn.connect()
            except TimeoutError:
                raise DirectS3Timeout(connecting=True) from None
            assert conn.sock is not None
            conn.sock.settimeout(self.timeouts[1])
            try:
                conn.request(method, url, body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, data, {k.lower(): v for k, v in response.getheaders()}
            except TimeoutError:
                raise DirectS3Timeout(connecting=False) from None
        finally:
            conn.close()

    def sign(self, method: str, netloc: str, canonical_path: str, canonical_query: str, body: bytes,
             now: dt.datetime | None = None) -> dict[str, str]:
        """The SigV4 headers (``Authorization`` included) for one request."""
        now = now or dt.datetime.now(dt.timezone.utc)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        headers = {"host": netloc, "x-amz-content-sha256": payload, "x-amz-date": stamp}
        if self._creds.token:
            headers["x-amz-security-token"] = self._creds.token
        names = sorted(headers)
        canonical = "\n".join([method, canonical_path, canonical_query,
                               "".join(f"{n}:{headers[n].strip()}\n" for n in names), ";".join(names), payload])
        scope = f"{day}/{self.target.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + self._creds.secret_key).encode()
        for part in (day, self.target.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self._creds.access_key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={signature}")
        return headers  # "host" is sent as signed (http.client then adds no Host of its own)


def _error(status: int, body: bytes, operation: str) -> DirectS3Error:
    code, message = "", ""
    try:
        root = ElementTree.fromstring(body) if body.strip() else None
    except ElementTree.ParseError:
        root = None
    if root is not None:
        code, message = root.findtext("Code", ""), root.findtext("Message", "")
    return DirectS3Error(status, code or str(status), message, operation)


def explain_direct(exc: BaseException, *, target: S3Target, timeouts: tuple[float, float] = DEFAULT_TIMEOUTS,
                   env: str = "<env>", action: str = "read") -> tuple[str, str] | None:
    """``(detail, remedy)`` for what a :class:`DirectS3` call raised, worded as ``explain`` words
    botocore's errors; None for anything else."""
    if isinstance(exc, DirectS3Error):
        return explain_client_error(exc, target=target, env=env, action=action)
    if isinstance(exc, DirectS3Timeout):
        if exc.connecting:
            return explain_os_error(TimeoutError("timed out"), target.endpoint, timeouts)
        return (f"{target.endpoint} accepted the connection but did not answer within {timeouts[1]:g}s "
                "(endpoint timeout)", "check the S3 service's health on honey; retry")
    if isinstance(exc, OSError):
        return explain_os_error(exc, target.endpoint, timeouts)
    return None
