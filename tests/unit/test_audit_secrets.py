"""Committed credentials, kubeconfig paths in tfvars and CI applying around ``gfwizard deploy`` fail the
audit; a secret value is never shown."""

from __future__ import annotations

import json
from pathlib import Path

from gfwizard.audit import audit
from gfwizard.audit_model import Severity
from tests.helpers import run_cli, tree_digest
from tests.unit.test_audit_checkouts import failing_rows, rows, write_checkout

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB_TOKEN = "ghp_1234567890abcdefghijABCDEFGHIJ123456"
GITLAB_TOKEN = "glpat-AbCdEfGhIjKlMnOpQrSt"
SECRETS = (AWS_SECRET, GITHUB_TOKEN, GITLAB_TOKEN, "K7MDENG", "1234567890abcdefghij", "AbCdEfGhIjKl")
TFVARS = 'cluster_context = "honey"\n'

#: a job on the kubeconfig contract; ``{run}`` is its last step.
JOB_WORKFLOW = """\
on: push
jobs:
  {job_id}:
    runs-on: ubuntu-latest
    env:
      KUBECONFIG: /home/runner/.kube/kubeconfig-honey.yaml
      {env}
    steps:
      - run: {run}
"""


def _workflow(run: str, job_id: str = "apply", env: str = "TF_IN_AUTOMATION: '1'") -> str:
    return JOB_WORKFLOW.format(job_id=job_id, run=run, env=env)


def test_committed_credentials_fail_wherever_they_sit(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/dev.tfvars": TFVARS + f'aws_secret_access_key = "{AWS_SECRET}"\n',
        "tofu/stacks/app/prod.tfvars": TFVARS + f'github_token = "{GITHUB_TOKEN}"\n',
        ".ci/secrets.env": f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n",
        ".env": f"export GITHUB_TOKEN={GITHUB_TOKEN}\n",
        ".github/workflows/nightly.yml": _workflow("gfwizard status --once", job_id="nightly",
                                                   env=f"TF_HTTP_PASSWORD: {GITLAB_TOKEN}"),
        "docs/operator-guide.md": f"# Guide\n\nSet `aws_secret_access_key = {AWS_SECRET}`.\n",
        # a labelled legacy file does not make a committed credential any less committed
        "legacy/gitlab.env": f"TF_HTTP_PASSWORD={GITLAB_TOKEN}\n",
    })
    before = tree_digest(tmp_path)
    report = audit(root)
    assert tree_digest(tmp_path) == before
    secret_rows = {(f.criterion, f.file, f.line, f.severity) for f in report.findings if f.rule == "c1.secret-literal"}
    assert secret_rows == {
        (1, "tofu/stacks/app/dev.tfvars", 2, Severity.FAIL),
        (1, "tofu/stacks/app/prod.tfvars", 2, Severity.FAIL),
        (1, ".ci/secrets.env", 1, Severity.FAIL),
        (1, ".env", 1, Severity.FAIL),
        (1, ".github/workflows/nightly.yml", 7, Severity.FAIL),
        (1, "docs/operator-guide.md", 3, Severity.FAIL),
        (1, "legacy/gitlab.env", 1, Severity.FAIL),
    }
    assert failing_rows(root) == {row[:3] for row in secret_rows}
    found = {f.file: f.found for f in report.findings if f.rule == "c1.secret-literal"}
    assert found["tofu/stacks/app/dev.tfvars"] == "credential literal committed: aws_secret_access_key = \"[REDACTED]\""
    assert found[".ci/secrets.env"] == "credential literal committed: AWS_SECRET_ACCESS_KEY=[REDACTED]"
    assert found[".github/workflows/nightly.yml"] == "credential literal committed: TF_HTTP_PASSWORD: [REDACTED]"
    assert all("rotate the credential" in f.target for f in report.failing())
    for args in (["audit", str(root)], ["audit", str(root), "--json"]):
        result = run_cli(args)
        assert result.returncode == 1, result.stderr
        assert not any(s in result.stdout + result.stderr for s in SECRETS)
    data = json.loads(run_cli(["audit", str(root), "--json"]).stdout)
    assert data["criteria"]["1"] == "fail"
    assert tree_digest(tmp_path) == before


def test_references_and_placeholders_are_not_credentials(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/dev.tfvars": TFVARS + 'secret_key = "CHANGEME"\npassword = ""\n',
        ".ci/ci.env": "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY\nTOKEN=${TOKEN}\npassword=<your-password>\n",
        ".github/workflows/nightly.yml": _workflow("gfwizard status --once", job_id="nightly",
                                                   env="GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"),
        "docs/operator-guide.md": "# Guide\n\nThe password: comes from the environment; `token = var.token`.\n"
                                  "`export AWS_SECRET_ACCESS_KEY=...` and `password: ********`.\n"
                                  "An example token: `ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`.\n",
    })
    assert rows(root, Severity.FAIL) == set()


def test_a_kubeconfig_path_in_tfvars_breaks_the_contract(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/dev.tfvars": TFVARS + 'k8s_config_path = "/home/alice/.kube/config"\n',
        "tofu/stacks/app/prod.tfvars": TFVARS + 'k8s_config_path = ""\n',
    })
    assert failing_rows(root) == {(2, "tofu/stacks/app/dev.tfvars", 2)}
    finding = next(f for f in audit(root).failing())
    assert finding.rule == "c2.kubeconfig-in-tfvars"
    assert finding.found == "k8s_config_path = '/home/alice/.kube/config' hard-coded in tfvars"
    assert "-var k8s_config_path=" in finding.target


def test_ci_applying_directly_bypasses_the_contract(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        ".github/workflows/quick.yml": _workflow("terraform -chdir=tofu/stacks/app apply -auto-approve"),
        ".github/workflows/teardown.yml": _workflow("tofu -chdir=tofu/stacks/app destroy", job_id="teardown"),
        # validate and a plan on the contract are not deploys
        ".github/workflows/check.yml": _workflow('tofu -chdir="$dir" validate && tofu plan', job_id="check"),
        ".gitlab-ci.yml": "apply:\n  variables:\n    KUBECONFIG: $CI_PROJECT_DIR/kubeconfig\n"
                          "  script:\n    - tofu apply -auto-approve\n",
    })
    assert failing_rows(root) == {
        (2, ".github/workflows/quick.yml", 9),
        (2, ".github/workflows/teardown.yml", 9),
        (2, ".gitlab-ci.yml", 5),
    }
    found = {f.file: (f.rule, f.found) for f in audit(root).failing()}
    assert found[".github/workflows/quick.yml"] == (
        "c2.ci-direct-apply", "'terraform -chdir=tofu/stacks/app apply' applies directly in CI, bypassing "
                              "`gfwizard deploy`")


def test_a_direct_apply_without_kubeconfig_is_reported_as_the_bypass(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        ".github/workflows/quick.yml": "on: push\njobs:\n  quick:\n    runs-on: x\n    steps:\n"
                                       "      - run: terraform -chdir=tofu/stacks/app apply -auto-approve\n",
    })
    assert [(f.criterion, f.line, f.rule) for f in audit(root).failing()] == [(2, 6, "c2.ci-direct-apply")]


def test_a_legacy_labelled_job_may_apply_directly(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        ".github/workflows/quick.yml": _workflow("tofu apply -auto-approve", job_id="legacy-apply"),
    })
    assert failing_rows(root) == set()
    assert rows(root, Severity.LEGACY) == {(2, ".github/workflows/quick.yml", 9)}


def test_secret_spans_are_what_redact_masks() -> None:
    from gfwizard.redact import Redactor, secret_spans

    line = (f'aws_secret_access_key = "{AWS_SECRET}" token={GITHUB_TOKEN} url=https://ci:hunter2hunter2@git.example/x '
            f"{GITLAB_TOKEN}")
    found = [line[s:e].strip('"') for s, e in secret_spans(line)]
    assert found == [AWS_SECRET, GITHUB_TOKEN, "hunter2hunter2", GITLAB_TOKEN]
    masked = Redactor().redact(line)
    assert not any(value in masked for value in found)
