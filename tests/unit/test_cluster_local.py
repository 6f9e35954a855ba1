"""The local half of cluster validation: kubeconfig reading and merging, network policy, server
comparison, exec plugins with deadlines, expired client certificates. No API server involved."""

from __future__ import annotations

import base64
import datetime as dt
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gfwizard.checks import Level
from gfwizard.cluster_client import ClusterClient, Timeouts, close_all
from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.cluster_exec import run_exec_plugin
from gfwizard.cluster_kubeconfig import ca_sha256, resolve_context
from gfwizard.cluster_network import (classify_address, network_check, normalise_server,
                                      same_cluster_server_remedy, server_check)
from tests.helpers import tree_digest


@pytest.fixture(autouse=True)
def _fresh_clients() -> Any:
    close_all()
    yield
    close_all()


def kubeconfig(path: Path, *, context: str = "honey", server: str = "https://100.113.89.12:6443",
               user: dict[str, Any] | None = None, cluster_extra: dict[str, Any] | None = None) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "honey", "cluster": {"server": server, **(cluster_extra or {})}}],
        "users": [{"name": "op", "user": user if user is not None else {"token": "tok-123456"}}],
        "contexts": [{"name": context, "context": {"cluster": "honey", "user": "op"}}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


# -- network policy -------------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "kind"), [
    ("100.113.89.12", "tailnet"), ("100.64.0.1", "tailnet"), ("fd7a:115c:a1e0::1", "tailnet"),
    ("10.1.2.3", "private"), ("172.20.0.1", "private"), ("192.168.1.10", "private"), ("fd00::1", "private"),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("8.8.8.8", "public"), ("100.128.0.1", "public"),
    ("2001:4860::1", "public"),
])
def test_address_classes(address: str, kind: str) -> None:
    assert classify_address(address) == kind


@pytest.mark.parametrize(("server", "network", "level", "text"), [
    ("https://100.113.89.12:6443", "tailnet", Level.PASS, "on the tailnet"),
    ("https://honey.tail1234.ts.net:6443", "tailnet", Level.PASS, "on the tailnet"),
    ("https://192.168.1.5:6443", "tailnet", Level.FAIL, "is not on the tailnet"),
    ("https://192.168.1.5:6443", "private", Level.PASS, "is private"),
    ("https://100.113.89.12:6443", "private", Level.PASS, "is private"),
    ("https://8.8.8.8:6443", "tailnet", Level.FAIL, "is a public address"),
    ("https://8.8.8.8:6443", "private", Level.FAIL, "is a public address"),
    ("https://127.0.0.1:6443", "tailnet", Level.FAIL, "allowed only in rehearsal"),
    ("https://localhost:6443", "private", Level.FAIL, "allowed only in rehearsal"),
    ("https://127.0.0.1:6443", "loopback", Level.PASS, "the rehearsal honey"),
    ("https://100.113.89.12:6443", "loopback", Level.FAIL, "is not loopback"),
])
def test_network_policy(server: str, network: str, level: Level, text: str) -> None:
    check = network_check(server, network, timeout=1)
    assert check.level is level and text in check.detail
    if level is Level.FAIL:
        assert check.remedy


def test_unresolvable_name_fails_with_remedy() -> None:
    check = network_check("https://no-such-host.invalid:6443", "private", timeout=2)
    assert check.level is Level.FAIL and "cannot resolve no-such-host.invalid" in check.detail


def test_server_comparison_normalises_but_catches_other_servers() -> None:
    assert normalise_server("HTTPS://Honey.ts.net/") == normalise_server("https://honey.ts.net:443")
    ok = server_check("https://100.113.89.12:6443/", "https://100.113.89.12:6443", "honey", "k.yaml")
    assert ok.level is Level.PASS
    bad = server_check("https://100.113.89.13:6443", "https://100.113.89.12:6443", "honey", "k.yaml")
    assert bad.level is Level.FAIL
    assert "points at https://100.113.89.13:6443, but cluster.api_server is https://100.113.89.12:6443" in bad.detail
    assert "fix the cluster's server in k.yaml" in bad.remedy
    # Another context (a legacy one): the remedy is the configured context, never repointing this one.
    legacy = server_check("https://74.220.1.1:6443", "https://100.113.89.12:6443", "tinyland-civo-dev", "k.yaml",
                          "honey")
    assert legacy.level is Level.FAIL
    assert legacy.detail == ("context 'tinyland-civo-dev' points at https://74.220.1.1:6443, not at honey's "
                             "api_server https://100.113.89.12:6443")
    assert legacy.remedy == ("validate the configured context 'honey' (--context honey); 'tinyland-civo-dev' is "
                             "not honey")
    assert "fix the cluster's server" not in legacy.remedy


def test_with_no_organization_yaml_yet_the_remedies_say_to_write_it_first() -> None:
    """The wizard drafts a new file with honey's address and asks no API server or network: a remedy to correct
    cluster.api_server (or cluster.network) in organization.yaml named a file that did not exist yet."""
    honey, lan = "https://100.113.89.12:6443", "https://192.168.1.5:6443"
    write_first = ("there is no organization.yaml yet to correct, so write it first with `gfwizard config init "
                   "--plain` (it asks the API server and the network), then start the wizard again (`gfwizard wizard`)")
    server = server_check(lan, honey, "honey", "k.yaml", "honey", new_config=True)
    assert server.level is Level.FAIL
    assert server.remedy == ("use a kubeconfig whose 'honey' context points at https://100.113.89.12:6443 (fix the "
                             f"cluster's server in k.yaml), or if honey is reached at {lan}: {write_first}")
    network = network_check(lan, "tailnet", new_config=True)
    assert network.level is Level.FAIL
    assert network.remedy == f"use honey's tailnet address in the kubeconfig, or if honey is reached over the LAN: " \
                             f"{write_first}"
    same = same_cluster_server_remedy(lan, honey, "honey", "honey", new_config=True)
    assert same.endswith(f"point the context's cluster at it, or if that is how honey is to be reached: {write_first}")
    for remedy in (server.remedy, network.remedy, same):
        assert "cluster.api_server in" not in remedy and "set cluster." not in remedy, remedy
    # With a file, the fields in it are what to correct.
    assert "or correct cluster.api_server in organization.yaml" in server_check(lan, honey, "honey", "k.yaml").remedy
    assert "set cluster.network: private" in network_check(lan, "tailnet").remedy
    assert f"set cluster.api_server to {lan}" in same_cluster_server_remedy(lan, honey, "honey", "honey")


# -- kubeconfig reading -----------------------------------------------------------------------------

def test_merged_kubeconfig_first_file_wins_and_paths_are_absolute(tmp_path: Path) -> None:
    ca = tmp_path / "a" / "ca.pem"
    ca.parent.mkdir()
    import trustme

    authority = trustme.CA()
    ca.write_bytes(authority.cert_pem.bytes())
    first = kubeconfig(tmp_path / "a" / "one.yaml", server="https://100.64.0.1:6443",
                       cluster_extra={"certificate-authority": "ca.pem"})
    second = kubeconfig(tmp_path / "b" / "two.yaml", server="https://100.64.0.2:6443")
    target, standalone = resolve_context(f"{first}:{second}", "honey")
    assert target.server == "https://100.64.0.1:6443"
    assert target.files == (str(first), str(second))
    assert standalone["clusters"][0]["cluster"]["certificate-authority"] == str(ca)
    assert target.ca_sha256 == ca_sha256(authority.cert_pem.bytes()) and len(target.ca_sha256) == 64
    assert target.auth_kind == "token"


def test_missing_context_names_the_known_ones(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml")
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        resolve_context(str(path), "bumble")
    assert err.value.kind == "kubeconfig"
    assert "context 'bumble' not found" in err.value.message and "contexts there: honey" in err.value.message
    assert tree_digest(tmp_path) == before


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ClusterAccessError, match="kubeconfig file not found: .*nope.yaml"):
        resolve_context(str(tmp_path / "nope.yaml"), "honey")


def test_with_no_organization_yaml_yet_the_kubeconfig_remedies_do_not_name_its_fields(tmp_path: Path) -> None:
    """The wizard at Validate with no organization.yaml yet validates its draft's default kubeconfig: when that is
    missing, a directory, empty or without the context, the remedy said to fix cluster.kubeconfig (or
    cluster.context) in organization.yaml, a file that does not exist; it says where else to pick them."""
    from gfwizard.answers import ConfigAnswers, build_config
    from gfwizard.cluster import validate_context

    write_first = ("there is no organization.yaml yet to correct: go Back (Esc) to the wizard's Kubeconfig step and "
                   "pick honey's context in the file that holds it, or write organization.yaml first with `gfwizard "
                   "config init --plain` (it asks the kubeconfig file and the context), then start the wizard again "
                   "(`gfwizard wizard`)")
    missing, directory, empty = tmp_path / "kubeconfig-honey.yaml", tmp_path / "kube.d", tmp_path / "empty.yaml"
    directory.mkdir()
    empty.write_text("# nothing yet\n", encoding="utf-8")
    other = kubeconfig(tmp_path / "other.yaml", context="elsewhere")
    expected = {
        missing: f"the wizard's draft names {missing}, which does not exist, as the kubeconfig: {write_first}",
        directory: f"the wizard's draft names the directory {directory} as the kubeconfig: {write_first}",
        empty: f"put honey's kubeconfig into {empty}, or {write_first}",
        other: write_first,
    }
    before = tree_digest(tmp_path)
    for path, remedy in expected.items():
        draft = build_config(ConfigAnswers(kubeconfig=str(path)))
        report = validate_context(draft, new_config=True, timeouts=(0.2, 0.2))
        check = report.check("kubeconfig")
        assert check is not None and check.level is Level.FAIL, (path, check)
        assert check.remedy == remedy, path
        assert "in organization.yaml" not in check.remedy
        # With a file, its field is what to fix.
        with_file = validate_context(draft, timeouts=(0.2, 0.2)).check("kubeconfig")
        assert with_file is not None and "organization.yaml" in with_file.remedy, path
        assert "Kubeconfig step" not in with_file.remedy
    assert tree_digest(tmp_path) == before


def test_ambient_kubeconfig_list_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kubeconfig(tmp_path / "k.yaml", context="honey")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing.yaml'}:{path}")
    target, _ = resolve_context(None, "honey")
    assert target.files == (str(path),)


def test_kubeconfig_set_to_no_file_is_named_not_reported_as_an_empty_file_list(tmp_path: Path) -> None:
    kubeconfig(tmp_path / ".kube" / "config")  # kubectl does not fall back to it while KUBECONFIG is set
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        resolve_context(None, "honey", {"KUBECONFIG": ":", "HOME": str(tmp_path)})
    assert (err.value.kind, err.value.message, err.value.remedy) == (
        "kubeconfig", "KUBECONFIG is set to ':', which names no file: kubectl then reads no kubeconfig at all (it does "
        "not fall back to ~/.kube/config)",
        "set KUBECONFIG to a kubeconfig file (for honey: ~/.kube/kubeconfig-honey.yaml), or unset it to use "
        "~/.kube/config")
    assert tree_digest(tmp_path) == before


def test_a_relative_or_tilde_kubeconfig_entry_is_read_from_the_current_directory_like_kubectl(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    kubeconfig(home / "k.yaml")
    path = kubeconfig(cwd / "rel.yaml")
    monkeypatch.chdir(cwd)
    before = tree_digest(tmp_path)
    target, _ = resolve_context(None, "honey", {"KUBECONFIG": "~/k.yaml:rel.yaml", "HOME": str(home)})
    assert target.files == (str(path),) and [t.entry for t in target.unexpanded] == ["~/k.yaml"]
    assert target.unexpanded_note() == (
        f"KUBECONFIG entry '~/k.yaml' starts with '~', which kubectl does not expand: it reads {cwd / '~' / 'k.yaml'} "
        f"(which does not exist), not {home / 'k.yaml'}",
        f"write the entry without '~' ({home / 'k.yaml'}), or let the shell expand it: export "
        "KUBECONFIG=\"$HOME/k.yaml\" (a '~' inside quotes is not expanded)")
    assert tree_digest(tmp_path) == before


# -- exec plugins ---------------------------------------------------------------------------------

def plugin(tmp_path: Path, body: str) -> dict[str, Any]:
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(body))
    return {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(script)]}


def test_exec_plugin_token(tmp_path: Path) -> None:
    cfg = plugin(tmp_path, """
        import json, os, sys
        info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
        assert info["spec"]["interactive"] is False
        print("note: cached login", file=sys.stderr)
        print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {"token": "exec-token-abcdef", "expirationTimestamp": "2999-01-01T00:00:00Z"}}))
    """)
    cred = run_exec_plugin(cfg, user="op", kubeconfig_file=str(tmp_path / "k.yaml"), cluster=None, timeout=10)
    assert cred.token == "exec-token-abcdef" and cred.expires and cred.expires.year == 2999
    assert "cached login" in cred.stderr


def test_failing_exec_plugin_shows_its_stderr(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml", user={"exec": plugin(tmp_path, """
        import sys
        print("error: refresh token expired, run `tinyland-login`", file=sys.stderr)
        sys.exit(3)
    """)})
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 5))
    assert err.value.kind == "exec"
    assert "exited with status 3" in err.value.message
    assert "refresh token expired, run `tinyland-login`" in err.value.message
    assert tree_digest(tmp_path) == before


def test_hanging_exec_plugin_is_killed_at_the_deadline(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml", user={"exec": plugin(tmp_path, """
        import subprocess, sys, time
        print("waiting for browser login...", file=sys.stderr, flush=True)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a helper holding our pipes
        time.sleep(60)
    """)})
    before = tree_digest(tmp_path)
    started = time.monotonic()
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(connect=1, read=1.5))
    elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 1.0, elapsed
    assert err.value.kind == "exec"
    assert "did not finish within 1.5s and was killed" in err.value.message
    assert "waiting for browser login" in err.value.message
    assert tree_digest(tmp_path) == before


def test_missing_exec_command_uses_install_hint(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml", user={"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-plugin-xyz",
        "installHint": "install no-such-plugin-xyz from the tailnet docs"}})
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 2))
    assert "cannot be started" in err.value.message
    assert err.value.remedy == "install no-such-plugin-xyz from the tailnet docs"


def shell_plugin(tmp_path: Path, body: str) -> dict[str, Any]:
    script = tmp_path / "plugin.sh"
    script.write_text("#!/bin/bash\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}


def _exec_failure(tmp_path: Path, exec_cfg: dict[str, Any]) -> ClusterAccessError:
    """Build a client for a kubeconfig whose user runs ``exec_cfg``; the error, once nothing was written."""
    path = kubeconfig(tmp_path / "kube" / "k.yaml", user={"exec": exec_cfg})
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 10))
    assert tree_digest(tmp_path) == before, "a file changed"
    assert err.value.kind == "exec"
    return err.value


def _where(tmp_path: Path) -> str:
    return f"user 'op' in {tmp_path / 'kube' / 'k.yaml'}"


def test_plugin_printing_a_login_page_is_quoted_safely(tmp_path: Path) -> None:
    command = str(tmp_path / "plugin.sh")
    err = _exec_failure(tmp_path, shell_plugin(tmp_path, """
        printf '<!DOCTYPE html>\\n<html><head><title>Sign in to Tinyland SSO</title></head>\\n<body>\\n'
    """))
    assert err.message == (
        f"exec plugin {command!r} of {_where(tmp_path)} exited 0 but printed no valid ExecCredential (its stdout "
        "is not JSON (line 1, column 1)); it printed: <!DOCTYPE html>\\n<html><head><title>Sign in to Tinyland "
        "SSO</title></head>\\n<body>")
    assert err.remedy == (
        f"run `{command}` by hand (with the args of the exec block of {_where(tmp_path)}) and look at what it prints: "
        "it must print only an ExecCredential JSON (client.authentication.k8s.io/v1) on stdout, with any message "
        "on stderr; a login page or banner there means it needs a login first or a flag that makes it print the "
        "credential")


@pytest.mark.parametrize(("printed", "why", "quoted"), [
    ('{"kind": "Status", "status": "Failure", "message": "Unauthorized"}', "the status of its JSON is not an object",
     '{"kind": "Status", "status": "Failure", "message": "Unauthorized"}'),
    ('{"apiVersion": "v1", "kind": "Config"}', "its JSON has no status (an ExecCredential carries its token or "
     "certificate there)", '{"apiVersion": "v1", "kind": "Config"}'),
    ("[1, 2, 3]", "its stdout is a JSON list, not an ExecCredential object", "[1, 2, 3]"),
    ('{"kind": "ExecCredential", "token": "sekret-canary-123"}', "its JSON has no status (an ExecCredential "
     "carries its token or certificate there)", '{"kind": "ExecCredential", "token": "[REDACTED]"}'),
])
def test_plugin_printing_json_that_is_no_exec_credential_is_quoted(tmp_path: Path, printed: str, why: str,
                                                                   quoted: str) -> None:
    err = _exec_failure(tmp_path, plugin(tmp_path, f"print({printed!r})"))
    assert err.message.endswith(f"printed no valid ExecCredential ({why}); it printed: {quoted}"), err.message
    assert "sekret-canary-123" not in err.message + err.remedy


def test_plugin_printing_binary_bytes_is_quoted_escaped(tmp_path: Path) -> None:
    err = _exec_failure(tmp_path, shell_plugin(tmp_path, r"""
        printf '\x1b]0;pwned\x07\x1b[2J\x00\x01\xff\xfeBIN\r\x1b[31mred\n'
    """))
    assert err.message.endswith(
        "(its stdout is not JSON (line 1, column 1)); it printed: \\x1b]0;pwned\\x07\\x1b[2J\\x00\\x01\ufffd\ufffdBIN"
        "\\r\\x1b[31mred"), err.message
    assert not any(ch in err.message for ch in "\x00\x01\x07\x1b\r\n"), repr(err.message)


def test_plugin_printing_a_token_never_shows_it(tmp_path: Path) -> None:
    err = _exec_failure(tmp_path, shell_plugin(tmp_path, """
        echo "Welcome to tinyland-login 2.1"
        echo "token: sekret-canary-123"
        echo "token: sekret-canary-123" >&2
    """))
    assert "sekret-canary-123" not in err.message + err.remedy
    assert err.message.endswith("(its stdout is not JSON (line 1, column 1)); it printed: Welcome to tinyland-login "
                                "2.1\\ntoken: [REDACTED]; stderr: token: [REDACTED]"), err.message


def test_plugin_printing_a_huge_blob_gets_a_bounded_message(tmp_path: Path) -> None:
    err = _exec_failure(tmp_path, plugin(tmp_path, """
        import sys
        sys.stdout.write("<html>" + "A" * (8 * 1024 * 1024) + " token: sekret-canary-123")
        sys.stderr.write("warning: " + "B" * (4 * 1024 * 1024) + "\\x1b[2J token: sekret-canary-123\\n")
    """))
    quoted = err.message.split("; it printed: ", 1)[1].split("; stderr: ", 1)
    assert quoted[0] == "<html>" + "A" * 194 + "…"
    assert quoted[1].startswith("…B") and quoted[1].endswith("B\\x1b[2J token: [REDACTED]") and len(quoted[1]) <= 1501
    assert len(err.message) < 2200 and "sekret-canary-123" not in err.message


def test_failing_plugin_stderr_is_quoted_the_same_safe_way(tmp_path: Path) -> None:
    err = _exec_failure(tmp_path, shell_plugin(tmp_path, r"""
        printf 'login failed\x1b[2J\x00\xff\ntoken: sekret-canary-123\n' >&2
        exit 7
    """))
    command = str(tmp_path / "plugin.sh")
    assert err.message == (f"exec plugin {command!r} of {_where(tmp_path)} exited with status 7: login failed"
                           "\\x1b[2J\\x00\ufffd\\ntoken: [REDACTED]")
    assert err.remedy == f"run `{command}` by hand and fix what it reports (often: log in again)"


# -- client certificates --------------------------------------------------------------------------

def test_expired_client_cert_says_when_before_connecting(tmp_path: Path) -> None:
    import trustme

    authority = trustme.CA()
    expired_on = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    leaf = authority.issue_cert("operator", not_before=expired_on - dt.timedelta(days=365), not_after=expired_on)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    # A server that is never contacted: the check happens before any connection.
    path = kubeconfig(tmp_path / "k.yaml", server="https://100.64.0.9:6443", user={
        "client-certificate-data": b64(leaf.cert_chain_pems[0].bytes()),
        "client-key-data": b64(leaf.private_key_pem.bytes())},
        cluster_extra={"certificate-authority-data": b64(authority.cert_pem.bytes())})
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 1))
    assert err.value.kind == "cert-expired"
    assert "client certificate of user 'op'" in err.value.message
    assert "expired on 2024-03-01 12:00 UTC" in err.value.message
    assert tree_digest(tmp_path) == before


def test_client_is_reused_and_rebuilt_when_the_file_changes(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml", server="https://100.64.0.9:6443")
    first = ClusterClient.for_context(str(path), "honey", (1, 2))
    again = ClusterClient.for_context(str(path), "honey", (2, 3))
    assert first.api_client is again.api_client and again.timeouts.request == (2.0, 3.0)
    assert first.api_client.configuration.retries == 0
    kubeconfig(path, server="https://100.64.0.10:6443")
    import os

    os.utime(path, (time.time() + 5, time.time() + 5))
    rebuilt = ClusterClient.for_context(str(path), "honey", (1, 2))
    assert rebuilt.api_client is not first.api_client
    assert rebuilt.api_client.configuration.host == "https://100.64.0.10:6443"


# -- classification -------------------------------------------------------------------------------

@pytest.mark.parametrize(("context", "server", "level", "text"), [
    ("honey", "https://100.113.89.12:6443", Level.PASS, "is the deploy target"),
    ("honey-admin", "https://100.113.89.12:6443", Level.PASS, "is the deploy target"),
    ("tinyland-civo-dev", "https://74.220.1.1:6443", Level.FAIL, "legacy (Civo-era) context"),
    ("tinyland/infra:dev", "https://kas.gitlab.com/k8s-proxy", Level.FAIL, "GitLab-agent context"),
    # Agent-shaped names fail even when pointed at honey's API.
    ("tinyland/infra:dev", "https://100.113.89.12:6443", Level.FAIL, "GitLab-agent context"),
    ("sting", "https://100.113.89.12:6443", Level.FAIL, "named after node role 'sting'"),
    ("minikube", "https://192.168.49.2:8443", Level.WARN, "is neither the configured context"),
])
def test_classification(tmp_path: Path, context: str, server: str, level: Level, text: str) -> None:
    from gfwizard.cluster import classification_check
    from gfwizard.kubeconfig import discover
    from tests.unit.test_placement import config

    path = kubeconfig(tmp_path / "k.yaml", context=context, server=server)
    before = tree_digest(tmp_path)
    discovery = discover(environ={"KUBECONFIG": str(path)}, home=tmp_path)
    for found in (None, discovery):
        check = classification_check(config(), context, "honey", server, found, (str(path),))
        assert check.level is level and text in check.detail, (found, check)
        if level is not Level.PASS:
            assert "'honey' context for honey (https://100.113.89.12:6443)" in check.remedy
    assert tree_digest(tmp_path) == before


def test_exec_plugin_runs_once_per_client_with_ambient_kubeconfig_list(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs.txt"
    path = kubeconfig(tmp_path / "k.yaml", server="https://100.64.0.9:6443", user={"exec": plugin(tmp_path, f"""
        import json
        with open({str(runs)!r}, "a") as fh:
            fh.write("run\\n")
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {{"token": "exec-token-abcdef"}}}}))
    """)})
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'absent.yaml'}:{path}")
    first = ClusterClient.for_context(None, "honey", (1, 2))
    second = ClusterClient.for_context(None, "honey", (1, 2))
    assert first.api_client is second.api_client
    assert runs.read_text().count("run") == 1
    assert first.api_client.configuration.api_key["BearerToken"] == "Bearer exec-token-abcdef"


def test_a_failing_check_of_another_context_points_at_the_configured_one() -> None:
    from gfwizard.cluster import _for_target
    from gfwizard.cluster_network import network_check

    public = network_check("https://74.220.1.2:6443", "tailnet")
    assert public.level is Level.FAIL and "use honey's tailnet address" in public.remedy
    legacy = _for_target(public, "tinyland-civo-dev", "honey")
    assert legacy.detail == public.detail and legacy.level is Level.FAIL
    assert legacy.remedy == ("validate the configured context 'honey' (--context honey); 'tinyland-civo-dev' is "
                             "not honey")
    assert _for_target(public, "honey", "honey") is public, "the configured context keeps its own remedy"
    fine = network_check("https://100.113.89.12:6443", "tailnet")
    assert _for_target(fine, "tinyland-civo-dev", "honey") is fine


def test_exec_plugin_echoing_its_credentials_does_not_leak_them(tmp_path: Path) -> None:
    """A plugin that fails and echoes the credentials the kubeconfig handed it (a secret-named env entry,
    a secret-named flag) on stderr: the error keeps the plugin's words but not those values."""
    env_secret, flag_secret, eq_secret = "CanaryVaultTok7731", "CanaryFlagTok8842", "CanaryClientSec9953"
    cfg = plugin(tmp_path, """
        import os, sys
        print(f"login failed for {os.environ['VAULT_TOKEN']} with {sys.argv[2]} and {sys.argv[3]}", file=sys.stderr)
        sys.exit(4)
    """)
    cfg["args"] = [*cfg["args"], "--token", flag_secret, f"--client-secret={eq_secret}"]
    cfg["env"] = [{"name": "VAULT_TOKEN", "value": env_secret}, {"name": "VAULT_ADDR", "value": "https://vault.ts.net"}]
    path = kubeconfig(tmp_path / "k.yaml", user={"exec": cfg})
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 5))
    message = err.value.message
    assert "exited with status 4" in message and "login failed for" in message
    for canary in (env_secret, flag_secret, eq_secret):
        assert canary not in message + err.value.remedy, message


def test_exec_plugin_stderr_quoting_a_token_is_masked_and_its_prose_kept(tmp_path: Path) -> None:
    """A failing plugin quotes a token gfwizard never saw (nothing registered it): the pattern rules mask
    it, while "token expired" stays readable."""
    import secrets

    fresh = secrets.token_hex(20)
    path = kubeconfig(tmp_path / "k.yaml", user={"exec": plugin(tmp_path, f"""
        import sys
        print("error: token {fresh} rejected: token expired, run `tinyland-login`", file=sys.stderr)
        sys.exit(5)
    """)})
    before = tree_digest(tmp_path)
    with pytest.raises(ClusterAccessError) as err:
        ClusterClient.for_context(str(path), "honey", Timeouts(1, 5))
    assert fresh not in err.value.message + err.value.remedy
    assert "error: token [REDACTED] rejected: token expired, run `tinyland-login`" in err.value.message
    assert tree_digest(tmp_path) == before


def test_exec_plugin_token_is_registered_before_its_stderr_is_kept(tmp_path: Path) -> None:
    """The token a plugin returns is registered: echoed in prose no pattern recognises, it is still masked
    in the plugin's stderr and everywhere else later."""
    import secrets

    from gfwizard.redact import redact

    returned = f"plugintok{secrets.token_hex(4)}"  # not credential-shaped: only registration masks it
    cfg = plugin(tmp_path, f"""
        import json, sys
        print("cached {returned} for op", file=sys.stderr)
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {{"token": "{returned}"}}}}))
    """)
    cred = run_exec_plugin(cfg, user="op", kubeconfig_file=str(tmp_path / "k.yaml"), cluster=None, timeout=10)
    assert cred.token == returned
    assert cred.stderr == "cached [REDACTED] for op"
    assert redact(f"apply said {returned}") == "apply said [REDACTED]"


def _mismatch(verify_code: int, message: str) -> Exception:
    """The handshake error OpenSSL gives when the certificate is valid, but not for the address checked."""
    import ssl

    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    exc.verify_code = verify_code
    return exc


def test_a_certificate_not_issued_for_the_server_address_is_named_not_blamed_on_the_ca() -> None:
    """honey reached at a tailnet address its k3s certificate does not list: the remedy is the address (or
    --tls-san, or tls-server-name), not a fresh kubeconfig for another CA."""
    import types

    from gfwizard.cluster_errors import CA_REMEDY, tls_error

    target = types.SimpleNamespace(server="https://100.113.89.12:6443", tls_server_name="", cluster_name="honey",
                                   cluster_where="/home/op/.kube/kubeconfig-honey.yaml")
    error = tls_error(target, _mismatch(64, "IP address mismatch, certificate is not valid for '100.113.89.12'."))
    assert error.kind == "tls"
    assert error.message.startswith("TLS with https://100.113.89.12:6443 failed: the server's certificate is not "
                                    "valid for 100.113.89.12, the address in the server URL of cluster 'honey' (")
    assert error.remedy.startswith("use an address the API server's certificate was issued for in the server URL of "
                                   "cluster 'honey' in /home/op/.kube/kubeconfig-honey.yaml (k3s: add this one with "
                                   "--tls-san and restart it), or set tls-server-name there")
    # Any other verification failure is still the CA's.
    other = tls_error(target, _mismatch(20, "unable to get local issuer certificate"))
    assert other.remedy == CA_REMEDY
