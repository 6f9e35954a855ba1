"""The deploy gates' light paths against real servers: the cluster reads over one verified TLS
connection (token and client-certificate auth) and the lock probe signed by hand, each failing with
the same words as the official clients, and neither importing the Kubernetes client or botocore."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest
import yaml

from gfwizard.backend import C_LOCK, lock_probe
from gfwizard.checks import Check, Level
from gfwizard.cluster import gate_checks, validate_context
from gfwizard.cluster_client import close_all
from gfwizard.orgconfig import OrgConfig, load_config, save_config
from gfwizard.rehearsal.workspace import kubeconfig_document, org_config
from tests.backend_doubles import AuthS3, Blackhole, S3Proxy, free_port_endpoint, make_cfg
from tests.helpers import REPO, tree_digest

if TYPE_CHECKING:
    from gfwizard.rehearsal.apiserver import RehearsalAPIServer
    from gfwizard.rehearsal.s3 import RehearsalS3

pytestmark = pytest.mark.integration
FAST = (1.0, 1.0)


@pytest.fixture(autouse=True)
def _fresh(honey: "RehearsalAPIServer") -> Iterator[None]:
    close_all()
    honey.faults.clear()
    yield
    honey.faults.clear()
    close_all()


def files_for(tmp_path: Path, honey: "RehearsalAPIServer", *, server: str | None = None, token: str | None = None,
              ca_pem: bytes | None = None, user: dict[str, Any] | None = None,
              fingerprint: tuple[str, str] | None = None) -> Path:
    """A kubeconfig and a pinned organization.yaml for ``honey`` (or a variation); returns the config path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    doc = kubeconfig_document(server=server or honey.url, ca_pem=ca_pem or honey.ca_pem,
                              token=token or honey.admin_token)
    if user is not None:
        doc["users"][0]["user"] = user
    kube = tmp_path / "kubeconfig-honey.yaml"
    kube.write_text(yaml.safe_dump(doc))
    cfg = org_config(api_url=server or honey.url, kubeconfig_path=kube, s3_endpoint="http://127.0.0.1:9",
                     bucket="unused-here", fingerprint=fingerprint or (honey.kube_system_uid, honey.ca_sha256))
    return save_config(cfg, tmp_path / "organization.yaml")


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def in_fresh_interpreter(code: str, env: dict[str, str] | None = None) -> Any:
    """Run ``code`` (which prints one JSON document last) in a new interpreter; return that document."""
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


# -- cluster ----------------------------------------------------------------------------------------

def test_the_gates_pass_without_importing_the_kubernetes_client_or_botocore(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    code = ("import json, sys\nfrom gfwizard.orgconfig import load_config\nfrom gfwizard.gates import "
            f"default_gate_checks\nchecks = default_gate_checks(load_config({str(ws.config_path)!r}), 'dev')\n"
            "print(json.dumps({'checks': [[c.name, c.level.value, c.detail] for c in checks], "
            "'kubernetes': 'kubernetes' in sys.modules, 'botocore': 'botocore' in sys.modules}))")
    seen = in_fresh_interpreter(code)
    assert [(n, level) for n, level, _ in seen["checks"]] == [
        ("server", "pass"), ("fingerprint", "pass"), (C_LOCK, "pass")], seen["checks"]
    assert seen["kubernetes"] is False and seen["botocore"] is False


def test_the_engines_state_gates_of_a_first_deploy_need_neither_client_library(rehearsal_workspace: Any,
                                                                               iac_bin: str) -> None:
    """On a first deploy the engine also HEADs each state object and GETs the stacks' workloads (the
    ``running without state`` gate), and with TF_HTTP_PASSWORD looks for HTTP state: all on the light paths."""
    ws = rehearsal_workspace
    code = ("import asyncio, json, sys\nfrom gfwizard.orgconfig import load_config\nfrom gfwizard.stacks import "
            f"DeployEngine\nengine = DeployEngine(load_config({str(ws.config_path)!r}), 'dev', plan_only=True)\n"
            "checks = asyncio.run(engine._run_gates())\n"
            "print(json.dumps({'checks': [[c.name, c.level.value, c.detail] for c in checks], "
            "'kubernetes': 'kubernetes' in sys.modules, 'botocore': 'botocore' in sys.modules}))")
    seen = in_fresh_interpreter(code)
    names = [n for n, _, _ in seen["checks"]]
    assert names[:3] == ["server", "fingerprint", C_LOCK] and names[-1] == "running without state", seen["checks"]
    assert {level for _, level, _ in seen["checks"]} == {"pass"}, seen["checks"]
    assert seen["checks"][-1][2].startswith("attic, arc-runners, gitlab-runners, runner-dashboard have no state in "
                                            "S3 for dev yet, and nothing of them runs on honey")
    assert seen["kubernetes"] is False and seen["botocore"] is False


def test_the_engines_gates_read_the_kubeconfig_once_and_its_workload_reads_use_that_context(
        rehearsal_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``running without state`` reads go to the context the cluster gates verified, not to a second
    reading of the kubeconfig files."""
    import asyncio

    import gfwizard.cluster as cluster
    from gfwizard.stacks import DeployEngine

    ws = rehearsal_workspace
    read: list[str] = []
    resolve = cluster.resolve_context

    def counted(kubeconfig: str | None, context: str, **kwargs: Any) -> Any:
        read.append(context)
        return resolve(kubeconfig, context, **kwargs)

    monkeypatch.setattr(cluster, "resolve_context", counted)
    engine = DeployEngine(load_config(ws.config_path), "dev", plan_only=True)
    checks = asyncio.run(engine._run_gates())
    assert [c.name for c in checks][-1] == "running without state" and all(c.ok for c in checks), checks
    assert checks[-1].detail.startswith("attic, arc-runners, gitlab-runners, runner-dashboard have no state in S3 "
                                        "for dev yet, and nothing of them runs on honey")
    assert read == ["honey"], "the kubeconfig was read again for the workload reads"
    assert [e for e in ws.api.request_log.entries() if e["method"] != "GET"] == []


def _connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the TLS connections made in this process (``host:port`` per connect)."""
    import http.client

    made: list[str] = []
    connect = http.client.HTTPSConnection.connect

    def counted(self: http.client.HTTPSConnection) -> None:
        made.append(f"{self.host}:{self.port}")
        connect(self)

    monkeypatch.setattr(http.client.HTTPSConnection, "connect", counted)
    return made


def test_the_gates_reads_share_one_kept_alive_connection(rehearsal_workspace: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.cluster import workload_environments

    ws = rehearsal_workspace
    cfg = load_config(ws.config_path)
    made = _connections(monkeypatch)
    server, fingerprint = gate_checks(cfg, timeouts=FAST)
    assert server.ok and fingerprint.level is Level.PASS
    api = ws.api.url.removeprefix("https://")
    assert made == [api], "/version and the kube-system namespace each opened a connection"
    keys = [("Deployment", "attic-dev", "attic"), ("StatefulSet", "attic-dev", "attic-db"),
            ("DaemonSet", "kube-system", "nope")]
    assert workload_environments(cfg, keys, timeouts=FAST) == {}
    assert made == [api, api]


class _TLSServer:
    """A test server on 127.0.0.1 served over TLS on a daemon thread: ``url``, ``close()``."""

    def serve(self, server: Any, ctx: ssl.SSLContext) -> None:
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self.server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _ClosingAPI(_TLSServer):
    """A TLS API that answers each connection's first GET as HTTP/1.1 (so the client keeps it) and then
    closes it without a word, as a server does with an idle kept-alive connection."""

    def __init__(self) -> None:
        import socketserver

        import trustme

        self.ca = trustme.CA()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.accepted = 0
        api = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                api.accepted += 1
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                data = json.dumps({"gitVersion": "v1.31.0", "major": "1", "minor": "31"}).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(data)).encode() + b"\r\n\r\n" + data)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.serve(Server(("127.0.0.1", 0), Handler), ctx)


def test_a_kept_connection_the_server_closed_is_replaced_once(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    from gfwizard.cluster_client import Timeouts
    from gfwizard.cluster_direct import DirectClient
    from gfwizard.cluster_kubeconfig import resolve_context

    api = _ClosingAPI()
    try:
        config = files_for(tmp_path, honey, server=api.url, ca_pem=api.ca.cert_pem.bytes())
        cfg = load_config(config)
        target, config_dict = resolve_context(cfg.cluster.kubeconfig, cfg.cluster.context)
        with DirectClient(target, config_dict, Timeouts.of(FAST)) as client:
            assert [client.version()["gitVersion"] for _ in range(3)] == ["v1.31.0"] * 3
        assert api.accepted == 3  # each GET found its kept connection closed and opened one new one
    finally:
        api.close()


def test_a_fingerprint_mismatch_still_stops_the_gate(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    config = files_for(tmp_path, honey, fingerprint=("00000000-0000-0000-0000-000000000000", "ab" * 32))
    server, fingerprint = gate_checks(load_config(config), timeouts=FAST)
    assert server.ok and fingerprint.level is Level.FAIL and "fingerprint mismatch" in fingerprint.detail
    assert honey.kube_system_uid in fingerprint.detail


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"https://127.0.0.1:{s.getsockname()[1]}"


def direct_phases(cfg: OrgConfig) -> dict[str, Check]:
    """The local and reach phases of the gate, which use the direct client (every check they made)."""
    from gfwizard.cluster import _Run
    from gfwizard.cluster_client import Timeouts
    from gfwizard.cluster_direct import DirectClient

    run = _Run(cfg, cfg.cluster.kubeconfig or None, cfg.cluster.context, Timeouts.of(FAST), None, direct=True)
    if run.local(gates_only=True):
        assert isinstance(run.client, DirectClient)
        run.reach(strict=True)
    return run.checks


@pytest.mark.parametrize("fault", ["wrong-token", "refused", "blackhole", "other-ca"])
def test_failures_read_as_the_official_clients_do(tmp_path: Path, honey: "RehearsalAPIServer", fault: str) -> None:
    import trustme

    kwargs: dict[str, Any] = {}
    if fault == "wrong-token":
        kwargs["token"] = "not-the-right-token-0123456789"
    elif fault == "refused":
        kwargs["server"] = _closed_port_url()
    elif fault == "other-ca":
        kwargs["ca_pem"] = trustme.CA().cert_pem.bytes()
    config = files_for(tmp_path, honey, **kwargs)
    before = tree_digest(tmp_path)
    cfg = load_config(config)
    honey.faults.blackhole(fault == "blackhole")
    try:
        started = time.monotonic()
        server, fingerprint = gate_checks(cfg, timeouts=FAST)
        elapsed = time.monotonic() - started
        direct = direct_phases(cfg)
        official = {c.name: c for c in validate_context(cfg, timeouts=FAST).checks}
    finally:
        honey.faults.blackhole(False)
    assert elapsed < 2 * sum(FAST), f"the gate took {elapsed:.1f}s"
    assert server.ok and fingerprint.level is Level.FAIL
    name = "credentials" if fault == "wrong-token" else "reachable"
    ours, theirs = direct[name], official[name]
    # The deploy shows only the gates: the fingerprint names the real cause and its remedy.
    assert (fingerprint.detail, fingerprint.remedy) == (f"not verified: {ours.detail}", ours.remedy)
    assert ours.level is Level.FAIL and theirs.level is Level.FAIL
    if fault == "other-ca":  # the TLS library's own words differ; the finding and the remedy do not
        assert ours.detail.startswith(f"TLS with {honey.url} failed") and theirs.detail.startswith(
            f"TLS with {honey.url} failed")
        assert "certificate verify failed" in ours.detail and ours.remedy == theirs.remedy
    elif fault == "blackhole":  # the TLS handshake never starts: a connect timeout on both paths
        assert ours.detail == theirs.detail == f"connecting to {honey.url} timed out after 1s"
    else:
        assert (ours.detail, ours.remedy) == (theirs.detail, theirs.remedy)
    assert "not-the-right-token" not in json.dumps([c.model_dump() for c in direct.values()])
    assert tree_digest(tmp_path) == before


class _CertAPI(_TLSServer):
    """A TLS API that requires a client certificate (signed by ``client_ca``) and serves the two reads."""

    def __init__(self) -> None:
        import trustme

        self.ca, self.client_ca = trustme.CA(), trustme.CA()
        self.uid = "4c1d2b1e-0000-4000-8000-00000000beef"
        self.peers: list[str] = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.client_ca.configure_trust(ctx)
        ctx.verify_mode = ssl.CERT_REQUIRED
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                cert = self.connection.getpeercert()  # type: ignore[attr-defined]
                api.peers.append(dict(x[0] for x in cert["subject"]).get("commonName", "") if cert else "")
                body = {"/version": {"gitVersion": "v1.31.0", "major": "1", "minor": "31"},
                        "/api/v1/namespaces/kube-system": {"kind": "Namespace",
                                                           "metadata": {"name": "kube-system", "uid": api.uid}},
                        }.get(self.path)
                data = json.dumps(body or {"kind": "Status", "message": "not found"}).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.serve(server, ctx)


def test_client_certificate_auth_over_the_direct_client(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    from gfwizard.cluster_kubeconfig import ca_sha256

    api = _CertAPI()
    try:
        leaf = api.client_ca.issue_cert("gfwizard-operator", common_name="gfwizard-operator")
        user = {"client-certificate-data": base64.b64encode(leaf.cert_chain_pems[0].bytes()).decode(),
                "client-key-data": base64.b64encode(leaf.private_key_pem.bytes()).decode()}
        ca_pem = api.ca.cert_pem.bytes()
        config = files_for(tmp_path / "ok", honey, server=api.url, ca_pem=ca_pem, user=user,
                           fingerprint=(api.uid, ca_sha256(ca_pem)))
        before = tree_digest(tmp_path)
        checks = by_name(gate_checks(load_config(config), timeouts=FAST))
        assert checks["server"].ok and checks["fingerprint"].level is Level.PASS, checks
        assert api.peers and set(api.peers) == {"gfwizard-operator"}
        assert tree_digest(tmp_path) == before  # the key went through memory only

        # A certificate the server does not trust: refused during the handshake, said as a TLS failure.
        stranger = __import__("trustme").CA().issue_cert("stranger", common_name="stranger")
        user = {"client-certificate-data": base64.b64encode(stranger.cert_chain_pems[0].bytes()).decode(),
                "client-key-data": base64.b64encode(stranger.private_key_pem.bytes()).decode()}
        config = files_for(tmp_path / "bad", honey, server=api.url, ca_pem=ca_pem, user=user,
                           fingerprint=(api.uid, ca_sha256(ca_pem)))
        assert by_name(gate_checks(load_config(config), timeouts=FAST))["fingerprint"].level is Level.FAIL
        reachable = direct_phases(load_config(config))["reachable"]
        assert reachable.level is Level.FAIL and reachable.detail.startswith(f"TLS with {api.url} failed")
        assert "stranger" not in api.peers
    finally:
        api.close()


def test_exec_credentials_still_go_through_the_official_client(tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    script = tmp_path / "plugin.py"
    script.write_text("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'token': " + repr(honey.admin_token) + "}}))\n")
    config = files_for(tmp_path, honey, user={"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                       "command": sys.executable, "args": [str(script)]}})
    code = ("import json, sys\nfrom gfwizard.orgconfig import load_config\nfrom gfwizard.cluster import gate_checks\n"
            f"checks = gate_checks(load_config({str(config)!r}), timeouts=(2, 5))\n"
            "print(json.dumps({'levels': [c.level.value for c in checks], "
            "'kubernetes': 'kubernetes' in sys.modules}))")
    seen = in_fresh_interpreter(code)
    assert seen == {"levels": ["pass", "pass"], "kubernetes": True}


# -- S3 lock probe ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def auth_s3() -> Iterator[AuthS3]:
    with AuthS3() as store:
        store.client().create_bucket(Bucket="gfw-direct-state")
        store.client().put_bucket_versioning(Bucket="gfw-direct-state",
                                             VersioningConfiguration={"Status": "Enabled"})
        yield store


def _no_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the lock probe built a botocore client")

    monkeypatch.setattr("gfwizard.backend_checks.s3_client", refuse)


def test_direct_lock_probe_against_a_store_that_checks_signatures(auth_s3: AuthS3,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _no_botocore(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auth_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auth_s3.secret_key)
    check = lock_probe(make_cfg(auth_s3.endpoint, "gfw-direct-state"))
    assert check.level is Level.PASS, check.detail
    assert "412" in check.detail and "use_lockfile is safe" in check.detail
    listing = auth_s3.client().list_object_versions(Bucket="gfw-direct-state", Prefix="gloriousflywheel/")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers"), "the probe left versions behind"

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "definitely-not-the-secret-key")
    check = lock_probe(make_cfg(auth_s3.endpoint, "gfw-direct-state"))
    assert check.level is Level.FAIL
    assert "signature does not match: the secret access key is wrong" in check.detail
    assert "definitely-not-the-secret-key" not in check.detail + check.remedy


def test_direct_lock_probe_refuses_a_store_that_ignores_if_none_match(s3: "RehearsalS3",
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.rehearsal.s3 import fresh_bucket_name

    _no_botocore(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    bucket = s3.create_bucket(fresh_bucket_name())
    with S3Proxy(s3.endpoint, strip_if_none_match=True) as proxy:
        check = lock_probe(make_cfg(proxy.endpoint, bucket))
    assert check.level is Level.FAIL and check.detail.startswith("use_lockfile refused: the store ignored")
    listing = s3.client().list_object_versions(Bucket=bucket)
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")


def test_direct_lock_probe_network_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_botocore(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "GFWPROBE000000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "probe-secret-value")
    endpoint = free_port_endpoint()
    check = lock_probe(make_cfg(endpoint, "gfw-state"), timeouts=(1.0, 1.0))
    assert check.level is Level.FAIL and f"connection refused by {endpoint}" in check.detail
    assert "state.s3.endpoint" in check.remedy
    with Blackhole() as hole:
        started = time.monotonic()
        check = lock_probe(make_cfg(hole.endpoint, "gfw-state"), timeouts=(1.0, 1.0))
        elapsed = time.monotonic() - started
    assert check.level is Level.FAIL and "did not answer within 1s" in check.detail
    # Two attempts of the put and two of the clean-up's listing (the put may have landed), one read timeout each,
    # as botocore: bounded, not hanging.
    assert elapsed < 4 * 1.0 + 2.0, f"{elapsed:.1f}s"
    assert "may be left behind" in check.detail and "by hand" in check.remedy


def test_without_environment_keys_the_probe_uses_botocore_as_before(s3: "RehearsalS3", isolated_home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.rehearsal.s3 import fresh_bucket_name

    creds = isolated_home / ".aws" / "credentials"
    creds.parent.mkdir(parents=True)
    creds.write_text(f"[rustfs]\naws_access_key_id = {s3.access_key}\naws_secret_access_key = {s3.secret_key}\n")
    monkeypatch.setenv("AWS_PROFILE", "rustfs")
    bucket = s3.create_bucket(fresh_bucket_name())
    check = lock_probe(make_cfg(s3.endpoint, bucket))
    assert check.level is Level.PASS, check.detail
    assert "botocore" in sys.modules
