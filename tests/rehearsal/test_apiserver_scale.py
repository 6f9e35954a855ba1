"""Scale: 300 nodes and 15,000 load pods served to kubectl and the Python client.

Timings are printed (run with ``-s`` to see them; docs/benchmarks.md records them), never
asserted: the machine is shared. What is asserted is that every pod arrives exactly once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from gfwizard.rehearsal.apiserver import RehearsalAPIServer

pytestmark = pytest.mark.slow

NODES = 300
PODS = 15_000


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[RehearsalAPIServer, float]]:
    started = time.perf_counter()
    server = RehearsalAPIServer(nodes=NODES, pods=PODS).start()
    try:
        yield server, time.perf_counter() - started
    finally:
        server.stop()


def test_kubectl_get_pods_all_namespaces_json_at_scale(big: tuple[RehearsalAPIServer, float], tmp_path: Path) -> None:
    api, startup = big
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(api.kubeconfig_dict()))
    expected = {s.key for s in api.store.all("pods")}
    # the load pods, a kube-proxy pod per node, two coredns pods and four control-plane static pods
    assert len(expected) == PODS + NODES + 2 + 4
    started = time.perf_counter()
    result = subprocess.run([binary, "--kubeconfig", str(kubeconfig), "get", "pods", "-A", "-o", "json"],
                            capture_output=True, timeout=600)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr.decode()
    items = json.loads(result.stdout)["items"]
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in items} == expected
    assert len(items) == len(expected)
    pages = sum(1 for e in api.request_log.entries() if e["path"] == "/api/v1/pods")
    nodes = json.loads(subprocess.run([binary, "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"],
                                      capture_output=True, timeout=120, check=True).stdout)["items"]
    assert len(nodes) == NODES
    print(f"\nRESULT startup={startup:.2f}s kubectl_get_pods_A_json={elapsed:.2f}s pods={len(items)} "
          f"pages={pages} bytes={len(result.stdout)}")


def test_python_client_pages_through_every_pod_at_scale(big: tuple[RehearsalAPIServer, float]) -> None:
    from kubernetes import client as k8s
    from kubernetes import config

    api, _ = big
    core = k8s.CoreV1Api(config.new_client_from_config_dict(api.kubeconfig_dict(), persist_config=False))
    started = time.perf_counter()
    seen: set[tuple[str, str]] = set()
    count = 0
    token = None
    while True:
        page = core.list_pod_for_all_namespaces(limit=500, _continue=token, _request_timeout=(3, 60),
                                                _preload_content=False)
        body = json.loads(page.data)
        count += len(body["items"])
        seen.update((p["metadata"]["namespace"], p["metadata"]["name"]) for p in body["items"])
        token = body["metadata"].get("continue")
        if not token:
            break
    paged = time.perf_counter() - started
    started = time.perf_counter()
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=worker-0150", _request_timeout=(3, 30))
    by_node = time.perf_counter() - started
    assert count == len(seen) == len(api.store.all("pods"))
    assert on_node.items and {p.spec.node_name for p in on_node.items} == {"worker-0150"}
    print(f"\nRESULT python_paged_raw={paged:.2f}s field_selector_one_node={by_node * 1000:.0f}ms "
          f"pods_on_node={len(on_node.items)}")
