"""The core never imports the UI, and the fast commands never import heavy clients."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import gfwizard
from tests.helpers import REPO


def _all_core_modules() -> list[str]:
    names = ["gfwizard"]
    for info in pkgutil.walk_packages(gfwizard.__path__, prefix="gfwizard."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def _imported_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, cwd=REPO, check=True, env=env,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_modules_never_import_textual_or_screens() -> None:
    modules = _all_core_modules()
    assert "gfwizard.cli" in modules and "gfwizard.redact" in modules
    loaded = _imported_after("\n".join(f"import {m}" for m in modules))
    offenders = sorted(m for m in loaded if m == "textual" or m.startswith(("textual.", "screens")))
    assert offenders == [], f"core imported UI modules: {offenders[:10]}"


def _cli_imports(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    code = (
        "import sys\nfrom gfwizard.cli import cli\n"
        f"try:\n    cli.main(args={args!r}, prog_name='gfwizard', standalone_mode=False)\n"
        "except SystemExit:\n    pass\n"
    )
    return _imported_after(code, env)


def test_discover_and_config_validate_stay_light(tmp_path) -> None:
    heavy = ("kubernetes.client", "boto3", "textual")
    for args in (["discover", "--json"], ["config", "validate", str(tmp_path / "missing.yaml")]):
        loaded = _cli_imports(args)
        bad = sorted(m for m in loaded if m.startswith(heavy))
        assert bad == [], f"gfwizard {' '.join(args)} imported {bad[:10]}"


def test_client_certificates_are_read_without_cryptography(tmp_path) -> None:
    """Reading notAfter dates and the CA fingerprint does not pay for importing ``cryptography``."""
    import datetime as dt
    import os

    from tests.unit.test_kubeconfig_helpers import b64, client_cert_pem, kubeconfig

    cert = client_cert_pem(dt.datetime(2031, 3, 4, tzinfo=dt.timezone.utc))
    # PEM-shaped (a resolved context's key must hold a PEM private key); never parsed here.
    key = b"-----BEGIN PRIVATE KEY-----\n" + b"k" * 40 + b"\n-----END PRIVATE KEY-----\n"
    path = tmp_path / "config"
    path.write_text(kubeconfig([("honey", "honey", "admin")], {"honey": "https://10.0.0.1:6443"},
                               {"admin": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}))
    env = {**os.environ, "KUBECONFIG": str(path), "GFW_DISCOVER_CACHE": "0", "HOME": str(tmp_path)}
    code = ("import json, sys\nfrom gfwizard.kubeconfig import discover\n"
            "from gfwizard.cluster_kubeconfig import ca_sha256, resolve_context\n"
            "found = discover(environ=dict(__import__('os').environ))\n"
            "assert [c.cert_expiry for c in found.contexts] == ['2031-03-04T00:00:00Z'], found\n"
            "target, _ = resolve_context(None, 'honey')\n"
            "assert target.client_cert_not_after.year == 2031\n"
            f"assert ca_sha256({cert!r})\n")
    loaded = _imported_after(code, env)
    assert "gfwizard.x509_der" in loaded
    assert sorted(m for m in loaded if m.startswith("cryptography")) == []


def test_the_checkout_is_found_from_anywhere_when_gfwizard_runs_from_one(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gfwizard.paths import REPO_ENV, repo_root
    from tests.helpers import REPO

    monkeypatch.delenv(REPO_ENV, raising=False)
    assert repo_root(tmp_path) == REPO.resolve(), "outside any checkout, gfwizard's own checkout is the repo"
    other = tmp_path / "other"
    (other / "tofu" / "stacks").mkdir(parents=True)
    assert repo_root(other / "tofu") == other, "a checkout around the working directory comes first"
    monkeypatch.setenv(REPO_ENV, str(tmp_path))
    assert repo_root(other) == tmp_path.resolve()
