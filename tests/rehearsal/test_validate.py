"""Context validation against the rehearsal honey: real TLS, the real Kubernetes client, every
failure mode of issue 4 with its message asserted and the kubeconfig and organization.yaml proven
unchanged."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import stat
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest
import yaml

from gfwizard.checks import Level
from gfwizard.cluster import ValidationReport, gate_checks, list_nodes, validate_context
from gfwizard.cluster_client import close_all
from gfwizard.orgconfig import OrgConfig, load_config, save_config
from gfwizard.placement import compute_placement, requests_for
from gfwizard.rehearsal.workspace import kubeconfig_document, org_config
from tests.helpers import run_cli, tree_digest

if TYPE_CHECKING:
    from gfwizard.rehearsal.apiserver import RehearsalAPIServer

FAST = (2.0, 5.0)


@dataclass
class Files:
    dir: Path
    kubeconfig: Path
    config: Path

    def digest(self) -> dict[str, str]:
        return tree_digest(self.dir)

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig), "GFW_CONFIG": str(self.config)}


@pytest.fixture(autouse=True)
def _fresh_clients(honey: "RehearsalAPIServer") -> Iterator[None]:
    close_all()
    honey.faults.clear()
    honey.request_log.clear()
    yield
    honey.faults.clear()
    close_all()


def write_files(tmp_path: Path, honey: "RehearsalAPIServer", *, server: str | None = None,
                token: str | None = None, user: dict[str, Any] | None = None, pin: bool = True,
                api_server: str | None = None, extra_contexts: tuple[str, ...] = (),
                roles: dict[str, Any] | None = None, comment: bool = False) -> Files:
    """A kubeconfig and an organization.yaml for ``honey`` (or variations of them)."""
    directory = tmp_path / "ws"
    directory.mkdir(parents=True)
    doc = kubeconfig_document(server=server or honey.url, ca_pem=honey.ca_pem, token=token or honey.admin_token)
    if user is not None:
        doc["users"][0]["user"] = user
    for name in extra_contexts:
        doc["contexts"].append({"name": name, "context": {"cluster": "honey", "user": doc["users"][0]["name"]}})
    kube = directory / "kubeconfig-honey.yaml"
    kube.write_text(yaml.safe_dump(doc, sort_keys=False))
    kube.chmod(0o600)  # as kubectl writes it: a mode others can read is its own warning (test_validate_hygiene)
    cfg = org_config(api_url=api_server or honey.url, kubeconfig_path=kube, s3_endpoint="http://127.0.0.1:9",
                     bucket="unused-here", fingerprint=(honey.kube_system_uid, honey.ca_sha256) if pin else None)
    if roles is not None:
        data = cfg.model_dump()
        data["placement"]["roles"].update(roles)
        cfg = OrgConfig.model_validate(data)
    config = save_config(cfg, directory / "organization.yaml")
    if comment:
        config.write_text("# honey, pinned by the operator on first validation\n" + config.read_text())
    return Files(dir=directory, kubeconfig=kube, config=config)


def validate(files: Files, **kwargs: Any) -> ValidationReport:
    kwargs.setdefault("timeouts", FAST)
    return validate_context(load_config(files.config), **kwargs)


def levels(report: ValidationReport) -> dict[str, str]:
    return {c.name: c.level.value for c in report.checks}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(args: list[str], files: Files) -> Result:
    """``gfwizard ARGS`` in-process (the subprocess path is covered by test_cli_json_output)."""
    from click.testing import CliRunner

    from gfwizard.cli import cli as entry

    result = CliRunner().invoke(entry, args, env=files.env(), input="", catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the good path ----------------------------------------------------------------------------------

def test_all_checks_pass_for_a_correct_config(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    before = files.digest()
    report = validate(files)
    assert levels(report) == {n: "pass" for n in ("kubeconfig", "classification", "server", "network",
                                                    "credentials", "reachable", "fingerprint", "placement", "rbac")}
    assert report.ok and report.version and report.server == honey.url
    assert report.observed_fingerprint is not None
    assert report.observed_fingerprint.kube_system_uid == honey.kube_system_uid
    assert report.observed_fingerprint.ca_sha256 == honey.ca_sha256
    placement = report.check("placement")
    assert placement is not None and "bumble: bumble" in placement.detail and "sting: sting" in placement.detail
    writes = [e for e in honey.request_log.entries() if e["method"] != "GET"]
    assert writes and all(e["method"] == "POST" and e["path"].endswith("/selfsubjectaccessreviews") for e in writes)
    assert files.digest() == before


def test_cli_json_output(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    before = files.digest()
    out = run_cli(["validate", "--json", "--connect-timeout", "2", "--read-timeout", "5"], env=files.env(), input="")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True and data["pin"] is None
    assert data["context"] == "honey" and data["kubeconfig"] == [str(files.kubeconfig)]
    assert data["observed_fingerprint"] == {"kube_system_uid": honey.kube_system_uid, "ca_sha256": honey.ca_sha256}
    assert [c["name"] for c in data["checks"]][:3] == ["kubeconfig", "classification", "server"]
    assert set(data["checks"][0]) == {"name", "level", "detail", "remedy"}
    assert honey.admin_token not in out.stdout + out.stderr
    assert files.digest() == before


def test_gate_checks(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    pinned = write_files(tmp_path / "a", honey)
    checks = gate_checks(load_config(pinned.config), timeouts=FAST)
    assert [(c.name, c.level) for c in checks] == [("server", Level.PASS), ("fingerprint", Level.PASS)]
    unpinned = write_files(tmp_path / "b", honey, pin=False)
    server, fingerprint = gate_checks(load_config(unpinned.config), timeouts=FAST)
    assert server.ok and fingerprint.level is Level.FAIL and "not pinned yet" in fingerprint.detail
    assert "gfwizard validate --pin" in fingerprint.remedy
    # Run with --config, the printed remedy pins into that config, not the default one.
    out = run_cli(["validate", "--config", str(unpinned.config), "--connect-timeout", "2", "--read-timeout", "5"],
                  env={"KUBECONFIG": str(unpinned.kubeconfig), "GFW_CONFIG": ""}, input="")
    assert out.returncode == 0, out.stdout + out.stderr  # unpinned is a warning for validate
    assert f"`gfwizard validate --pin --config {unpinned.config}`" in out.stdout, out.stdout


def test_placement_from_live_nodes(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    cfg = load_config(files.config)
    nodes = list_nodes(cfg, timeouts=FAST)
    assert {n.name for n in nodes} >= {"honey", "bumble", "sting"} and all(n.ready for n in nodes)
    table = compute_placement(cfg, nodes, requests_for(cfg))
    assert table.ok, table.conflicts()
    assert {r.stack: r.candidates for r in table.rows if r.stack in ("attic", "gitlab-runners")} == {
        "attic": ["bumble"], "gitlab-runners": ["sting"]}


# -- bad input and faults ---------------------------------------------------------------------------

def test_unreachable_api(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    url = f"https://127.0.0.1:{closed_port()}"
    files = write_files(tmp_path, honey, server=url, api_server=url)
    before = files.digest()
    report = validate(files)
    reachable = report.check("reachable")
    assert reachable is not None and reachable.level is Level.FAIL
    assert f"cannot connect to {url}: connection refused" in reachable.detail
    assert "honey's API server is up" in reachable.remedy
    # network: loopback is the rehearsal: the remedy says so, not `tailscale status`.
    assert "is the rehearsal still running? `gfwizard rehearse --serve` starts one" in reachable.remedy
    assert "tailscale" not in reachable.remedy
    for name in ("fingerprint", "placement", "rbac"):
        check = report.check(name)
        assert check is not None and check.level is Level.WARN
        assert check.detail == "skipped: the API server did not answer"
        assert "fix the 'reachable' check first" in check.remedy
    out = cli(["validate"], files)
    assert out.returncode == 1 and "connection refused" in out.stdout and "some checks failed" in out.stdout
    # The failure's remedy is printed under it; the skipped checks' (fix that failure first) would only repeat it.
    assert f"remedy: {reachable.remedy}" in " ".join(out.stdout.split())
    assert "skipped: the API server did not answer" in out.stdout
    assert "fix the 'reachable' check first" not in out.stdout
    assert files.digest() == before


def test_blackholed_api_fails_within_the_timeout(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    before = files.digest()
    honey.faults.blackhole(True)
    try:
        started = time.monotonic()
        report = validate(files, timeouts=(1.0, 1.0))
        elapsed = time.monotonic() - started
    finally:
        honey.faults.blackhole(False)
    assert elapsed < 1.0 + 1.0, f"validation took {elapsed:.2f}s"
    reachable = report.check("reachable")
    assert reachable is not None and reachable.level is Level.FAIL
    assert "did not answer within 1s" in reachable.detail or "timed out after 1s" in reachable.detail
    assert report.check("fingerprint").level is Level.WARN  # type: ignore[union-attr]
    assert files.digest() == before


def test_wrong_token_is_credentials_rejected(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    from gfwizard.cluster_client import ClusterClient

    files = write_files(tmp_path, honey, token="not-the-right-token-0123456789")
    before = files.digest()
    cached = ClusterClient.for_context(str(files.kubeconfig), "honey", FAST)
    report = validate(files)
    # A rejected credential is not reused: the next client re-reads the kubeconfig.
    assert ClusterClient.for_context(str(files.kubeconfig), "honey", FAST).api_client is not cached.api_client
    creds = report.check("credentials")
    assert creds is not None and creds.level is Level.FAIL
    assert f"credentials rejected (401 Unauthorized) by {honey.url} for user 'honey-admin'" in creds.detail
    assert "token of user 'honey-admin'" in creds.remedy and "invalid or expired" in creds.remedy
    assert report.check("rbac").detail == "skipped: the API rejected the credentials"  # type: ignore[union-attr]
    assert "not-the-right-token" not in report.model_dump_json()
    assert files.digest() == before


def test_server_url_mismatch(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    other = f"https://127.0.0.1:{closed_port()}"
    files = write_files(tmp_path, honey, api_server=other)
    before = files.digest()
    report = validate(files)
    server = report.check("server")
    assert server is not None and server.level is Level.FAIL
    assert f"context 'honey' points at {honey.url}, but cluster.api_server is {other}" in server.detail
    assert "a context with the right name that reaches another server" in server.detail
    assert not report.ok
    assert files.digest() == before


def test_fingerprint_mismatch_is_a_hard_fail_and_pin_refuses(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey, pin=False)
    wrong_uid, wrong_ca = str(uuid.uuid4()), "ab" * 32
    cfg = load_config(files.config).with_fingerprint(wrong_uid, wrong_ca)
    save_config(cfg, files.config)
    (files.dir / "organization.yaml.bak").unlink()
    before = files.digest()
    report = validate(files)
    fp = report.check("fingerprint")
    assert fp is not None and fp.level is Level.FAIL
    assert "fingerprint mismatch (kube-system UID and CA sha256 differ)" in fp.detail
    assert f"expected kube-system UID {wrong_uid}, CA sha256 {wrong_ca}" in fp.detail
    assert f"actual kube-system UID {honey.kube_system_uid}, CA sha256 {honey.ca_sha256}" in fp.detail
    assert fp.remedy.startswith("stop:")
    out = cli(["validate", "--pin", "--yes"], files)
    assert out.returncode == 1
    assert "pin: refused: refusing to pin: organization.yaml already pins" in out.stdout
    assert "never overwritten" in out.stdout
    assert files.digest() == before


def test_pin_with_yes_writes_the_fingerprint_keeping_comments(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey, pin=False, comment=True)
    kube_before = tree_digest(files.kubeconfig)
    original = files.config.read_text()
    report = validate(files)
    fp = report.check("fingerprint")
    assert fp is not None and fp.level is Level.WARN and "not pinned yet" in fp.detail
    assert "gfwizard validate --pin" in fp.remedy

    refused = cli(["validate", "--pin"], files)
    assert refused.returncode == 2 and "--pin needs --yes when there is no terminal" in refused.stderr
    assert files.config.read_text() == original and not (files.dir / "organization.yaml.bak").exists()

    out = cli(["validate", "--pin", "--yes"], files)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"kube_system_uid: {honey.kube_system_uid}" in out.stdout and "pin: pinned" in out.stdout
    pinned = load_config(files.config).cluster.fingerprint
    assert pinned is not None
    assert (pinned.kube_system_uid, pinned.ca_sha256) == (honey.kube_system_uid, honey.ca_sha256)
    assert files.config.read_text().startswith("# honey, pinned by the operator on first validation\n")
    assert (files.dir / "organization.yaml.bak").read_text() == original
    assert tree_digest(files.kubeconfig) == kube_before
    again = cli(["validate", "--pin", "--yes", "--json"], files)
    assert again.returncode == 0 and json.loads(again.stdout)["pin"]["reason"] == "already pinned"


def test_pin_through_a_symlinked_config_names_the_backup_where_it_is(tmp_path: Path,
                                                                      honey: "RehearsalAPIServer") -> None:
    # organization.yaml as a link into a dotfiles checkout: the write goes through the link, so the previous
    # file is kept beside the target. The output named `organization.yaml.bak` beside the link, which did not
    # exist: restoring from it as told failed.
    files = write_files(tmp_path, honey, pin=False)
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "honey.yaml"
    original = files.config.read_text()
    files.config.rename(target)
    files.config.symlink_to(target)
    kube_before = tree_digest(files.kubeconfig)
    out = cli(["validate", "--pin", "--yes"], files)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"--pin will write into {files.config} (previous file kept as {dotfiles / 'honey.yaml.bak'}):" in out.stdout
    assert f"pin: pinned (previous file kept as {dotfiles / 'honey.yaml.bak'})" in out.stdout
    assert (dotfiles / "honey.yaml.bak").read_text() == original
    assert not (files.dir / "organization.yaml.bak").exists()
    assert files.config.is_symlink() and load_config(target).cluster.fingerprint is not None
    assert tree_digest(files.kubeconfig) == kube_before


def test_missing_role_node(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey, roles={"hornet": {"node_selector": {"gloriousflywheel.io/role": "hornet"}}})
    before = files.digest()
    report = validate(files)
    placement = report.check("placement")
    assert placement is not None and placement.level is Level.FAIL
    assert "no Ready node for role 'hornet' (gloriousflywheel.io/role=hornet)" in placement.detail
    assert "kubectl label node" in placement.remedy
    assert files.digest() == before


def test_rbac_denied_lists_missing_verbs(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey, token=honey.readonly_token)
    before = files.digest()
    report = validate(files)
    rbac = report.check("rbac")
    assert rbac is not None and rbac.level is Level.FAIL
    assert "deployments.apps: create, update, patch, delete" in rbac.detail
    assert "customresourcedefinitions.apiextensions.k8s.io: create, update, patch, delete (for arc-runners)" in rbac.detail
    assert "autoscalingrunnersets.actions.github.com" in rbac.detail
    assert "get" not in rbac.detail.split("deployments.apps: ")[1].split(" (")[0]
    assert "cluster-admin" in rbac.remedy
    assert files.digest() == before


def _plugin(tmp_path: Path, body: str) -> dict[str, Any]:
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(body))
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                     "args": [str(script)]}}


def test_exec_plugin_token_is_used(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    user = _plugin(tmp_path, f"""
        import json, sys
        print("using cached session", file=sys.stderr)
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {{"token": "{honey.admin_token}"}}}}))
    """)
    files = write_files(tmp_path, honey, user=user)
    report = validate(files)
    creds = report.check("credentials")
    assert report.ok, report.checks
    assert creds is not None and "exec plugin" in creds.detail and "using cached session" in creds.detail


def test_failing_exec_plugin_stderr_in_detail(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    user = _plugin(tmp_path, """
        import sys
        print("error: you must be logged in to the tailnet SSO", file=sys.stderr)
        sys.exit(1)
    """)
    files = write_files(tmp_path, honey, user=user)
    before = files.digest()
    report = validate(files)
    creds = report.check("credentials")
    assert creds is not None and creds.level is Level.FAIL
    assert "exited with status 1: error: you must be logged in to the tailnet SSO" in creds.detail
    assert report.check("reachable").detail == "skipped: no usable credentials for the context"  # type: ignore[union-attr]
    assert honey.request_log.entries() == []
    assert files.digest() == before


def test_hanging_exec_plugin_times_out(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    user = _plugin(tmp_path, """
        import sys, time
        print("opening browser for login", file=sys.stderr, flush=True)
        time.sleep(120)
    """)
    files = write_files(tmp_path, honey, user=user)
    before = files.digest()
    started = time.monotonic()
    report = validate(files, timeouts=(1.0, 1.0))
    assert time.monotonic() - started < 1.0 + 1.0
    creds = report.check("credentials")
    assert creds is not None and creds.level is Level.FAIL
    assert "did not finish within 1s and was killed" in creds.detail and "opening browser for login" in creds.detail
    assert files.digest() == before


def test_expired_client_certificate(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    import trustme

    expired_on = dt.datetime(2025, 1, 31, 8, 30, tzinfo=dt.timezone.utc)
    leaf = trustme.CA().issue_cert("operator", not_before=expired_on - dt.timedelta(days=90), not_after=expired_on)
    user = {"client-certificate-data": base64.b64encode(leaf.cert_chain_pems[0].bytes()).decode(),
            "client-key-data": base64.b64encode(leaf.private_key_pem.bytes()).decode()}
    files = write_files(tmp_path, honey, user=user)
    before = files.digest()
    report = validate(files)
    creds = report.check("credentials")
    assert creds is not None and creds.level is Level.FAIL
    assert "expired on 2025-01-31 08:30 UTC" in creds.detail
    assert "fresh kubeconfig" in creds.remedy
    assert honey.request_log.entries() == []
    assert files.digest() == before


@pytest.mark.parametrize(("context", "text"), [
    ("tinyland-civo-dev", "is a legacy (Civo-era) context"),
    ("tinyland/infra:honey-agent", "is a GitLab-agent context"),
    ("bumble", "named after node role 'bumble'"),
])
def test_contexts_that_are_never_deploy_targets(tmp_path: Path, honey: "RehearsalAPIServer", context: str,
                                                text: str) -> None:
    files = write_files(tmp_path, honey, extra_contexts=(context,))
    before = files.digest()
    report = validate(files, context=context)
    check = report.check("classification")
    assert check is not None and check.level is Level.FAIL
    assert text in check.detail and "the 'honey' context for honey" in check.remedy
    assert report.check("reachable").detail == (  # type: ignore[union-attr]
        "skipped: the context is not a deploy target, so it was not contacted")
    assert honey.request_log.entries() == []
    out = cli(["validate", "--context", context, "--pin", "--yes"], files)
    assert out.returncode == 1 and text in out.stdout
    assert files.digest() == before


def _run_on_tty(args: list[str], files: Files, answer: str) -> tuple[int, str]:
    """Run ``gfwizard ARGS`` with a pseudo-terminal as stdin, typing ``answer`` at the prompt."""
    import os
    import pty
    import subprocess

    from tests.helpers import REPO

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gfwizard", *args], stdin=follower, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, cwd=REPO, env={**os.environ, **files.env()})
        os.write(leader, answer.encode())
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return proc.returncode, out


def test_pin_on_a_terminal_asks_first(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey, pin=False)
    before = files.digest()
    code, out = _run_on_tty(["validate", "--pin"], files, "n\n")
    assert "Pin this fingerprint? [y/N]" in out and "pin: declined" in out
    assert code == 0 and files.digest() == before
    code, out = _run_on_tty(["validate", "--pin"], files, "y\n")
    assert code == 0 and "pin: pinned" in out
    pinned = load_config(files.config).cluster.fingerprint
    assert pinned is not None and pinned.kube_system_uid == honey.kube_system_uid


def test_pin_shows_what_it_writes_next_to_the_question_when_stdout_is_redirected(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    import os
    import pty
    import subprocess

    from tests.helpers import REPO

    files = write_files(tmp_path, honey, pin=False)
    before = files.digest()
    leader, follower = pty.openpty()
    try:  # stdin on a terminal, stdout redirected (as in `gfwizard validate --pin > file`)
        proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "validate", "--pin"], stdin=follower,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                env={**os.environ, **files.env()})
        os.write(leader, b"n\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    preview = (f"--pin will write into {files.config} (previous file kept as organization.yaml.bak):\n"
               f"  cluster.fingerprint.kube_system_uid: {honey.kube_system_uid}\n"
               f"  cluster.fingerprint.ca_sha256: {honey.ca_sha256}\n"
               "Pin this fingerprint? [y/N]: ")
    assert preview in err, err
    assert "--pin will write" not in out and "pin: declined" in out
    assert proc.returncode == 0 and files.digest() == before


def test_an_api_that_never_finishes_the_tls_handshake_is_a_connect_timeout(tmp_path: Path,
                                                                             honey: "RehearsalAPIServer") -> None:
    # TCP is accepted, TLS never answered: the connect timeout bounds it, and the message says so.
    import threading

    held: list[socket.socket] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(10)
        port = listener.getsockname()[1]

        def accept() -> None:
            try:
                while True:
                    held.append(listener.accept()[0])
            except OSError:
                return

        threading.Thread(target=accept, daemon=True).start()
        server = f"https://127.0.0.1:{port}"
        files = write_files(tmp_path, honey, server=server, api_server=server)
        before = files.digest()
        started = time.monotonic()
        report = validate(files, timeouts=(1.0, 5.0))
        elapsed = time.monotonic() - started
    for conn in held:
        conn.close()
    reachable = report.check("reachable")
    assert reachable is not None and reachable.level is Level.FAIL
    assert f"connecting to {server} timed out after 1s" in reachable.detail, reachable.detail
    assert "--connect-timeout" in reachable.remedy and "--read-timeout" not in reachable.remedy
    assert elapsed < 5.0, f"validation took {elapsed:.2f}s"
    assert files.digest() == before


@pytest.mark.parametrize(("section", "detail", "remedy"), [
    ("users", "context 'honey' in {kube} names user 'honey-admin', which has no entry in {kube} (users there: none)",
     "add the user entry 'honey-admin' (its token, client certificate or exec plugin) to {kube}, or get a fresh "
     "kubeconfig for honey"),
    ("clusters", "context 'honey' in {kube} names cluster 'honey', which has no entry in {kube} (clusters there: none)",
     "add the cluster entry 'honey' (server, certificate-authority-data) to {kube}, or point the context at one of "
     "the clusters there"),
])
def test_a_context_whose_user_or_cluster_entry_is_missing_fails_and_contacts_nothing(
        tmp_path: Path, honey: "RehearsalAPIServer", section: str, detail: str, remedy: str) -> None:
    files = write_files(tmp_path, honey)
    doc = yaml.safe_load(files.kubeconfig.read_text())
    doc[section] = []  # kubectl refuses this context: user (cluster) "honey-..." was not found
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = files.digest()
    report = validate(files)
    check = report.check("kubeconfig")
    assert check is not None and check.level is Level.FAIL
    assert check.detail == detail.format(kube=files.kubeconfig)
    assert check.remedy == remedy.format(kube=files.kubeconfig)
    assert report.check("credentials").detail == (  # type: ignore[union-attr]
        "skipped: the context could not be read from the kubeconfig")
    gates = gate_checks(load_config(files.config), timeouts=FAST)  # what a deploy checks first
    assert [(c.level, c.detail) for c in gates] == [
        (Level.FAIL, f"not verified: {detail.format(kube=files.kubeconfig)}")] * 2
    out = cli(["validate"], files)
    assert out.returncode == 1 and detail.format(kube=files.kubeconfig) in out.stdout
    assert out.stdout.splitlines()[0] == f"context 'honey' ({files.kubeconfig})"  # the file was read
    assert honey.request_log.entries() == []
    assert files.digest() == before


def test_a_user_without_credentials_is_named_with_its_file_when_rejected(tmp_path: Path,
                                                                          honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey, user={})
    before = files.digest()
    creds = validate(files).check("credentials")
    assert creds is not None and creds.level is Level.FAIL
    assert creds.detail == f"credentials rejected (401 Unauthorized) by {honey.url} for user 'honey-admin' (none auth)"
    assert creds.remedy == (f"user 'honey-admin' in {files.kubeconfig} has no credentials (no token, client "
                            "certificate or exec plugin): get a fresh kubeconfig for honey")
    assert files.digest() == before


def test_an_unverified_tls_context_gets_no_placement_or_rbac_requests_and_no_warning_flood(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    # insecure-skip-tls-verify: anyone on the path could be answering, so only the identity reads run.
    files = write_files(tmp_path, honey)
    doc = yaml.safe_load(files.kubeconfig.read_text())
    cluster = doc["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    cluster["insecure-skip-tls-verify"] = True
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = files.digest()
    out = run_cli(["validate", "--json", "--connect-timeout", "2", "--read-timeout", "5"], env=files.env(), input="")
    assert out.returncode == 1, out.stderr
    assert "InsecureRequestWarning" not in out.stderr, out.stderr
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["reachable"]["level"] == "pass"
    assert checks["fingerprint"]["level"] == "fail" and "insecure-skip-tls-verify is set" in checks["fingerprint"]["detail"]
    for name in ("placement", "rbac"):
        assert checks[name]["level"] == "warn"
        assert checks[name]["detail"] == (
            "skipped: the cluster's identity is not verified (insecure-skip-tls-verify is set for cluster 'honey', "
            "so TLS does not check the server); no further requests were sent"), checks[name]
        assert checks[name]["remedy"] == "fix the 'fingerprint' check first, then run `gfwizard validate` again"
    paths = [e["path"] for e in honey.request_log.entries()]
    assert not any(p.endswith("/selfsubjectaccessreviews") or p.startswith("/api/v1/nodes") for p in paths), paths
    assert files.digest() == before



def test_a_context_that_reaches_honey_at_another_address_is_told_so_not_that_it_is_another_cluster(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    doc = yaml.safe_load(files.kubeconfig.read_text())
    local = honey.url.replace("127.0.0.1", "localhost")
    doc["clusters"].append({"name": "honey-localhost", "cluster": {**doc["clusters"][0]["cluster"], "server": local}})
    doc["contexts"].append({"name": "honey-localhost",
                            "context": {"cluster": "honey-localhost", "user": doc["users"][0]["name"]}})
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = files.digest()
    report = validate(files, context="honey-localhost")
    assert report.check("fingerprint").level is Level.PASS  # type: ignore[union-attr]
    server = report.check("server")
    assert server is not None and server.level is Level.FAIL
    assert server.remedy == (f"the fingerprint matches, so 'honey-localhost' reaches honey, but at {local}, not at "
                             f"cluster.api_server {honey.url}: use the context that names it (--context honey), or "
                             f"set cluster.api_server to {local} if that is how honey is to be reached")
    assert files.digest() == before


def test_a_network_failure_of_a_misdirected_context_names_the_context_first(tmp_path: Path,
                                                                           honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    shadow = files.dir / "a.yaml"
    shadow.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "honey", "cluster": {"server": "https://10.0.0.5:6443"}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "honey", "context": {"cluster": "honey", "user": "u"}}]}))
    before = files.digest()
    report = validate(files, kubeconfig=f"{shadow}:{files.kubeconfig}")
    network = report.check("network")
    assert network is not None and network.level is Level.FAIL
    assert network.remedy.startswith(
        f"likely the context: 'honey' in {shadow} points at https://10.0.0.5:6443, not at cluster.api_server "
        f"{honey.url}; fix its server there or use the kubeconfig that names {honey.url}; with several kubeconfig "
        "files the first to define 'honey' wins, so reorder KUBECONFIG or drop that file. If the context is right: "
        "loopback is only for the embedded rehearsal"), network.remedy
    assert honey.request_log.entries() == [] and files.digest() == before


def test_pin_without_a_terminal_repeats_the_operators_options_in_its_remedy(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    # The remedy said "re-run with --pin --yes": followed as printed, it validated cluster.context of the default
    # config through KUBECONFIG, not the config, files and context the operator named; then it still dropped the
    # timeouts and --json. It is the command as run, plus --yes.
    import shlex

    files = write_files(tmp_path / "my files", honey, pin=False)
    before = files.digest()
    args = ["validate", "--pin", "--config", str(files.config), "--kubeconfig", str(files.kubeconfig),
            "--context", "honey", "--read-timeout", "20"]
    chosen = (f"--context honey --kubeconfig {shlex.quote(str(files.kubeconfig))} "
              f"--config {shlex.quote(str(files.config))} --pin --yes --read-timeout 20.0")
    want = f"`gfwizard validate {chosen}`"
    out = run_cli(args, env={"KUBECONFIG": "", "GFW_CONFIG": ""})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "context 'honey'" in out.stdout  # the check table came first
    assert "error: --pin needs --yes when there is no terminal to ask on" in out.stderr
    assert f"remedy: after reading what will be written, re-run with --yes: {want}" in out.stderr, out.stderr
    as_json = run_cli([*args, "--json"], env={"KUBECONFIG": "", "GFW_CONFIG": ""})
    assert as_json.returncode == 2, as_json.stdout
    assert f"`gfwizard validate {chosen} --json`" in json.loads(as_json.stdout)["error"]["remedy"], as_json.stdout
    assert files.digest() == before
    followed = run_cli(shlex.split(want.strip("`"))[1:], env={"KUBECONFIG": "", "GFW_CONFIG": ""})
    assert followed.returncode == 0 and "pin: pinned" in followed.stdout, followed.stdout + followed.stderr
    pinned = load_config(files.config).cluster.fingerprint
    assert pinned is not None and pinned.kube_system_uid == honey.kube_system_uid


@pytest.mark.parametrize(("args", "error", "remedy"), [
    (["--kubeconfig", "{dir}/missing.yaml"], "error: --kubeconfig {dir}/missing.yaml: the file does not exist",
     "remedy: pass --kubeconfig an existing kubeconfig file (e.g. ~/.kube/kubeconfig-honey.yaml), or leave "
     "--kubeconfig out to use cluster.kubeconfig / KUBECONFIG"),
    (["--kubeconfig", "{dir}"], "error: --kubeconfig {dir}: the file is not a regular file",
     "remedy: pass --kubeconfig an existing kubeconfig file"),
    (["--kubeconfig", ""], "error: --kubeconfig is empty",
     "remedy: give a kubeconfig file, or leave --kubeconfig out to use cluster.kubeconfig / KUBECONFIG"),
    (["--kubeconfig", ":"], "error: --kubeconfig is empty", "remedy: give a kubeconfig file"),
    (["--kubeconfig", " "], "error: --kubeconfig is empty", "remedy: give a kubeconfig file"),
    (["--context", ""], "error: --context is empty",
     "remedy: give a context name (`gfwizard discover` lists them), or leave --context out to validate "
     "cluster.context"),
])
def test_bad_validate_flags_are_input_errors(tmp_path: Path, honey: "RehearsalAPIServer", args: list[str],
                                             error: str, remedy: str) -> None:
    files = write_files(tmp_path, honey)
    before = files.digest()
    out = cli(["validate", "--pin", "--yes", *[a.format(dir=files.dir) for a in args]], files)
    assert out.returncode == 2, out.stdout + out.stderr
    assert error.format(dir=files.dir) in out.stderr and remedy in out.stderr, out.stderr
    assert honey.request_log.entries() == [] and files.digest() == before


def test_a_missing_cluster_kubeconfig_says_to_fix_it_not_to_export_kubeconfig(
        tmp_path: Path, honey: "RehearsalAPIServer", monkeypatch: pytest.MonkeyPatch) -> None:
    files = write_files(tmp_path, honey)
    monkeypatch.setenv("KUBECONFIG", str(files.kubeconfig))  # exported, and ignored: cluster.kubeconfig wins
    cfg = load_config(files.config)
    missing = files.dir / "nope.yaml"
    broken = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"kubeconfig": str(missing)})})
    before = files.digest()
    remedy = (f"cluster.kubeconfig in organization.yaml names {missing}, which does not exist: fix "
              "cluster.kubeconfig, or empty it to use KUBECONFIG (ignored while cluster.kubeconfig is set)")
    check = validate_context(broken, timeouts=FAST).check("kubeconfig")
    assert check is not None and (check.detail, check.remedy) == (f"kubeconfig file not found: {missing}", remedy)
    gates = gate_checks(broken, timeouts=FAST)  # what `deploy` shows
    assert [(c.detail, c.remedy) for c in gates] == [(f"not verified: kubeconfig file not found: {missing}", remedy)] * 2
    assert honey.request_log.entries() == [] and files.digest() == before


@pytest.mark.parametrize("section", ["contexts", "clusters", "users"])
def test_a_kubeconfig_naming_an_entry_twice_fails_and_contacts_nothing(tmp_path: Path, honey: "RehearsalAPIServer",
                                                                       section: str) -> None:
    """The Python client would keep the first entry, but kubectl and the stacks' providers (client-go)
    refuse the whole file: validating it must not pass what the deploy would then fail on."""
    files = write_files(tmp_path, honey)
    doc = yaml.safe_load(files.kubeconfig.read_text())
    doc[section].append(dict(doc[section][0]))
    name = doc[section][0]["name"]
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    honey.request_log.clear()
    before = files.digest()
    check = validate(files).check("kubeconfig")
    assert check is not None and check.level is Level.FAIL
    assert (f"{files.kubeconfig} names {section[:-1]} {name!r} twice: kubectl and the stacks' providers (client-go) "
            "refuse such a file") in check.detail
    assert check.remedy == f"remove or rename one of the two {section[:-1]} entries {name!r} in {files.kubeconfig}"
    assert honey.request_log.entries() == [] and files.digest() == before


def _ambient(files: Files) -> OrgConfig:
    """``files``' organization.yaml with ``cluster.kubeconfig`` emptied: the ambient KUBECONFIG is read."""
    cfg = load_config(files.config)
    return cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"kubeconfig": ""})})


def test_a_quoted_tilde_in_kubeconfig_is_read_as_kubectl_reads_it_and_contacts_nothing(
        tmp_path: Path, honey: "RehearsalAPIServer", monkeypatch: pytest.MonkeyPatch) -> None:
    # KUBECONFIG='~/.kube/kubeconfig-honey.yaml' (quoted, so the shell left the ~): kubectl reads
    # ./~/.kube/kubeconfig-honey.yaml and finds no context; validate and the deploy gates must not pass.
    files = write_files(tmp_path, honey)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    (home / ".kube").mkdir(parents=True)
    cwd.mkdir()
    meant = home / ".kube" / "kubeconfig-honey.yaml"
    meant.write_text(files.kubeconfig.read_text())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("KUBECONFIG", "~/.kube/kubeconfig-honey.yaml")
    before = (files.digest(), tree_digest(home), tree_digest(cwd))
    literal = cwd / "~" / ".kube" / "kubeconfig-honey.yaml"
    detail = (f"kubeconfig file not found: {literal} (KUBECONFIG entry '~/.kube/kubeconfig-honey.yaml' starts with "
              f"'~', which kubectl does not expand: it reads {literal} (which does not exist), not {meant})")
    remedy = (f"write the entry without '~' ({meant}), or let the shell expand it: export "
              "KUBECONFIG=\"$HOME/.kube/kubeconfig-honey.yaml\" (a '~' inside quotes is not expanded)")
    report = validate_context(_ambient(files), timeouts=FAST)
    check = report.check("kubeconfig")
    assert check is not None and (check.level, check.detail, check.remedy) == (Level.FAIL, detail, remedy)
    assert not report.ok and report.kubeconfig == []
    gates = gate_checks(_ambient(files), timeouts=FAST)  # what `deploy` shows
    assert [(c.level, c.detail, c.remedy) for c in gates] == [(Level.FAIL, f"not verified: {detail}", remedy)] * 2
    assert honey.request_log.entries() == []
    assert (files.digest(), tree_digest(home), tree_digest(cwd)) == before and not (cwd / "~").exists()


def test_a_quoted_tilde_entry_next_to_another_file_names_what_kubectl_skipped(
        tmp_path: Path, honey: "RehearsalAPIServer", monkeypatch: pytest.MonkeyPatch) -> None:
    files = write_files(tmp_path, honey)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    (home / "other.yaml").write_text(files.kubeconfig.read_text())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    note = (f"KUBECONFIG entry '~/other.yaml' starts with '~', which kubectl does not expand: it reads "
            f"{cwd / '~' / 'other.yaml'} (which does not exist), not {home / 'other.yaml'}")
    remedy = (f"write the entry without '~' ({home / 'other.yaml'}), or let the shell expand it: export "
              "KUBECONFIG=\"$HOME/other.yaml\" (a '~' inside quotes is not expanded)")
    # The context is in the other entry, as kubectl finds it: a warning names the skipped entry.
    monkeypatch.setenv("KUBECONFIG", f"~/other.yaml:{files.kubeconfig}")
    before = (files.digest(), tree_digest(home), tree_digest(cwd))
    report = validate_context(_ambient(files), timeouts=FAST)
    check = report.check("kubeconfig")
    assert check is not None and check.level is Level.WARN and check.remedy == remedy
    assert check.detail.startswith(f"context 'honey' in {files.kubeconfig}: ") and check.detail.endswith(f"; {note}")
    assert report.ok and report.kubeconfig == [str(files.kubeconfig)]
    # The context is in no file kubectl reads: the error says which entry was not read and why.
    empty = files.dir / "empty-of-honey.yaml"
    doc = kubeconfig_document(server=honey.url, ca_pem=honey.ca_pem, token="t")
    doc["contexts"][0]["name"] = doc["current-context"] = "elsewhere"
    empty.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("KUBECONFIG", f"~/other.yaml:{empty}")
    honey.request_log.clear()
    before = (files.digest(), tree_digest(home), tree_digest(cwd))
    check = validate_context(_ambient(files), timeouts=FAST).check("kubeconfig")
    assert check is not None and check.level is Level.FAIL and check.remedy == remedy
    assert check.detail == f"context 'honey' not found in {empty} (contexts there: elsewhere); {note}"
    assert honey.request_log.entries() == []
    assert (files.digest(), tree_digest(home), tree_digest(cwd)) == before


@pytest.mark.parametrize("text", ["", "# filled in by the next login\n", "\n   \n"])
def test_an_empty_file_in_the_kubeconfig_list_is_skipped_as_kubectl_skips_it(
        tmp_path: Path, honey: "RehearsalAPIServer", monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    # KUBECONFIG=empty:good: kubectl skips the empty file (the Python client alone would refuse the list), so
    # validate and the deploy gates read the context as from good alone, with a warning naming the empty file.
    files = write_files(tmp_path, honey)
    empty = files.dir / "empty.yaml"
    empty.write_text(text)
    note = (f"{empty} is empty (no YAML document: no bytes, or only whitespace or comments): skipped, as kubectl "
            "skips it")
    remedy = (f"put the kubeconfig {empty} should hold into it, or remove it from the kubeconfig list (KUBECONFIG, "
              "cluster.kubeconfig or --kubeconfig); nothing to do if it is meant to be empty")
    monkeypatch.setenv("KUBECONFIG", str(files.kubeconfig))
    alone = validate_context(_ambient(files), timeouts=FAST)
    monkeypatch.setenv("KUBECONFIG", f"{empty}{os.pathsep}{files.kubeconfig}")
    close_all()
    before = files.digest()
    report = validate_context(_ambient(files), timeouts=FAST)
    check = report.check("kubeconfig")
    good_row = alone.check("kubeconfig")
    assert check is not None and good_row is not None and good_row.level is Level.PASS
    assert (check.level, check.detail, check.remedy) == (Level.WARN, f"{good_row.detail}; {note}", remedy)
    assert report.ok and report.kubeconfig == alone.kubeconfig == [str(files.kubeconfig)]
    assert levels(report) == {**levels(alone), "kubeconfig": "warn"}
    gates = gate_checks(_ambient(files), timeouts=FAST)  # what `deploy` shows
    assert [(c.name, c.level) for c in gates] == [("server", Level.PASS), ("fingerprint", Level.PASS),
                                                  ("kubeconfig", Level.WARN)]
    assert (gates[-1].detail, gates[-1].remedy) == (note, remedy)
    assert files.digest() == before and empty.read_text() == text


def test_an_unknown_context_is_fixed_where_it_was_named(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    # `--context hony` is a typo on the command line: the remedy is the flag, not organization.yaml.
    files = write_files(tmp_path, honey)
    before = files.digest()
    out = cli(["validate", "--context", "hony"], files)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"FAIL  kubeconfig      context 'hony' not found in {files.kubeconfig} (contexts there: honey)" in out.stdout
    assert ("remedy: pass --context one of those names (`gfwizard discover` lists every context and its file), or "
            "leave --context out to validate cluster.context") in out.stdout, out.stdout
    # The same name from cluster.context is fixed in organization.yaml.
    cfg = load_config(files.config)
    typo = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"context": "hony"})})
    check = validate_context(typo, timeouts=FAST).check("kubeconfig")
    assert check is not None and check.remedy.startswith("set cluster.context in organization.yaml to one of those")
    assert honey.request_log.entries() == [] and files.digest() == before


def test_a_context_missing_from_the_kubeconfig_flag_file_is_fixed_with_the_flag(tmp_path: Path,
                                                                               honey: "RehearsalAPIServer") -> None:
    # `--kubeconfig FILE` replaced cluster.kubeconfig for this run: the remedy is the flag, not organization.yaml.
    files = write_files(tmp_path, honey)
    other = tmp_path / "other.yaml"
    doc = kubeconfig_document(server=honey.url, ca_pem=honey.ca_pem, token="t")
    doc["contexts"][0]["name"] = doc["current-context"] = "elsewhere"
    other.write_text(yaml.safe_dump(doc))
    before = (files.digest(), other.read_bytes())
    honey.request_log.clear()
    out = cli(["validate", "--kubeconfig", str(other)], files)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"FAIL  kubeconfig      context 'honey' not found in {other} (contexts there: elsewhere)" in out.stdout
    assert ("remedy: pass --kubeconfig a file that has context 'honey' (`gfwizard discover` lists every context and "
            "its file), pick one of those names with --context NAME, or leave --kubeconfig out to use "
            "cluster.kubeconfig / KUBECONFIG") in out.stdout, out.stdout
    assert "set cluster.context in organization.yaml" not in out.stdout
    # With --context too, the remedy is the context flag (the name typed is the likelier typo).
    out = cli(["validate", "--kubeconfig", str(other), "--context", "hony", "--json"], files)
    assert out.returncode == 1, out.stdout + out.stderr
    check = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "kubeconfig")
    assert check["remedy"].startswith("pass --context one of those names")
    assert honey.request_log.entries() == [] and (files.digest(), other.read_bytes()) == before


def test_a_kubeconfig_that_is_not_yaml_is_named_on_one_line_with_its_position(tmp_path: Path,
                                                                             honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    text = files.kubeconfig.read_text()
    broken = text.replace(f"token: {honey.admin_token}", f"token: {honey.admin_token}: \"oops")
    assert broken != text
    files.kubeconfig.write_text(broken)
    line = next(n for n, row in enumerate(broken.splitlines(), start=1) if "oops" in row)
    before = files.digest()
    out = cli(["validate", "--json"], files)
    assert out.returncode == 1, out.stdout + out.stderr
    check = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "kubeconfig")
    assert check["level"] == "fail"
    assert check["detail"].startswith(f"cannot read kubeconfig {files.kubeconfig}: not valid YAML at line {line}, "
                                      "column "), check["detail"]
    assert check["detail"].endswith(": mapping values are not allowed in this context") and "\n" not in check["detail"]
    assert check["remedy"] == "fix the YAML of the kubeconfig file (kubectl config view shows what it parses)"
    assert honey.admin_token not in out.stdout + out.stderr
    assert honey.request_log.entries() == [] and files.digest() == before


@pytest.mark.parametrize("command", [["validate", "--json"], ["validate"], ["status", "--once", "--json"],
                                     ["doctor", "--json"]], ids=" ".join)
def test_a_token_with_a_trailing_newline_is_a_kubeconfig_failure_never_a_traceback_quoting_it(
        tmp_path: Path, honey: "RehearsalAPIServer", command: list[str]) -> None:
    """``token: |`` keeps a final newline: the HTTP library refused the header with a ValueError that
    quoted ``Bearer <token>`` in clear, as an uncaught traceback (exit 1, no JSON)."""
    files = write_files(tmp_path, honey, token=honey.admin_token + "\n")
    detail = (f"the token of user 'honey-admin' in {files.kubeconfig} contains a line break or another control "
              "character, which no HTTP header can carry (kubectl cannot send it either)")
    before = files.digest()
    out = run_cli(command, env={**files.env(), "GFW_DISCOVER_CACHE": "0"}, timeout=60)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and honey.admin_token not in out.stdout + out.stderr
    if command == ["validate"]:
        assert f"FAIL  kubeconfig      {detail}" in out.stdout
    elif command[0] == "validate":
        kube = json.loads(out.stdout)["checks"][0]
        assert (kube["name"], kube["level"], kube["detail"]) == ("kubeconfig", "fail", detail)
    else:
        assert detail in out.stdout
    assert honey.request_log.entries() == []  # nothing was sent with it
    assert files.digest() == before


def test_a_directory_in_kubeconfig_fails_as_kubectl_and_the_providers_fail_and_contacts_nothing(
        tmp_path: Path, honey: "RehearsalAPIServer", monkeypatch: pytest.MonkeyPatch) -> None:
    # kubectl and client-go skip a missing KUBECONFIG entry but refuse the whole list for a directory
    # ("read DIR: is a directory"): the deploy's providers would fail, so validate and the gates must not pass.
    files = write_files(tmp_path, honey)
    kube_dir = files.dir / "kube.d"
    kube_dir.mkdir()
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(files.kubeconfig), str(files.dir / "missing.yaml"), "",
                                                      str(kube_dir)]))
    honey.request_log.clear()
    before = files.digest()
    detail = (f"kubeconfig path {kube_dir} is a directory, not a file: kubectl and the stacks' providers (client-go) "
              "refuse a kubeconfig list that holds one")
    remedy = f"remove {kube_dir} from KUBECONFIG, or name the kubeconfig file inside it"
    report = validate_context(_ambient(files), timeouts=FAST)
    check = report.check("kubeconfig")
    assert check is not None and (check.level, check.detail, check.remedy) == (Level.FAIL, detail, remedy)
    assert not report.ok
    gates = gate_checks(_ambient(files), timeouts=FAST)  # what `deploy` shows
    assert [(c.level, c.detail, c.remedy) for c in gates] == [(Level.FAIL, f"not verified: {detail}", remedy)] * 2
    # cluster.kubeconfig naming the directory: the remedy is that setting, and it does not say "does not exist".
    cfg = load_config(files.config)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"kubeconfig": str(kube_dir)})})
    check = validate_context(cfg, timeouts=FAST).check("kubeconfig")
    assert check is not None and check.level is Level.FAIL and check.detail == detail
    assert check.remedy == (f"point cluster.kubeconfig in organization.yaml at the kubeconfig file inside {kube_dir}, "
                            "not at it")
    assert honey.request_log.entries() == [] and files.digest() == before


def test_a_fifo_in_kubeconfig_fails_as_what_it_is_and_contacts_nothing(
        tmp_path: Path, honey: "RehearsalAPIServer", monkeypatch: pytest.MonkeyPatch) -> None:
    # A FIFO beside honey's file was skipped as if missing (validate and the gates passed, while kubectl and the
    # providers wait on it); alone, as `KUBECONFIG=<(sops -d …)` makes it, it was "kubeconfig file not found", and
    # the remedy (export KUBECONFIG) was what had been done. gfwizard still never opens it; /dev/null stays fine.
    files = write_files(tmp_path, honey)
    fifo = files.dir / "kube.fifo"
    os.mkfifo(fifo)
    detail = (f"kubeconfig path {fifo} is a FIFO (named pipe), not a regular file: it is not read (the read could "
              "block or never end), and kubectl and the stacks' providers (client-go), which read every file of the "
              "list, would wait on it (a pipe such as `<(…)` is used up by its first reader)")
    honey.request_log.clear()
    before = files.digest()
    for entries in ([str(files.kubeconfig), str(fifo)], [str(fifo)]):
        monkeypatch.setenv("KUBECONFIG", os.pathsep.join(entries))
        check = validate_context(_ambient(files), timeouts=FAST).check("kubeconfig")
        assert check is not None and (check.level, check.detail) == (Level.FAIL, detail)
        assert check.remedy == ("write the kubeconfig to a regular file first (mode 0600, e.g. "
                                f"~/.kube/kubeconfig-honey.yaml) and put it in KUBECONFIG instead of {fifo}")
        gates = gate_checks(_ambient(files), timeouts=FAST)  # what `deploy` shows
        assert [(c.level, c.detail) for c in gates] == [(Level.FAIL, f"not verified: {detail}")] * 2
    cfg = load_config(files.config)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"kubeconfig": str(fifo)})})
    check = validate_context(cfg, timeouts=FAST).check("kubeconfig")
    assert check is not None and check.level is Level.FAIL and check.detail == detail
    assert check.remedy.endswith("and point cluster.kubeconfig in organization.yaml at it")
    assert honey.request_log.entries() == [] and files.digest() == before
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([os.devnull, str(files.kubeconfig)]))  # the shell idiom
    assert validate_context(_ambient(files), timeouts=FAST).ok


_KEY_TEXT = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcy1uZXZlci1zaG93bg==\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(("section", "entry", "detail", "remedy"), [
    ("clusters", {"certificate-authority-data": "not base64!!"},
     "certificate-authority-data of cluster 'honey' in {kube} is not valid base64 (kubectl refuses it too)",
     "set certificate-authority-data of cluster 'honey' in {kube} to a PEM certificate encoded with `base64 -w0`, "
     "or get a fresh kubeconfig for honey"),
    ("clusters", {"certificate-authority-data": base64.b64encode(b"hello, not a certificate").decode()},
     "certificate-authority-data of cluster 'honey' in {kube} is base64 but does not hold a PEM certificate "
     "(kubectl refuses it too)",
     "set certificate-authority-data of cluster 'honey' in {kube} to a PEM certificate encoded with `base64 -w0`, "
     "or get a fresh kubeconfig for honey"),
    ("clusters", {"certificate-authority-data": None, "certificate-authority": "certs/ca.crt"},
     "certificate-authority file {dir}/certs/ca.crt of cluster 'honey' in {kube} cannot be read: No such file or "
     "directory",
     "point certificate-authority of cluster 'honey' at a readable file (a relative path is relative to {kube}), "
     "or get a fresh kubeconfig for honey"),
    ("users", {"client-certificate-data": "@@@", "client-key-data": base64.b64encode(_KEY_TEXT.encode()).decode()},
     "client-certificate-data of user 'honey-admin' in {kube} is not valid base64 (kubectl refuses it too)",
     "set client-certificate-data of user 'honey-admin' in {kube} to a PEM certificate encoded with `base64 -w0`, "
     "or get a fresh kubeconfig for honey"),
    ("users", {"client-certificate": "admin.crt", "client-key-data": "c2VjcmV0LWtleS1ieXRlcw=="},
     "client-key-data of user 'honey-admin' in {kube} is base64 but does not hold a PEM private key (kubectl "
     "refuses it too)",
     "set client-key-data of user 'honey-admin' in {kube} to a PEM private key encoded with `base64 -w0`, or get a "
     "fresh kubeconfig for honey"),
])
def test_a_certificate_or_key_that_is_not_base64_or_pem_fails_the_kubeconfig_check_naming_it(
        tmp_path: Path, honey: "RehearsalAPIServer", section: str, entry: dict[str, Any], detail: str,
        remedy: str) -> None:
    # The client failed on these with "Incorrect padding" or an OpenSSL code under `credentials`, or at the
    # TLS handshake with a remedy blaming the server's certificate: the field and its file are named instead.
    import trustme

    files = write_files(tmp_path, honey)
    leaf = trustme.CA().issue_cert("op")
    (files.dir / "admin.crt").write_bytes(leaf.cert_chain_pems[0].bytes())  # a relative path, read from the file's dir
    doc = yaml.safe_load(files.kubeconfig.read_text())
    body = doc[section][0]["cluster" if section == "clusters" else "user"]
    if section == "users":
        body.clear()
    body.update(entry)
    for key in [k for k, v in body.items() if v is None]:
        del body[key]
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = files.digest()
    expected = (detail.format(kube=files.kubeconfig, dir=files.dir), remedy.format(kube=files.kubeconfig))
    report = validate(files)
    check = report.check("kubeconfig")
    assert check is not None and (check.level, check.detail, check.remedy) == (Level.FAIL, *expected)
    gates = gate_checks(load_config(files.config), timeouts=FAST)  # what a deploy checks first
    assert [(c.level, c.detail, c.remedy) for c in gates] == [(Level.FAIL, f"not verified: {expected[0]}",
                                                               expected[1])] * 2
    out = cli(["validate", "--json"], files)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "c2VjcmV0LWtleS1ieXRlcw" not in out.stdout + out.stderr and "secret-key" not in out.stdout + out.stderr
    assert honey.request_log.entries() == [] and files.digest() == before


def test_a_proxy_url_that_cannot_be_used_is_named_with_its_cluster_never_its_password(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    # An http proxy that refuses: the detail was the repr of urllib3's exception tuple and the remedy blamed the
    # network path to honey; a socks5 proxy-url crashed with a traceback (PySocks is not installed).
    files = write_files(tmp_path, honey)
    port = closed_port()
    doc = yaml.safe_load(files.kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["proxy-url"] = f"http://op:proxy-pw-3141@127.0.0.1:{port}"
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = files.digest()
    check = validate(files).check("reachable")
    assert check is not None and check.level is Level.FAIL
    assert check.detail == (f"cannot reach {honey.url} through the proxy http://127.0.0.1:{port} (proxy-url of "
                            "cluster 'honey'): connection refused")
    assert check.remedy == (f"check that the proxy http://127.0.0.1:{port} is up and lets this machine through, or "
                            f"remove proxy-url from cluster 'honey' in {files.kubeconfig}")
    out = cli(["validate", "--json"], files)
    assert out.returncode == 1 and "proxy-pw-3141" not in out.stdout + out.stderr

    doc["clusters"][0]["cluster"]["proxy-url"] = f"socks5://op:proxy-pw-3141@127.0.0.1:{port}"
    files.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = files.digest()
    out = cli(["validate"], files)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "proxy-pw-3141" not in out.stdout + out.stderr
    assert (f"FAIL  credentials     proxy-url socks5://127.0.0.1:{port} of cluster 'honey' is a SOCKS proxy, which "
            "gfwizard's Kubernetes client cannot use (the PySocks package is not installed)") in out.stdout
    assert (f"remedy: use an http:// proxy-url for cluster 'honey' in {files.kubeconfig}, or install PySocks into "
            "gfwizard's environment (pip install PySocks)") in out.stdout
    assert honey.request_log.entries() == [] and files.digest() == before


def test_an_exec_plugin_that_insists_on_a_terminal_is_refused_before_it_runs(tmp_path: Path,
                                                                            honey: "RehearsalAPIServer") -> None:
    # interactiveMode: Always: client-go (and so the stacks' providers) refuses it without a terminal on stdin; it
    # ran here with stdin closed and failed with a JSON parse position that said nothing about why.
    marker = tmp_path / "plugin-ran"
    user = _plugin(tmp_path, f"""
        import pathlib, sys
        pathlib.Path({str(marker)!r}).write_text("ran")
        print("Password: ", end="")
        sys.stdin.readline()
    """)
    user["exec"]["interactiveMode"] = "Always"
    files = write_files(tmp_path, honey, user=user)
    before = files.digest()
    creds = validate(files).check("credentials")
    assert creds is not None and creds.level is Level.FAIL
    assert creds.detail == (f"exec plugin {user['exec']['command']!r} of user 'honey-admin' in {files.kubeconfig} has "
                            "interactiveMode: Always, so it needs a terminal to prompt on; gfwizard and the stacks' "
                            "providers run it without one (kubectl refuses it too when stdin is not a terminal)")
    assert creds.remedy.startswith(f"set interactiveMode: IfAvailable in the exec block of user 'honey-admin' in "
                                   f"{files.kubeconfig} and log in first")
    assert not marker.exists() and honey.request_log.entries() == [] and files.digest() == before
