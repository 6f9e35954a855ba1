"""Placement with fake nodes: where each stack's workloads land, and every conflict type."""

from __future__ import annotations

from typing import Any

import pytest

from gfwizard.orgconfig import OrgConfig
from gfwizard.placement import (DEFAULT_WORKLOADS, NodeInfo, Taint, Toleration, WorkloadRequest, compute_placement,
                                default_requests, node_info_from_dict, requests_for, requests_from_outputs)
from gfwizard.placement_quantity import cpu_millis, format_cpu, format_memory, memory_bytes

GiB = 2 ** 30


def config(roles: dict[str, Any] | None = None, stacks: dict[str, str] | None = None) -> OrgConfig:
    """An organization config with the four stacks and the given roles/placement."""
    roles = roles if roles is not None else {
        "bumble": {"node_selector": {"kubernetes.io/hostname": "bumble"}},
        "sting": {"node_selector": {"kubernetes.io/hostname": "sting"}},
    }
    stacks = stacks if stacks is not None else {
        "attic": "bumble", "arc-runners": "sting", "gitlab-runners": "sting", "runner-dashboard": "bumble"}
    return OrgConfig.model_validate({
        "organization": {"name": "tinyland", "full_name": "Tinyland"},
        "cluster": {"name": "honey", "context": "honey", "api_server": "https://100.113.89.12:6443",
                    "network": "tailnet"},
        "placement": {"roles": roles, "stacks": stacks},
        "state": {"backend": "s3", "s3": {"endpoint": "https://s3.honey.ts.net", "bucket": "gf-state"}},
        "environments": {"dev": {"cluster": "honey", "tfvars": "dev.tfvars"}},
        "stacks": [{"name": "attic"}, {"name": "arc-runners", "depends_on": ["attic"]},
                   {"name": "gitlab-runners", "depends_on": ["attic"]},
                   {"name": "runner-dashboard", "depends_on": ["arc-runners", "gitlab-runners"]}],
    })


def node(name: str, *, cpu: str = "4", memory: str = "16Gi", ready: bool = True, taints: list[Taint] | None = None,
         unschedulable: bool = False, **labels: str) -> NodeInfo:
    return NodeInfo(name=name, labels={"kubernetes.io/hostname": name, **labels}, taints=taints or [],
                    cpu_allocatable_m=cpu_millis(cpu), memory_allocatable=memory_bytes(memory), ready=ready,
                    unschedulable=unschedulable)


def req(stack: str, name: str | None = None, *, cpu: str = "250m", memory: str = "256Mi", replicas: int = 1,
        kind: str = "Deployment", tolerations: list[Toleration] | None = None) -> WorkloadRequest:
    return WorkloadRequest(stack=stack, namespace=stack, name=name or stack, kind=kind, replicas=replicas,  # type: ignore[arg-type]
                           cpu_request=cpu, memory_request=memory, tolerations=tolerations or [])


HONEY = [node("honey", **{"node-role.kubernetes.io/control-plane": ""}), node("bumble"), node("sting")]


def test_every_stack_lands_on_its_role_node() -> None:
    table = compute_placement(config(), HONEY, {s: [req(s)] for s in ("attic", "arc-runners", "runner-dashboard")})
    assert table.ok, table.conflicts()
    assert {r.stack: (r.role, r.candidates) for r in table.rows} == {
        "attic": ("bumble", ["bumble"]), "arc-runners": ("sting", ["sting"]), "runner-dashboard": ("bumble", ["bumble"])}
    bumble = next(r for r in table.roles if r.role == "bumble")
    assert bumble.nodes == ["bumble"] and bumble.stacks == ["attic", "runner-dashboard"]
    assert (bumble.cpu_allocatable, bumble.memory_allocatable) == ("4", "16Gi")
    assert (bumble.cpu_requested, bumble.memory_requested) == ("500m", "512Mi")


def test_stack_without_role_or_with_undefined_role_is_a_no_role_conflict() -> None:
    cfg = config(stacks={"attic": "bumble"})
    table = compute_placement(cfg, HONEY, {"attic": [req("attic")], "gitlab-runners": [req("gitlab-runners")]})
    row = table.rows[1]
    assert row.role is None and row.candidates == []
    assert [c.kind for c in row.conflicts] == ["no-role"]
    assert "has no placement role" in row.conflicts[0].detail
    assert "placement.stacks.gitlab-runners" in row.conflicts[0].remedy
    assert not table.ok


def test_role_without_a_ready_node_is_a_no_node_conflict_naming_not_ready_nodes() -> None:
    nodes = [node("honey"), node("bumble"), node("sting", ready=False)]
    table = compute_placement(config(), nodes, {"arc-runners": [req("arc-runners")]})
    (conflict,) = table.rows[0].conflicts
    assert conflict.kind == "no-node"
    assert conflict.detail == ("no Ready node matches role 'sting' selector kubernetes.io/hostname=sting: "
                               "sting matches but is not Ready")
    assert conflict.remedy == ("bring a node of the role back to Ready (kubectl describe node sting: its kubelet, "
                               "network and container runtime), or label a node for the role "
                               "(kubectl label node <node> kubernetes.io/hostname=sting)")
    sting = next(r for r in table.roles if r.role == "sting")
    assert sting.ready_nodes == [] and sting.nodes == ["sting"]
    assert [c.kind for c in sting.conflicts] == ["no-node"]
    assert sting.conflicts[0].remedy.startswith("bring a node of the role back to Ready (kubectl describe node sting")


@pytest.mark.parametrize(("taint", "why"), [
    ("node.kubernetes.io/unreachable", "sting (unreachable: its kubelet stopped posting status) matches but is"),
    ("node.kubernetes.io/not-ready", "sting (its kubelet reports NotReady) matches but is"),
], ids=["unreachable", "not-ready"])
def test_a_not_ready_node_says_why_from_its_lifecycle_taints(taint: str, why: str) -> None:
    """A role's only node NotReady: the node lifecycle controller's taints say whether it is unreachable or
    reports NotReady; that is a no-node conflict about readiness (not a taint to tolerate)."""
    taints = [Taint(key=taint, effect="NoSchedule"), Taint(key=taint, effect="NoExecute")]
    nodes = [node("bumble"), node("sting", ready=False, taints=taints)]
    table = compute_placement(config(), nodes, {"arc-runners": [req("arc-runners")]})
    (conflict,) = table.rows[0].conflicts
    assert conflict.kind == "no-node" and conflict.detail.endswith(f": {why} not Ready")
    role = next(r for r in table.roles if r.role == "sting")
    assert role.conflicts[0].detail.endswith(f": {why} not Ready")


def test_several_not_ready_nodes_and_a_selector_matching_none_read_apart() -> None:
    cfg = config(roles={"bumble": {"node_selector": {"kubernetes.io/hostname": "bumble"}},
                        "sting": {"node_selector": {"role": "sting"}}})
    down = [node("sting-1", ready=False, role="sting"), node("sting-2", ready=False, role="sting")]
    table = compute_placement(cfg, [node("honey"), *down], {"arc-runners": [req("arc-runners")],
                                                           "attic": [req("attic")]})
    several, none = (row.conflicts[0] for row in table.rows)
    assert several.detail.endswith(": sting-1, sting-2 match but are not Ready")
    assert none.detail == "no Ready node matches role 'bumble' selector kubernetes.io/hostname=bumble"
    assert none.remedy == ("label a node for the role (kubectl label node <node> kubernetes.io/hostname=bumble) or "
                           "fix placement.roles.bumble.node_selector in organization.yaml")


def test_untolerated_taint_on_every_candidate_is_a_taint_conflict() -> None:
    gpu = Taint(key="gpu", value="true", effect="NoSchedule")
    nodes = [node("bumble"), node("sting", taints=[gpu], role="sting"), node("sting-2", taints=[gpu], role="sting")]
    cfg = config(roles={"bumble": {"node_selector": {"kubernetes.io/hostname": "bumble"}},
                        "sting": {"node_selector": {"role": "sting"}}})
    table = compute_placement(cfg, nodes, {"arc-runners": [req("arc-runners")]})
    (conflict,) = table.rows[0].conflicts
    assert conflict.kind == "taint"
    assert "sting: gpu=true:NoSchedule" in conflict.detail and "sting-2: gpu=true:NoSchedule" in conflict.detail
    assert "placement.roles.sting.tolerations" in conflict.remedy and "kubectl taint node sting gpu:NoSchedule-" in conflict.remedy


def test_role_toleration_and_prefer_no_schedule_do_not_conflict() -> None:
    cfg = config(roles={"bumble": {"node_selector": {"kubernetes.io/hostname": "bumble"}},
                        "sting": {"node_selector": {"kubernetes.io/hostname": "sting"},
                                  "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]}})
    nodes = [node("bumble", taints=[Taint(key="soft", effect="PreferNoSchedule")]),
             node("sting", taints=[Taint(key="gpu", value="true", effect="NoSchedule")])]
    table = compute_placement(cfg, nodes, {"arc-runners": [req("arc-runners")], "attic": [req("attic")]})
    assert table.ok, table.conflicts()
    assert [r.candidates for r in table.rows] == [["sting"], ["bumble"]]


def test_cordoned_node_counts_as_tainted() -> None:
    table = compute_placement(config(), [node("bumble", unschedulable=True), node("sting")], {"attic": [req("attic")]})
    (conflict,) = table.rows[0].conflicts
    assert conflict.kind == "taint" and "node.kubernetes.io/unschedulable:NoSchedule" in conflict.detail


def test_pod_bigger_than_any_candidate_is_a_capacity_conflict() -> None:
    nodes = [node("bumble", cpu="2", memory="4Gi"), node("sting")]
    table = compute_placement(config(), nodes, {"attic": [req("attic", cpu="3", memory="1Gi")]})
    (conflict,) = table.rows[0].conflicts
    assert conflict.kind == "capacity"
    assert "requests cpu 3 / memory 1Gi" in conflict.detail and "bumble has cpu 2 / memory 4Gi" in conflict.detail
    table = compute_placement(config(), nodes, {"attic": [req("attic", cpu="1", memory="5Gi")]})
    assert [c.kind for c in table.rows[0].conflicts] == ["capacity"]


def test_role_total_above_allocatable_is_a_role_capacity_conflict() -> None:
    nodes = [node("bumble", cpu="1", memory="2Gi"), node("sting")]
    table = compute_placement(config(), nodes, {"attic": [req("attic", cpu="600m", replicas=2)]})
    assert table.rows[0].ok and table.rows[0].candidates == ["bumble"]
    bumble = next(r for r in table.roles if r.role == "bumble")
    (conflict,) = bumble.conflicts
    assert conflict.kind == "capacity" and "request cpu 1.2 / memory 512Mi in total" in conflict.detail
    assert not table.ok


def test_daemonset_counts_one_pod_per_candidate() -> None:
    cfg = config(roles={"bumble": {"node_selector": {"pool": "b"}}, "sting": {"node_selector": {"pool": "s"}}})
    nodes = [node("b1", pool="b"), node("b2", pool="b"), node("s1", pool="s")]
    table = compute_placement(cfg, nodes, {"attic": [req("attic", kind="DaemonSet", cpu="1")]})
    assert table.rows[0].candidates == ["b1", "b2"]
    assert next(r for r in table.roles if r.role == "bumble").cpu_requested == "2"


def test_node_info_from_api_json() -> None:
    raw = {
        "metadata": {"name": "sting", "labels": {"kubernetes.io/hostname": "sting"}},
        "spec": {"taints": [{"key": "k", "effect": "NoExecute"}], "unschedulable": True},
        "status": {"allocatable": {"cpu": "3500m", "memory": "7948856Ki"},
                   "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]},
    }
    info = node_info_from_dict(raw)
    assert info.name == "sting" and info.ready and info.unschedulable
    assert info.cpu_allocatable_m == 3500 and info.memory_allocatable == 7948856 * 1024
    assert [str(t) for t in info.blocking_taints()] == ["k:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule"]
    not_ready = node_info_from_dict({"metadata": {"name": "x"}, "status": {"conditions": [
        {"type": "Ready", "status": "Unknown"}]}})
    assert not not_ready.ready and not_ready.cpu_allocatable_m == 0


def test_requests_from_tofu_outputs_and_defaults() -> None:
    outputs = {"namespaces": {"value": ["attic"]}, "workloads": {"sensitive": False, "type": "list", "value": [
        {"namespace": "attic", "kind": "StatefulSet", "name": "attic-db", "replicas": 2,
         "node_selector": {"gloriousflywheel.io/role": "bumble"}, "labels": {}, "image": "postgres:16",
         "cpu_request": "500m", "memory_request": "1Gi"}]}}
    (w,) = requests_from_outputs("attic", outputs)
    assert (w.kind, w.name, w.replicas, w.cpu_m, w.memory) == ("StatefulSet", "attic-db", 2, 500, GiB)
    assert w.node_selector == {"gloriousflywheel.io/role": "bumble"}
    assert requests_from_outputs("attic", {}) == []
    by_stack = requests_for(config(), {"attic": outputs, "arc-runners": {}})
    assert [x.name for x in by_stack["attic"]] == ["attic-db"]
    assert [x.name for x in by_stack["arc-runners"]] == [row[1].format(environment="prod") for row in DEFAULT_WORKLOADS["arc-runners"]]
    assert [x.name for x in default_requests("custom")] == ["custom"]


def test_workload_selector_narrows_the_role_selector() -> None:
    w = WorkloadRequest(stack="attic", namespace="attic", name="attic", node_selector={"disk": "ssd"})
    nodes = [node("bumble"), node("bumble-ssd", disk="ssd", **{"kubernetes.io/hostname": "bumble"})]
    table = compute_placement(config(), nodes, {"attic": [w]})
    assert table.rows[0].candidates == ["bumble-ssd"]
    assert table.rows[0].node_selector == {"kubernetes.io/hostname": "bumble", "disk": "ssd"}


@pytest.mark.parametrize(("text", "millis"), [("250m", 250), ("1", 1000), ("1.5", 1500), ("0.1", 100), ("2k", 2000000)])
def test_cpu_quantities(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(("text", "size"), [("256Mi", 256 * 2 ** 20), ("1G", 10 ** 9), ("129e6", 129 * 10 ** 6),
                                            ("1Ki", 1024), ("100", 100)])
def test_memory_quantities(text: str, size: int) -> None:
    assert memory_bytes(text) == size


@pytest.mark.parametrize("bad", ["", "abc", "1Xi", "1mi", "--1"])
def test_bad_quantity_names_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        memory_bytes(bad)


def test_formatting() -> None:
    assert [format_cpu(m) for m in (250, 1000, 1500, 2250)] == ["250m", "1", "1.5", "2250m"]
    assert [format_memory(b) for b in (512, 256 * 2 ** 20, 3 * GiB // 2)] == ["512", "256Mi", "1.5Gi"]


@pytest.mark.parametrize("stack", sorted(DEFAULT_WORKLOADS))
def test_default_requests_mirror_what_the_stacks_declare(stack: str) -> None:
    """The documented defaults are the requests the rehearsal twins (mirroring the real stacks) default to."""
    import hcl2

    from tests.helpers import REPO

    path = REPO / "tofu" / "rehearsal" / stack / "variables.tf"
    if not path.exists():
        pytest.skip(f"{path} not present in this checkout")
    with path.open() as fh:
        blocks = hcl2.load(fh)["variable"]
    defaults = {name.strip('"'): str(body.get("default", "")).strip('"') for b in blocks for name, body in b.items()}
    prefix = "controller_" if stack == "arc-runners" else ""
    (row,) = DEFAULT_WORKLOADS[stack]
    assert (defaults[f"{prefix}cpu_request"], defaults[f"{prefix}memory_request"]) == (row[4], row[5])
