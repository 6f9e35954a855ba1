"""``gfwizard audit``: this repo passes; malformed files are findings, never crashes; nothing is
written; the CLI's exit codes and JSON keys."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from gfwizard.audit import AuditReport, audit, surface_files
from gfwizard.audit_model import Severity
from gfwizard.cli import cli
from gfwizard.errors import InputError
from tests.helpers import REPO, run_cli, tree_digest
from tests.unit.test_audit_checkouts import failing_rows, write_checkout
from tests.unit.test_audit_criteria import LEGACY_CHECKOUT

STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")


@pytest.fixture(scope="module")
def repo_audit() -> tuple[AuditReport, dict[str, str], dict[str, str]]:
    """One audit of this checkout (parsing every stack takes a second), with the stacks' digest around it."""
    before = tree_digest(REPO / "tofu")
    report = audit(REPO)
    return report, before, tree_digest(REPO / "tofu")


def test_this_repo_passes_with_zero_failing_findings(repo_audit: tuple[AuditReport, dict, dict]) -> None:
    report = repo_audit[0]
    assert report.failing() == [], "\n".join(f"{f.criterion} {f.file}:{f.line} {f.found}" for f in report.failing())
    assert report.ok and set(report.criteria.values()) == {"pass"}


def test_this_repo_is_actually_read() -> None:
    """Zero findings above means something: the audit walks the stacks, workflow, Justfile and docs."""
    kinds = {f.relative_to(REPO).as_posix(): kind for f, kind in surface_files(REPO)}
    for stack in STACKS:
        assert kinds[f"tofu/stacks/{stack}/backend.tf"] == "tf"
        assert kinds[f"tofu/stacks/{stack}/dev.tfvars"] == "tfvars"
    assert kinds[".github/workflows/deploy.yml"] == "github"
    assert kinds["Justfile"] == "recipes"
    assert kinds["docs/quick-start.md"] == "markdown"
    assert kinds["config/organization.example.yaml"] == "config"
    assert not any(rel.startswith(("tests/", ".venv/", ".git/")) for rel in kinds)


def test_malformed_hcl_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {"tofu/stacks/app/backend.tf": 'terraform {\n  backend "s3" {\n'})
    before = tree_digest(root)
    report = audit(root)
    assert tree_digest(root) == before
    bad = [f for f in report.findings if f.file == "tofu/stacks/app/backend.tf"]
    assert [(f.criterion, f.severity, f.rule) for f in bad] == [(0, Severity.FAIL, "c0.parse")]
    assert "does not parse" in bad[0].found and bad[0].line == 3
    assert report.criteria[0] == "fail"
    # the stack's backend is unknown, not "missing": no criterion-1 row is invented for it
    assert failing_rows(root) == {(0, "tofu/stacks/app/backend.tf", 3)}


def test_malformed_yaml_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {
        ".github/workflows/deploy.yml": "on: push\njobs:\n  a: [unclosed\n",
        "config/organization.example.yaml": "cluster: {name: honey\n",
    })
    report = audit(root)
    rows = {(f.criterion, f.file, f.rule) for f in report.failing()}
    assert rows == {(0, ".github/workflows/deploy.yml", "c0.parse"), (0, "config/organization.example.yaml", "c0.parse")}
    assert all("does not parse" in f.found for f in report.failing())


def test_undecodable_file_is_a_finding(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, {"tofu/stacks/app/extra.tf": b"\xff\xfe\x00garbage"})
    assert [(f.criterion, f.rule) for f in audit(root).failing()] == [(0, "c0.unreadable")]


def test_fifos_and_links_to_them_are_findings_never_read(tmp_path: Path) -> None:
    # A FIFO blocks a read until a writer comes (and a committed symlink to /dev/zero never ends): the audit hung on
    # either, in CI too. Now each is a criterion-0 finding naming what it is, and nothing is opened or written.
    root = write_checkout(tmp_path / "co", {})
    os.mkfifo(root / "tofu/stacks/app/extra.tf")
    os.mkfifo(tmp_path / "pipe")
    (root / "docs/linked.md").symlink_to(tmp_path / "pipe")
    os.mkfifo(root / "config/organization.yaml")
    before = tree_digest(tmp_path)
    result = run_cli(["audit", str(root), "--json"], timeout=60)
    assert result.returncode == 1, result.stderr
    rows = {(f["file"], f["rule"], f["found"]) for f in json.loads(result.stdout)["findings"]
            if f["criterion"] == 0}
    fifo = "is a FIFO (named pipe), not a regular file: not read (reading it could block or never end)"
    assert rows == {("tofu/stacks/app/extra.tf", "c0.unreadable", fifo), ("docs/linked.md", "c0.unreadable", fifo),
                    ("config/organization.yaml", "c0.unreadable", fifo)}
    assert tree_digest(tmp_path) == before
    assert all(stat.S_ISFIFO(os.stat(p).st_mode) for p in (root / "tofu/stacks/app/extra.tf", tmp_path / "pipe"))


def test_audit_writes_nothing(tmp_path: Path) -> None:
    root = write_checkout(tmp_path / "co", LEGACY_CHECKOUT, base=False)
    before = tree_digest(tmp_path)
    audit(root)
    result = CliRunner().invoke(cli, ["audit", str(root), "--json"])
    assert result.exit_code == 1
    assert tree_digest(tmp_path) == before


def test_auditing_this_repo_writes_nothing_under_tofu(repo_audit: tuple[AuditReport, dict, dict]) -> None:
    _, before, after = repo_audit
    assert before and after == before


def test_not_a_directory_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InputError, match="is not a directory; nothing was audited"):
        audit(missing)
    result = run_cli(["audit", str(missing)])
    assert result.returncode == 2
    assert "is not a directory; nothing was audited" in result.stderr
    assert not missing.exists() and tree_digest(tmp_path) == {}


def test_a_path_too_long_for_the_file_system_is_an_input_error_not_a_bug(tmp_path: Path) -> None:
    # Path.is_dir() raises for ENAMETOOLONG (and EACCES on a directory above): the audit printed a traceback.
    long = tmp_path / ("a" * 300)
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="cannot be read: File name too long; nothing was audited"):
        audit(long)
    result = run_cli(["audit", str(long), "--json"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["message"] == f"{long} cannot be read: File name too long; nothing was audited"
    assert "checkout" in error["remedy"] and tree_digest(tmp_path) == before


def test_a_file_is_not_a_checkout(tmp_path: Path) -> None:
    file = tmp_path / "Justfile"
    file.write_text("audit:\n    gfwizard audit\n")
    before = tree_digest(tmp_path)
    result = CliRunner().invoke(cli, ["audit", str(file), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert "is not a directory; nothing was audited" in error["message"] and "checkout" in error["remedy"]
    assert tree_digest(tmp_path) == before


def test_a_directory_without_any_surface_file_is_an_input_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a checkout\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "main.tf").write_text("# skipped directory\n")
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="holds no deployment-surface file"):
        audit(tmp_path)
    result = run_cli(["audit", str(tmp_path), "--json"])
    assert result.returncode == 2, result.stdout + result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["message"] == (f"{tmp_path.resolve()} holds no deployment-surface file (stacks, tfvars, backend "
                                "files, config, workflows, recipes, scripts or docs): nothing was audited")
    assert "the directory holding tofu/" in error["remedy"]
    assert tree_digest(tmp_path) == before


def test_a_directory_without_tofu_stacks_is_not_a_checkout(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# another repository\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    before = tree_digest(tmp_path)
    with pytest.raises(InputError, match="has no tofu/stacks directory, so it is not a GloriousFlywheel checkout"):
        audit(tmp_path)
    result = run_cli(["audit", str(tmp_path)])
    assert result.returncode == 2 and "not a GloriousFlywheel checkout" in result.stderr
    assert "ok: every criterion passes" not in result.stdout
    assert tree_digest(tmp_path) == before


def test_a_checkout_whose_stacks_directory_is_empty_says_so(tmp_path: Path) -> None:
    (tmp_path / "tofu" / "stacks").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# a checkout being set up\n")
    report = audit(tmp_path)
    assert report.ok
    assert {(f.rule, f.severity) for f in report.findings} == {("c4.no-config", Severity.INFO),
                                                              ("c1.no-stacks", Severity.INFO)}


def test_cli_json_keys_and_exit_code_on_failure(tmp_path: Path) -> None:
    root = write_checkout(tmp_path, LEGACY_CHECKOUT, base=False)
    result = run_cli(["audit", str(root), "--json"])
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["path", "ok", "criteria", "findings"]
    assert data["path"] == str(root.resolve()) and data["ok"] is False
    assert data["criteria"] == {"0": "pass", "1": "fail", "2": "fail", "3": "fail", "4": "fail", "5": "fail"}
    assert set(data["findings"][0]) == {"criterion", "file", "line", "found", "target", "severity", "rule"}
    assert {f["severity"] for f in data["findings"]} <= {"fail", "legacy-labelled", "info"}
    assert (1, "tofu/stacks/attic/main.tf", 2) in {(f["criterion"], f["file"], f["line"]) for f in data["findings"]}


def test_cli_passes_on_clean_checkout_and_prints_rows(tmp_path: Path) -> None:
    runner = CliRunner()
    clean = write_checkout(tmp_path / "clean", {})
    ok = runner.invoke(cli, ["audit", str(clean)])
    assert ok.exit_code == 0, ok.output
    assert "ok: every criterion passes" in ok.output
    legacy = write_checkout(tmp_path / "legacy", LEGACY_CHECKOUT, base=False)
    bad = runner.invoke(cli, ["audit", str(legacy)])
    assert bad.exit_code == 1
    assert "[1] fail" in bad.output and "tofu/stacks/attic/main.tf:2" in bad.output
    assert "criterion 3: fail" in bad.output


def test_token_literals_are_never_echoed(tmp_path: Path) -> None:
    token = "glpat-" + "Abc123XyZ789DefGhi456"
    root = write_checkout(tmp_path, {"Justfile": f"tofu-init:\n    export GL={token}\n    tofu init\n"})
    for args in (["audit", str(root), "--json"], ["audit", str(root)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1
        assert token not in result.output and "Abc123XyZ789" not in result.output
    assert (1, "Justfile", 2) in failing_rows(root)
