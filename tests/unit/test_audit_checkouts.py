"""Checkouts written by the audit tests (a clean baseline and helpers), and the baseline's own tests."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from gfwizard.audit import audit
from gfwizard.audit_model import Severity

CONFIG = """\
version: 1
organization: {name: tinyland, full_name: Tinyland}
cluster:
  name: honey
  context: honey
  kubeconfig: ~/.kube/kubeconfig-honey.yaml
  api_server: https://100.113.89.12:6443
  network: tailnet
  legacy_contexts: [tinyland-civo-dev]
placement:
  roles:
    bumble: {node_selector: {kubernetes.io/hostname: bumble}}
    sting: {node_selector: {kubernetes.io/hostname: sting}}
  stacks: {app: bumble}
state:
  backend: s3
  s3: {endpoint: "http://100.113.89.12:9000", bucket: state}
environments:
  dev: {cluster: honey, tfvars: dev.tfvars}
  prod: {cluster: honey, tfvars: prod.tfvars}
stacks:
  - {name: app}
"""

BACKEND_S3 = 'terraform {\n  backend "s3" {}\n}\n'

PROVIDERS = """\
provider "kubernetes" {
  config_path    = var.k8s_config_path != "" ? var.k8s_config_path : null
  config_context = var.cluster_context
}
"""

VARIABLES = """\
variable "k8s_config_path" {
  type    = string
  default = ""
}

variable "cluster_context" {
  type    = string
  default = "honey"
}
"""

MAIN = """\
resource "kubernetes_namespace_v1" "app" {
  metadata {
    name = "app"
  }
}
"""

WORKFLOW = """\
name: deploy
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [dev, prod]
jobs:
  apply:
    runs-on: ubuntu-latest
    environment: ${{ inputs.environment }}
    steps:
      - name: kubeconfig
        run: |
          umask 077
          printf '%s' "$HONEY_KUBECONFIG" > "$HOME/.kube/kubeconfig-honey.yaml"
          echo "KUBECONFIG=$HOME/.kube/kubeconfig-honey.yaml" >> "$GITHUB_ENV"
      - run: gfwizard deploy --env ${{ inputs.environment }} --yes
"""

JUSTFILE = """\
ENV := "dev"

tofu-plan:
    gfwizard deploy --env {{ENV}} --plan-only
"""

QUICK_START = """\
# Quick start

Check the context with `kubectl --context honey get nodes`.
bumble and sting are node roles inside honey, never clusters.
"""

#: the clean checkout every criterion fixture starts from.
BASELINE: dict[str, str] = {
    "config/organization.example.yaml": CONFIG,
    "tofu/stacks/app/backend.tf": BACKEND_S3,
    "tofu/stacks/app/providers.tf": PROVIDERS,
    "tofu/stacks/app/variables.tf": VARIABLES,
    "tofu/stacks/app/main.tf": MAIN,
    "tofu/stacks/app/dev.tfvars": 'cluster_context = "honey"\nnode_selector = { "kubernetes.io/hostname" = "bumble" }\n',
    "tofu/stacks/app/prod.tfvars": 'cluster_context = "honey"\nnode_selector = { "kubernetes.io/hostname" = "bumble" }\n',
    ".github/workflows/deploy.yml": WORKFLOW,
    "Justfile": JUSTFILE,
    "docs/quick-start.md": QUICK_START,
}


def write_checkout(root: Path, files: Mapping[str, str | bytes], *, base: bool = True) -> Path:
    """Write ``BASELINE`` (unless ``base`` is false) overlaid with ``files`` under ``root``."""
    merged: dict[str, str | bytes] = {**(BASELINE if base else {}), **files}
    for rel, content in merged.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def failing_rows(root: Path) -> set[tuple[int, str, int]]:
    """``(criterion, file, line)`` of every failing finding of an audit of ``root``."""
    return {(f.criterion, f.file, f.line) for f in audit(root).findings if f.severity is Severity.FAIL}


def rows(root: Path, severity: Severity) -> set[tuple[int, str, int]]:
    """``(criterion, file, line)`` of every finding of ``severity``."""
    return {(f.criterion, f.file, f.line) for f in audit(root).findings if f.severity is severity}


# -- the baseline itself -----------------------------------------------------------------------


def test_baseline_checkout_passes_every_criterion(tmp_path: Path) -> None:
    report = audit(write_checkout(tmp_path, {}))
    assert report.ok, [f.model_dump() for f in report.failing()]
    assert set(report.criteria.values()) == {"pass"}


def test_baseline_is_audited_not_skipped(tmp_path: Path) -> None:
    """The clean result above means something: the same files with one bad value fail."""
    root = write_checkout(tmp_path, {"tofu/stacks/app/dev.tfvars": 'cluster_context = "sting"\n'})
    assert (5, "tofu/stacks/app/dev.tfvars", 1) in failing_rows(root)
