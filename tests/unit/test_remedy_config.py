"""A remedy followed as printed acts on the config the command was given: backticked gfwizard
commands that read organization.yaml carry this process's ``--config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfwizard.commands import _common


@pytest.fixture
def explicit(monkeypatch: pytest.MonkeyPatch) -> Path:
    path = Path("/srv/gf/other config.yaml")
    monkeypatch.setattr(_common, "_explicit_config", path)
    return path


def test_commands_that_read_the_config_get_it(explicit: Path) -> None:
    text = ("run `gfwizard validate --pin` to pin it; then `gfwizard deploy --env dev --resume`; "
            "`gfwizard backend locks --env dev` shows it; `gfwizard audit .` and `gfwizard rehearse` do not read it; "
            "`gfwizard status --once --config /a.yaml` already has one; plain gfwizard validate is not a command")
    assert _common.with_config(text) == (
        "run `gfwizard validate --pin --config '/srv/gf/other config.yaml'` to pin it; then "
        "`gfwizard deploy --env dev --resume --config '/srv/gf/other config.yaml'`; "
        "`gfwizard backend locks --env dev --config '/srv/gf/other config.yaml'` shows it; `gfwizard audit .` and "
        "`gfwizard rehearse` do not read it; `gfwizard status --once --config /a.yaml` already has one; plain "
        "gfwizard validate is not a command")
    assert _common.with_config_obj({"a": ["`gfwizard doctor`", 3]}) == {
        "a": ["`gfwizard doctor --config '/srv/gf/other config.yaml'`", 3]}


def test_without_an_explicit_config_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "_explicit_config", None)
    assert _common.with_config("run `gfwizard validate --pin`") == "run `gfwizard validate --pin`"


def test_help_is_left_alone(explicit: Path) -> None:
    assert _common.with_config("see `gfwizard deploy --help`") == "see `gfwizard deploy --help`"


# --- every command a message names is backticked, so with_config can give it --config ----------------

#: Files whose commands are for a shell the rehearsal's exports set up (rehearse takes no --config).
_BARE_COMMANDS_ALLOWED = {"gfwizard/commands/rehearse.py"}


def _strings(path: Path) -> "list[tuple[int, str]]":
    """Every string literal of ``path`` (f-string pieces included) except docstrings."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_message_names_a_config_command_without_backticks() -> None:
    import re

    from tests.helpers import REPO

    bare = re.compile(rf"(?<![`\w'])gfwizard {_common._CONFIG_COMMANDS}\b")
    found = []
    for path in sorted((REPO / "gfwizard").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel in _BARE_COMMANDS_ALLOWED:
            continue
        found += [f"{rel}:{line}: {text!r}" for line, text in _strings(path) if bare.search(text)]
    assert found == []


# --- the commands themselves, text and --json ---------------------------------------------------------

def _copy(src: Path, tmp_path: Path, **replace: str) -> Path:
    """``src`` copied to a path with a space in it (shell quoting matters), with text replaced."""
    text = src.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    target = tmp_path / "other configs" / "org copy.yaml"
    target.parent.mkdir()
    target.write_text(text)
    return target


def _quoted(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def test_backend_check_remedies_carry_the_config(rehearsal_workspace, tmp_path: Path) -> None:
    import json

    from gfwizard.rehearsal.s3 import fresh_bucket_name
    from tests.helpers import run_cli, tree_digest

    ws = rehearsal_workspace
    bucket = fresh_bucket_name()
    copy = _copy(ws.config_path, tmp_path, **{f"bucket: {ws.bucket}": f"bucket: {bucket}"})
    before = tree_digest(tmp_path)
    want = f"`gfwizard backend check --env dev --create-bucket --config {_quoted(copy)}`"
    text = run_cli(["backend", "check", "--env", "dev", "--config", str(copy)])
    assert text.returncode == 1, text.stderr
    assert f"remedy: {want}" in text.stdout
    done = run_cli(["backend", "check", "--env", "dev", "--config", str(copy), "--json"])
    assert done.returncode == 1
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["s3 bucket"]["remedy"] == want
    assert bucket not in [b["Name"] for b in ws.s3.client().list_buckets()["Buckets"]]
    assert tree_digest(tmp_path) == before


def test_migrate_without_yes_names_itself_with_the_config(rehearsal_workspace, tmp_path: Path) -> None:
    import json

    from tests.helpers import run_cli, tree_digest

    copy = _copy(rehearsal_workspace.config_path, tmp_path)
    before = tree_digest(tmp_path)
    want = ("re-run with --yes: "
            f"`gfwizard backend migrate --env dev --stack attic --yes --config {_quoted(copy)}`")
    text = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--config", str(copy)], input="")
    assert text.returncode == 2
    assert text.stderr.splitlines()[-1] == f"remedy: {want}"
    done = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--config", str(copy), "--json"],
                   input="")
    assert done.returncode == 2
    # The command as run, plus --yes: --json too.
    assert json.loads(done.stdout)["error"]["remedy"] == want[:-1] + " --json`"
    assert tree_digest(tmp_path) == before


def test_doctor_http_remedy_carries_the_config(rehearsal_workspace, tmp_path: Path) -> None:
    import json

    from tests.helpers import run_cli, tree_digest

    copy = _copy(rehearsal_workspace.config_path, tmp_path, **{"backend: s3": "backend: http"})
    before = tree_digest(tmp_path)
    want = (f"migrate every stack still on HTTP: `gfwizard backend migrate --env E --config {_quoted(copy)}`, "
            "then set state.backend: s3")
    done = run_cli(["doctor", "--config", str(copy), "--json"])
    (http,) = [c for c in json.loads(done.stdout)["checks"] if c["name"] == "state backend"]
    assert http["level"] == "warn" and http["remedy"] == want
    text = run_cli(["doctor", "--config", str(copy)])
    assert f"remedy: {want}" in text.stdout
    assert tree_digest(tmp_path) == before


def test_config_validate_path_remedies_name_that_path(tmp_path: Path) -> None:
    import json

    from tests.helpers import run_cli, tree_digest

    bad = tmp_path / "my dir" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("version: 1\norganization: {name: tinyland}\n")
    before = tree_digest(tmp_path)
    text = run_cli(["config", "validate", str(bad)])
    assert text.returncode == 1
    assert text.stdout.splitlines()[-1] == (
        "remedy: fix the fields listed (reference: docs/config-reference.md), then run "
        f"`gfwizard config validate --config {_quoted(bad)}`")
    missing = tmp_path / "missing.yaml"
    done = run_cli(["config", "validate", str(missing), "--json"])
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["remedy"] == (
        f"create it with `gfwizard config init --config {missing}` (or copy config/organization.example.yaml)")
    assert tree_digest(tmp_path) == before


def test_config_init_plain_says_check_it_with_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from gfwizard import plain
    from gfwizard.cli import cli
    from tests.unit.test_plain_init import FakePrompter

    monkeypatch.setattr(plain, "make_prompter", lambda: FakePrompter())
    target = tmp_path / "new dir" / "org.yaml"
    target.parent.mkdir()
    result = CliRunner().invoke(cli, ["config", "init", "--plain", "--config", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        f"Wrote {target}. Check it with `gfwizard config validate --config {_quoted(target)}`.")


def test_a_command_of_the_processes_own_kind_repeats_its_options(explicit: Path) -> None:
    # `validate --pin` without a terminal said "re-run with --pin --yes", dropping --context and --kubeconfig.
    _common.remember_options("validate", [("--context", "honey"), ("--kubeconfig", "/k/my kube.yaml")])
    text = ("`gfwizard validate --pin --yes`; `gfwizard validate --context NAME` checks one; "
            "`gfwizard discover` lists them; `gfwizard validate --help`")
    config = "--config '/srv/gf/other config.yaml'"
    assert _common.with_config(text) == (
        f"`gfwizard validate --pin --yes --context honey --kubeconfig '/k/my kube.yaml' {config}`; "
        f"`gfwizard validate --context NAME --kubeconfig '/k/my kube.yaml' {config}` checks one; "
        f"`gfwizard discover {config}` lists them; `gfwizard validate --help`")
    assert _common.with_config_obj({"remedy": "run `gfwizard validate`"}) == {
        "remedy": f"run `gfwizard validate --context honey --kubeconfig '/k/my kube.yaml' {config}`"}


def test_own_options_apply_without_an_explicit_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "_explicit_config", None)
    _common.remember_options("validate", [("--context", "a b")])
    assert _common.with_config("run `gfwizard validate --pin` or `gfwizard doctor`") == (
        "run `gfwizard validate --pin --context 'a b'` or `gfwizard doctor`")
    _common.remember_options("validate", [])
    assert _common.with_config("run `gfwizard validate --pin`") == "run `gfwizard validate --pin`"
