"""The two facts gfwizard reads from X.509 certificates, without importing ``cryptography``.

A kubeconfig gives honey's CA (whose SHA-256 is half of the cluster fingerprint) and, for some users, a
client certificate (whose notAfter says when access ends). Importing ``cryptography`` for that costs
~60 ms of CPU on every validate, deploy and status; these readers walk the DER structure instead
(RFC 5280 §4.1: Certificate → tbsCertificate → validity → notAfter) and refuse anything that does not
have that shape, so a value they return is the one ``cryptography`` would read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----[ \t]*\r?\n(.*?)-----END CERTIFICATE-----", re.DOTALL)
_SEQUENCE, _INTEGER, _UTC_TIME, _GENERALIZED_TIME, _VERSION = 0x30, 0x02, 0x17, 0x18, 0xA0
_UTC = re.compile(rb"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z")
_GENERALIZED = re.compile(rb"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z")


def first_certificate_der(pem: bytes) -> bytes:
    """The DER bytes of the first ``CERTIFICATE`` block in ``pem`` (text around the blocks is ignored).

    Raises ValueError when there is no such block, its base64 is broken, or it does not hold a
    certificate's structure."""
    match = _PEM_CERTIFICATE.search(pem)
    if match is None:
        raise ValueError("no PEM CERTIFICATE block")
    try:
        der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the PEM CERTIFICATE block is not valid base64") from None
    not_valid_after(der)
    return der


def not_valid_after(der: bytes) -> dt.datetime:
    """notAfter (UTC) of the DER certificate ``der``; ValueError when it is not shaped as a certificate."""
    tag, certificate, end = _element(der, 0)
    if tag != _SEQUENCE or end != len(der):
        raise ValueError("not a DER certificate")
    tag, tbs, _ = _element(certificate, 0)
    if tag != _SEQUENCE:
        raise ValueError("not a DER certificate (no tbsCertificate)")
    at = 0
    tag, _, after = _element(tbs, at)
    if tag == _VERSION:
        at = after
        tag, _, after = _element(tbs, at)
    if tag != _INTEGER:
        raise ValueError("not a DER certificate (no serial number)")
    at = after
    for what in ("signature algorithm", "issuer", "validity"):
        tag, value, after = _element(tbs, at)
        if tag != _SEQUENCE:
            raise ValueError(f"not a DER certificate (no {what})")
        at = after
    _, _, after_not_before = _time(value, 0)
    when, _, end = _time(value, after_not_before)
    if end != len(value):
        raise ValueError("not a DER certificate (validity holds more than two times)")
    return when


def _time(data: bytes, at: int) -> tuple[dt.datetime, bytes, int]:
    tag, value, end = _element(data, at)
    pattern = _UTC if tag == _UTC_TIME else _GENERALIZED if tag == _GENERALIZED_TIME else None
    match = pattern.fullmatch(value) if pattern is not None else None
    if match is None:
        raise ValueError("not a DER certificate (validity is not UTCTime or GeneralizedTime)")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    if tag == _UTC_TIME:
        year += 1900 if year >= 50 else 2000  # RFC 5280 §4.1.2.5.1
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc), value, end
    except ValueError:
        raise ValueError("not a DER certificate (validity holds an impossible date)") from None


def _element(data: bytes, at: int) -> tuple[int, bytes, int]:
    """``(tag, content, end)`` of the DER element at ``data[at]`` (single-byte tags, definite lengths)."""
    if at + 2 > len(data):
        raise ValueError("not a DER certificate (truncated)")
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or at + count > len(data):
            raise ValueError("not a DER certificate (bad length)")
        length = int.from_bytes(data[at:at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("not a DER certificate (truncated)")
    return tag, data[at:at + length], at + length
