"""gfwizard.x509_der reads what ``cryptography`` reads (the oracle here), and refuses what is not a certificate."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings, strategies as st

from gfwizard.cluster_kubeconfig import ca_sha256
from gfwizard.kubeconfig_auth import cert_expiry_from_data
from gfwizard.x509_der import first_certificate_der, not_valid_after

UTC = dt.timezone.utc
_EC_KEY = ec.generate_private_key(ec.SECP256R1())
_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(not_after: dt.datetime, *, key: object = _EC_KEY, ca: bool = False,
                names: int = 1, serial: int | None = None) -> x509.Certificate:
    """A self-signed certificate valid until ``not_after`` (cryptography writes UTCTime before 2050,
    GeneralizedTime from 2050 on, as RFC 5280 requires)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"name-{i}") for i in range(names)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(serial if serial is not None else x509.random_serial_number())
               .not_valid_before(dt.datetime(1950, 1, 1, tzinfo=UTC))
               .not_valid_after(not_after))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256())


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@settings(max_examples=40, deadline=None, database=None)
@given(when=st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(9999, 12, 31),
                         timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
       names=st.integers(min_value=1, max_value=30), serial=st.integers(min_value=1, max_value=2**159 - 1))
def test_not_after_matches_cryptography(when: dt.datetime, names: int, serial: int) -> None:
    cert = certificate(when, names=names, serial=serial)
    assert not_valid_after(der_of(cert)) == cert.not_valid_after_utc == when
    assert first_certificate_der(pem_of(cert)) == der_of(cert)


@pytest.mark.parametrize("when", [dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),   # last UTCTime
                                  dt.datetime(2050, 1, 1, tzinfo=UTC),                  # first GeneralizedTime
                                  dt.datetime(1950, 1, 1, tzinfo=UTC)])                 # UTCTime "50" is 1950
def test_time_encodings_at_their_boundaries(when: dt.datetime) -> None:
    assert not_valid_after(der_of(certificate(when))) == when


def test_rsa_ca_with_extensions_and_long_lengths() -> None:
    cert = certificate(dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC), key=_RSA_KEY, ca=True, names=40)
    assert len(der_of(cert)) > 256  # multi-byte DER lengths
    assert not_valid_after(der_of(cert)) == cert.not_valid_after_utc


def test_ca_fingerprint_is_the_first_certificate_of_a_bundle() -> None:
    first, second = certificate(dt.datetime(2030, 1, 1, tzinfo=UTC)), certificate(dt.datetime(2031, 1, 1, tzinfo=UTC))
    bundle = b"subject=CN = name-0\nissuer=CN = name-0\n" + pem_of(first) + b"\n" + pem_of(second)
    assert ca_sha256(bundle) == hashlib.sha256(der_of(first)).hexdigest()
    crlf = pem_of(first).replace(b"\n", b"\r\n")
    assert ca_sha256(crlf) == hashlib.sha256(der_of(first)).hexdigest()


def test_client_certificate_expiry_from_pem_and_der_data() -> None:
    cert = certificate(dt.datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC))
    for raw in (pem_of(cert), der_of(cert)):
        assert cert_expiry_from_data(base64.b64encode(raw).decode()) == ("2030-02-03T04:05:06Z", "")


def _valid() -> bytes:
    return der_of(certificate(dt.datetime(2030, 1, 1, tzinfo=UTC)))


@pytest.mark.parametrize("mangle, message", [
    (lambda d: b"", "truncated"),
    (lambda d: d[:40], "truncated"),
    (lambda d: d[:-1], "truncated"),
    (lambda d: d + b"\x00", "not a DER certificate"),
    (lambda d: b"\x31" + d[1:], "not a DER certificate"),
    (lambda d: d[:1] + b"\x80" + d[2:], "bad length"),
    (lambda d: d[:1] + b"\x85" + d[2:], "bad length"),
    (lambda d: d.replace(b"300101000000Z", b"301301000000Z"), "impossible date"),
    (lambda d: d.replace(b"300101000000Z", b"3001010000Z\x00\x00"), "UTCTime or GeneralizedTime"),
    (lambda d: d.replace(b"\x17\x0d300101000000Z", b"\x04\x0d300101000000Z"), "UTCTime or GeneralizedTime"),
])
def test_what_is_not_a_certificate_is_refused(mangle, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        not_valid_after(mangle(_valid()))


@pytest.mark.parametrize("pem, message", [
    (b"", "no PEM CERTIFICATE block"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no PEM CERTIFICATE block"),
    (b"-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n", "not valid base64"),
    (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(b"\x30\x03\x02\x01\x01") + b"-----END CERTIFICATE-----\n",
     "not a DER certificate"),
])
def test_what_is_not_a_pem_certificate_is_refused(pem: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        first_certificate_der(pem)
    with pytest.raises(ValueError):
        ca_sha256(pem)


def test_unreadable_client_certificate_data_is_a_problem_not_an_error() -> None:
    assert cert_expiry_from_data(base64.b64encode(b"garbage").decode()) == (
        None, "client-certificate-data does not hold a readable certificate")
