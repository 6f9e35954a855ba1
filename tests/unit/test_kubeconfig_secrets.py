"""A kubeconfig user's ``tokenFile``: its token is registered with the redactor the moment gfwizard
builds a client (or a deploy hands the kubeconfig to terraform), and a file that cannot be used is an
error with a remedy that never shows the file's contents. No API server is contacted."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from gfwizard.cluster_client import ClusterClient, Timeouts, close_all
from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.redact import MASK, redact
from tests.helpers import tree_digest
from tests.unit.test_cluster_local import kubeconfig

_SERVER = "https://100.64.0.9:6443"  # never contacted: building a client connects to nothing
_LINE_BREAK = "contains a line break or another control character, which no HTTP header can carry (kubectl cannot " \
              "send it either)"


@pytest.fixture(autouse=True)
def _fresh_clients() -> Any:
    close_all()
    yield
    close_all()


def _canary() -> str:
    return f"CanaryTokenFile{secrets.token_hex(8)}"


def test_token_file_token_is_registered_and_sent_without_its_newline(tmp_path: Path) -> None:
    canary = _canary()
    (tmp_path / "kube").mkdir()
    (tmp_path / "kube" / "token").write_text(canary + "\n")
    path = kubeconfig(tmp_path / "kube" / "k.yaml", server=_SERVER, user={"tokenFile": "token"})  # relative to k.yaml
    client = ClusterClient.for_context(str(path), "honey", Timeouts(1, 1))
    assert redact(f"provider said: {canary}.") == f"provider said: {MASK}."
    # client-go strips the file's whitespace; the Python client would send the newline (and fail).
    assert client.api_client.configuration.api_key["BearerToken"] == f"Bearer {canary}"


def test_an_inline_token_wins_and_a_readable_token_file_is_still_registered(tmp_path: Path) -> None:
    inline, in_file = _canary(), _canary()
    (tmp_path / "token").write_text(in_file)
    path = kubeconfig(tmp_path / "k.yaml", server=_SERVER, user={"token": inline, "tokenFile": str(tmp_path / "token")})
    client = ClusterClient.for_context(str(path), "honey", Timeouts(1, 1))
    assert client.api_client.configuration.api_key["BearerToken"] == f"Bearer {inline}"
    assert redact(f"{inline} {in_file}") == f"{MASK} {MASK}"
    # With an inline token the file is not the credential in use: a missing one is no error.
    other = kubeconfig(tmp_path / "other" / "k.yaml", server=_SERVER,
                       user={"token": _canary(), "tokenFile": str(tmp_path / "gone")})
    ClusterClient.for_context(str(other), "honey", Timeouts(1, 1))


@pytest.mark.parametrize(("content", "problem"), [
    (None, "{file} cannot be read: No such file or directory"),
    ("directory", "{file} cannot be read: Is a directory"),
    (b"\xff\xfe", "{file} is not UTF-8 text"),
    (b" \n", "{file} is empty (kubectl refuses an empty token file too)"),
    (b"Ab3dEf7h\n", "the token in {file} " + _LINE_BREAK),  # a line break inside the token, before the canary
])
def test_an_unusable_token_file_is_an_error_that_never_shows_its_contents(
        tmp_path: Path, content: bytes | str | None, problem: str) -> None:
    canary = _canary()
    token_file = tmp_path / "token"
    if content == "directory":
        token_file.mkdir()
    elif isinstance(content, bytes):
        token_file.write_bytes(content + (canary.encode() if content.strip() else b""))
    path = kubeconfig(tmp_path / "k.yaml", server=_SERVER, user={"tokenFile": str(token_file)})
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 1))
    assert err.value.kind == "kubeconfig"
    assert err.value.message == problem.format(file=f"tokenFile {token_file} of user 'op' in {path}")
    assert err.value.remedy == (f"point users[].user.tokenFile of user 'op' in {path} at a readable file holding the "
                                "token, or get a fresh kubeconfig for honey")
    assert canary not in err.value.message + err.value.remedy and "\\x" not in err.value.message
    assert tree_digest(tmp_path) == before


def test_a_deploy_registers_the_token_file_of_the_configured_context(tmp_path: Path) -> None:
    """What ``DeployEngine`` calls before terraform, which reads the same token file, runs."""
    from gfwizard.kubeconfig_secrets import register_context_secrets

    canary = _canary()
    (tmp_path / "token").write_text(canary)
    path = kubeconfig(tmp_path / "k.yaml", server=_SERVER, user={"tokenFile": "token"})
    register_context_secrets(None, "honey", {"KUBECONFIG": str(path)})
    assert redact(f"[DEBUG] provider: {canary}") == f"[DEBUG] provider: {MASK}"
    # Best effort: a kubeconfig or token file it cannot read is the gates' to report, not a crash here.
    before = tree_digest(tmp_path)
    register_context_secrets(str(tmp_path / "missing.yaml"), "honey", {})
    (tmp_path / "token").unlink()
    register_context_secrets(str(path), "honey", {})
    assert tree_digest(tmp_path) == {k: v for k, v in before.items() if k != "token"}




@pytest.mark.parametrize("shape", ["{}\n", "\n{}", "{}\r", "{}\x00", "Ab{}\nGhijklmn"],
                         ids=["trailing newline", "leading newline", "carriage return", "NUL", "inner newline"])
def test_an_inline_token_with_a_line_break_is_a_kubeconfig_error_that_never_shows_it(tmp_path: Path,
                                                                                       shape: str) -> None:
    """The HTTP library would refuse the header with a ValueError quoting ``Bearer <token>`` in clear."""
    canary = _canary()
    path = kubeconfig(tmp_path / "k.yaml", server=_SERVER, user={"token": shape.format(canary)})
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 1))
    assert err.value.kind == "kubeconfig"
    assert err.value.message == f"the token of user 'op' in {path} {_LINE_BREAK}"
    assert err.value.remedy == (f"remove the line break from users[].user.token of user 'op' in {path} (a YAML block "
                                "scalar written with `|` keeps a final one; `|-` or a plain one-line value does not), "
                                "or get a fresh kubeconfig for honey")
    assert canary not in err.value.message + err.value.remedy
    for piece in shape.format(canary).split():  # each line of it is masked wherever it is printed
        assert redact(f"said {piece}.") == f"said {MASK}.", piece
    assert tree_digest(tmp_path) == before


def test_a_tab_or_surrounding_spaces_in_an_inline_token_are_sent(tmp_path: Path) -> None:
    """HTTP headers may carry both (the server then judges the token), so they are no kubeconfig error."""
    canary = _canary()
    path = kubeconfig(tmp_path / "k.yaml", server=_SERVER, user={"token": f" {canary}\t"})
    client = ClusterClient.for_context(str(path), "honey", Timeouts(1, 1))
    assert client.api_client.configuration.api_key["BearerToken"] == f"Bearer  {canary}\t"


def test_an_exec_plugin_token_with_a_line_break_is_an_exec_error_that_never_shows_it(tmp_path: Path) -> None:
    from gfwizard.cluster_exec import run_exec_plugin
    from tests.unit.test_cluster_local import plugin

    canary = _canary()
    cfg = plugin(tmp_path, f"""
        import json
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {{"token": "{canary}\\n"}}}}))
    """)
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        run_exec_plugin(cfg, user="op", kubeconfig_file=str(tmp_path / "k.yaml"), cluster=None, timeout=10)
    assert err.value.kind == "exec"
    assert err.value.message.startswith("the token exec plugin ")
    assert err.value.message.endswith(f" returned {_LINE_BREAK}")
    assert canary not in err.value.message + err.value.remedy
    assert tree_digest(tmp_path) == before
