"""The real stacks under tofu/stacks: formatted, parseable, and on the deployment contract (S3 backend,
the stack variables, providers from the kubeconfig contract, dev/prod tfvars on honey, every workload
placed by var.node_selector). `tofu validate` needs providers from the registry, which this machine
cannot download; CI runs it."""

from __future__ import annotations

import copy
import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions

from tests.helpers import REPO

TOFU = REPO / "tofu"
STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")
CONTRACT_VARIABLES = ("k8s_config_path", "cluster_context", "environment", "namespace", "node_selector")
OPTS = SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=OPTS)


def load(path: Path) -> dict[str, Any]:
    """The file parsed by python-hcl2 (parsed once per test session; python-hcl2 is slow)."""
    return copy.deepcopy(_parsed(path))


def stack_blocks(stack: str, kind: str) -> dict[str, Any]:
    """``{label: body}`` of every top-level ``kind`` block (variable, output, provider) in a stack."""
    out: dict[str, Any] = {}
    for tf in sorted((TOFU / "stacks" / stack).glob("*.tf")):
        for block in load(tf).get(kind, []):
            out.update(block)
    return out


def resources(stack: str) -> dict[str, dict[str, Any]]:
    """``{type: {name: body}}`` of a stack's resources."""
    out: dict[str, dict[str, Any]] = {}
    for tf in sorted((TOFU / "stacks" / stack).glob("*.tf")):
        for block in load(tf).get("resource", []):
            for rtype, named in block.items():
                out.setdefault(rtype, {}).update(named)
    return out


def placement() -> dict[str, dict[str, str]]:
    """stack -> node selector, from the example organization config (the one place placement is described)."""
    cfg = yaml.safe_load((REPO / "config" / "organization.example.yaml").read_text())
    roles = cfg["placement"]["roles"]
    return {stack: roles[role]["node_selector"] for stack, role in cfg["placement"]["stacks"].items()}


def test_fmt_check_passes_over_tofu(iac_bin: str) -> None:
    result = subprocess.run([iac_bin, "fmt", "-check", "-recursive", "-diff", str(TOFU)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fmt_check_catches_a_misformatted_file(iac_bin: str, tmp_path: Path) -> None:
    """The check above can fail: the same binary rejects a stack file with broken alignment."""
    bad = tmp_path / "main.tf"
    bad.write_text((TOFU / "stacks" / "attic" / "dev.tfvars").read_text().replace("cluster_context =", "cluster_context="))
    result = subprocess.run([iac_bin, "fmt", "-check", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_every_tofu_file_parses_with_python_hcl2() -> None:
    files = sorted(p for p in TOFU.rglob("*") if p.suffix in (".tf", ".tfvars") and ".terraform" not in p.parts)
    assert len([f for f in files if f.parts[-3] == "stacks"]) >= 4 * 7
    for f in files:
        assert isinstance(load(f), dict), f


@pytest.mark.parametrize("stack", STACKS)
def test_backend_is_a_partial_s3_configuration(stack: str) -> None:
    backend_tf = TOFU / "stacks" / stack / "backend.tf"
    (terraform,) = load(backend_tf)["terraform"]
    assert terraform["backend"] == [{"s3": {}}]
    comment = backend_tf.read_text()
    assert ".s3.tfbackend" in comment and "gfwizard backend render" in comment and "legacy-current" in comment
    other_backends = [tf for tf in (TOFU / "stacks" / stack).glob("*.tf") if tf != backend_tf
                      and any("backend" in t for t in load(tf).get("terraform", []))]
    assert other_backends == []


@pytest.mark.parametrize("stack", STACKS)
def test_versions_pin_the_binary_and_the_providers(stack: str) -> None:
    (terraform,) = load(TOFU / "stacks" / stack / "versions.tf")["terraform"]
    assert re.fullmatch(r">= 1\.1\d\.\d+", terraform["required_version"])
    (required,) = terraform["required_providers"]
    assert required["kubernetes"]["source"] == "hashicorp/kubernetes" and required["kubernetes"]["version"]
    if "helm_release" in resources(stack):
        assert required["helm"]["source"] == "hashicorp/helm" and required["helm"]["version"]


@pytest.mark.parametrize("stack", STACKS)
def test_contract_variables(stack: str) -> None:
    variables = stack_blocks(stack, "variable")
    assert set(CONTRACT_VARIABLES) <= set(variables)
    assert variables["k8s_config_path"]["type"] == "string" and variables["k8s_config_path"]["default"] == ""
    assert variables["cluster_context"]["default"] == "honey"
    assert variables["node_selector"]["type"] == "${map(string)}"
    assert all(variables[name].get("description") for name in variables), "every variable is described"


@pytest.mark.parametrize("stack", STACKS)
def test_providers_only_from_the_kubeconfig_contract(stack: str) -> None:
    providers = stack_blocks(stack, "provider")
    assert "kubernetes" in providers
    used = {rtype.split("_", 1)[0] for rtype in resources(stack)}
    assert used <= set(providers)
    for name, body in providers.items():
        conf = body["kubernetes"] if name == "helm" else body
        assert set(conf) == {"config_path", "config_context"}, (name, conf)
        assert conf["config_path"] == '${var.k8s_config_path != "" ? var.k8s_config_path : null}'
        assert conf["config_context"] == "${var.cluster_context}"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_tfvars_on_honey_with_the_placement_role(stack: str, env: str) -> None:
    tfvars = load(TOFU / "stacks" / stack / f"{env}.tfvars")
    assert tfvars["cluster_context"] == "honey"
    assert tfvars["environment"] == env
    assert tfvars["node_selector"] == placement()[stack]
    assert set(tfvars) <= set(stack_blocks(stack, "variable")), "every tfvars key is a declared variable"
    text = (TOFU / "stacks" / stack / f"{env}.tfvars").read_text()
    assert not re.search(r"(?i)(password|token|secret|private_key|api_key)\s*=", text), "no secrets in tfvars"
    assert not re.search(r"glpat-|BEGIN [A-Z ]*PRIVATE KEY", text)


@pytest.mark.parametrize("stack", STACKS)
def test_dev_and_prod_use_different_namespaces(stack: str) -> None:
    dev, prod = (load(TOFU / "stacks" / stack / f"{env}.tfvars") for env in ("dev", "prod"))
    namespaces = [k for k in dev if k.endswith("namespace")]
    assert namespaces and all(dev[k] != prod[k] for k in namespaces)


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_is_placed_by_var_node_selector(stack: str) -> None:
    res = resources(stack)
    workloads = 0
    for body in res.get("kubernetes_deployment_v1", {}).values():
        (spec,) = body["spec"]
        (template,) = spec["template"]
        (pod,) = template["spec"]
        assert pod["node_selector"] == "${var.node_selector}"
        workloads += 1
    for name, body in res.get("helm_release", {}).items():
        values = " ".join(body["values"])
        expected = 2 if name == "scale_set" else 1  # scale sets: the listener and the runners
        assert values.count("nodeSelector = var.node_selector") == expected, name
        workloads += 1
    assert workloads >= 1


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_mirror_the_twin_shape(stack: str) -> None:
    outputs = stack_blocks(stack, "output")
    assert {"namespaces", "workloads"} <= set(outputs)
    workloads = outputs["workloads"]["value"]
    assert isinstance(workloads, list) and workloads
    for w in workloads:
        assert set(w) == {"namespace", "kind", "name", "replicas", "node_selector", "labels", "image",
                          "cpu_request", "memory_request"}
        assert w["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
        assert w["node_selector"] == "${var.node_selector}"


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_references_never_variables(stack: str) -> None:
    variables = stack_blocks(stack, "variable")
    assert not any(body.get("sensitive") for body in variables.values())
    assert not resources(stack).get("kubernetes_secret_v1") and not resources(stack).get("kubernetes_secret")
    assert (TOFU / "stacks" / stack / "README.md").is_file()
