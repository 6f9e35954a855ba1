"""``gfwizard config validate|show|init``: exit codes, --json keys, and nothing written on errors."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gfwizard.cli import cli
from gfwizard.orgconfig_write import backup_path
from tests.helpers import run_cli, tree_digest
from tests.unit.test_orgconfig import edited, example_text, line_of


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    return path


def test_validate_valid_file(config_file: Path) -> None:
    result = invoke("config", "validate", str(config_file))
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{config_file}: valid — organization tinyland, cluster honey (context honey, tailnet)")
    assert "stacks attic -> arc-runners -> gitlab-runners -> runner-dashboard" in result.stdout


def test_validate_json_valid(config_file: Path) -> None:
    result = invoke("config", "validate", str(config_file), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"path": str(config_file), "valid": True, "problems": [], "warnings": []}


@pytest.mark.parametrize("name", ["prod", "production", "prd", "prod-eu"])
def test_validate_warns_when_a_production_environment_does_not_need_its_name_typed(tmp_path: Path, name: str) -> None:
    # Written by hand without require_confirmation, prod was "valid" and got only a [y/N] question at deploy time.
    path = tmp_path / "organization.yaml"
    path.write_text(edited("  prod:\n    cluster: honey\n    tfvars: prod.tfvars\n    require_confirmation: true  # "
                           'type "prod" before an apply\n', f"  {name}:\n    cluster: honey\n    tfvars: prod.tfvars\n"))
    before = tree_digest(tmp_path)
    result = invoke("config", "validate", str(path))
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}: valid — ")
    assert lines[1].startswith(f"  WARN  confirmation [{name}] ")
    assert lines[1].endswith(f"environment {name!r} is named as production but does not set require_confirmation: an "
                             "apply to it asks only yes/no ([y/N] on a terminal), where production needs its name typed")
    assert f"remedy: add the line `require_confirmation: true` under `{name}:` in the environments section of {path} " \
        "(indented like its `tfvars:` line; in a one-line environment, `require_confirmation: true` inside its " \
        "braces)" in lines[2]
    assert lines[3] == "1 warning (WARN above): the file is valid, but see the remedy"
    report = json.loads(invoke("config", "validate", str(path), "--json").stdout)
    assert report["valid"] is True and report["problems"] == []
    assert [(w["name"], w["level"]) for w in report["warnings"]] == [(f"confirmation [{name}]", "warn")]
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("name", ["staging", "preprod", "products", "dev"])
def test_validate_does_not_warn_about_other_environments(tmp_path: Path, name: str) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(edited("  dev:\n", f"  {name}:\n") if name != "dev" else example_text())
    result = invoke("config", "validate", str(path), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["warnings"] == []


def test_validate_invalid_lists_problems_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(edited("cluster:\n  name: honey", "cluster:\n  name: bumble"))
    before = tree_digest(tmp_path)
    result = invoke("config", "validate", str(path))
    assert result.exit_code == 1
    assert f"{path}: invalid (1 problem)" in result.stdout
    assert f"{path}:15:9: cluster.name: 'bumble' is a node role, not a cluster" in result.stdout
    assert tree_digest(tmp_path) == before


def test_validate_json_problem_keys(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(edited("version: 1", 'version: "one"'))
    result = invoke("config", "validate", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"path", "valid", "problems", "remedy"}
    assert report["valid"] is False
    assert report["problems"] == [{"file": str(path), "line": 6, "column": 10, "field": "version",
                                   "message": "expected an integer, got the string 'one'"}]


def test_validate_malformed_yaml_json(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text("version: 1\ncluster: [honey\n")
    result = invoke("config", "validate", str(path), "--json")
    assert result.exit_code == 1
    problem = json.loads(result.stdout)["problems"][0]
    assert (problem["line"], problem["column"], problem["field"]) == (3, 1, "")
    assert problem["message"].startswith("malformed YAML")


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "organization.yaml"
    result = invoke("config", "validate", str(missing), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["problems"] == []
    assert report["error"]["message"] == f"config file not found: {missing}"
    assert report["error"]["exit_code"] == 2 and "config init" in report["error"]["remedy"]
    assert tree_digest(tmp_path) == {}
    text = invoke("config", "validate", str(missing))
    assert text.exit_code == 2 and f"error: config file not found: {missing}" in text.stderr
    # --help names exactly the error object's keys.
    helptext = "".join(invoke("config", "validate", "--help").stdout.split())
    named = re.search(r"error\{([^}]*)\}onexit2", helptext)
    assert named is not None, helptext
    assert named.group(1).split(",") == list(report["error"])


def test_validate_directory_exits_2(tmp_path: Path) -> None:
    result = invoke("config", "validate", str(tmp_path))
    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def test_validate_defaults_to_gfw_config(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_CONFIG", str(config_file))
    assert invoke("config", "validate").exit_code == 0
    other = config_file.with_name("other.yaml")
    assert invoke("config", "validate", "--config", str(other)).exit_code == 2


def test_validate_refuses_a_path_and_a_different_config(config_file: Path, tmp_path: Path) -> None:
    # PATH won silently: `config validate good.yaml --config broken.yaml` said "valid" about the file not meant.
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ncluster: [honey\n")
    before = tree_digest(tmp_path)
    text = invoke("config", "validate", str(config_file), "--config", str(broken))
    assert text.exit_code == 2 and text.stdout == ""
    assert text.stderr.splitlines() == [
        f"error: PATH {config_file} and --config {broken} name two different files; nothing was checked",
        f"remedy: name the file to check once, as PATH or with --config (e.g. `gfwizard config validate --config "
        f"{config_file}`)"]
    as_json = json.loads(invoke("config", "validate", str(config_file), "--config", str(broken), "--json").stdout)
    assert (as_json["valid"], as_json["problems"], as_json["error"]["exit_code"]) == (False, [], 2)
    assert as_json["error"]["message"].endswith("name two different files; nothing was checked")
    # The same file twice (however spelt) is no conflict.
    same = invoke("config", "validate", str(config_file), "--config", str(tmp_path / "." / config_file.name))
    assert same.exit_code == 0, same.output
    assert tree_digest(tmp_path) == before


def test_validate_through_the_real_entry_point(config_file: Path) -> None:
    result = run_cli(["config", "validate", str(config_file), "--json"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True


def test_show_json(config_file: Path) -> None:
    result = invoke("config", "show", "--config", str(config_file), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert set(report) == {"path", "config", "stack_order", "placement", "state_keys"}
    assert report["stack_order"] == ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
    assert report["placement"]["gitlab-runners"] == "sting"
    assert report["state_keys"]["prod"]["runner-dashboard"] == "gloriousflywheel/prod/runner-dashboard.tfstate"
    assert report["config"]["environments"]["dev"]["require_confirmation"] is False  # defaults filled in
    assert report["config"]["cluster"]["fingerprint"] is None


def test_show_http_addresses(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(edited("state:\n  backend: s3", "state:\n  backend: http\n  http:\n"
                           "    address: https://gitlab.example/state/{stack}-{env}"))
    report = json.loads(invoke("config", "show", "--config", str(path), "--json").stdout)
    assert report["http_addresses"]["dev"]["attic"] == "https://gitlab.example/state/attic-dev"


def test_show_text(config_file: Path) -> None:
    result = invoke("config", "show", "--config", str(config_file))
    assert result.exit_code == 0
    assert "stack order: attic -> arc-runners -> gitlab-runners -> runner-dashboard" in result.stdout
    assert "  arc-runners: sting (kubernetes.io/hostname=sting)" in result.stdout
    assert "  prod/attic: gloriousflywheel/prod/attic.tfstate" in result.stdout
    assert "require_confirmation: false" in result.stdout


def test_show_invalid_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(edited("  dev:\n    cluster: honey", "  dev:\n    cluster: tinyland-civo-dev"))
    before = tree_digest(tmp_path)
    result = invoke("config", "show", "--config", str(path), "--json")
    assert result.exit_code == 2
    assert "legacy compatibility only" in json.loads(result.stdout)["error"]["message"]
    assert tree_digest(tmp_path) == before


@pytest.fixture
def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.commands import _common

    monkeypatch.setattr(_common, "has_terminal", lambda: True)


def fake_wizard(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Stand in for the full-screen wizard; returns the list its calls' arguments are appended to."""
    calls: list[dict[str, object]] = []
    fake = types.ModuleType("screens.launch")
    fake.run_wizard = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "screens.launch", fake)
    return calls


@pytest.mark.usefixtures("on_a_terminal")
def test_init_force_without_plain_is_refused_not_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The wizard refused the invalid file anyway, with a remedy that never said --force needs --plain.
    calls = fake_wizard(monkeypatch)
    target = tmp_path / "organization.yaml"
    target.write_text(edited("version: 1", 'version: "one"'))
    before = tree_digest(tmp_path)
    result = invoke("config", "init", "--force", "--config", str(target))
    assert result.exit_code == 2 and calls == []
    assert result.stderr.splitlines() == [
        "error: --force works with --plain only: the full-screen wizard does not start from the defaults over an "
        "invalid file; nothing was started",
        f"remedy: use `gfwizard config init --plain --force --config {target}` (the old file is kept as "
        "organization.yaml.bak), or fix the file (see `gfwizard config validate --config "
        f"{target}`) and run `gfwizard config init --config {target}`"]
    assert tree_digest(tmp_path) == before


@pytest.mark.usefixtures("on_a_terminal")
def test_init_without_plain_opens_the_wizard_at_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_wizard(monkeypatch)
    target = tmp_path / "organization.yaml"
    result = invoke("config", "init", "--config", str(target))
    assert result.exit_code == 0
    assert calls == [{"start_at": "config", "config_path": target}]


@pytest.mark.usefixtures("on_a_terminal")
def test_init_without_wizard_says_use_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "screens.launch", None)  # makes the import fail
    result = invoke("config", "init", "--config", str(tmp_path / "organization.yaml"))
    assert result.exit_code == 2
    assert f"use `gfwizard config init --plain --config {tmp_path / 'organization.yaml'}`" in result.stderr
    assert tree_digest(tmp_path) == {}


def test_init_plain_needs_a_terminal(tmp_path: Path) -> None:
    result = invoke("config", "init", "--plain", "--config", str(tmp_path / "organization.yaml"))
    assert result.exit_code == 2
    assert "needs an interactive terminal" in result.stderr
    assert tree_digest(tmp_path) == {}


def test_init_plain_keeps_backup_via_cli(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard import plain
    from tests.unit.test_plain_init import FakePrompter

    monkeypatch.setattr(plain, "make_prompter", lambda: FakePrompter({"org_full_name": "Tinyland Inc"}))
    original = config_file.read_text()
    result = invoke("config", "init", "--plain", "--config", str(config_file))
    assert result.exit_code == 0, result.output
    assert f"Wrote {config_file} (previous file kept as {backup_path(config_file)})" in result.stdout
    assert backup_path(config_file).read_text() == original
    assert "full_name: Tinyland Inc" in config_file.read_text()


@pytest.mark.parametrize(("context", "called"), [
    ("Bumble", "is a node role"),
    ('"bumble "', "is a node role"),
    ("STING", "is a node role"),
    ("bumble-admin", "is named after node role 'bumble'"),
])
def test_validate_refuses_a_node_role_context_in_any_case_or_spacing(tmp_path: Path, context: str,
                                                                     called: str) -> None:
    path = tmp_path / "organization.yaml"
    text = edited("context: honey", f"context: {context}")
    path.write_text(text)
    before = tree_digest(tmp_path)
    result = invoke("config", "validate", str(path))
    assert result.exit_code == 1
    shown = context.strip('"')
    assert f"{path}:{line_of(text, f'context: {context}')}:12: cluster.context: {shown!r} {called}, not a cluster: honey is the one cluster, node roles " \
           "are placement inputs (placement.roles) and never a context" in result.stdout
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("context: honey", "context: 'honey '",
     "cluster.context: context 'honey ' starts or ends with a space: remove it ('honey' is meant, most likely)"),
    ("kubeconfig: ~/.kube/kubeconfig-honey.yaml", "kubeconfig: ' ~/.kube/kubeconfig-honey.yaml'",
     "cluster.kubeconfig: kubeconfig ' ~/.kube/kubeconfig-honey.yaml' starts or ends with a space: remove it "
     "('~/.kube/kubeconfig-honey.yaml' is meant, most likely)"),
    ("context: honey", 'context: "hon\\tey"', "cluster.context: context 'hon\\tey' holds a control character"),
], ids=["context-trailing-space", "kubeconfig-leading-space", "context-tab"])
def test_validate_refuses_a_context_or_kubeconfig_that_names_nothing(tmp_path: Path, old: str, new: str,
                                                                    problem: str) -> None:
    """`context: 'honey '` was valid: only doctor said `context 'honey ' not found`, the space easy to miss."""
    path = tmp_path / "organization.yaml"
    text = edited(old, new)
    path.write_text(text)
    before = tree_digest(tmp_path)
    result = invoke("config", "validate", str(path))
    assert result.exit_code == 1, result.output
    assert f"{path}:{line_of(text, new)}:" in result.stdout and problem in result.stdout
    assert tree_digest(tmp_path) == before


_NAME_RULE = "must be a lowercase name of letters, digits and '-' (1-63 characters, starting and ending with a letter or digit)"


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("  name: tinyland\n", '  name: "tinyland\\n"\n',
     f"organization.name: organization name 'tinyland\\n' {_NAME_RULE}"),
    ("  dev:\n", '  "dev\\n":\n', f"environments[\"dev\\n\"]: environment name 'dev\\n' {_NAME_RULE}"),
    ("  - name: attic\n", '  - name: "attic\\n"\n', f"stacks[0].name: stack name 'attic\\n' {_NAME_RULE}"),
    ("bucket: gloriousflywheel-state", 'bucket: "gloriousflywheel-state\\n"',
     "state.s3.bucket: bucket 'gloriousflywheel-state\\n' is not a valid S3 bucket name (3-63 characters: "
     "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit): '\\n' is not allowed"),
    ("region: us-east-1", 'region: "us-east-1\\n"',
     "state.s3.region: region 'us-east-1\\n' must be a region name of lowercase letters, digits and '-' "
     "(1-63 characters, e.g. us-east-1), not a URL"),
    ("key_prefix: gloriousflywheel ", 'key_prefix: "gloriousflywheel\\t" ',
     "state.s3.key_prefix: key_prefix 'gloriousflywheel\\t' must be non-empty, without spaces or control "
     "characters, and not start or end with '/' (state keys are {key_prefix}/{env}/{stack}.tfstate)"),
    ("tfvars: dev.tfvars", 'tfvars: "dev\\n.tfvars"',
     "environments.dev.tfvars: tfvars 'dev\\n.tfvars' must be a relative *.tfvars or *.tfvars.json file inside "
     "the stack directory"),
])
def test_a_trailing_newline_or_control_character_is_not_a_valid_name(tmp_path: Path, old: str, new: str,
                                                                      problem: str) -> None:
    path, text, result = _validated(tmp_path, old, new)
    assert f"{path}: invalid (1 problem)\n" in result.stdout
    assert f"{path}:{line_of(text, new.strip())}:" in result.stdout and f": {problem}\n" in result.stdout


def test_a_bucket_with_a_newline_never_reaches_a_backend_file(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    for stack in ("attic", "arc-runners", "gitlab-runners", "runner-dashboard"):
        (checkout / "tofu" / "stacks" / stack).mkdir(parents=True)
    path = tmp_path / "organization.yaml"
    path.write_text(edited("bucket: gloriousflywheel-state", 'bucket: "gloriousflywheel-state\\n"'))
    before = tree_digest(tmp_path)
    result = CliRunner().invoke(cli, ["backend", "render", "--env", "dev", "--config", str(path)],
                                env={"GFW_REPO": str(checkout)})
    assert result.exit_code == 2, result.output
    assert "state.s3.bucket: bucket 'gloriousflywheel-state\\n' is not a valid S3 bucket name" in result.output
    assert tree_digest(tmp_path) == before


def _validated(tmp_path: Path, old: str, new: str) -> tuple[Path, str, Result]:
    """``config validate`` of the example with ``old`` replaced by ``new``: invalid (exit 1), nothing written."""
    path = tmp_path / "organization.yaml"
    text = edited(old, new)
    path.write_text(text)
    before = tree_digest(tmp_path)
    result = invoke("config", "validate", str(path))
    assert result.exit_code == 1, result.stdout
    assert tree_digest(tmp_path) == before
    return path, text, result


def test_validate_reports_a_public_s3_endpoint(tmp_path: Path) -> None:
    path, text, result = _validated(tmp_path, "endpoint: http://100.113.89.12:9000", "endpoint: http://8.8.8.8:9000")
    assert (f"{path}:{line_of(text, 'endpoint:')}:15: state.s3.endpoint: 8.8.8.8 is a public address: the state "
            "store (RustFS on honey) is private (tailnet) and never reached over the internet; use its tailnet or "
            "LAN address\n") in result.stdout


@pytest.mark.parametrize(("old", "new", "shown"), [
    ("state:\n  backend: s3", "state:\n  backend: s3\n  http:\n    address: https://gitlab.example/state/{stack}-{env}\n"
     "    password: hunter2hunter2", "state.http: key 'password' looks like a credential field: "),
    ("  context: honey\n", "  context: honey\n  token: abc\n", "cluster: key 'token' looks like a credential field: "),
    ("version: 1\n", "version: 1\npassword: hunter2hunter2\n", "key 'password' looks like a credential field: "),
    ("full_name: Tinyland", "full_name: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlc2ln",
     "organization.full_name: value looks like a credential (a JSON Web Token (JWT)): "),
])
def test_validate_text_output_names_the_credential_field_after_redaction(tmp_path: Path, old: str, new: str,
                                                                         shown: str) -> None:
    path, text, result = _validated(tmp_path, old, new)
    needle = new.strip().splitlines()[-1].strip()
    line = line_of(text, needle)
    column = next(raw for raw in text.splitlines() if needle in raw).index(needle) + 1
    if "full_name" in needle:
        column += len("full_name: ")
    assert f"{path}:{line}:{column}: {shown}" in result.stdout, result.stdout
    assert "[REDACTED]" not in result.stdout
    assert "hunter2hunter2" not in result.stdout and "eyJzdWIiOiJhZG1pbiJ9" not in result.stdout


def test_validate_reports_a_secret_in_a_comment_at_its_position_without_printing_it(tmp_path: Path) -> None:
    path, text, result = _validated(tmp_path, "    region: us-east-1", "    region: us-east-1  # AKIAIOSFODNN7EXAMPLE "
                                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    before = tree_digest(tmp_path)
    assert (f"{path}:{line_of(text, 'AKIA')}:24: comment looks like a credential (an AWS access key id): comments "
            "are committed with the file; ") in result.stdout
    report = json.loads(invoke("config", "validate", str(path), "--json").stdout)
    assert [(p["line"], p["column"], p["field"]) for p in report["problems"]] == [(line_of(text, "AKIA"), 24, "")]
    for output in (result.stdout, json.dumps(report)):
        assert "AKIAIOSFODNN7EXAMPLE" not in output and "wJalrXUtnFEMI" not in output
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("tail,shown", [("?private_token=hunter2supersecretvalue", "?…"),
                                        ("#pw=hunter2supersecretvalue", "#…")])
def test_validate_and_doctor_never_echo_an_address_query(tmp_path: Path, tail: str, shown: str) -> None:
    path = tmp_path / "organization.yaml"
    address = "https://gitlab.example/api/v4/projects/1/terraform/state/{stack}-{env}"
    text = edited("state:\n  backend: s3", f"state:\n  backend: s3\n  http:\n    address: {address}{tail}")
    path.write_text(text)
    before = tree_digest(tmp_path)
    message = f"state.http.address: address must not have a query or fragment (got '{address}{shown}'); remove it"
    result = invoke("config", "validate", str(path))
    assert result.exit_code == 1 and f"{path}:{line_of(text, '    address: ')}:14: {message}\n" in result.stdout
    doctor = run_cli(["doctor", "--config", str(path)])
    assert doctor.returncode == 1 and message in doctor.stdout
    for output in (result.stdout, doctor.stdout, doctor.stderr):
        assert "hunter2supersecretvalue" not in output
    assert tree_digest(tmp_path) == before


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout and stderr on a terminal (a pty); what it printed there."""
    import os
    import pty
    import subprocess
    import sys

    from tests.helpers import REPO

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gfwizard", *args], stdin=subprocess.DEVNULL,
                                stdout=follower, stderr=follower, cwd=REPO, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_no_color_turns_the_colours_off_on_a_terminal(tmp_path: Path) -> None:
    """https://no-color.org: with NO_COLOR set, nothing is styled even on a terminal; without it, the
    verdict is red there."""
    import os

    bad = tmp_path / "organization.yaml"
    bad.write_text("version: 1\norganization:\n\tname: x\n")
    before = tree_digest(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(["config", "validate", "--config", str(bad)], env)
    plain = _on_a_terminal(["config", "validate", "--config", str(bad)], {**env, "NO_COLOR": "1"})
    assert "\x1b[31m" in coloured and "invalid (1 problem)" in coloured, coloured
    assert "\x1b[" not in plain and f"{bad}: invalid (1 problem)" in plain, plain
    assert tree_digest(tmp_path) == before


def test_validate_json_invalid_carries_the_remedy_the_text_shows(tmp_path: Path) -> None:
    # The text report ended with a remedy line; --json dropped it, so a script had the problems but not what to do.
    path = tmp_path / "organization.yaml"
    path.write_text(edited("cluster:\n  name: honey", "cluster:\n  name: bumble"))
    before = tree_digest(tmp_path)
    text = invoke("config", "validate", str(path))
    as_json = invoke("config", "validate", str(path), "--json")
    assert (text.exit_code, as_json.exit_code) == (1, 1)
    [remedy_line] = [line for line in text.stdout.splitlines() if line.startswith("remedy: ")]
    report = json.loads(as_json.stdout)
    assert report["remedy"] == remedy_line.removeprefix("remedy: ")
    assert "gfwizard config validate" in report["remedy"]
    assert [p["message"] for p in report["problems"]] == [
        line.split(": ", 2)[2] for line in text.stdout.splitlines()[1:-1]]
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("argv", [["validate"], ["status", "--once"], ["backend", "check", "--env", "dev"],
                                  ["deploy", "--env", "dev", "--plan-only"]],
                         ids=["validate", "status-once", "backend-check", "deploy"])
def test_gfw_config_naming_a_directory_is_named_as_the_culprit(isolated_home: Path, argv: list[str]) -> None:
    """Nobody passed a path when $GFW_CONFIG gave it: the error says it came from GFW_CONFIG and the remedy
    says what to set (a --config naming a directory is click's own error and never gets this far)."""
    folder = isolated_home / "configs"
    (folder / "organization.yaml").parent.mkdir()
    (folder / "organization.yaml").write_text("version: 1\n")
    before = tree_digest(isolated_home)
    done = run_cli([*argv, "--json"], env={"GFW_CONFIG": str(folder)})
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout) == {"error": {
        "message": f"config path is a directory, not a file: {folder} (from $GFW_CONFIG)",
        "remedy": "set GFW_CONFIG to the organization.yaml file itself (or pass --config FILE)", "exit_code": 2}}
    assert tree_digest(isolated_home) == before


def test_doctor_names_gfw_config_too_and_a_path_given_is_not_blamed_on_it(isolated_home: Path) -> None:
    folder = isolated_home / "configs"
    folder.mkdir()
    before = tree_digest(isolated_home)
    done = run_cli(["doctor", "--json"], env={"GFW_CONFIG": str(folder)})
    (config,) = [c for c in json.loads(done.stdout)["checks"] if c["section"] == "config"]
    assert done.returncode == 1
    assert (config["level"], config["detail"], config["remedy"]) == (
        "fail", f"config path is a directory, not a file: {folder} (from $GFW_CONFIG)",
        "set GFW_CONFIG to the organization.yaml file itself (or pass --config FILE)")
    given = run_cli(["config", "validate", str(folder)], env={"GFW_CONFIG": str(folder)})
    assert given.returncode == 2
    assert given.stderr.splitlines() == [f"error: config path is a directory, not a file: {folder}",
                                         "remedy: pass the organization.yaml file itself"]
    assert tree_digest(isolated_home) == before


@pytest.mark.parametrize("argv", [["validate"], ["status", "--once"], ["backend", "check", "--env", "dev"],
                                  ["deploy", "--env", "dev", "--plan-only"], ["config", "validate"]],
                         ids=["validate", "status-once", "backend-check", "deploy", "config-validate"])
def test_gfw_config_naming_a_missing_file_is_named_as_its_origin(isolated_home: Path, argv: list[str]) -> None:
    """'config file not found: X' said nothing of where X came from when $GFW_CONFIG gave it (the operator
    passed nothing): it is named, and the remedy says what to set, after creating the file."""
    missing = isolated_home / "configs" / "organization.yaml"
    before = tree_digest(isolated_home)
    done = run_cli([*argv, "--json"], env={"GFW_CONFIG": str(missing)})
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["error"] == {
        "message": f"config file not found: {missing} (from $GFW_CONFIG)",
        "remedy": "create it with `gfwizard config init` (or copy config/organization.example.yaml), or set "
                  "GFW_CONFIG to the organization.yaml file you meant (or unset it, or pass --config FILE)",
        "exit_code": 2}
    assert tree_digest(isolated_home) == before


def test_a_dangling_gfw_config_link_is_named_and_a_path_given_is_not_blamed_on_it(isolated_home: Path) -> None:
    missing = isolated_home / "configs" / "organization.yaml"
    link = isolated_home / "current.yaml"
    link.symlink_to(missing)
    before = tree_digest(isolated_home)
    done = run_cli(["doctor", "--json"], env={"GFW_CONFIG": str(link)})
    assert done.returncode == 1
    (config,) = [c for c in json.loads(done.stdout)["checks"] if c["section"] == "config"]
    assert config["detail"] == f"config file not found: {link} (a symlink to the missing {missing}) (from $GFW_CONFIG)"
    assert "or set GFW_CONFIG to the organization.yaml file you meant" in config["remedy"]
    given = run_cli(["config", "validate", str(missing)], env={"GFW_CONFIG": str(missing)})
    assert given.returncode == 2
    assert given.stderr.splitlines() == [
        f"error: config file not found: {missing}",
        f"remedy: create it with `gfwizard config init --config {missing}` (or copy config/organization.example.yaml)"]
    assert tree_digest(isolated_home) == before
