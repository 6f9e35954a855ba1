"""Kubeconfig credentials that other local users can read: which files and modes count, what the
``kubeconfig`` row says, and that nothing is changed or shown (no network: only ``resolve_context``)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from gfwizard.cluster_kubeconfig import resolve_context

SECRET = "s3cr3t-t0ken-value-abcdef"


def _cert_user() -> dict[str, str]:
    import trustme

    leaf = trustme.CA().issue_cert("operator")
    return {"client-certificate-data": base64.b64encode(leaf.cert_chain_pems[0].bytes()).decode(),
            "client-key-data": base64.b64encode(leaf.private_key_pem.bytes()).decode()}


def kubeconfig(path: Path, user: dict[str, Any], mode: int) -> Path:
    """A one-context kubeconfig at ``path`` with mode ``mode`` (set explicitly: the umask must not decide)."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "honey",
           "clusters": [{"name": "honey", "cluster": {"server": "https://127.0.0.1:6443"}}],
           "users": [{"name": "honey-admin", "user": user}],
           "contexts": [{"name": "honey", "context": {"cluster": "honey", "user": "honey-admin"}}]}
    path.write_text(yaml.safe_dump(doc))
    path.chmod(mode)
    return path


def note(path: Path) -> tuple[str, str]:
    target, _ = resolve_context(str(path), "honey", environ={})
    return target.exposure_note()


@pytest.mark.parametrize(("user", "what"), [
    ({"token": SECRET}, "the token it holds inline"),
    ({"username": "admin", "password": SECRET}, "the password it holds inline"),
    ("cert", "the client key (client-key-data) it holds inline"),
])
@pytest.mark.parametrize(("mode", "who"), [(0o644, "every local user"), (0o640, "the file's group"),
                                           (0o604, "every local user")])
def test_an_inline_credential_in_a_file_others_can_read_is_named_with_file_and_mode(
        tmp_path: Path, user: Any, what: str, mode: int, who: str) -> None:
    user = _cert_user() if user == "cert" else user
    path = kubeconfig(tmp_path / "config", user, mode)
    before = path.read_bytes()
    detail, remedy = note(path)
    # The row has named the file already ("context 'honey' in FILE: ..."); the remedy names it again.
    assert detail == f"that file is mode {mode:04o}: {who} can read {what}"
    assert remedy == f"chmod 600 {path}"
    assert SECRET not in detail + remedy and user.get("client-key-data", "@") not in detail + remedy
    # Only stat: the file keeps its bytes and its mode (never chmod-ed for the operator).
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o620, 0o602])
def test_a_file_only_its_owner_can_read_is_fine(tmp_path: Path, mode: int) -> None:
    assert note(kubeconfig(tmp_path / "config", {"token": SECRET}, mode)) == ("", "")


@pytest.mark.parametrize("user", [
    {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "kubelogin"}},
    {"auth-provider": {"name": "oidc", "config": {"id-token": SECRET, "refresh-token": SECRET}}},
    {},
])
def test_exec_oidc_and_credential_less_users_are_not_warned_about(tmp_path: Path, user: dict[str, Any]) -> None:
    assert note(kubeconfig(tmp_path / "config", user, 0o644)) == ("", "")


def test_file_references_warn_only_when_the_referenced_file_is_readable_by_others(tmp_path: Path) -> None:
    token = tmp_path / "honey.token"
    token.write_text(SECRET)
    token.chmod(0o600)
    path = kubeconfig(tmp_path / "config", {"tokenFile": "honey.token"}, 0o644)
    # The kubeconfig itself holds only a path: its mode leaks nothing.
    assert note(path) == ("", "")
    token.chmod(0o644)
    detail, remedy = note(path)
    assert detail == f"tokenFile {token} is mode 0644: every local user can read the token in it"
    assert remedy == f"chmod 600 {token}"
    assert SECRET not in detail + remedy
    assert stat.S_IMODE(token.stat().st_mode) == 0o644 and token.read_text() == SECRET


def test_a_client_key_file_readable_by_its_group_is_named(tmp_path: Path) -> None:
    user = _cert_user()
    cert, key = tmp_path / "admin.crt", tmp_path / "admin.key"
    cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
    key.write_bytes(base64.b64decode(user["client-key-data"]))
    key.chmod(0o640)
    path = kubeconfig(tmp_path / "config", {"client-certificate": "admin.crt", "client-key": "admin.key"}, 0o600)
    detail, remedy = note(path)
    assert detail == f"client-key {key} is mode 0640: the file's group can read the client key in it"
    assert remedy == f"chmod 600 {key}"


def test_both_the_kubeconfig_and_a_token_file_are_named_once_each(tmp_path: Path) -> None:
    token = tmp_path / "my token"
    token.write_text(SECRET)
    token.chmod(0o644)
    path = kubeconfig(tmp_path / "config", {"token": SECRET, "tokenFile": "my token"}, 0o644)
    detail, remedy = note(path)
    assert detail == (f"that file is mode 0644: every local user can read the token it holds inline; tokenFile "
                      f"{token} is mode 0644: every local user can read the token in it")
    assert remedy == f"chmod 600 {path} '{token}'"  # quoted for the shell


def test_the_user_entry_file_is_named_not_the_context_file(tmp_path: Path) -> None:
    context_file = kubeconfig(tmp_path / "a", {}, 0o644)
    doc = yaml.safe_load(context_file.read_text())
    doc["users"] = []
    context_file.write_text(yaml.safe_dump(doc))
    users = tmp_path / "b"
    users.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [],
                                     "users": [{"name": "honey-admin", "user": {"token": SECRET}}]}))
    users.chmod(0o644)
    target, _ = resolve_context(f"{context_file}{os.pathsep}{users}", "honey", environ={})
    detail, _ = target.exposure_note()
    assert detail == f"{users} is mode 0644: every local user can read the token it holds inline"
