"""The rehearsal API server against the real clients: kubectl and the official Python client.

One server for the module; each test uses its own namespaces and clears what it injects.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from gfwizard.rehearsal.apiserver import RehearsalAPIServer

TIMEOUT = (3, 10)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RehearsalAPIServer]:
    log = tmp_path_factory.mktemp("api") / "api-requests.log"
    server = RehearsalAPIServer(log_path=log, bookmark_interval=0.2, log_interval=0.05)
    with server:
        yield server


@pytest.fixture(autouse=True)
def _clean(api: RehearsalAPIServer) -> Iterator[None]:
    api.faults.clear()
    api.request_log.clear()
    yield
    api.faults.clear()


def client(api: RehearsalAPIServer, user: str = "admin", token: str | None = None, retries: Any = None) -> Any:
    """An ApiClient for ``user`` built the way gfwizard builds them (``persist_config=False``)."""
    from kubernetes import client as k8s
    from kubernetes import config

    cfg = api.kubeconfig_dict(user)
    if token is not None:
        cfg["users"][0]["user"]["token"] = token
    configuration = k8s.Configuration()
    config.load_kube_config_from_dict(cfg, client_configuration=configuration, persist_config=False)
    if retries is not None:
        configuration.retries = retries
    return k8s.ApiClient(configuration)


def raw(api: RehearsalAPIServer, method: str, path: str, body: Any = None, token: str | None = "admin",
        headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, bytes, dict[str, str]]:
    """One HTTPS request with the standard library (no client-side interpretation at all)."""
    context = ssl.create_default_context(cadata=api.ca_pem.decode())
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {api.tokens.get(token, token)}"
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(api.url + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def deployment(name: str, replicas: int = 2, selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "nginx:1.27",
                                            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]}
    if selector:
        spec["nodeSelector"] = selector
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def make_namespace(api: RehearsalAPIServer, name: str) -> None:
    status, body, _ = raw(api, "POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert status == 201, body


# ----------------------------------------------------------------------------- kubectl
class Kubectl:
    """Runs the real kubectl with a kubeconfig generated under ``tmp_path`` (one per user)."""

    def __init__(self, binary: str, api: RehearsalAPIServer, directory: Path) -> None:
        self.binary = binary
        self.api = api
        self.directory = directory

    def kubeconfig(self, user: str = "admin") -> Path:
        path = self.directory / f"kubeconfig-{user}.yaml"
        if not path.exists():
            path.write_text(yaml.safe_dump(self.api.kubeconfig_dict(user)))
        return path

    def command(self, *args: str, user: str = "admin") -> list[str]:
        return [self.binary, "--kubeconfig", str(self.kubeconfig(user)), *args]

    def __call__(self, *args: str, user: str = "admin", check: bool = True,
                 timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args, user=user), capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def kubectl(api: RehearsalAPIServer, tmp_path: Path) -> Kubectl:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    return Kubectl(binary, api, tmp_path)


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[1:]]


def test_kubectl_get_nodes_shows_honey_bumble_sting(api: RehearsalAPIServer, kubectl: Kubectl) -> None:
    out = kubectl("get", "nodes", "-o", "wide").stdout
    rows = {row[0]: row for row in _rows(out)}
    assert set(rows) == {"honey", "bumble", "sting"}
    assert rows["honey"][1:3] == ["Ready", "control-plane"]
    assert rows["bumble"][1:3] == ["Ready", "<none>"]
    labels = kubectl("get", "nodes", "-L", "gloriousflywheel.io/role").stdout
    assert {row[0]: row[-1] for row in _rows(labels)} == {"honey": "control-plane", "bumble": "bumble",
                                                         "sting": "sting"}


@pytest.mark.parametrize("ready", ["Unknown", "False"], ids=["unreachable", "kubelet-not-ready"])
def test_kubectl_get_nodes_reads_a_node_not_ready_whatever_its_ready_status(api: RehearsalAPIServer,
                                                                         kubectl: Kubectl, ready: str) -> None:
    """As kube-apiserver prints it: an unreachable node (Ready=Unknown) reads NotReady, not Unknown."""
    api.set_node_ready("sting", ready)
    try:
        rows = {row[0]: row for row in _rows(kubectl("get", "nodes").stdout)}
    finally:
        api.set_node_ready("sting", True)
    assert (rows["sting"][1], rows["bumble"][1]) == ("NotReady", "Ready")


def test_kubectl_get_pods_and_deployments_in_all_namespaces(api: RehearsalAPIServer, kubectl: Kubectl) -> None:
    pods = _rows(kubectl("get", "pods", "-A").stdout)
    expected = {s.key for s in api.store.all("pods")}
    assert {(row[0], row[1]) for row in pods} == expected
    assert all(row[3] == "Running" for row in pods if row[0] == "kube-system")
    deploys = {row[1]: row for row in _rows(kubectl("get", "deploy", "-A").stdout)}
    assert deploys["coredns"][0] == "kube-system" and deploys["coredns"][2] == "2/2"
    as_json = json.loads(kubectl("get", "pods", "-A", "-o", "json", "--chunk-size=3").stdout)
    assert len(as_json["items"]) == len(expected)


def test_kubectl_logs_and_follow(api: RehearsalAPIServer, kubectl: Kubectl) -> None:
    pod = next(s.key[1] for s in api.store.all("pods", "kube-system") if s.key[1].startswith("coredns-"))
    lines = kubectl("logs", "-n", "kube-system", pod, "--tail=3").stdout.splitlines()
    assert len(lines) == 3 and all("seq=" in line for line in lines)
    seqs = [int(line.split("seq=")[1].split()[0]) for line in lines]
    assert seqs == sorted(seqs) and seqs[2] - seqs[0] == 2
    follow = subprocess.Popen(kubectl.command("logs", "-f", "-n", "kube-system", pod, "--tail=1"),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert follow.stdout is not None
        got = [follow.stdout.readline() for _ in range(4)]
    finally:
        follow.kill()
        follow.wait(timeout=10)
    followed = [int(line.split("seq=")[1].split()[0]) for line in got]
    assert followed == list(range(followed[0], followed[0] + 4))


def test_kubectl_writes_through_protobuf_json_and_apply(api: RehearsalAPIServer, kubectl: Kubectl,
                                                       tmp_path: Path) -> None:
    kubectl("create", "namespace", "kc-writes")  # protobuf body
    kubectl("-n", "kc-writes", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=3")  # protobuf
    manifest = tmp_path / "sts.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "kc-writes"},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                     "nodeSelector": {"gloriousflywheel.io/role": "sting"},
                     "containers": [{"name": "pg", "image": "postgres:16"}]}}}}))
    assert "created" in kubectl("apply", "-f", str(manifest)).stdout
    assert "unchanged" in kubectl("apply", "-f", str(manifest)).stdout
    kubectl("-n", "kc-writes", "scale", "deploy/web", "--replicas=1")
    kubectl("-n", "kc-writes", "set", "image", "deploy/web", "nginx=nginx:1.28")
    pods = {row[0]: row for row in _rows(kubectl("-n", "kc-writes", "get", "pods", "-o", "wide").stdout)}
    assert sorted(n for n in pods if n.startswith("db-")) == ["db-0", "db-1"]
    assert all(pods[n][6] == "sting" for n in ("db-0", "db-1"))
    web = [n for n in pods if n.startswith("web-")]
    assert len(web) == 1
    assert api.rest.get(_kind("pods"), "kc-writes", web[0])["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert kubectl("auth", "can-i", "create", "deployments", "-n", "kc-writes").stdout.strip() == "yes"
    denied = kubectl("auth", "can-i", "create", "deployments", "-n", "kc-writes", user="readonly", check=False)
    assert denied.stdout.strip() == "no"
    forbidden = kubectl("create", "namespace", "ro-made", user="readonly", check=False)
    assert forbidden.returncode == 1
    assert 'User "readonly" cannot create resource "namespaces"' in forbidden.stderr
    assert api.store.get("namespaces", "", "ro-made") is None
    kubectl("delete", "namespace", "kc-writes")
    assert api.store.all("pods", "kc-writes") == [] and api.store.all("statefulsets", "kc-writes") == []


def _kind(plural: str) -> Any:
    from gfwizard.rehearsal.k8s_kinds import STORED

    return next(k for k in STORED if k.plural == plural)


# ------------------------------------------------------------------- Python client
LISTS = [
    ("CoreV1Api", "list_node", "nodes"),
    ("CoreV1Api", "list_namespace", "namespaces"),
    ("CoreV1Api", "list_pod_for_all_namespaces", "pods"),
    ("CoreV1Api", "list_event_for_all_namespaces", "events"),
    ("AppsV1Api", "list_deployment_for_all_namespaces", "deployments"),
    ("AppsV1Api", "list_replica_set_for_all_namespaces", "replicasets"),
    ("AppsV1Api", "list_stateful_set_for_all_namespaces", "statefulsets"),
    ("AppsV1Api", "list_daemon_set_for_all_namespaces", "daemonsets"),
]


@pytest.mark.parametrize("preload", [True, False], ids=["preload", "raw"])
@pytest.mark.parametrize(("api_class", "method", "plural"), LISTS, ids=[m for _c, m, _p in LISTS])
def test_python_client_lists_every_kind(api: RehearsalAPIServer, api_class: str, method: str, plural: str,
                                        preload: bool) -> None:
    from kubernetes import client as k8s

    if plural == "statefulsets" and not api.store.all("statefulsets", "py-sts"):
        make_namespace(api, "py-sts")
        sts = deployment("db") | {"kind": "StatefulSet"}
        status, body, _ = raw(api, "POST", "/apis/apps/v1/namespaces/py-sts/statefulsets", sts)
        assert status == 201, body
    expected = {s.key[1] for s in api.store.all(plural)}
    assert expected
    fn = getattr(getattr(k8s, api_class)(client(api)), method)
    result = fn(_request_timeout=TIMEOUT, _preload_content=preload)
    if preload:
        names = {item.metadata.name for item in result.items}
        assert all(item.metadata.uid and item.metadata.creation_timestamp for item in result.items)
    else:
        names = {item["metadata"]["name"] for item in json.loads(result.data)["items"]}
    assert names == expected


def test_python_client_version_discovery_and_fingerprint(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    c = client(api)
    assert k8s.VersionApi(c).get_code(_request_timeout=TIMEOUT).minor == "32"
    assert k8s.CoreApi(c).get_api_versions(_request_timeout=TIMEOUT).versions == ["v1"]
    groups = {g.name for g in k8s.ApisApi(c).get_api_versions(_request_timeout=TIMEOUT).groups}
    assert {"apps", "authorization.k8s.io"} <= groups
    resources = {r.name for r in k8s.AppsV1Api(c).get_api_resources(_request_timeout=TIMEOUT).resources}
    assert {"deployments", "statefulsets", "daemonsets", "deployments/scale"} <= resources
    ns = k8s.CoreV1Api(c).read_namespace("kube-system", _request_timeout=TIMEOUT)
    assert ns.metadata.uid == api.kube_system_uid
    import hashlib

    der = ssl.PEM_cert_to_DER_cert(api.ca_pem.decode())
    assert hashlib.sha256(der).hexdigest() == api.ca_sha256


def test_wrong_or_missing_token_gets_401_status(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    with pytest.raises(k8s.ApiException) as info:
        k8s.CoreV1Api(client(api, token="not-a-token")).list_node(_request_timeout=TIMEOUT)
    assert info.value.status == 401
    status, body, _ = raw(api, "GET", "/api/v1/nodes", token=None)
    assert status == 401
    assert json.loads(body) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    entries = api.request_log.entries()
    assert [(e["path"], e["user"], e["status"]) for e in entries] == [("/api/v1/nodes", None, 401)] * 2


def test_readonly_user_gets_403_and_ssar_agrees(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    ro = client(api, "readonly")
    before = {s.key for s in api.store.all("namespaces")}
    with pytest.raises(k8s.ApiException) as info:
        k8s.CoreV1Api(ro).create_namespace({"metadata": {"name": "ro-denied"}}, _request_timeout=TIMEOUT)
    assert info.value.status == 403
    status = json.loads(info.value.body)
    assert status["reason"] == "Forbidden"
    assert status["message"] == ('namespaces is forbidden: User "readonly" cannot create resource "namespaces" '
                                 'in API group "" at the cluster scope')
    assert {s.key for s in api.store.all("namespaces")} == before
    auth = k8s.AuthorizationV1Api(ro)

    def review(verb: str) -> bool:
        body = {"spec": {"resourceAttributes": {"verb": verb, "group": "apps", "resource": "deployments",
                                                "namespace": "default"}}}
        return auth.create_self_subject_access_review(body, _request_timeout=TIMEOUT).status.allowed

    assert review("create") is False
    assert review("list") is True
    assert len(k8s.CoreV1Api(ro).list_node(_request_timeout=TIMEOUT).items) == 3


def test_set_policy_adds_a_namespace_scoped_user(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    api.set_policy("deployer", [{"verbs": ["get", "list", "create"], "apiGroups": ["apps"],
                                 "resources": ["deployments"], "namespaces": ["pol-a"]}])
    assert "deployer" in api.tokens
    make_namespace(api, "pol-a")
    make_namespace(api, "pol-b")
    apps = k8s.AppsV1Api(client(api, "deployer"))
    apps.create_namespaced_deployment("pol-a", deployment("ok", 1), _request_timeout=TIMEOUT)
    with pytest.raises(k8s.ApiException) as info:
        apps.create_namespaced_deployment("pol-b", deployment("no", 1), _request_timeout=TIMEOUT)
    assert info.value.status == 403 and 'in the namespace "pol-b"' in json.loads(info.value.body)["message"]
    with pytest.raises(ValueError, match="unknown policy rule keys"):
        api.set_policy("deployer", [{"verbs": ["get"], "resources": ["pods"], "typo": 1}])
    assert api.policy("deployer")[0]["namespaces"] == ["pol-a"]


def test_deployment_pods_land_on_the_matching_node_and_report_ready(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    c = client(api)
    make_namespace(api, "place")
    apps, core = k8s.AppsV1Api(c), k8s.CoreV1Api(c)
    apps.create_namespaced_deployment("place", deployment("on-sting", 3, {"gloriousflywheel.io/role": "sting"}),
                                      _request_timeout=TIMEOUT)
    pods = core.list_namespaced_pod("place", label_selector="app=on-sting", _request_timeout=TIMEOUT).items
    assert len(pods) == 3 and {p.spec.node_name for p in pods} == {"sting"}
    assert all(p.status.phase == "Running" and p.status.pod_ip for p in pods)
    status = apps.read_namespaced_deployment("on-sting", "place", _request_timeout=TIMEOUT).status
    assert (status.ready_replicas, status.replicas, status.available_replicas) == (3, 3, 3)
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=sting", _request_timeout=TIMEOUT)
    assert {p.metadata.name for p in pods} <= {p.metadata.name for p in on_node.items}
    assert {p.spec.node_name for p in on_node.items} == {"sting"}


def test_unschedulable_pods_stay_pending_with_a_warning_until_a_node_fits(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    c = client(api)
    make_namespace(api, "nowhere")
    apps, core = k8s.AppsV1Api(c), k8s.CoreV1Api(c)
    apps.create_namespaced_deployment("nowhere", deployment("wasp", 2, {"gloriousflywheel.io/role": "wasp"}),
                                      _request_timeout=TIMEOUT)
    pods = core.list_namespaced_pod("nowhere", _request_timeout=TIMEOUT).items
    assert [p.status.phase for p in pods] == ["Pending", "Pending"]
    cond = pods[0].status.conditions[0]
    assert (cond.type, cond.status, cond.reason) == ("PodScheduled", "False", "Unschedulable")
    warnings = core.list_namespaced_event("nowhere", field_selector="type=Warning", _request_timeout=TIMEOUT).items
    assert {e.reason for e in warnings} == {"FailedScheduling"} and len(warnings) == 2
    assert "didn't match Pod's node affinity/selector" in warnings[0].message
    status = apps.read_namespaced_deployment("wasp", "nowhere", _request_timeout=TIMEOUT).status
    assert status.ready_replicas is None and status.unavailable_replicas == 2
    api.add_node("wasp-1", "wasp")
    pods = core.list_namespaced_pod("nowhere", _request_timeout=TIMEOUT).items
    assert {(p.status.phase, p.spec.node_name) for p in pods} == {("Running", "wasp-1")}
    assert apps.read_namespaced_deployment("wasp", "nowhere", _request_timeout=TIMEOUT).status.ready_replicas == 2
    daemon_pods = api.store.pods_on_node("wasp-1")
    assert any(p.key[1].startswith("kube-proxy-") for p in daemon_pods)  # the DaemonSet followed the new node
    api.cluster.delete("nodes", "", "wasp-1")


def test_invalid_writes_are_refused_and_change_nothing(api: RehearsalAPIServer) -> None:
    make_namespace(api, "bad-input")
    before = {p: {s.key for s in api.store.all(p)} for p in ("deployments", "pods", "namespaces")}
    bad = deployment("bad")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    status, body, _ = raw(api, "POST", "/apis/apps/v1/namespaces/bad-input/deployments", bad)
    assert status == 422
    assert json.loads(body)["message"].startswith('Deployment.apps "bad" is invalid: spec.template.metadata.labels')
    status, body, _ = raw(api, "POST", "/apis/apps/v1/namespaces/missing-ns/deployments", deployment("x"))
    assert (status, json.loads(body)["message"]) == (404, 'namespaces "missing-ns" not found')
    status, body, _ = raw(api, "POST", "/api/v1/namespaces", {"metadata": {"name": "Not_Valid"}})
    assert status == 422 and "RFC 1123 label" in json.loads(body)["message"]
    status, body, _ = raw(api, "POST", "/api/v1/namespaces", b"{not json")
    assert status == 400 and json.loads(body)["reason"] == "BadRequest"
    status, body, _ = raw(api, "GET", "/api/v1/pods?labelSelector=bad%20key%3D1")
    assert status == 400 and "invalid label key" in json.loads(body)["message"]
    status, body, _ = raw(api, "GET", "/apis/apps/v1/widgets")
    assert status == 404 and json.loads(body)["reason"] == "NotFound"
    status, body, _ = raw(api, "PATCH", "/apis/apps/v1/namespaces/bad-input/deployments/none", {"spec": {}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert (status, json.loads(body)["message"]) == (404, 'deployments.apps "none" not found')
    assert {p: {s.key for s in api.store.all(p)} for p in before} == before


def test_update_patch_conflict_and_dry_run(api: RehearsalAPIServer) -> None:
    make_namespace(api, "edits")
    base = "/apis/apps/v1/namespaces/edits/deployments"
    status, body, _ = raw(api, "POST", base, deployment("web", 1))
    assert status == 201
    created = json.loads(body)
    status, body, _ = raw(api, "PATCH", f"{base}/web", {"spec": {"replicas": 4}},
                          headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert status == 200 and json.loads(body)["spec"]["replicas"] == 4
    assert len(api.store.all("pods", "edits")) == 4
    stale = dict(created, spec=dict(created["spec"], replicas=1))
    status, body, _ = raw(api, "PUT", f"{base}/web", stale)
    assert status == 409 and json.loads(body)["reason"] == "Conflict"
    status, body, _ = raw(api, "PATCH", f"{base}/web?dryRun=All",
                          [{"op": "replace", "path": "/spec/replicas", "value": 0}],
                          headers={"Content-Type": "application/json-patch+json"})
    assert status == 200 and json.loads(body)["spec"]["replicas"] == 0
    assert len(api.store.all("pods", "edits")) == 4
    status, body, _ = raw(api, "GET", f"{base}/web/scale")
    assert json.loads(body)["status"] == {"replicas": 4, "selector": "app=web"}
    status, body, _ = raw(api, "DELETE", f"{base}/web")
    assert status == 200 and json.loads(body)["status"] == "Success"
    assert api.store.all("pods", "edits") == [] and api.store.all("replicasets", "edits") == []


def test_bare_pods_are_scheduled_and_delete_collection_honours_selectors(api: RehearsalAPIServer) -> None:
    make_namespace(api, "bare")
    base = "/api/v1/namespaces/bare/pods"
    for name, selector in (("a", {}), ("b", {"gloriousflywheel.io/role": "bumble"}),
                           ("c", {"gloriousflywheel.io/role": "nope"})):
        pod = {"metadata": {"name": name, "labels": {"group": "x" if name != "a" else "y"}},
               "spec": {"nodeSelector": selector, "containers": [{"name": "c", "image": "busybox:1.36"}]}}
        status, body, _ = raw(api, "POST", base, pod)
        assert status == 201, body
    phases = {s.key[1]: (s.obj["status"]["phase"], s.obj["spec"].get("nodeName"))
              for s in api.store.all("pods", "bare")}
    assert phases["b"] == ("Running", "bumble") and phases["c"] == ("Pending", None)
    assert phases["a"][0] == "Running" and phases["a"][1] in ("bumble", "sting")
    status, body, _ = raw(api, "DELETE", f"{base}?labelSelector=group%3Dx")
    assert status == 200 and json.loads(body)["status"] == "Success"
    assert [s.key[1] for s in api.store.all("pods", "bare")] == ["a"]
    status, body, _ = raw(api, "DELETE", f"{base}/a")
    assert status == 200 and json.loads(body)["kind"] == "Pod"  # pods answer with the deleted pod
    assert api.store.all("pods", "bare") == []


def test_paging_returns_every_pod_exactly_once(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(client(api))
    total = len(api.store.all("pods"))
    names: list[tuple[str, str]] = []
    token = None
    pages = 0
    while True:
        page = core.list_pod_for_all_namespaces(limit=2, _continue=token, _request_timeout=TIMEOUT)
        names += [(p.metadata.namespace, p.metadata.name) for p in page.items]
        assert page.metadata.resource_version
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == total - len(names)
    assert len(names) == len(set(names)) == total and pages == (total + 1) // 2
    token = core.list_pod_for_all_namespaces(limit=1, _request_timeout=TIMEOUT).metadata._continue
    make_namespace(api, "after-token")  # a write after the token, then the history is compacted away
    api.compact()
    with pytest.raises(k8s.ApiException) as info:
        core.list_pod_for_all_namespaces(limit=2, _continue=token, _request_timeout=TIMEOUT)
    assert info.value.status == 410 and json.loads(info.value.body)["reason"] == "Expired"


def test_watch_sees_added_and_modified_and_410_raises(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s
    from kubernetes import watch

    c = client(api)
    core, apps = k8s.CoreV1Api(c), k8s.AppsV1Api(c)
    make_namespace(api, "watched")
    start_rv = core.list_namespaced_pod("watched", _request_timeout=TIMEOUT).metadata.resource_version

    def writer() -> None:
        time.sleep(0.2)
        apps.create_namespaced_deployment("watched", deployment("w", 1), _request_timeout=TIMEOUT)
        pod = core.list_namespaced_pod("watched", _request_timeout=TIMEOUT).items[0]
        core.patch_namespaced_pod(pod.metadata.name, "watched", {"metadata": {"labels": {"seen": "yes"}}},
                                  _request_timeout=TIMEOUT)

    thread = threading.Thread(target=writer)
    thread.start()
    events: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, "watched", resource_version=start_rv, timeout_seconds=5,
                          _request_timeout=TIMEOUT):
        events.append((event["type"], event["object"].metadata.name))
        if event["type"] == "MODIFIED":
            w.stop()
    thread.join()
    assert [t for t, _ in events] == ["ADDED", "MODIFIED"] and events[0][1] == events[1][1]
    api.compact()
    with pytest.raises(k8s.ApiException) as info:
        for _ in w.stream(core.list_namespaced_pod, "watched", resource_version=start_rv, timeout_seconds=2,
                          _request_timeout=TIMEOUT):
            pass
    assert info.value.status == 410


def test_watch_bookmarks_and_node_stream(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(client(api))
    rv = core.list_node(_request_timeout=TIMEOUT).metadata.resource_version
    response = core.list_node(watch=True, allow_watch_bookmarks=True, resource_version=rv, timeout_seconds=1,
                              _preload_content=False, _request_timeout=TIMEOUT)
    lines = [json.loads(line) for line in response.read().splitlines() if line.strip()]
    assert lines and {e["type"] for e in lines} == {"BOOKMARK"}
    assert lines[-1]["object"]["metadata"]["resourceVersion"] == str(api.store.rv)
    added = core.list_node(watch=True, timeout_seconds=1, _preload_content=False, _request_timeout=TIMEOUT)
    events = [json.loads(line) for line in added.read().splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == \
        [("ADDED", n) for n in sorted(api.node_names())]


def test_logs_follow_streams_until_the_client_goes(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(client(api))
    pod = next(s.key[1] for s in api.store.all("pods", "kube-system") if s.key[1].startswith("kube-proxy-"))
    tail = core.read_namespaced_pod_log(pod, "kube-system", tail_lines=5, _request_timeout=TIMEOUT)
    assert len(tail.splitlines()) == 5
    stream = core.read_namespaced_pod_log(pod, "kube-system", follow=True, tail_lines=1, timestamps=True,
                                          _preload_content=False, _request_timeout=TIMEOUT)
    seqs: list[int] = []
    buffer = b""
    for chunk in stream.stream(64):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        seqs += [int(line.split(b"seq=")[1].split()[0]) for line in complete]
        if len(seqs) >= 4:
            break
    stream.release_conn()
    stream.close()
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    status, body, _ = raw(api, "GET", f"/api/v1/namespaces/kube-system/pods/{pod}/log?container=nope")
    assert status == 400 and json.loads(body)["message"] == f"container nope is not valid for pod {pod}"


def test_injected_errors_latency_and_request_log(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(client(api))
    api.faults.set_error(500, count=2, path_prefix="/api/v1/nodes")
    for _ in range(2):
        with pytest.raises(k8s.ApiException) as info:
            core.list_node(_request_timeout=TIMEOUT)
        assert info.value.status == 500
    assert len(core.list_namespace(_request_timeout=TIMEOUT).items) >= 4  # other paths unaffected
    assert len(core.list_node(_request_timeout=TIMEOUT).items) == 3
    api.faults.set_error(401)
    for _ in range(2):
        with pytest.raises(k8s.ApiException) as info:
            core.list_namespace(_request_timeout=TIMEOUT)
        assert info.value.status == 401
    assert api.faults.pending() == [{"status": 401, "remaining": None, "path_prefix": "", "methods": ()}]
    api.faults.clear()
    # An error for some methods only: the reads go through.
    api.faults.set_error(503, path_prefix="/api/v1/namespaces", methods=("post",))
    assert len(core.list_namespace(_request_timeout=TIMEOUT).items) >= 4
    with pytest.raises(k8s.ApiException) as info:
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="never-made")),
                              _request_timeout=TIMEOUT)
    assert info.value.status == 503
    assert api.faults.pending() == [{"status": 503, "remaining": None, "path_prefix": "/api/v1/namespaces",
                                     "methods": ("POST",)}]
    api.faults.clear()
    assert all(ns.metadata.name != "never-made" for ns in core.list_namespace(_request_timeout=TIMEOUT).items)
    api.faults.latency = 0.3
    started = time.monotonic()
    core.list_namespace(_request_timeout=TIMEOUT)
    assert time.monotonic() - started >= 0.3
    api.faults.latency = 0.0
    with pytest.raises(ValueError, match="4xx or 5xx"):
        api.faults.set_error(200)
    entries = api.request_log.entries()
    assert [e["status"] for e in entries] == [500, 500, 200, 200, 401, 401, 200, 503, 200, 200]
    assert all(set(e) == {"time", "method", "path", "query", "user", "status"} for e in entries)
    assert entries[2]["user"] == "admin" and entries[0]["user"] is None
    assert api.request_log.path is not None
    logged = [json.loads(line) for line in api.request_log.path.read_text().splitlines()]
    assert logged[-len(entries):] == entries
    text = api.request_log.path.read_text()
    assert api.admin_token not in text and api.readonly_token not in text


def test_injected_410_on_a_watch_arrives_as_an_error_event(api: RehearsalAPIServer) -> None:
    api.faults.set_error(410, count=1, path_prefix="/api/v1/pods")
    status, body, _ = raw(api, "GET", "/api/v1/pods?watch=true")
    event = json.loads(body)
    assert status == 200 and event["type"] == "ERROR" and event["object"]["code"] == 410
    status, body, _ = raw(api, "GET", "/api/v1/pods?limit=1")
    assert status == 200


def test_blackhole_makes_a_2s_client_fail_in_under_3s(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    # urllib3 retries a read timeout three times by default: a 2 s budget means no retries.
    pooled = k8s.CoreV1Api(client(api, retries=False))
    assert len(pooled.list_node(_request_timeout=TIMEOUT).items) == 3  # leaves a kept-alive connection
    api.faults.blackhole(True)
    for core in (k8s.CoreV1Api(client(api, retries=False)), pooled):  # a new connection, then the open one
        started = time.monotonic()
        with pytest.raises(Exception) as info:
            core.list_node(_request_timeout=(2, 2))
        elapsed = time.monotonic() - started
        assert elapsed < 3.0, f"took {elapsed:.2f}s"
        assert "timed out" in str(info.value).lower() or "timeout" in type(info.value).__name__.lower()
    assert [e["status"] for e in api.request_log.entries()] == [200]  # nothing answered while blackholed
    api.faults.blackhole(False)
    fresh = k8s.CoreV1Api(client(api))
    assert len(fresh.list_node(_request_timeout=TIMEOUT).items) == 3
    time.sleep(0.3)  # the stalled request's thread wakes, finds its client gone, and answers nothing
    assert [e["status"] for e in api.request_log.entries()] == [200, 200]


def test_unsupported_methods_get_a_status_and_are_logged(api: RehearsalAPIServer) -> None:
    status, body, _ = raw(api, "OPTIONS", "/api/v1/pods")
    assert status == 405 and json.loads(body)["reason"] == "MethodNotAllowed"
    status, body, _ = raw(api, "POST", "/api/v1/namespaces/default/pods/x")
    assert status == 405 and json.loads(body)["kind"] == "Status"
    assert [(e["method"], e["status"]) for e in api.request_log.entries()] == [("OPTIONS", 405), ("POST", 405)]


def test_stop_frees_the_port_and_ends_streams(tmp_path: Path) -> None:
    import socket

    server = RehearsalAPIServer(nodes=1, log_path=tmp_path / "log" / "api.log").start()
    port = server.port
    status, body, _ = raw(server, "GET", "/api/v1/nodes")
    assert status == 200 and [i["metadata"]["name"] for i in json.loads(body)["items"]] == ["honey"]
    ended = threading.Event()

    def watch() -> None:
        try:
            raw(server, "GET", "/api/v1/pods?watch=true", timeout=30)
        finally:
            ended.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    server.stop()
    assert ended.wait(5) and time.monotonic() - started < 5
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    logged = [json.loads(line) for line in (tmp_path / "log" / "api.log").read_text().splitlines()]
    assert [(e["path"], e["status"]) for e in logged] == [("/api/v1/nodes", 200), ("/api/v1/pods", 200)]
    with pytest.raises(ValueError, match="must not be negative"):
        RehearsalAPIServer(nodes=-1)



def test_drop_deployed_namespaces_leaves_the_namespaces_the_server_started_with(api: RehearsalAPIServer) -> None:
    from kubernetes import client as k8s

    from gfwizard.rehearsal.k8s_seed import SYSTEM_NAMESPACES

    core, apps = k8s.CoreV1Api(client(api)), k8s.AppsV1Api(client(api))
    for name in ("deployed-a", "deployed-b"):
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)), _request_timeout=TIMEOUT)
    apps.create_namespaced_deployment("deployed-a", {
        "metadata": {"name": "web"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                                              "template": {"metadata": {"labels": {"app": "web"}},
                                                           "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
        _request_timeout=TIMEOUT)
    dropped = api.drop_deployed_namespaces()
    assert {"deployed-a", "deployed-b"} <= set(dropped) and not set(dropped) & set(SYSTEM_NAMESPACES)
    assert {ns.metadata.name for ns in core.list_namespace(_request_timeout=TIMEOUT).items} == set(SYSTEM_NAMESPACES)
    assert not [d for d in apps.list_deployment_for_all_namespaces(_request_timeout=TIMEOUT).items
                if d.metadata.namespace == "deployed-a"]
    assert api.drop_deployed_namespaces() == []


def test_the_official_client_creates_a_daemonset(api: RehearsalAPIServer) -> None:
    """The create answer is the DaemonSet as created, its four required status counters 0 (an empty status
    failed the client's validation)."""
    from kubernetes import client as k8s

    make_namespace(api, "ds-create")
    created = k8s.AppsV1Api(client(api)).create_namespaced_daemon_set("ds-create", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}}, _request_timeout=TIMEOUT)
    status = created.status
    assert (status.current_number_scheduled, status.desired_number_scheduled, status.number_misscheduled,
            status.number_ready) == (0, 0, 0, 0)
    read = k8s.AppsV1Api(client(api)).read_namespaced_daemon_set("agent", "ds-create", _request_timeout=TIMEOUT)
    assert read.status.desired_number_scheduled == 2  # bumble and sting (honey's control-plane taint)


def test_a_request_is_logged_before_its_answer_leaves(api: RehearsalAPIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib's urlopen returns once the headers are in: a request logged only after its headers left showed up
    # in the log after the client had moved on (a test clearing the log next found it in its own).
    record = api.request_log.record

    def slow_record(*args: Any) -> None:
        time.sleep(0.3)
        record(*args)

    monkeypatch.setattr(api.request_log, "record", slow_record)
    api.request_log.clear()
    context = ssl.create_default_context(cadata=api.ca_pem.decode("ascii"))
    request = urllib.request.Request(f"{api.url}/api/v1/namespaces/default", method="GET",
                                     headers={"Authorization": f"Bearer {api.admin_token}"})
    urllib.request.urlopen(request, context=context, timeout=10).close()
    assert [(e["method"], e["path"]) for e in api.request_log.entries()] == [("GET", "/api/v1/namespaces/default")]
