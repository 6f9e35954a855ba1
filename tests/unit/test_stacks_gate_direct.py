"""The deploy gates without the heavy clients: the kubeconfig merge without the Kubernetes package,
which contexts the direct TLS client takes on (and which it leaves to the official client), and the
hand-made SigV4 signature against botocore's own signer."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from gfwizard.backend_direct import DirectS3, _Credentials, direct_s3
from gfwizard.backend_s3 import S3Target
from gfwizard.cluster_direct import DirectClient
from gfwizard.cluster_kubeconfig import _load_merged, resolve_context

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def write(path: Path, doc: Any) -> str:
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def kubeconfig_doc(name: str, server: str, *, user: dict[str, Any] | None = None,
                   cluster: dict[str, Any] | None = None, current: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": f"{name}-user", "user": user if user is not None else {"token": "tok-abcdef"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-user"}}],
    }
    if current:
        doc["current-context"] = current
    return doc


def plain(node: Any) -> Any:
    """A merged tree (ours or the client's ConfigNodes) as plain values plus the file of each entry."""
    value = node.value
    out = {k: v for k, v in value.items() if k not in ("clusters", "contexts", "users")}
    for section in ("clusters", "contexts", "users"):
        out[section] = [(item.value, item.path) for item in value[section]]
    return out


def test_merge_matches_the_kubernetes_clients_merger(tmp_path: Path) -> None:
    from kubernetes.config.kube_config import KubeConfigMerger

    one = kubeconfig_doc("honey", "https://100.64.0.1:6443", current="honey")
    one["contexts"].append({"name": "shared", "context": {"cluster": "honey", "user": "honey-user"}})
    two = kubeconfig_doc("honey", "https://100.64.0.2:6443", current="bumble")  # loses: first file wins
    two["clusters"].append({"name": "bumble", "cluster": {"server": "https://100.64.0.3:6443"}})
    two["contexts"].append({"name": "shared", "context": {"cluster": "bumble", "user": "x"}})
    three = {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    paths = [write(tmp_path / "1.yaml", one), write(tmp_path / "2.yaml", two), write(tmp_path / "3.yaml", three)]
    ours, skipped = _load_merged(paths, explicit=True)
    theirs = KubeConfigMerger(os.pathsep.join(paths)).config
    assert skipped == []
    assert plain(ours) == plain(theirs)
    assert ours.value["current-context"] == "bumble"
    assert [c.value["name"] for c in ours.value["clusters"]] == ["honey", "bumble"]


def test_merge_refuses_the_same_documents_as_before(tmp_path: Path) -> None:
    from gfwizard.cluster_errors import ClusterAccessError

    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    nameless = write(tmp_path / "nameless.yaml", {"contexts": [{"context": {}}, {"name": "x"}]})
    for path, text in ((str(scalar), "is not a kubeconfig mapping"), (nameless, "Expected key name")):
        with pytest.raises(ClusterAccessError) as err:
            resolve_context(path, "honey")
        assert err.value.kind == "kubeconfig" and text in err.value.message, err.value.message


@pytest.mark.parametrize("text", ["", "# filled in later\n", " \n\n"])
def test_merge_skips_an_empty_file_as_kubectl_does(tmp_path: Path, text: str) -> None:
    """kubectl (client-go) reads a file of no bytes, or of only whitespace or comments, as an empty config and
    skips it; the Python client's merger refuses the whole list ("file is empty"). Ours skips it and says so."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigMerger

    empty = tmp_path / "empty.yaml"
    empty.write_text(text)
    good = write(tmp_path / "good.yaml", kubeconfig_doc("honey", "https://100.64.0.1:6443", current="honey"))
    with pytest.raises(ConfigException, match="file is empty"):
        KubeConfigMerger(os.pathsep.join([str(empty), good]))
    ours, skipped = _load_merged([str(empty), good], explicit=True)
    assert skipped == [str(empty)]
    assert plain(ours) == plain(KubeConfigMerger(good).config)
    target, standalone = resolve_context(f"{empty}:{good}", "honey")
    alone, alone_standalone = resolve_context(good, "honey")
    assert standalone == alone_standalone and target.files == alone.files == (good,)
    assert target.skipped_empty == (str(empty),) and alone.skipped_empty == ()
    assert target.empty_note() == (
        f"{empty} is empty (no YAML document: no bytes, or only whitespace or comments): skipped, as kubectl skips it",
        f"put the kubeconfig {empty} should hold into it, or remove it from the kubeconfig list (KUBECONFIG, "
        "cluster.kubeconfig or --kubeconfig); nothing to do if it is meant to be empty")
    assert empty.read_text() == text


def test_a_list_of_only_empty_files_holds_no_configuration(tmp_path: Path) -> None:
    from gfwizard.cluster_errors import ClusterAccessError

    empty, comments = tmp_path / "empty.yaml", tmp_path / "comments.yaml"
    empty.write_text("")
    comments.write_text("# nothing yet\n")
    with pytest.raises(ClusterAccessError) as err:
        resolve_context(str(empty), "honey")
    assert (err.value.kind, err.value.message, err.value.remedy) == (
        "kubeconfig", f"kubeconfig {empty} holds no configuration: it is empty (no YAML document, only whitespace "
                      "or comments), and kubectl skips an empty file",
        f"put honey's kubeconfig into {empty}, or name the file that holds it (cluster.kubeconfig in "
        "organization.yaml, KUBECONFIG or --kubeconfig)")
    with pytest.raises(ClusterAccessError, match=f"kubeconfig {empty}, {comments} holds no configuration: they are "):
        resolve_context(None, "honey", {"KUBECONFIG": f"{empty}:{comments}"})
    # The context is elsewhere: the error names the file skipped too (it may be the one meant to hold it).
    other = write(tmp_path / "other.yaml", kubeconfig_doc("bumble", "https://100.64.0.2:6443"))
    with pytest.raises(ClusterAccessError) as err:
        resolve_context(f"{empty}:{other}", "honey")
    assert err.value.message == (f"context 'honey' not found in {other} (contexts there: bumble); {empty} is empty "
                                 "(no YAML document: no bytes, or only whitespace or comments): skipped, as kubectl "
                                 "skips it")
    assert empty.read_text() == "" and comments.read_text() == "# nothing yet\n"


def test_resolving_a_context_never_imports_the_kubernetes_client(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = write(tmp_path / "k.yaml", kubeconfig_doc("honey", "https://100.64.0.1:6443"))
    code = ("import sys\nfrom gfwizard.cluster_kubeconfig import resolve_context\n"
            f"t, _ = resolve_context({path!r}, 'honey')\nprint(t.server, 'kubernetes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["https://100.64.0.1:6443", "False"], out.stderr


# -- which contexts the direct client takes on ------------------------------------------------------

@pytest.mark.parametrize(("user", "cluster", "environ", "direct"), [
    ({"token": "tok-abcdef"}, {}, {}, True),
    ({"client-certificate-data": "CERT-DATA", "client-key-data": "KEY-DATA"}, {}, {}, True),
    ({"client-certificate": "c.pem", "client-key": "k.pem"}, {}, {}, True),
    ({"token": "tok-abcdef"}, {"insecure-skip-tls-verify": True}, {}, False),
    ({"token": "tok-abcdef"}, {"proxy-url": "http://proxy:3128"}, {}, False),
    ({"token": "tok-abcdef"}, {"tls-server-name": "honey"}, {}, False),
    ({"token": "tok-abcdef"}, {}, {"HTTPS_PROXY": "http://proxy:3128"}, False),
    ({"tokenFile": "/var/run/token"}, {}, {}, False),
    ({"exec": {"command": "kubelogin", "apiVersion": "client.authentication.k8s.io/v1"}}, {}, {}, False),
    ({"auth-provider": {"name": "oidc", "config": {}}}, {}, {}, False),
    ({"username": "admin", "password": "pw-123456"}, {}, {}, False),
    ({"token": "tok-abcdef", "as": "someone-else"}, {}, {}, False),
    ({"token": "tok-abcdef", "client-certificate-data": "CERT-DATA", "client-key-data": "KEY-DATA"}, {}, {}, False),
])
def test_direct_client_only_for_credentials_it_handles_like_the_official_client(
        tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any], environ: dict[str, str], direct: bool) -> None:
    import base64

    import trustme

    ca = trustme.CA()
    cluster = {"certificate-authority-data": base64.b64encode(ca.cert_pem.bytes()).decode(), **cluster}
    # Real material where the user names some: a resolved context's certificates and key are checked.
    leaf = ca.issue_cert("op")
    cert_pem, key_pem = leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    material = {"CERT-DATA": base64.b64encode(cert_pem).decode(), "KEY-DATA": base64.b64encode(key_pem).decode()}
    user = {k: material.get(v, v) if isinstance(v, str) else v for k, v in user.items()}
    path = write(tmp_path / "k.yaml", kubeconfig_doc("honey", "https://127.0.0.1:6443", user=user, cluster=cluster))
    target, config_dict = resolve_context(path, "honey")
    assert DirectClient.supports(target, config_dict, environ) is direct


def test_direct_client_needs_https_and_a_ca(tmp_path: Path) -> None:
    import base64

    import trustme

    path = write(tmp_path / "k.yaml", kubeconfig_doc("honey", "https://127.0.0.1:6443"))
    target, config_dict = resolve_context(path, "honey")
    assert target.ca_pem is None and not DirectClient.supports(target, config_dict, {})
    path = write(tmp_path / "h.yaml", kubeconfig_doc("honey", "http://127.0.0.1:8080", cluster={
        "certificate-authority-data": base64.b64encode(trustme.CA().cert_pem.bytes()).decode()}))
    target, config_dict = resolve_context(path, "honey")
    assert not DirectClient.supports(target, config_dict, {})


# -- SigV4 ------------------------------------------------------------------------------------------

def target(path_style: bool = True, bucket: str = "gfw-state", endpoint: str = "http://127.0.0.1:9000") -> S3Target:
    return S3Target(endpoint=endpoint, endpoint_source="state.s3.endpoint", custom_endpoint=True,
                    config_endpoint=endpoint, bucket=bucket, region="eu-central-1", key_prefix="gloriousflywheel",
                    path_style=path_style, use_lockfile=True)


@pytest.mark.parametrize("token", [None, "session-token-value-123"])
@pytest.mark.parametrize(("method", "path", "query", "body"), [
    ("PUT", "/gfw-state/gloriousflywheel/.gfwizard-lock-probe/ab cd+é", {}, b'{"who": "probe"}'),
    ("GET", "/gfw-state", {"versions": "", "prefix": "gloriousflywheel/.gfwizard-lock-probe/x y"}, b""),
    ("DELETE", "/gfw-state/k", {"versionId": "3/L4kqtJl40Nr8X8gdRQBpUMLUo+="}, b""),
])
def test_signature_is_botocores(method: str, path: str, query: dict[str, str], body: bytes,
                                token: str | None) -> None:
    from unittest import mock
    from urllib.parse import quote, urlencode

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    now = dt.datetime(2026, 11, 26, 12, 34, 56, tzinfo=dt.timezone.utc)
    client = DirectS3(target(), _Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
                      (1, 1), None)
    canonical_path = quote(path, safe="/~")
    canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))
    ours = client.sign(method, "127.0.0.1:9000", canonical_path, canonical_query, body, now=now)

    url = "http://127.0.0.1:9000" + canonical_path + (f"?{urlencode(sorted(query.items()), quote_via=quote)}"
                                                      if query else "")
    request = AWSRequest(method=method, url=url, data=body)
    signer = S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token), "s3",
                         "eu-central-1")
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        signer.add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["x-amz-content-sha256"] == request.headers["X-Amz-Content-SHA256"]


def test_direct_s3_only_where_it_sends_what_botocore_would() -> None:
    creds = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-value-123"}
    assert isinstance(direct_s3(target(), environ=creds), DirectS3)
    assert isinstance(direct_s3(target(path_style=False), environ=creds), DirectS3)
    assert direct_s3(target(), environ={}) is None  # profiles, SSO, ...: botocore's chain
    assert direct_s3(target(), environ={"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}) is None
    assert direct_s3(target(), environ={**creds, "HTTPS_PROXY": "http://proxy:3128"}) is None
    assert direct_s3(target(path_style=False, bucket="dotted.bucket.name"), environ=creds) is None
    assert direct_s3(target(endpoint="http://127.0.0.1:9000/prefix"), environ=creds) is None
    assert isinstance(direct_s3(target(endpoint="https://s3.example.net"), environ=creds), DirectS3)
