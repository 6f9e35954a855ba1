"""The organization config model and loader: the decision's rules, and every bad input with its
message, position and proof that nothing was written."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gfwizard.errors import InputError
from gfwizard.orgconfig import ConfigError, OrgConfig, load_config, load_config_text
from tests.helpers import REPO, tree_digest

EXAMPLE = REPO / "config" / "organization.example.yaml"


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def edited(old: str, new: str, text: str | None = None) -> str:
    text = example_text() if text is None else text
    assert old in text, f"fixture edit target {old!r} not found"
    return text.replace(old, new, 1)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    """Load ``text`` from a file under tmp_path; return the problem lines; assert nothing was written."""
    path = tmp_path / "organization.yaml"
    path.write_text(text, encoding="utf-8")
    before = tree_digest(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert tree_digest(tmp_path) == before
    assert all(p.file == str(path) for p in info.value.problems)
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# -- the valid example ------------------------------------------------------------------------------


def test_example_loads_with_queries() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.stack_order() == ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
    assert cfg.state_key("prod", "attic") == "gloriousflywheel/prod/attic.tfstate"
    assert cfg.role_for_stack("arc-runners") == "sting"
    assert cfg.node_selector_for("attic") == {"kubernetes.io/hostname": "bumble"}
    assert cfg.environment("prod").require_confirmation is True
    assert cfg.environment("dev").require_confirmation is False
    assert cfg.is_rehearsal is False


def test_unknown_environment_and_stack_name_the_known_ones() -> None:
    cfg = load_config(EXAMPLE)
    with pytest.raises(InputError, match=r"unknown environment 'staging' \(known: dev, prod\)"):
        cfg.environment("staging")
    with pytest.raises(InputError, match="unknown stack 'atic'"):
        cfg.state_key("dev", "atic")


def test_stack_order_follows_dependencies_not_file_order() -> None:
    text = edited("stacks:\n  - name: attic\n", "stacks:\n")
    text = text.rstrip("\n") + "\n  - name: attic\n"
    cfg = load_config_text(text)
    assert cfg.stack_names[-1] == "attic"
    order = cfg.stack_order()
    assert order[0] == "attic" and order[-1] == "runner-dashboard"


def test_with_fingerprint_pins_and_validates() -> None:
    cfg = load_config(EXAMPLE)
    pinned = cfg.with_fingerprint("6F1C2B3A-1111-2222-3333-444455556666", "AB" * 32)
    assert pinned.cluster.fingerprint is not None
    assert pinned.cluster.fingerprint.kube_system_uid == "6f1c2b3a-1111-2222-3333-444455556666"
    assert pinned.cluster.fingerprint.ca_sha256 == "ab" * 32
    assert cfg.cluster.fingerprint is None
    with pytest.raises(ValidationError, match="ca_sha256 must be 64 hexadecimal"):
        cfg.with_fingerprint("6f1c2b3a-1111-2222-3333-444455556666", "not-a-hash")


def test_rehearsal_network_is_loopback_only() -> None:
    text = edited("https://100.113.89.12:6443", "https://127.0.0.1:16443")
    cfg = load_config_text(edited("network: tailnet", "network: loopback", text))
    assert cfg.is_rehearsal
    with pytest.raises(ConfigError, match="'loopback' is the rehearsal network"):
        load_config_text(edited("network: tailnet", "network: loopback"))


def test_http_backend_addresses() -> None:
    text = edited("state:\n  backend: s3", "state:\n  backend: http\n  http:\n"
                  "    address: https://gitlab.example/api/v4/projects/7/terraform/state/{stack}-{env}\n"
                  "    username: deployer")
    cfg = load_config_text(text)
    assert cfg.state.http is not None
    assert cfg.state.http.address_for("dev", "attic").endswith("/state/attic-dev")
    assert cfg.state.http.lock_address_for("dev", "attic") is None


# -- bad input: syntax -------------------------------------------------------------------------------


def test_malformed_yaml_reports_line_and_column(tmp_path: Path) -> None:
    text = "version: 1\norganization: {name: tinyland\ncluster: 3\n"
    problems = problems_of(tmp_path, text)
    assert problems == ["3:8: malformed YAML: expected ',' or '}', but got ':' "
                        "(while parsing a flow mapping started at line 2, column 15): the { } mapping opened on "
                        "line 2 is not closed where YAML expects it (or two of its items lack the ',' between "
                        "them): close it with '}'"]


@pytest.mark.parametrize(("old", "new", "said"), [
    # One space too many: the parser's "expected <block end>, but found '<block mapping start>'".
    ("    bucket: gloriousflywheel-state", "     bucket: gloriousflywheel-state",
     "line {line} (indented 5 spaces) is out of line with the block that starts at line {start} (indented 4 spaces): "
     "YAML nests by indentation"),
    ("  - name: arc-runners", "   - name: arc-runners",
     "line {line} (indented 3 spaces) is out of line with the block that starts at line {start} (indented 2 spaces)"),
    ("  full_name: Tinyland", "  full_name: Tinyland: Inc",
     "quote a value that holds ': ' (e.g. full_name: \"Tinyland: Inc\"), or give the two keys the same indentation"),
    ("    bucket: gloriousflywheel-state", "    bucket gloriousflywheel-state",
     "the key on line {line} has no ':' after it: write `key: value`"),
    ("legacy_contexts: [tinyland-civo-dev]", "legacy_contexts: [tinyland-civo-dev",
     "the [ ] list opened on line {line} is not closed where YAML expects it"),
])
def test_malformed_yaml_says_what_to_change(tmp_path: Path, old: str, new: str, said: str) -> None:
    # "expected <block end>, but found '<block mapping start>'" named the line but not the mistake (a line
    # indented out of place) nor what to do about it.
    text = edited(old, new)
    line = line_of(text, new)
    [problem] = problems_of(tmp_path, text)
    start = int(problem.split("started at line ")[1].split(",")[0]) if "started at line " in problem else line
    assert said.format(line=line, start=start) in problem


@pytest.mark.parametrize("key", ["  api_server: https://100.113.89.12:6443", "    bucket: gloriousflywheel-state"])
def test_a_key_pulled_out_of_its_block_is_named_not_only_the_line_after_it(tmp_path: Path, key: str) -> None:
    # The parser blames the line after a dedented key ("line 19 is out of line with the block at line 6"), and
    # line 19 looks right next to the lines above the dedented one: the message must point at the key that moved.
    text = edited(key, key.lstrip())
    moved = line_of(text, key.lstrip())
    [problem] = problems_of(tmp_path, text)
    indent = len(key) - len(key.lstrip())
    assert problem.startswith(f"{moved + 1}:")
    assert (f"because line {moved} (indented 0 spaces) ended the block it belongs to: if line {moved} belongs with "
            f"the lines around it, indent it {indent} spaces like them") in problem


def test_a_line_indented_one_space_too_deep_is_not_blamed_on_the_line_above(tmp_path: Path) -> None:
    text = edited("    bucket: gloriousflywheel-state", "     bucket: gloriousflywheel-state")
    [problem] = problems_of(tmp_path, text)
    assert "ended the block" not in problem
    assert "so indent it exactly like the other keys" in problem


def test_an_unclosed_quote_says_where_it_opened(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, "version: 1\norganization:\n  name: 'tinyland\n  full_name: x\n")
    assert "the quote opened on line 3 is never closed: end the value with the same quote character" in problem


def test_tab_indentation_reports_position(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "version: 1\n\tcluster: {}\n")
    assert problems == ["2:1: a tab where YAML expects indentation or a value: YAML indents with spaces only"]


def test_a_control_character_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "version: 1\norganization:\n  name: x\x00y\n")
    assert problems == ["3:10: a character YAML does not allow (U+0000): remove it (a stray control character, "
                        "or a binary file)"]


def test_duplicate_key(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "version: 1\nversion: 1\n") == ["2:1: duplicate key 'version' (the mapping starts at line 1)"]


def test_a_complex_key_is_a_located_problem_not_a_crash(tmp_path: Path) -> None:
    # ruamel cannot hash a list or mapping used as a key; it raised TypeError out of the loader.
    text = "version: 1\ncluster:\n? \n  name: honey\n  legacy_contexts: [tinyland-civo-dev]\n"
    assert problems_of(tmp_path, text) == [
        "3:1: a mapping key that is itself a list or a mapping (a `?` complex key): keys must be plain names"]


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    for text in ("", "# only a comment\n"):
        problems = problems_of(tmp_path, text)
        assert problems == ["1:1: the file is empty: expected a mapping with version, organization, cluster, "
                            "placement, state, environments, stacks"]


def test_top_level_list_is_an_error(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "- honey\n")
    assert problems[0].endswith("at the top level, got a list")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "organization.yaml"
    with pytest.raises(InputError, match="config file not found") as info:
        load_config(missing)
    assert not isinstance(info.value, ConfigError)
    assert "gfwizard config init" in info.value.remedy
    assert tree_digest(tmp_path) == {}


def test_unreadable_file_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    before = tree_digest(tmp_path)

    def denied(self: Path) -> bytes:  # chmod 000 does not stop root, so deny the read itself
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InputError, match="cannot read config file .*: Permission denied") as info:
        load_config(path)
    assert not isinstance(info.value, ConfigError)
    monkeypatch.undo()
    assert tree_digest(tmp_path) == before


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_bytes(b"version: 1\norganization: \xff\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value.problems[0]).endswith(":2:15: the file is not UTF-8 text")


# -- bad input: types --------------------------------------------------------------------------------


def test_version_as_a_word(tmp_path: Path) -> None:
    text = edited("version: 1", 'version: "one"')
    assert problems_of(tmp_path, text) == [f"{line_of(text, 'version:')}:10: version: expected an integer, got the string 'one'"]


def test_unsupported_version(tmp_path: Path) -> None:
    text = edited("version: 1", "version: 2")
    assert problems_of(tmp_path, text) == [
        f"{line_of(text, 'version:')}:10: version: unsupported version 2: this gfwizard reads version 1"]


def test_list_where_a_map_belongs(tmp_path: Path) -> None:
    text = edited("organization:\n  name: tinyland\n  full_name: Tinyland", "organization: [tinyland, Tinyland]")
    assert problems_of(tmp_path, text) == [
        f"{line_of(text, 'organization:')}:15: organization: expected a mapping (key: value), got a list"]


def test_map_where_a_list_belongs(tmp_path: Path) -> None:
    text = edited("depends_on: [attic]", "depends_on: {attic: true}")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'depends_on: {attic')}:17: stacks[1].depends_on: expected a list, got a mapping"]


def test_null_section_points_at_its_key(tmp_path: Path) -> None:
    text = edited("organization:\n  name: tinyland\n  full_name: Tinyland", "organization:")
    assert problems_of(tmp_path, text) == [
        f"{line_of(text, 'organization:')}:1: organization: expected a mapping (key: value), got nothing (null)"]


def test_missing_required_fields_are_all_listed(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "version: 1\norganization:\n  name: tinyland\n")
    assert problems == [
        "1:1: cluster: required field is missing",
        "1:1: environments: required field is missing",
        "1:1: stacks: required field is missing",
        "1:1: state: required field is missing",
        "2:1: organization.full_name: required field is missing",
    ]


def test_yaml11_boolean_word_is_rejected_not_coerced(tmp_path: Path) -> None:
    text = edited("use_lockfile: true ", "use_lockfile: yes  ")
    problems = problems_of(tmp_path, text)
    assert problems == [
        f"{line_of(text, 'use_lockfile')}:19: state.s3.use_lockfile: expected true or false, got the string 'yes': "
        "YAML 1.2 reads yes/no/on/off as strings (and quoted values are strings), write true or false"]


def test_quoted_boolean_is_rejected(tmp_path: Path) -> None:
    text = edited("require_confirmation: true", 'require_confirmation: "true"')
    assert "expected true or false, got the string 'true'" in problems_of(tmp_path, text)[0]


def test_yaml11_words_are_strings_where_strings_are_expected() -> None:
    text = edited("name: tinyland", "name: no")
    text = edited("full_name: Tinyland", "full_name: on", text)
    cfg = load_config_text(text)
    assert cfg.organization.name == "no"
    assert cfg.organization.full_name == "on"


def test_yaml11_word_is_not_a_network(tmp_path: Path) -> None:
    text = edited("network: tailnet", "network: on")
    assert problems_of(tmp_path, text)[0].endswith(
        "cluster.network: expected one of 'tailnet', 'private' or 'loopback', got the string 'on'")


def test_number_where_a_string_belongs(tmp_path: Path) -> None:
    text = edited("bucket: gloriousflywheel-state", "bucket: 2024")
    assert problems_of(tmp_path, text)[0].endswith(
        "state.s3.bucket: expected a string, got the integer 2024 (quote it to make it a string)")


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    text = edited("    bucket:", "    bukcet: spare\n    bucket:")
    assert problems_of(tmp_path, text) == [
        f"{line_of(text, 'bukcet')}:5: state.s3.bukcet: unknown key 'bukcet'; did you mean 'bucket'?"]


def test_unknown_key_without_close_match_lists_allowed(tmp_path: Path) -> None:
    text = edited("version: 1", "version: 1\nzebra: 1")
    assert problems_of(tmp_path, text)[0].endswith(
        "zebra: unknown key 'zebra' (allowed here: version, organization, cluster, placement, state, environments, stacks)")


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = edited("version: 1", 'version: "one"')
    text = edited("    bucket:", "    bukcet: spare\n    bucket:", text)
    text = edited("network: tailnet", "network: on", text)
    problems = problems_of(tmp_path, text)
    assert len(problems) == 3
    assert [p.split(": ")[1] for p in problems] == ["version", "cluster.network", "state.s3.bukcet"]


# -- bad input: the decision's rules ------------------------------------------------------------------


def test_bumble_as_the_cluster(tmp_path: Path) -> None:
    text = edited("cluster:\n  name: honey", "cluster:\n  name: bumble")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'name: bumble')}:9: cluster.name: 'bumble' is a node role, not a cluster: "
                        "honey is the one cluster, node roles are placement inputs (placement.roles) and never a cluster"]


def test_sting_as_the_context(tmp_path: Path) -> None:
    text = edited("context: honey", "context: sting")
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith(f"{line_of(text, 'context: sting')}:12: cluster.context: 'sting' is a node role, not a cluster")


def test_custom_role_as_an_environment_cluster(tmp_path: Path) -> None:
    text = edited("  sting:\n      node_selector: {kubernetes.io/hostname: sting}",
                  "  sting:\n      node_selector: {kubernetes.io/hostname: sting}\n    wasp:\n"
                  "      node_selector: {kubernetes.io/hostname: wasp}")
    text = edited("  prod:\n    cluster: honey", "  prod:\n    cluster: wasp", text)
    assert "environments.prod.cluster: 'wasp' is a node role, not a cluster" in problems_of(tmp_path, text)[0]


def test_legacy_civo_context_as_an_environment_target(tmp_path: Path) -> None:
    text = edited("  dev:\n    cluster: honey", "  dev:\n    cluster: tinyland-civo-dev")
    assert problems_of(tmp_path, text) == [
        f"{line_of(text, 'cluster: tinyland-civo-dev')}:14: environments.dev.cluster: 'tinyland-civo-dev' is a legacy "
        "context (legacy compatibility only): never a cluster to deploy to"]


def test_legacy_context_as_the_context(tmp_path: Path) -> None:
    text = edited("context: honey", "context: tinyland-civo-dev")
    assert "cluster.context: 'tinyland-civo-dev' is a legacy context (legacy compatibility only)" in problems_of(tmp_path, text)[0]


def test_gitlab_agent_context(tmp_path: Path) -> None:
    text = edited("context: honey", "context: tinyland/infra:honey-agent")
    assert "GitLab-agent context (legacy compatibility only)" in problems_of(tmp_path, text)[0]


def test_environment_on_another_cluster(tmp_path: Path) -> None:
    text = edited("  prod:\n    cluster: honey", "  prod:\n    cluster: hive")
    assert problems_of(tmp_path, text)[0].endswith(
        "environments.prod.cluster: 'hive' is not the configured cluster: every environment targets the one cluster 'honey'")


def test_kubeconfig_named_after_a_node_role(tmp_path: Path) -> None:
    text = edited("kubeconfig-honey.yaml", "kubeconfig-bumble.yaml")
    assert "cluster.kubeconfig: the file name points at 'bumble': 'bumble' is a node role, not a cluster" in \
        problems_of(tmp_path, text)[0]


def test_stack_cycle_names_the_cycle(tmp_path: Path) -> None:
    text = edited("  - name: attic\n", "  - name: attic\n    depends_on: [runner-dashboard]\n")
    assert problems_of(tmp_path, text) == [
        f"{line_of(text, 'depends_on: [runner-dashboard]')}:17: stacks[0].depends_on: dependency cycle: "
        "attic -> runner-dashboard -> arc-runners -> attic"]


def test_self_dependency_is_a_cycle(tmp_path: Path) -> None:
    text = edited("  - name: attic\n", "  - name: attic\n    depends_on: [attic]\n")
    assert problems_of(tmp_path, text)[0].endswith("dependency cycle: attic -> attic")


def test_depends_on_unknown_stack(tmp_path: Path) -> None:
    text = edited("depends_on: [arc-runners, gitlab-runners]", "depends_on: [arc-runner, gitlab-runners]")
    assert problems_of(tmp_path, text)[0].endswith(
        "stacks[3].depends_on[0]: depends on unknown stack 'arc-runner'; did you mean 'arc-runners'?")


def test_duplicate_stack(tmp_path: Path) -> None:
    text = example_text().rstrip("\n") + "\n  - name: attic\n"
    assert problems_of(tmp_path, text)[0].endswith("stacks[4].name: stack 'attic' is listed twice")


def test_placement_names_unknown_stack_and_role(tmp_path: Path) -> None:
    text = edited("    attic: bumble", "    attik: bumbel")
    row = line_of(text, "attik")
    assert problems_of(tmp_path, text) == [
        f"{row}:5: placement.stacks.attik: unknown stack 'attik'; did you mean 'attic'?",
        f"{row}:12: placement.stacks.attik: unknown role 'bumbel'; did you mean 'bumble'?",
    ]


def test_backend_section_required(tmp_path: Path) -> None:
    text = edited("backend: s3", "backend: http")
    assert problems_of(tmp_path, text)[0].endswith(
        "state: state.backend is 'http' but state.http is not set (address, ...)")


def test_api_server_must_be_https(tmp_path: Path) -> None:
    text = edited("https://100.113.89.12:6443", "http://100.113.89.12:6443")
    assert problems_of(tmp_path, text)[0].endswith(
        "cluster.api_server: api_server must start with https:// (got 'http://100.113.89.12:6443'); "
        "the Kubernetes API is TLS only")


# -- bad input: credentials ---------------------------------------------------------------------------

HINT = "credentials come from the AWS environment/profile or kubeconfig (HTTP state: TF_HTTP_PASSWORD), never this file"


def test_secret_looking_field(tmp_path: Path) -> None:
    text = edited("    region:", "    secret_access_key: wJalrXUtnFEMI\n    region:")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'secret_access_key')}:5: state.s3: key 'secret_access_key' "
                        f"looks like a credential field: {HINT}; remove it"]
    assert "wJalrXUtnFEMI" not in " ".join(problems)


def test_password_field_in_http_section(tmp_path: Path) -> None:
    text = edited("state:\n  backend: s3", "state:\n  backend: s3\n  http:\n"
                  "    address: https://gitlab.example/state/{stack}-{env}\n    password: hunter2hunter2")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'password:')}:5: state.http: key 'password' looks like a credential field: "
                        f"{HINT}; remove it"]


def test_secret_key_inside_a_free_form_map(tmp_path: Path) -> None:
    text = edited("{kubernetes.io/hostname: bumble}", "{kubernetes.io/hostname: bumble, token: abcdef}")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'token: abcdef')}:55: placement.roles.bumble.node_selector: key 'token' "
                        f"looks like a credential field: {HINT}; remove it"]


@pytest.mark.parametrize("value,label", [
    ("glpat-AbCdEfGhIjKlMnOpQrSt", "a GitLab token"),
    ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
])
def test_secret_looking_value(tmp_path: Path, value: str, label: str) -> None:
    text = edited("full_name: Tinyland", f"full_name: {value}")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'full_name:')}:14: organization.full_name: value looks like a credential "
                        f"({label}): {HINT}"]
    assert value not in " ".join(problems)


def test_url_with_password(tmp_path: Path) -> None:
    text = edited("endpoint: http://100.113.89.12:9000", "endpoint: http://admin:hunter22@100.113.89.12:9000")
    problems = problems_of(tmp_path, text)
    assert problems == [f"{line_of(text, 'endpoint:')}:15: state.s3.endpoint: value looks like a credential "
                        f"(a URL with a password): {HINT}"]
    assert "hunter22" not in problems[0]


def test_http_user_name_holding_a_password(tmp_path: Path) -> None:
    text = edited("state:\n  backend: s3", "state:\n  backend: s3\n  http:\n"
                  "    address: https://gitlab.example/state/{stack}-{env}\n    username: deployer:Hunter2Canary")
    problems = problems_of(tmp_path, text)  # (it asserts that nothing was written)
    assert problems == [f"{line_of(text, 'username:')}:15: state.http.username: a basic-auth user name cannot contain "
                        "':' (what follows it would be a password, and the password comes from TF_HTTP_PASSWORD, "
                        "never this file); keep the user name only"]
    assert "Hunter2Canary" not in " ".join(problems)


def test_model_refuses_secrets_built_in_code() -> None:
    data = load_config(EXAMPLE).model_dump()
    data["organization"]["full_name"] = "glpat-AbCdEfGhIjKlMnOpQrSt"
    with pytest.raises(ValidationError, match="looks like a credential"):
        OrgConfig.model_validate(data)


def test_kubeconfig_named_after_a_legacy_context(tmp_path: Path) -> None:
    text = edited("kubeconfig-honey.yaml", "kubeconfig-tinyland-civo-dev.yaml")
    assert "cluster.kubeconfig: the file name points at 'tinyland-civo-dev': 'tinyland-civo-dev' is a legacy " \
           "context (legacy compatibility only)" in problems_of(tmp_path, text)[0]


def test_tolerations_follow_kubernetes_rules(tmp_path: Path) -> None:
    good = edited("      node_selector: {kubernetes.io/hostname: sting}",
                  "      node_selector: {kubernetes.io/hostname: sting}\n"
                  "      tolerations:\n        - {key: dedicated, value: ci, effect: NoSchedule}")
    assert load_config_text(good).placement.roles["sting"].tolerations[0].value == "ci"
    bad = good.replace("{key: dedicated, value: ci, effect: NoSchedule}", "{operator: Exists, value: ci}")
    assert problems_of(tmp_path, bad) == [
        f"{line_of(bad, 'operator: Exists')}:11: placement.roles.sting.tolerations[0]: "
        "a toleration with operator Exists must not set value"]


@pytest.mark.parametrize("address,message", [
    ("https://gitlab.example/api/v4/projects/1/terraform/state/fixed",
     "state.http.address: address must contain {stack} and {env} (missing {stack}): without them stacks or "
     "environments would share one state"),
    ("https://gitlab.example/api/v4/projects/1/terraform/state/{stack}",
     "state.http.address: address must contain {stack} and {env} (missing {env}): without them stacks or "
     "environments would share one state"),
    ("http://bad host/state/{stack}-{env}",
     "state.http.address: address must not contain spaces or control characters (got "
     "'http://bad host/state/{stack}-{env}')"),
    ("https://gitlab.example/state/{stack}-{env}?private_token=hunter2supersecretvalue",
     "state.http.address: address must not have a query or fragment (got "
     "'https://gitlab.example/state/{stack}-{env}?…'); remove it"),
    ("https://gitlab.example/state/{stack}-{env}#pw=hunter2supersecretvalue",
     "state.http.address: address must not have a query or fragment (got "
     "'https://gitlab.example/state/{stack}-{env}#…'); remove it"),
    ("http://bad host/state/{stack}-{env}?private_token=hunter2supersecretvalue",
     "state.http.address: address must not contain spaces or control characters (got "
     "'http://bad host/state/{stack}-{env}?…')"),
])
def test_an_http_address_that_would_share_or_break_a_state_is_rejected(tmp_path: Path, address: str,
                                                                         message: str) -> None:
    text = edited("state:\n  backend: s3", f"state:\n  backend: s3\n  http:\n    address: {address}")
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1 and problems[0].endswith(message), problems
    assert "hunter2supersecretvalue" not in problems[0]


def test_an_s3_endpoint_with_a_space_is_rejected_before_any_tool_uses_it(tmp_path: Path) -> None:
    text = example_text()
    endpoint = next(line for line in text.splitlines() if line.strip().startswith("endpoint:"))
    bad = text.replace(endpoint, endpoint.split("endpoint:")[0] + "endpoint: 'http://bad host:99'")
    problems = problems_of(tmp_path, bad)
    assert len(problems) == 1 and "endpoint must not contain spaces or control characters" in problems[0], problems


def test_a_public_api_server_is_rejected(tmp_path: Path) -> None:
    text = example_text()
    server = next(line for line in text.splitlines() if line.strip().startswith("api_server:"))
    bad = text.replace(server, server.split("api_server:")[0] + "api_server: https://8.8.8.8:6443")
    problems = problems_of(tmp_path, bad)
    assert any("cluster.api_server: 8.8.8.8 is a public address: honey's API is private" in p for p in problems), \
        problems


def _with_endpoint(endpoint: str) -> str:
    text = example_text()
    line = next(line for line in text.splitlines() if line.strip().startswith("endpoint:"))
    return text.replace(line, line.split("endpoint:")[0] + f"endpoint: {endpoint}")


def test_a_public_s3_endpoint_is_rejected_like_a_public_api_server(tmp_path: Path) -> None:
    bad = _with_endpoint("http://8.8.8.8:9000")
    assert problems_of(tmp_path, bad) == [
        f"{line_of(bad, 'endpoint:')}:15: state.s3.endpoint: 8.8.8.8 is a public address: the state store (RustFS on "
        "honey) is private (tailnet) and never reached over the internet; use its tailnet or LAN address"]


@pytest.mark.parametrize("endpoint", ["https://rustfs.honey.ts.net:9000", "http://192.168.1.20:9000",
                                      "http://127.0.0.1:9000", "http://[fd7a:115c:a1e0::1]:9000"])
def test_a_tailnet_private_loopback_or_named_s3_endpoint_is_accepted(endpoint: str) -> None:
    # Names are not resolved by the file check (as for api_server); `gfwizard doctor` and the backend
    # check reach the endpoint itself.
    assert load_config_text(_with_endpoint(endpoint)).state.s3.endpoint == endpoint  # type: ignore[union-attr]


@pytest.mark.parametrize("region", ["http://127.0.0.1:37531", "US-EAST-1", "us east 1", "us_east_1", "-us-east-1", ""])
def test_a_region_that_is_not_a_region_name_is_rejected(tmp_path: Path, region: str) -> None:
    bad = edited("region: us-east-1", f"region: {region!r}".replace("''", '""'))
    assert problems_of(tmp_path, bad) == [
        f"{line_of(bad, 'region:')}:13: state.s3.region: region {region!r} must be a region name of lowercase "
        "letters, digits and '-' (1-63 characters, e.g. us-east-1), not a URL"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "garage", "local1"])
def test_region_names_are_accepted(region: str) -> None:
    assert load_config_text(edited("region: us-east-1", f"region: {region}")).state.s3.region == region  # type: ignore[union-attr]


COMMENT_HINT = f"comments are committed with the file; {HINT}; remove it"


def test_a_secret_in_a_comment_is_a_located_problem_that_never_shows_it(tmp_path: Path) -> None:
    text = edited("    region: us-east-1", "    region: us-east-1  # AKIAIOSFODNN7EXAMPLE "
                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    text = edited("# Deploy order follows depends_on.", "# Deploy order follows depends_on.\n\n"
                  "  # old: glpat-AbCdEfGhIjKlMnOpQrSt", text)
    problems = problems_of(tmp_path, text)
    assert problems == [
        f"{line_of(text, 'AKIA')}:24: comment looks like a credential (an AWS access key id): {COMMENT_HINT}",
        f"{line_of(text, 'glpat-')}:3: comment looks like a credential (a GitLab token): {COMMENT_HINT}"]
    assert not any(s in " ".join(problems) for s in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "glpat-"))


def test_comments_without_secrets_and_hashes_inside_values_are_not_comment_problems() -> None:
    text = edited("  full_name: Tinyland", '  full_name: "Tinyland # Basic settings"  # Basic settings: no credentials here')
    assert load_config_text(text).organization.full_name == "Tinyland # Basic settings"


# -- long values and pasted AWS secret access keys ---------------------------------------------------------

LONG = "a" * 150 + "b" * 150  # 300 characters: its start and its end differ, so an elision shows


@pytest.mark.parametrize(("old", "new", "value"), [
    ("name: tinyland", f"name: {LONG}", LONG),
    ("region: us-east-1", f"region: {LONG.upper()}", LONG.upper()),
    ("key_prefix: gloriousflywheel", f"key_prefix: {LONG} x", f"{LONG} x"),
    ("use_lockfile: true", f"use_lockfile: {LONG}", LONG),
    ("use_lockfile: true", f"use_lockfile: true\n    {LONG}: 1", LONG),  # an unknown key
], ids=["organization name", "region", "key_prefix", "boolean", "unknown key"])
def test_a_long_value_is_quoted_in_part_with_its_length(tmp_path: Path, old: str, new: str, value: str) -> None:
    """A pasted 300-character value: the message quotes its start and end (at most 60 characters) and says
    how long it is, instead of filling several lines with it."""
    problems = problems_of(tmp_path, edited(old, new))  # (it asserts that nothing was written)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert value[:29] in problem and value[-29:] in problem, problem
    assert value not in problem and f"({len(value)} characters)" in problem, problem
    assert len(problem) < 400, problem


def test_a_long_answer_is_refused_as_typed_with_a_short_message() -> None:
    from gfwizard.answers import ConfigAnswers, validate_answer

    for key in ("org_name", "s3_region", "s3_key_prefix", "s3_bucket", "environments", "confirm_environments"):
        value = LONG + " x" if key == "s3_key_prefix" else LONG
        error = validate_answer(key, value, ConfigAnswers())
        assert error is not None and value not in error and len(error) < 300, (key, error)
        assert value[:30] in error and f"({len(value)} characters)" in error, (key, error)


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documentation example, 40 characters


@pytest.mark.parametrize(("old", "new"), [
    ("region: us-east-1", f"region: {AWS_SECRET}"),
    ("region: us-east-1", f"region: us-east-1 {AWS_SECRET}"),
    ("key_prefix: gloriousflywheel", f"key_prefix: {AWS_SECRET}"),
    ("name: tinyland", f"name: {AWS_SECRET}"),
    ("full_name: Tinyland", f"full_name: Tinyland {AWS_SECRET}"),
    ("use_lockfile: true", f"use_lockfile: {AWS_SECRET}"),
], ids=["region", "appended to region", "key_prefix", "organization name", "full name", "boolean"])
def test_a_pasted_aws_secret_access_key_is_refused_and_never_shown(tmp_path: Path, old: str, new: str) -> None:
    text = edited(old, new)
    problems = problems_of(tmp_path, text)  # (it asserts that nothing was written)
    field = {"region": "state.s3.region", "key_prefix": "state.s3.key_prefix", "name": "organization.name",
             "full_name": "organization.full_name", "use_lockfile": "state.s3.use_lockfile"}[old.split(":")[0]]
    assert len(problems) == 1, problems  # the field's own rule would have quoted the value: only this is said
    assert problems[0].startswith(f"{line_of(text, AWS_SECRET)}:"), problems
    assert (f": {field}: value looks like an AWS secret access key: credentials never go in organization.yaml; "
            "remove it; if the file was shared") in problems[0], problems
    assert "rotate the key" in problems[0] and "AWS environment/profile" in problems[0]
    assert AWS_SECRET not in problems[0] and "bPxRfiCY" not in problems[0]


def test_a_pasted_aws_secret_access_key_is_refused_as_typed() -> None:
    from gfwizard.answers import ConfigAnswers, validate_answer

    for key in ("org_name", "org_full_name", "s3_region", "s3_key_prefix", "s3_bucket", "http_username"):
        error = validate_answer(key, AWS_SECRET, ConfigAnswers()) or ""
        assert error.startswith("value looks like an AWS secret access key"), (key, error)
        assert AWS_SECRET not in error


@pytest.mark.parametrize("value", [
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a sha1 (lowercase hex, 40 characters)
    "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",  # the same in capitals: no lower-case letter
    "gloriousflywheel/environments/development",  # a 41-character path of lower-case words
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE",  # 39 characters: too short for the shape
])
def test_a_hash_or_a_path_is_not_taken_for_an_aws_secret_access_key(value: str) -> None:
    from gfwizard.orgconfig_rules import secret_value_reason

    assert secret_value_reason(value) is None
    cfg = load_config_text(edited("key_prefix: gloriousflywheel", f"key_prefix: {value}"))
    assert cfg.state.s3 is not None and cfg.state.s3.key_prefix == value
