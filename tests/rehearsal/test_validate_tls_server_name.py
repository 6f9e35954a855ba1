"""``gfwizard validate`` against the rehearsal honey (its certificate is valid for 127.0.0.1 and localhost)
with a ``tls-server-name`` in the cluster entry: a name the certificate does not hold is named in the
detail and remedy, not blamed on the CA; a name it holds is used and passes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from gfwizard.checks import Level
from gfwizard.cluster import gate_checks
from gfwizard.orgconfig import load_config
from tests.rehearsal.test_validate import _fresh_clients, FAST, Files, cli, validate, write_files  # noqa: F401 (autouse)

if TYPE_CHECKING:
    from pathlib import Path

    from gfwizard.rehearsal.apiserver import RehearsalAPIServer


def with_tls_server_name(files: Files, name: str) -> None:
    doc = yaml.safe_load(files.kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["tls-server-name"] = name
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_tls_server_name_the_certificate_does_not_match_is_named_not_the_ca(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    with_tls_server_name(files, "wrong.example")
    digest = files.digest()
    report = validate(files)
    reachable = report.check("reachable")
    assert reachable is not None and reachable.level is Level.FAIL
    assert reachable.detail.startswith(
        f"TLS with {honey.url} failed: the server's certificate is not valid for 'wrong.example', the "
        f"tls-server-name of cluster 'honey' in {files.kubeconfig} (")
    assert "Hostname mismatch" in reachable.detail  # the handshake's own words, kept
    assert reachable.remedy.startswith(f"set tls-server-name of cluster 'honey' in {files.kubeconfig} to a name in "
                                       "honey's API server certificate, or remove it")
    assert "certificate-authority" not in reachable.remedy and "current kubeconfig" not in reachable.remedy
    # The deploy gates name the same cause.
    server, fingerprint = gate_checks(load_config(files.config), timeouts=FAST)
    assert server.ok and fingerprint.level is Level.FAIL
    assert "tls-server-name of cluster 'honey'" in fingerprint.detail
    assert fingerprint.remedy.startswith("set tls-server-name of cluster 'honey'")
    out = cli(["validate", "--connect-timeout", "2", "--read-timeout", "5"], files)
    assert out.returncode == 1 and f"remedy: set tls-server-name of cluster 'honey' in {files.kubeconfig}" in out.stdout
    assert honey.admin_token not in out.stdout + out.stderr
    assert files.digest() == digest


def test_a_tls_server_name_the_certificate_holds_is_used_and_passes(tmp_path: Path,
                                                                    honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    with_tls_server_name(files, "localhost")  # a SAN of the rehearsal API's certificate; 127.0.0.1 is the address
    reachable = validate(files).check("reachable")
    assert reachable is not None and reachable.level is Level.PASS


def test_an_unknown_ca_is_still_blamed_on_the_ca_when_tls_server_name_is_set(tmp_path: Path,
                                                                             honey: "RehearsalAPIServer") -> None:
    import base64

    import trustme

    files = write_files(tmp_path, honey)
    doc = yaml.safe_load(files.kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        trustme.CA().cert_pem.bytes()).decode()
    doc["clusters"][0]["cluster"]["tls-server-name"] = "localhost"
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    reachable = validate(files).check("reachable")
    assert reachable is not None and reachable.level is Level.FAIL
    assert "tls-server-name" not in reachable.detail + reachable.remedy
    assert reachable.remedy.startswith("the server's certificate does not match the kubeconfig's certificate-authority")
