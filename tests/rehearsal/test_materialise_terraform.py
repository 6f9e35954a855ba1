"""End to end: a provider-free twin-shaped config applied by real terraform/tofu (state on the
embedded S3), its ``output -json`` materialised, and the result seen by kubectl."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gfwizard.rehearsal.materialise import materialise_with_kubeconfig

pytestmark = pytest.mark.integration

TWIN = """
terraform {
  backend "s3" {}
}

variable "namespace" {
  type    = string
  default = "attic-twin"
}

variable "node_selector" {
  type    = map(string)
  default = { "gloriousflywheel.io/role" = "bumble" }
}

output "namespaces" {
  value = [var.namespace]
}

output "workloads" {
  value = [
    {
      namespace      = var.namespace
      kind           = "Deployment"
      name           = "attic"
      replicas       = 2
      node_selector  = var.node_selector
      labels         = { "app.kubernetes.io/name" = "attic" }
      image          = "ghcr.io/zhaofengli/attic:latest"
      cpu_request    = "250m"
      memory_request = "256Mi"
    },
  ]
}
"""


def test_twin_outputs_from_real_terraform_materialise(iac_bin: str, rehearsal_workspace: Any, tmp_path: Path,
                                                      scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-twin")
    stack = tmp_path / "twin"
    stack.mkdir()
    (stack / "main.tf").write_text(TWIN)
    env = {**os.environ, "TF_DATA_DIR": str(tmp_path / "tfdata"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    backend = [f"-backend-config={k}={v}" for k, v in {
        "bucket": ws.bucket, "key": "gloriousflywheel/dev/attic.tfstate", "region": "us-east-1",
        "use_path_style": "true", "use_lockfile": "true", "skip_credentials_validation": "true",
        "skip_requesting_account_id": "true", "skip_metadata_api_check": "true", "skip_region_validation": "true",
    }.items()]  # the endpoint comes from AWS_ENDPOINT_URL_S3, as in an operator's rehearsal shell

    def run(*args: str) -> str:
        done = subprocess.run([iac_bin, *args], cwd=stack, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("init", "-input=false", "-no-color", *backend)
    run("apply", "-auto-approve", "-input=false", "-no-color")
    outputs = json.loads(run("output", "-json"))

    summary = materialise_with_kubeconfig(ws.kubeconfig_path, outputs)
    assert [(w.kind, w.name, w.action, w.pods) for w in summary.workloads] == [("Deployment", "attic", "created", 2)]

    kubectl = subprocess.run(["kubectl", "get", "deploy", "-n", "attic-twin", "-o", "json", "--request-timeout=10s"],
                             env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=30)
    assert kubectl.returncode == 0, kubectl.stderr
    (deploy,) = json.loads(kubectl.stdout)["items"]
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["nodeSelector"] == {"gloriousflywheel.io/role": "bumble"}
    assert ws.s3.client().head_object(Bucket=ws.bucket, Key="gloriousflywheel/dev/attic.tfstate")
