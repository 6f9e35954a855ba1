"""Builders shared by the kubeconfig tests (this module holds no tests itself): YAML text, client
certificates, and a discovery run that proves no kubeconfig file changed."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from gfwizard.kubeconfig import Discovery, TargetHint, discover
from tests.helpers import tree_digest


def kubeconfig(
    contexts: Iterable[tuple[str, str, str]] = (),
    clusters: Mapping[str, str] | None = None,
    users: Mapping[str, Mapping[str, Any]] | None = None,
    current: str | None = None,
) -> str:
    """A kubeconfig: ``contexts`` as (name, cluster, user); ``clusters`` name -> server; ``users`` name -> user map."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in (clusters or {}).items()],
        "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, c, u in contexts],
        "users": [{"name": n, "user": dict(u)} for n, u in (users or {}).items()],
    }
    if current is not None:
        doc["current-context"] = current
    return yaml.safe_dump(doc, sort_keys=False)


def simple(name: str, server: str = "https://10.0.0.1:6443", current: str | None = None,
           user: Mapping[str, Any] | None = None) -> str:
    """One context ``name`` with cluster ``name`` and user ``name`` (token auth unless ``user`` is given)."""
    return kubeconfig([(name, name, name)], {name: server}, {name: user if user is not None else {"token": f"tok-{name}-0123456789"}},
                      current=current)


def client_cert_pem(not_after: dt.datetime, not_before: dt.datetime | None = None) -> bytes:
    """A self-signed client certificate (EC P-256, fast) valid until ``not_after``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-admin")])
    start = not_before or (not_after - dt.timedelta(days=365))
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def b64(data: bytes) -> str:
    """Base64 as kubeconfig ``*-data`` fields hold it."""
    return base64.b64encode(data).decode()


def run_discover(watch: Iterable[Path], environ: Mapping[str, str] | None = None, home: Path | None = None,
                 target: TargetHint | None = None, **kwargs: Any) -> Discovery:
    """``discover(...)`` and assert that nothing under ``watch`` was written, created or removed."""
    dirs = list(watch)
    before = [tree_digest(d) for d in dirs]
    result = discover(environ=environ if environ is not None else {}, home=home, target=target, **kwargs)
    assert [tree_digest(d) for d in dirs] == before, "discovery changed a kubeconfig file"
    return result
