"""The unauthenticated first look at the S3 endpoint: one ``HEAD /`` with the CA trust botocore uses,
a connect and a read timeout of its own, and typed errors for what is not a usable HTTP(S) answer
(a CA bundle that cannot be loaded, a port that speaks another protocol)."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Mapping
from urllib.parse import urlsplit

CA_BUNDLE_ENV = "AWS_CA_BUNDLE"


@dataclass(frozen=True)
class Probe:
    """The answer of an unauthenticated request to the endpoint."""

    status: int
    server_date: str | None


class CABundleError(OSError):
    """``AWS_CA_BUNDLE`` names a file that is missing or holds no usable certificate."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{CA_BUNDLE_ENV} {path}: {reason}")
        self.path = path
        self.reason = reason


class NotHTTPError(OSError):
    """The endpoint's port answered, but not with HTTP (an SSH or database port, TLS spoken to http://)."""

    def __init__(self, answer: str) -> None:
        super().__init__(f"not an HTTP answer: {answer}")
        self.answer = answer


class ProbeReadTimeout(TimeoutError):
    """The connection was made, but no answer came within the read timeout."""


def tls_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The CA trust botocore uses for https: ``AWS_CA_BUNDLE`` when set, else certifi's bundle (else the
    system's). Raises :class:`CABundleError` when ``AWS_CA_BUNDLE`` cannot be loaded."""
    environ = os.environ if environ is None else environ
    bundle = environ.get(CA_BUNDLE_ENV) or ""
    if not bundle:
        try:
            from certifi import where
        except ImportError:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=where())
    try:
        return ssl.create_default_context(cafile=bundle)
    except FileNotFoundError:
        raise CABundleError(bundle, "no such file") from None
    except IsADirectoryError:
        raise CABundleError(bundle, "a directory, not a PEM file") from None
    except ssl.SSLError:
        raise CABundleError(bundle, "holds no PEM certificate") from None
    except OSError as exc:
        raise CABundleError(bundle, exc.strerror or type(exc).__name__) from None


def probe_endpoint(endpoint: str, timeout: float, read_timeout: float | None = None,
                   environ: Mapping[str, str] | None = None) -> Probe:
    """One unauthenticated ``HEAD /`` to the endpoint: any HTTP answer means it is reachable.

    ``timeout`` bounds the connection (and the TLS handshake), ``read_timeout`` (default: ``timeout``)
    the wait for the answer. Raises ``OSError`` (refused, DNS, TLS, :class:`CABundleError`,
    :class:`NotHTTPError`), ``TimeoutError`` (connecting) or :class:`ProbeReadTimeout` when it is not.
    """
    parts = urlsplit(endpoint)
    conn: HTTPConnection
    if parts.scheme == "https":
        conn = HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=tls_context(environ))
    else:
        conn = HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(read_timeout if read_timeout is not None else timeout)
        try:
            conn.request("HEAD", (parts.path or "") + "/")
            resp = conn.getresponse()
            resp.read()
        except TimeoutError:
            raise ProbeReadTimeout("timed out") from None
        except ConnectionError:
            raise
        except HTTPException as exc:  # BadStatusLine and kin: the bytes that came back were not HTTP
            raise NotHTTPError(str(exc).strip()[:60] or type(exc).__name__) from None
        return Probe(status=resp.status, server_date=resp.getheader("Date"))
    finally:
        conn.close()
