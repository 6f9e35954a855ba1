"""The certificates and key a resolved context names, checked before any client is built.

kubectl refuses a ``*-data`` value that is not base64 and a certificate authority or client
certificate that holds no PEM certificate; the official Python client fails on them too, but with
the bare text of the exception ("Incorrect padding", an OpenSSL code) and without naming the field,
or only at the TLS handshake, as if the server's certificate were wrong. Here each one is named
with its entry and file. A key's content is read but never shown.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Mapping

from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.x509_der import first_certificate_der

FRESH = "or get a fresh kubeconfig for honey"


def _decode(value: Any) -> bytes | None:
    """A ``*-data`` value decoded (line breaks and spaces ignored), or None when it is not base64."""
    try:
        return base64.b64decode("".join(str(value).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _holds(raw: bytes, key: str) -> bool:
    """True when ``raw`` holds what ``key`` names: a PEM private key, else a PEM certificate."""
    if key == "client-key":
        return b"-----BEGIN" in raw and b"PRIVATE KEY-----" in raw
    try:
        first_certificate_der(raw)
    except ValueError:
        return False
    return True


def _check(entry: Mapping[str, Any], key: str, owner: str, where: str) -> tuple[bytes | None, str]:
    """The bytes of ``key`` (from ``<key>-data`` or the file ``key`` names) and where they came from
    (``"<key>-data"`` or the path; ``(None, "")`` when the entry has neither), once they are known to hold
    what ``key`` names."""
    what = "a PEM private key" if key == "client-key" else "a PEM certificate"
    data = entry.get(f"{key}-data")
    if data:
        raw = _decode(data)
        if raw is None:
            raise ClusterAccessError(
                "kubeconfig", f"{key}-data of {owner} in {where} is not valid base64 (kubectl refuses it too)",
                f"set {key}-data of {owner} in {where} to {what} encoded with `base64 -w0`, {FRESH}")
        if not _holds(raw, key):
            raise ClusterAccessError(
                "kubeconfig", f"{key}-data of {owner} in {where} is base64 but does not hold {what} (kubectl "
                              "refuses it too)",
                f"set {key}-data of {owner} in {where} to {what} encoded with `base64 -w0`, {FRESH}")
        return raw, f"{key}-data"
    path = entry.get(key)
    if not path:
        return None, ""
    try:
        with open(str(path), "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ClusterAccessError(
            "kubeconfig",
            f"{key} file {path} of {owner} in {where} cannot be read: {exc.strerror or type(exc).__name__}",
            f"point {key} of {owner} at a readable file (a relative path is relative to {where}), {FRESH}") from None
    if not _holds(raw, key):
        raise ClusterAccessError(
            "kubeconfig", f"{key} file {path} of {owner} in {where} does not hold {what}",
            f"point {key} of {owner} in {where} at the file holding {what}, {FRESH}")
    return raw, str(path)


@dataclass(frozen=True)
class TLSMaterial:
    """What a resolved context's checked certificates are (the key is checked, never kept)."""

    #: The cluster's CA bundle (None when the entry names none) and where it came from.
    ca_pem: bytes | None
    ca_source: str
    #: The user's client certificate (None when the entry names none).
    cert_pem: bytes | None


def check_tls_material(cluster: Mapping[str, Any], user: Mapping[str, Any], *, cluster_name: str,
                       cluster_file: str, user_name: str, user_file: str) -> TLSMaterial:
    """The certificate authority and client certificate of a resolved context (paths already absolute), read
    once; :class:`ClusterAccessError` (kind ``kubeconfig``) for the first certificate authority, client
    certificate or client key that is not base64, cannot be read, or holds no PEM certificate / key. The
    message names the field, the entry and its file."""
    ca_pem, ca_source = _check(cluster, "certificate-authority", f"cluster {cluster_name!r}", cluster_file)
    cert_pem, _ = _check(user, "client-certificate", f"user {user_name!r}", user_file)
    _check(user, "client-key", f"user {user_name!r}", user_file)
    return TLSMaterial(ca_pem=ca_pem, ca_source=ca_source, cert_pem=cert_pem)
