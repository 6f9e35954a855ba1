"""One fixture checkout per exit criterion, and a legacy GitLab/Civo-shaped checkout: each fails on
exactly the expected (criterion, file, line) rows."""

from __future__ import annotations

from pathlib import Path

from gfwizard.audit import audit
from gfwizard.audit_model import Severity
from tests.unit.test_audit_checkouts import BACKEND_S3, MAIN, PROVIDERS, VARIABLES, failing_rows, rows, write_checkout


def test_criterion_1_gitlab_state_and_credentials(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/backend.tf": 'terraform {\n  backend "http" {}\n}\n',
        # a second stack with providers but no backend block at all
        "tofu/stacks/other/providers.tf": PROVIDERS,
        "tofu/stacks/other/variables.tf": VARIABLES,
        "Justfile": "tofu-init:\n    export TF_HTTP_PASSWORD=$TOKEN\n    tofu init\n",
        "docs/quick-start.md": "# Quick start\n\nInit with\n\n```sh\n"
                               "tofu init -backend-config=address=https://gitlab.com/api/v4/projects/42/terraform/state/app\n```\n",
        ".github/workflows/plan.yml": "on: pull_request\njobs:\n  plan:\n    runs-on: x\n    env:\n"
                                     "      GITLAB_PAT: ${{ secrets.PAT }}\n    steps:\n      - run: tofu validate\n",
        "config/organization.yaml": "cluster: {name: honey, context: honey}\nstate:\n  backend: http\n",
        # reference docs may explain the transitional path; only the primary init path may not use it
        "docs/operator-guide.md": "# Guide\n\n`backend migrate` reads `TF_HTTP_PASSWORD` from the environment.\n",
    })
    assert failing_rows(root) == {
        (1, "tofu/stacks/app/backend.tf", 2),
        (1, "tofu/stacks/other", 0),
        (1, "Justfile", 2),
        (1, "docs/quick-start.md", 6),
        (1, ".github/workflows/plan.yml", 6),
        (1, "config/organization.yaml", 3),
    }


def test_criterion_1_rendered_backend_files(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        # rendered transitional HTTP file with gfwizard's legacy-current header: labelled
        "tofu/stacks/app/dev.http.tfbackend": "# Rendered by gfwizard\n# Transitional (legacy-current) HTTP state.\n"
                                              'address = "https://gitlab.com/api/v4/projects/1/terraform/state/app-dev"\n',
        # an unlabelled HTTP file, and an S3 file holding a credential: both fail
        "tofu/stacks/app/prod.http.tfbackend": 'address = "https://state.example/app-prod"\n',
        "tofu/stacks/app/prod.s3.tfbackend": 'bucket = "state"\nsecret_key = "abc"\n',
    })
    assert failing_rows(root) == {
        (1, "tofu/stacks/app/prod.http.tfbackend", 1),
        (1, "tofu/stacks/app/prod.s3.tfbackend", 2),
    }
    assert rows(root, Severity.LEGACY) == {(1, "tofu/stacks/app/dev.http.tfbackend", 3)}


def test_criterion_1_credentials_written_into_a_backend_block(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/backend.tf": 'terraform {\n  backend "s3" {\n    bucket     = "state"\n'
                                      '    access_key = "AKIAIOSFODNN7EXAMPLE"\n'
                                      '    secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'
                                      '    assume_role {\n      session_token = "x"\n    }\n  }\n}\n',
        "tofu/stacks/app/providers.tf": PROVIDERS,
        "tofu/stacks/app/variables.tf": VARIABLES,
        "tofu/stacks/old/backend.tf": 'terraform {\n  backend "http" {\n'
                                      '    address = "https://state.example/old"\n'
                                      '    username = "ci"\n    lock_method = "glpat-abcdefghijklmnop"\n  }\n}\n',
    })
    findings = {(f.criterion, f.file, f.line, f.rule) for f in audit(root).findings
                if f.severity is Severity.FAIL}
    assert {(1, "tofu/stacks/app/backend.tf", 4, "c1.backend-credential"),
            (1, "tofu/stacks/app/backend.tf", 5, "c1.backend-credential"),
            (1, "tofu/stacks/app/backend.tf", 7, "c1.backend-credential"),
            (1, "tofu/stacks/old/backend.tf", 5, "c1.glpat")} <= findings
    # The S3 stack itself is fine apart from the credentials: no other finding for it.
    assert {row for row in findings if row[1].startswith("tofu/stacks/app/")} == {
        (1, "tofu/stacks/app/backend.tf", line, "c1.backend-credential") for line in (4, 5, 7)}


def test_criterion_2_kubeconfig_contract(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/providers.tf": PROVIDERS + """
provider "helm" {
  kubernetes = {
    host  = "https://100.113.89.12:6443"
    token = var.token
  }
}
""",
        # kubernetes resources, no provider block: the provider falls back to its own defaults
        "tofu/stacks/bare/backend.tf": BACKEND_S3,
        "tofu/stacks/bare/main.tf": MAIN,
        ".github/workflows/deploy.yml": """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: |
          kubectl config set-credentials ci --token "$TOKEN"
      - run: tofu -chdir=tofu/stacks/app plan
""",
        "Justfile": 'apply:\n    kubectl config use-context tinyland/agents:dev\n',
    })
    assert failing_rows(root) == {
        (2, "tofu/stacks/app/providers.tf", 6),
        (2, "tofu/stacks/bare/main.tf", 1),
        (2, ".github/workflows/deploy.yml", 7),
        (2, ".github/workflows/deploy.yml", 8),
        (2, "Justfile", 2),
    }


def test_criterion_3_civo(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "Makefile": "nodes:\n\tcivo k3s list\n",
        "tofu/stacks/app/dev.tfvars": 'cluster_context = "honey"\ncivo_region = "LON1"\n',
        "tofu/stacks/app/versions.tf": 'terraform {\n  required_providers {\n    civo = {\n      source = "civo/civo"\n'
                                       '    }\n  }\n}\n',
        # labelled legacy compatibility: reported, never failing
        "legacy/civo-login.sh": "civo apikey save tinyland \"$CIVO_TOKEN\"\n",
        "scripts/old-bootstrap.sh": "# legacy compatibility: the Civo-era bootstrap, kept for the migration\n"
                                    "civo kubernetes config tinyland-civo-dev --save\n",
    })
    assert failing_rows(root) == {
        (3, "Makefile", 2),
        (3, "tofu/stacks/app/dev.tfvars", 2),
        (3, "tofu/stacks/app/versions.tf", 3),
    }
    assert rows(root, Severity.LEGACY) == {
        (3, "legacy/civo-login.sh", 1),
        (2, "scripts/old-bootstrap.sh", 2),
        (3, "scripts/old-bootstrap.sh", 2),
    }


def test_criterion_4_environments_on_other_clusters(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "config/organization.yaml": "cluster: {name: honey, context: honey}\n"
                                    "environments:\n  dev: {cluster: honey}\n  prod: {cluster: rigel}\n",
        "tofu/stacks/app/dev.tfvars": 'cluster_context = "staging"\n',
        ".github/workflows/deploy.yml": """\
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [dev, staging, prod]
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - run: gfwizard validate --context honey
""",
        "docs/operations.md": "# Ops\n\nRun `kubectl --context honey-admin get pods`.\n",
    })
    assert failing_rows(root) == {
        (4, "config/organization.yaml", 4),
        (4, "tofu/stacks/app/dev.tfvars", 1),
        (4, ".github/workflows/deploy.yml", 6),
        (4, "docs/operations.md", 3),
    }


def test_criterion_5_node_roles_as_clusters(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "config/organization.yaml": "cluster: {name: honey, context: bumble}\n",
        "tofu/stacks/app/prod.tfvars": 'cluster_context = "sting"\n',
        ".github/workflows/deploy.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    env:\n"
                                        "      KUBECONFIG: /home/ci/.kube/kubeconfig-sting.yaml\n"
                                        "    steps:\n      - run: gfwizard status --once\n",
        "docs/quick-start.md": "# Quick start\n\nDeploy attic to the bumble cluster.\n\n"
                               "bumble is a node role inside honey, not a cluster.\n",
    })
    assert failing_rows(root) == {
        (5, "config/organization.yaml", 1),
        (5, "tofu/stacks/app/prod.tfvars", 1),
        (4, "tofu/stacks/app/prod.tfvars", 1),  # prod described on sting while dev is on honey
        (5, ".github/workflows/deploy.yml", 6),
        (5, "docs/quick-start.md", 3),
    }


LEGACY_CHECKOUT = {
    "tofu/stacks/attic/main.tf": """\
terraform {
  backend "http" {}
}

provider "kubernetes" {
  config_path    = var.k8s_config_path
  config_context = var.cluster_context
}

variable "k8s_config_path" {
  type = string
}

variable "cluster_context" {
  type    = string
  default = "bumble"
}
""",
    "tofu/stacks/attic/dev.tfvars": 'cluster_context = "tinyland-civo-dev"\n',
    "tofu/stacks/attic/prod.tfvars": 'cluster_context = "honey"\n',
    "Justfile": """\
# GitLab-managed state
tofu-init stack:
    export TF_HTTP_PASSWORD="$GITLAB_TOKEN"
    tofu -chdir=tofu/stacks/{{stack}} init
""",
    ".github/workflows/deploy.yml": """\
name: deploy
on: push
jobs:
  deploy-dev:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          civo kubernetes config tinyland-civo-dev --save
          kubectl config use-context tinyland-civo-dev
""",
    "docs/clusters.md": "# Clusters\n\n| cluster | use |\n| --- | --- |\n| sting cluster | runners |\n",
}


def test_legacy_gitlab_civo_checkout(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, LEGACY_CHECKOUT, base=False)
    assert failing_rows(root) == {
        (1, "tofu/stacks/attic/main.tf", 2),              # backend "http"
        (5, "tofu/stacks/attic/main.tf", 16),             # cluster_context defaults to bumble
        (3, "tofu/stacks/attic/dev.tfvars", 1),           # dev on the Civo-era context...
        (4, "tofu/stacks/attic/dev.tfvars", 1),           # ...while prod is on honey
        (1, "Justfile", 3),                               # TF_HTTP_PASSWORD
        (2, ".github/workflows/deploy.yml", 9),           # kubeconfig from civo
        (3, ".github/workflows/deploy.yml", 9),           # civo CLI
        (3, ".github/workflows/deploy.yml", 10),          # use-context tinyland-civo-dev
        (4, ".github/workflows/deploy.yml", 10),          # the deploy-dev job on it
        (5, "docs/clusters.md", 5),                       # sting as a cluster
    }
    report = audit(root)
    assert report.criteria == {0: "pass", 1: "fail", 2: "fail", 3: "fail", 4: "fail", 5: "fail"}
    # no config in this checkout: the target is honey, and the report says so
    assert [(f.criterion, f.file, f.severity) for f in report.findings if f.rule == "c4.no-config"] == \
        [(4, "config", Severity.INFO)]


def test_same_checkout_labelled_legacy_does_not_fail(tmp_path: Path) -> None:
    """The legacy surfaces moved under legacy/ are reported as labelled and fail nothing."""
    moved = {f"legacy/{rel}": text for rel, text in LEGACY_CHECKOUT.items()}
    root = write_checkout(tmp_path, moved)
    report = audit(root)
    assert report.ok, [f.model_dump() for f in report.failing()]
    labelled = {(f.criterion, f.file) for f in report.findings if f.severity is Severity.LEGACY}
    assert (1, "legacy/Justfile") in labelled
    assert (3, "legacy/tofu/stacks/attic/dev.tfvars") in labelled


def test_markdown_section_labelled_legacy(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "docs/history.md": "# History\n\n## Legacy-current access\n\n```sh\ncivo kubernetes config x\n```\n\n"
                           "## Today\n\n```sh\ncivo kubernetes config y\n```\n",
    })
    assert failing_rows(root) == {(2, "docs/history.md", 12), (3, "docs/history.md", 12)}
    assert rows(root, Severity.LEGACY) == {(2, "docs/history.md", 6), (3, "docs/history.md", 6)}


def test_gitlab_ci_pipeline(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {".gitlab-ci.yml": """\
variables:
  TF_HTTP_USERNAME: gitlab-ci-token
  TF_HTTP_PASSWORD: ${CI_JOB_TOKEN}
.tofu:
  script:
    - tofu plan
plan:dev:
  environment: dev
  script:
    - kubectl config use-context tinyland/gloriousflywheel/agents:dev
    - tofu plan -var-file=dev.tfvars
deploy:prod:
  variables:
    KUBECONFIG: $CI_PROJECT_DIR/kubeconfig
  script:
    - gfwizard deploy --env prod --yes
"""})
    assert failing_rows(root) == {
        (1, ".gitlab-ci.yml", 3),    # TF_HTTP_PASSWORD
        (2, ".gitlab-ci.yml", 10),   # GitLab agent context...
        (4, ".gitlab-ci.yml", 10),   # ...for the dev environment
        (2, ".gitlab-ci.yml", 11),   # plan without a kubeconfig file
    }
