"""Legacy labels are explicit markers: a comment or name that merely contains "legacy" labels nothing,
and the primary deploy path (the stacks, the deploy workflow, README, quick-start, the root Justfile)
is never labelled as a whole file."""

from __future__ import annotations

from pathlib import Path

from gfwizard.audit import audit
from gfwizard.audit_model import Severity
from tests.helpers import run_cli, tree_digest
from tests.unit.test_audit_checkouts import WORKFLOW, failing_rows, rows, write_checkout

HTTP_BACKEND = ('terraform {\n  backend "http" {\n'
                '    address = "https://gitlab.com/api/v4/projects/123/terraform/state/app"\n  }\n}\n')

#: a job that fetches a Civo kubeconfig and uses GitLab HTTP state; its id decides whether it is labelled.
CIVO_JOB = """
  {job_id}:
    runs-on: ubuntu-latest
    env:
      TF_HTTP_PASSWORD: ${{{{ secrets.GITLAB_PAT }}}}
    steps:
      - run: civo kubernetes config tinyland-civo-dev --save
"""


def _job_rows(job_id: str) -> set[tuple[int, str, int]]:
    """The (criterion, file, line) rows CIVO_JOB appended to WORKFLOW produces."""
    first = WORKFLOW.count("\n") + 2  # the job id's line
    return {(1, ".github/workflows/deploy.yml", first + 3), (2, ".github/workflows/deploy.yml", first + 5),
            (3, ".github/workflows/deploy.yml", first + 5)}


def test_a_comment_mentioning_legacy_does_not_switch_off_the_primary_path(tmp_path: Path) -> None:
    """The reviewer's bypass: a prose comment atop deploy.yml and a labelled HTTP backend in a stack."""
    workflow = ("# Note: the HTTP backend is legacy compatibility only; see docs/deployment-authority.md.\n"
                + WORKFLOW + CIVO_JOB.format(job_id="quick-apply"))
    root = write_checkout(tmp_path, {
        ".github/workflows/deploy.yml": workflow,
        "tofu/stacks/app/backend.tf": "# legacy compatibility\n" + HTTP_BACKEND,
    })
    before = tree_digest(root)
    report = audit(root)
    assert tree_digest(root) == before
    assert rows(root, Severity.LEGACY) == set()
    expected = {(c, f, line + 1) for c, f, line in _job_rows("quick-apply")}
    assert failing_rows(root) == expected | {(1, "tofu/stacks/app/backend.tf", 3)}
    backend = [f for f in report.failing() if f.file == "tofu/stacks/app/backend.tf"]
    assert [(f.rule, f.found) for f in backend] == [
        ("c1.backend-http", 'backend "http" (GitLab-managed HTTP state) in the primary path')]
    result = run_cli(["audit", str(root)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ok: every criterion passes" not in result.stdout and "criterion 1: fail" in result.stdout


def test_a_labelled_header_cannot_downgrade_any_primary_file(tmp_path: Path) -> None:
    marker = "# legacy compatibility: kept for the migration\n"
    root = write_checkout(tmp_path, {
        "tofu/stacks/app/backend.tf": marker + HTTP_BACKEND,
        "tofu/stacks/app/dev.tfvars": marker + 'cluster_context = "tinyland-civo-dev"\n',
        ".github/workflows/deploy.yml": marker + WORKFLOW + CIVO_JOB.format(job_id="quick-apply"),
        # another workflow that deploys through gfwizard is on the primary path too
        ".github/workflows/release.yml": marker + WORKFLOW.replace("      - run: gfwizard deploy",
                                                                   "      - run: civo k3s list\n"
                                                                   "      - run: gfwizard deploy"),
        # (a marker comment right above a recipe labels that recipe, not the file)
        "Justfile": marker + 'ENV := "dev"\ninit:\n    export TF_HTTP_PASSWORD=$TOKEN\n',
        "README.md": "# Legacy GloriousFlywheel notes\n\nRun `civo kubernetes config x`.\n",
        "docs/quick-start.md": "<!-- legacy compatibility -->\n# Quick start\n\nRun `civo k3s list`.\n",
    })
    assert rows(root, Severity.LEGACY) == set()
    failing = failing_rows(root)
    assert {(1, "tofu/stacks/app/backend.tf", 3), (3, "tofu/stacks/app/dev.tfvars", 2),
            (3, ".github/workflows/release.yml", 19), (1, "Justfile", 4), (3, "README.md", 3),
            (3, "docs/quick-start.md", 4)} <= failing
    assert {(c, f, line + 1) for c, f, line in _job_rows("quick-apply")} <= failing


def test_an_explicit_label_still_labels_a_non_primary_file(tmp_path: Path) -> None:
    """The legitimate case: a separate, deliberately labelled legacy workflow, script and doc."""
    legacy_workflow = "# legacy compatibility: the GitLab-state pipeline, kept until every stack is migrated\n" \
                      "on: workflow_dispatch\njobs:" + CIVO_JOB.format(job_id="migrate")
    root = write_checkout(tmp_path, {
        ".github/workflows/gitlab-state.yml": legacy_workflow,
        "scripts/old-bootstrap.sh": "#!/usr/bin/env bash\n# legacy compatibility: the Civo-era bootstrap\n"
                                    "civo k3s list\n",
        "docs/history.md": "<!-- legacy compatibility: how it was done -->\n# History\n\nRun `civo k3s list`.\n",
    })
    assert failing_rows(root) == set()
    assert rows(root, Severity.LEGACY) == {
        (1, ".github/workflows/gitlab-state.yml", 7), (2, ".github/workflows/gitlab-state.yml", 9),
        (3, ".github/workflows/gitlab-state.yml", 9), (3, "scripts/old-bootstrap.sh", 3),
        (3, "docs/history.md", 4)}


def test_a_prose_comment_does_not_label_a_non_primary_file(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "scripts/bootstrap.sh": "#!/usr/bin/env bash\n# Note: this used to be legacy compatibility; no more.\n"
                                "civo k3s list\n",
        ".github/workflows/nightly.yml": "# Replaces the legacy compatibility pipeline.\non: push\njobs:"
                                        + CIVO_JOB.format(job_id="nightly"),
    })
    assert rows(root, Severity.LEGACY) == set()
    assert {(3, "scripts/bootstrap.sh", 3), (3, ".github/workflows/nightly.yml", 9)} <= failing_rows(root)


def test_a_job_id_containing_legacy_is_not_labelled(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        ".github/workflows/deploy.yml": WORKFLOW + CIVO_JOB.format(job_id="no-legacy-apply"),
    })
    assert rows(root, Severity.LEGACY) == set()
    assert failing_rows(root) == _job_rows("no-legacy-apply")


def test_a_job_id_starting_with_legacy_is_labelled(tmp_path: Path) -> None:
    """Inside the primary workflow a job can still be labelled, deliberately, by its id."""
    for job_id in ("legacy-http-state", "legacy_migrate"):
        root = write_checkout(tmp_path / job_id, {
            ".github/workflows/deploy.yml": WORKFLOW + CIVO_JOB.format(job_id=job_id),
        })
        assert failing_rows(root) == set(), job_id
        assert rows(root, Severity.LEGACY) == _job_rows(job_id), job_id


def test_recipe_labels_are_explicit(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {"Justfile": """\
# GitLab state is not legacy here
init:
    export TF_HTTP_PASSWORD=$TOKEN

no-legacy-init:
    export TF_HTTP_PASSWORD=$TOKEN

# legacy compatibility: the HTTP-state init, until backend migrate has run
old-init:
    export TF_HTTP_PASSWORD=$TOKEN

legacy-init:
    export TF_HTTP_PASSWORD=$TOKEN
"""})
    assert failing_rows(root) == {(1, "Justfile", 3), (1, "Justfile", 6)}
    assert rows(root, Severity.LEGACY) == {(1, "Justfile", 10), (1, "Justfile", 13)}


def test_markdown_section_labels_are_explicit(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        "docs/history.md": "# History\n\n## Not the legacy path\n\n```sh\ncivo k3s list\n```\n\n"
                           "## Legacy access\n\n```sh\ncivo k3s list\n```\n",
    })
    assert failing_rows(root) == {(3, "docs/history.md", 6)}
    assert rows(root, Severity.LEGACY) == {(3, "docs/history.md", 12)}
