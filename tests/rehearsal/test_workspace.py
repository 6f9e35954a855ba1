"""The rehearsal workspace: files, environment, isolation from the operator's own config, shutdown."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import stat
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from gfwizard.errors import InputError
from gfwizard.orgconfig import load_config
from gfwizard.rehearsal.workspace import RehearsalEnvironment, kubeconfig_document
from tests.helpers import REPO, tree_digest

ENV_KEYS = {"KUBECONFIG", "GFW_CONFIG", "GFW_WORKSPACE", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}


def _port_open(url: str) -> bool:
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """The API server logs a request right after answering it: allow it a moment."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _get_version(url: str, ca_pem: bytes, token: str) -> None:
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    req = urllib.request.Request(url + "/version", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        assert resp.status == 200


def _assert_workspace(ws: Any, bucket: str) -> None:
    """Files, modes and config of a workspace whose API is ``ws.api`` and S3 ``ws.s3``."""
    kube = yaml.safe_load(ws.kubeconfig_path.read_text())
    assert stat.S_IMODE(ws.kubeconfig_path.stat().st_mode) == 0o600
    assert kube["current-context"] == "honey"
    (context,) = kube["contexts"]
    assert context == {"name": "honey", "context": {"cluster": "honey", "user": "honey-admin"}}
    (cluster,) = kube["clusters"]
    assert cluster["cluster"]["server"] == ws.api.url
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == ws.api.ca_pem
    assert kube["users"][0]["user"] == {"token": ws.api.admin_token}

    cfg = load_config(ws.config_path)
    assert cfg.is_rehearsal and cfg.cluster.network == "loopback"
    assert cfg.cluster.api_server == ws.api.url and cfg.cluster.context == "honey"
    assert cfg.cluster.kubeconfig == str(ws.kubeconfig_path)
    assert cfg.cluster.fingerprint is not None
    assert cfg.cluster.fingerprint.ca_sha256 == ws.api.ca_sha256
    assert cfg.cluster.fingerprint.kube_system_uid == ws.api.kube_system_uid
    assert cfg.state.backend == "s3" and cfg.state.s3 is not None
    assert (cfg.state.s3.endpoint, cfg.state.s3.bucket) == (ws.s3.endpoint, bucket)
    assert cfg.state.s3.use_path_style and cfg.state.s3.use_lockfile
    assert cfg.environment("prod").require_confirmation and not cfg.environment("dev").require_confirmation
    assert cfg.stack_order() == ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
    assert {s: cfg.role_for_stack(s) for s in cfg.stack_order()} == {
        "attic": "bumble", "arc-runners": "sting", "gitlab-runners": "sting", "runner-dashboard": "bumble"}
    assert ws.s3.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    assert ENV_KEYS <= set(ws.env)
    assert ws.env["KUBECONFIG"] == str(ws.kubeconfig_path) and ws.env["GFW_CONFIG"] == str(ws.config_path)
    assert ws.env["GFW_WORKSPACE"] == str(ws.dir)
    assert ws.env["AWS_SECRET_ACCESS_KEY"] == ws.s3.secret_key
    assert ws.env["AWS_ENDPOINT_URL_S3"] == ws.s3.endpoint and ws.env["AWS_REGION"] == "us-east-1"
    # AWS credentials live only in the environment, never in a workspace file.
    for path in ws.dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert ws.s3.secret_key not in text and ws.s3.access_key not in text, path


def _seed_home(home: Path) -> None:
    """A ~/.kube and ~/.aws that break any client reading them (the AWS config is not valid INI)."""
    (home / ".kube").mkdir(parents=True, exist_ok=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nclusters: [oops\n")
    (home / ".kube" / "kubeconfig-honey.yaml").write_text(yaml.safe_dump(kubeconfig_document(
        server="https://100.113.89.12:6443", ca_pem=b"real", token="real-operator-token")))
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "config").write_text("[[[ not ini\n")
    (home / ".aws" / "credentials").write_text("[[[ not ini\n")


def test_environment_writes_workspace_and_stops_cleanly(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_home(isolated_home)
    monkeypatch.setenv("KUBECONFIG", str(isolated_home / ".kube" / "config"))
    monkeypatch.setenv("AWS_PROFILE", "operator")
    watched = {"home": tree_digest(isolated_home), "config": tree_digest(REPO / "config")}

    env = RehearsalEnvironment(nodes=3)
    with env:
        assert env.dir is not None and env.dir.is_dir()
        assert stat.S_IMODE(env.dir.stat().st_mode) == 0o700
        _assert_workspace(env, env.bucket)
        assert env.http_state is not None
        assert env.env["GFW_HTTP_STATE_URL"] == env.http_state.url
        assert env.env["GFW_HTTP_STATE_PASSWORD"] == env.http_state.password
        urls = [env.api.url, env.s3.endpoint, env.http_state.url]
        assert all(_port_open(u) for u in urls)
        env.s3.client().head_bucket(Bucket=env.bucket)
        workspace = env.dir
        assert (workspace / "s3-requests.log").read_text().strip()
        _get_version(env.api.url, env.api.ca_pem, env.api.admin_token)
        assert _eventually(lambda: '"/version"' in _text(workspace / "api-requests.log"))
    assert not any(_port_open(u) for u in urls)
    assert not workspace.exists()
    assert {"home": tree_digest(isolated_home), "config": tree_digest(REPO / "config")} == watched
    env.stop()  # idempotent


def test_keep_leaves_the_workspace(tmp_path: Path) -> None:
    target = tmp_path / "ws"
    env = RehearsalEnvironment(workspace=target, keep=True).start()
    url = env.api.url
    _get_version(url, env.api.ca_pem, env.api.admin_token)
    assert _eventually(lambda: (target / "api-requests.log").exists())
    env.stop()
    assert not _port_open(url)
    assert {p.name for p in target.iterdir()} >= {"kubeconfig-honey.yaml", "organization.yaml", "s3-requests.log",
                                                   "api-requests.log"}


def test_given_empty_directory_is_emptied_but_not_removed(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    with RehearsalEnvironment(workspace=target) as env:
        assert env.kubeconfig_path.parent == target.resolve()
    assert target.is_dir() and list(target.iterdir()) == []


def test_non_empty_directory_is_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    before = tree_digest(target)
    env = RehearsalEnvironment(workspace=target)
    with pytest.raises(InputError, match="is not empty; nothing was written"):
        env.start()
    assert tree_digest(target) == before
    assert env.api is None and env.s3 is None


@pytest.mark.parametrize(("kwargs", "message"), [({"nodes": 0}, "--nodes must be at least 1"),
                                                  ({"pods": -1}, "--pods must not be negative")])
def test_bad_sizes_are_input_errors(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        RehearsalEnvironment(**kwargs)


def test_properties_before_start_are_refused() -> None:
    with pytest.raises(InputError, match="not running"):
        _ = RehearsalEnvironment().env


def test_rehearsal_workspace_fixture(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    _assert_workspace(ws, ws.bucket)
    for key in ENV_KEYS:
        assert os.environ[key] == ws.env[key]
    assert ws.dir.is_relative_to(Path(os.environ["GFW_WORKSPACE"]))

