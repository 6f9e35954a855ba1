"""Materialising a rehearsal twin's outputs as objects in the rehearsal API (rehearsal only)."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gfwizard.errors import InputError, SafetyStop
from gfwizard.rehearsal.materialise import (
    MATERIALISED_ANNOTATION,
    WORKLOAD_LABEL,
    StackOutputs,
    materialise_in,
    materialise_stack,
    materialise_with_kubeconfig,
    rehearsal_target,
    require_loopback,
)
from gfwizard.rehearsal.workspace import write_kubeconfig


def _outputs(ns: str, replicas: int = 2, image: str = "ghcr.io/tinyland/attic:1.0") -> dict[str, Any]:
    """Shaped like ``tofu output -json``."""
    return {
        "namespaces": {"sensitive": False, "type": ["list", "string"], "value": [ns]},
        "workloads": {"sensitive": False, "type": "dynamic", "value": [
            {"namespace": ns, "kind": "Deployment", "name": "attic", "replicas": replicas,
             "node_selector": {"gloriousflywheel.io/role": "bumble"},
             "labels": {"app.kubernetes.io/name": "attic", "gloriousflywheel.io/stack": "attic"},
             "image": image, "cpu_request": "250m", "memory_request": "256Mi"},
            {"namespace": ns, "kind": "StatefulSet", "name": "attic-db", "replicas": 1.0,
             "node_selector": {"gloriousflywheel.io/role": "bumble"}, "labels": {"app.kubernetes.io/name": "attic-db"},
             "image": "postgres:16", "cpu_request": "100m", "memory_request": "128Mi"},
            {"namespace": ns, "kind": "DaemonSet", "name": "attic-agent", "replicas": 0,
             "node_selector": {"gloriousflywheel.io/role": "sting"}, "labels": {},
             "image": "busybox:1.36", "cpu_request": "10m", "memory_request": "16Mi"},
        ]},
    }


def _get(honey: Any, path: str) -> dict[str, Any]:
    ctx = ssl.create_default_context(cadata=honey.ca_pem.decode())
    req = urllib.request.Request(honey.url + path, headers={"Authorization": f"Bearer {honey.admin_token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("url", ["https://100.113.89.12:6443", "https://honey.tail1234.ts.net:6443",
                                 "http://127.0.0.1:6443", "https://10.0.0.1"])
def test_refuses_anything_but_the_loopback_api(url: str) -> None:
    with pytest.raises(SafetyStop, match="not the loopback rehearsal API"):
        materialise_stack(url, "token", b"", _outputs("attic"))


def test_loopback_urls_are_accepted() -> None:
    for url in ("https://127.0.0.1:6443", "https://[::1]:6443", "https://localhost:1"):
        require_loopback(url)


@pytest.mark.parametrize(("outputs", "message"), [
    ({"workloads": {"value": [{"namespace": "a", "kind": "Job", "name": "x", "image": "i"}]}}, "workloads.0.kind"),
    ({"workloads": {"value": [{"namespace": "a", "kind": "Deployment", "name": "x"}]}}, "workloads.0.image"),
    ({"workloads": {"value": [{"namespace": "a", "kind": "Deployment", "name": "x", "image": "i",
                               "replicas": -1}]}}, "workloads.0.replicas"),
    ({"namespaces": {"value": "attic"}}, "namespaces"),
])
def test_bad_outputs_are_input_errors(outputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        StackOutputs.parse(outputs)
    assert "do not describe namespaces/workloads" in err.value.message


def test_outputs_plain_or_tofu_json_and_namespaces_of_workloads() -> None:
    plain = StackOutputs.parse({"namespaces": ["a"], "workloads": [
        {"namespace": "b", "kind": "Deployment", "name": "x", "image": "i", "replicas": 3.0,
         "node_selector": None}]})
    assert plain.all_namespaces() == ["a", "b"]
    assert plain.workloads[0].replicas == 3 and plain.workloads[0].node_selector == {}
    wrapped = StackOutputs.parse(_outputs("attic"))
    assert [w.kind for w in wrapped.workloads] == ["Deployment", "StatefulSet", "DaemonSet"]
    assert wrapped.all_namespaces() == ["attic"]


def test_materialise_creates_then_updates(honey_log: Any, scratch_namespaces: list[str]) -> None:
    honey = honey_log
    ns = "attic-mat-create"
    scratch_namespaces.append(ns)
    first = materialise_stack(honey.url, honey.admin_token, honey.ca_pem, _outputs(ns, replicas=2))
    assert [(o.kind, o.name, o.action) for o in first.namespaces] == [("Namespace", ns, "created")]
    assert [(o.kind, o.name, o.action) for o in first.workloads] == [
        ("Deployment", "attic", "created"), ("StatefulSet", "attic-db", "created"),
        ("DaemonSet", "attic-agent", "created")]
    deploy = _get(honey, f"/apis/apps/v1/namespaces/{ns}/deployments/attic")
    assert deploy["spec"]["replicas"] == 2
    assert deploy["metadata"]["annotations"][MATERIALISED_ANNOTATION] == "gfwizard rehearsal"
    template = deploy["spec"]["template"]
    assert template["spec"]["nodeSelector"] == {"gloriousflywheel.io/role": "bumble"}
    assert template["metadata"]["labels"]["gloriousflywheel.io/stack"] == "attic"
    assert template["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    pods = _get(honey, f"/api/v1/namespaces/{ns}/pods?labelSelector={WORKLOAD_LABEL}%3Dattic")["items"]
    assert len(pods) == 2 and first.workloads[0].pods == 2
    assert {p["spec"]["nodeName"] for p in pods} <= {"bumble"}
    # The writes went through the API's normal HTTP endpoints, as the admin user.
    writes = [(e["method"], e["path"]) for e in honey.request_log.entries() if e["method"] in ("POST", "PUT")]
    assert ("POST", "/api/v1/namespaces") in writes
    assert ("POST", f"/apis/apps/v1/namespaces/{ns}/deployments") in writes

    again = materialise_stack(honey.url, honey.admin_token, honey.ca_pem, _outputs(ns, replicas=3, image="attic:2"))
    assert [o.action for o in again.namespaces] == ["exists"]
    assert [o.action for o in again.workloads] == ["updated", "updated", "updated"]
    assert again.created == 0
    deploy = _get(honey, f"/apis/apps/v1/namespaces/{ns}/deployments/attic")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "attic:2"
    items = _get(honey, f"/apis/apps/v1/namespaces/{ns}/deployments")["items"]
    assert [i["metadata"]["name"] for i in items] == ["attic"]


def test_wrong_token_is_a_check_failure_without_the_token(honey_log: Any, scratch_namespaces: list[str]) -> None:
    scratch_namespaces.append("attic-mat-denied")
    from gfwizard.errors import CheckFailure

    bad = "not-the-token-" + "x" * 20
    with pytest.raises(CheckFailure) as err:
        materialise_stack(honey_log.url, bad, honey_log.ca_pem, _outputs("attic-mat-denied"))
    assert "HTTP 401" in err.value.message and bad not in err.value.message


def test_materialise_in_workspace_and_with_kubeconfig(rehearsal_workspace: Any,
                                                      scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-mat-ws")
    summary = materialise_in(ws, _outputs("attic-mat-ws"))
    assert summary.api_url == ws.api.url and summary.created == 4
    again = materialise_with_kubeconfig(ws.kubeconfig_path, _outputs("attic-mat-ws"))
    assert again.created == 0


def test_rehearsal_target_reads_only_rehearsal_contexts(tmp_path: Path) -> None:
    from tests.helpers import tree_digest

    kubeconfig = write_kubeconfig(tmp_path / "k.yaml", server="https://127.0.0.1:6443", ca_pem=b"PEM", token="t0ken-abcdef")
    target = rehearsal_target(kubeconfig)
    assert (target.server, target.ca_pem, target.token) == ("https://127.0.0.1:6443", b"PEM", "t0ken-abcdef")
    with pytest.raises(InputError, match="no context named 'prod'"):
        rehearsal_target(kubeconfig, context="prod")
    real = write_kubeconfig(tmp_path / "real.yaml", server="https://100.113.89.12:6443", ca_pem=b"PEM", token="t0ken-abcdef")
    before = tree_digest(tmp_path)
    with pytest.raises(SafetyStop):
        materialise_with_kubeconfig(real, _outputs("x"))
    assert tree_digest(tmp_path) == before


def test_rehearsal_target_reads_a_token_file(tmp_path: Path) -> None:
    """A rehearsal kubeconfig whose user has a ``tokenFile`` (relative to it): the token is read, stripped
    and registered; a missing file is an input error naming the file, and nothing is written."""
    import secrets

    import yaml

    from gfwizard.redact import MASK, redact
    from tests.helpers import tree_digest

    canary = f"CanaryRehearsalTok{secrets.token_hex(6)}"
    kubeconfig = write_kubeconfig(tmp_path / "k.yaml", server="https://127.0.0.1:6443", ca_pem=b"PEM",
                                  token="unused")
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["users"][0]["user"] = {"tokenFile": "token"}
    kubeconfig.write_text(yaml.safe_dump(doc))
    (tmp_path / "token").write_text(canary + "\n")
    assert rehearsal_target(kubeconfig).token == canary
    assert redact(f"materialise: {canary}") == f"materialise: {MASK}"
    (tmp_path / "token").unlink()
    before = tree_digest(tmp_path)
    with pytest.raises(InputError) as err:
        rehearsal_target(kubeconfig)
    user = doc["users"][0]["name"]
    assert err.value.message == (f"tokenFile {tmp_path / 'token'} of user {user!r} in {kubeconfig} cannot be read: "
                                 "No such file or directory")
    assert "tokenFile" in err.value.remedy
    assert tree_digest(tmp_path) == before


def test_scratch_namespaces_leave_nothing_behind(honey_log: Any) -> None:
    names = {i["metadata"]["name"] for i in _get(honey_log, "/api/v1/namespaces")["items"]}
    assert not {n for n in names if n.startswith("attic-mat-")}
