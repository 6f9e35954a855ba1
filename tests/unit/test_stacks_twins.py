"""The rehearsal twins (tofu/rehearsal/<stack>) keep the real stacks' contract: same variables, same
tfvars keys, the S3 backend, the ``namespaces``/``workloads`` outputs; fmt-clean and valid offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.helpers import REPO

STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")
TWINS = REPO / "tofu" / "rehearsal"
REAL = REPO / "tofu" / "stacks"
#: Rehearsal-only inputs, each documented as such in the twin.
REHEARSAL_ONLY = {"apply_delay_seconds", "inject_failure", "rehearsal_runner_token"}
CONTRACT = {"k8s_config_path", "cluster_context", "environment", "namespace", "node_selector"}


def variables(stack_dir: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(stack_dir.glob("*.tf")):
        for block in hcl2.load(path.open()).get("variable", []):
            for name, body in block.items():
                out[name.strip('"')] = body
    return out


def blocks(stack_dir: Path, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(stack_dir.glob("*.tf")):
        for block in hcl2.load(path.open()).get(kind, []):
            out.update({k.strip('"'): v for k, v in block.items()})
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_twin_takes_exactly_the_real_stacks_variables(stack: str) -> None:
    real, twin = variables(REAL / stack), variables(TWINS / stack)
    assert CONTRACT <= set(real)
    assert set(twin) - REHEARSAL_ONLY == set(real)
    for name, body in real.items():
        assert twin[name].get("type") == body.get("type"), name
        assert twin[name].get("default") == body.get("default"), name
    for name in set(twin) & REHEARSAL_ONLY:
        assert "Rehearsal only" in twin[name]["description"]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_tfvars_set_the_same_keys_as_the_real_stack(stack: str, env: str) -> None:
    real = {k for k in hcl2.load((REAL / stack / f"{env}.tfvars").open()) if not k.startswith("__")}
    twin_doc = hcl2.load((TWINS / stack / f"{env}.tfvars").open())
    assert {k for k in twin_doc if not k.startswith("__")} == real
    assert twin_doc["cluster_context"] == '"honey"' and twin_doc["environment"] == f'"{env}"'
    assert set(twin_doc["node_selector"]) == {'"gloriousflywheel.io/role"'}
    assert not REHEARSAL_ONLY & set(twin_doc), "knobs stay at their defaults in the committed tfvars"


@pytest.mark.parametrize("stack", STACKS)
def test_backend_outputs_and_provider_free(stack: str) -> None:
    docs = [hcl2.load(p.open()) for p in sorted((TWINS / stack).glob("*.tf"))]
    terraform = [b for d in docs for b in d.get("terraform", [])]
    assert [[k.strip('"') for k in be] for b in terraform for be in b.get("backend", [])] == [["s3"]]
    assert not any("required_providers" in b for b in terraform)
    assert not any("provider" in d or "data" in d or "module" in d for d in docs)
    assert {"namespaces", "workloads"} <= set(blocks(TWINS / stack, "output"))
    assert set(blocks(TWINS / stack, "resource")) == {"terraform_data"}


def test_one_twin_has_a_sensitive_variable_for_the_canary_tests() -> None:
    token = variables(TWINS / "gitlab-runners")["rehearsal_runner_token"]
    assert token["sensitive"] is True and token["default"] == '""'


def test_fmt_clean(iac_bin: str) -> None:
    proc = subprocess.run([iac_bin, "fmt", "-check", "-recursive", str(TWINS)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_validates_offline(iac_bin: str, stack: str, tmp_path: Path) -> None:
    env = {**os.environ, "TF_DATA_DIR": str(tmp_path / "data"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
           "TF_CLI_CONFIG_FILE": os.devnull}
    before = sorted(p.name for p in (TWINS / stack).iterdir())
    init = subprocess.run([iac_bin, "init", "-backend=false", "-input=false", "-no-color"], cwd=TWINS / stack,
                          env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    valid = subprocess.run([iac_bin, "validate", "-no-color"], cwd=TWINS / stack, env=env, capture_output=True,
                           text=True, timeout=120)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert sorted(p.name for p in (TWINS / stack).iterdir()) == before, "init wrote into the checkout"
