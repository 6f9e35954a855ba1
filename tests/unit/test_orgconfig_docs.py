"""Generated files stay in step with the model, and the example is honey-shaped and valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gfwizard.answers import ConfigAnswers, build_config
from gfwizard.orgconfig import OrgConfig, load_config, schema_json
from gfwizard.orgconfig_docs import REGENERATE_COMMAND, main, reference_markdown, stale_files
from tests.helpers import REPO, tree_digest
from tests.unit.test_orgconfig import EXAMPLE


def test_committed_schema_is_current() -> None:
    committed = (REPO / "config" / "organization.schema.json").read_text(encoding="utf-8")
    assert committed == schema_json(), f"config/organization.schema.json is stale: run `{REGENERATE_COMMAND}`"


def test_committed_reference_is_current() -> None:
    committed = (REPO / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), f"docs/config-reference.md is stale: run `{REGENERATE_COMMAND}`"


def test_staleness_is_detected_and_fixed(tmp_path: Path) -> None:
    assert len(stale_files(tmp_path)) == 2
    assert main(["--check", str(tmp_path)]) == 1
    assert main([str(tmp_path)]) == 0
    assert stale_files(tmp_path) == [] and main(["--check", str(tmp_path)]) == 0
    schema = tmp_path / "config" / "organization.schema.json"
    schema.write_text(schema.read_text().replace("Name of the cluster", "Name of a cluster"))
    assert stale_files(tmp_path) == [schema]
    before = tree_digest(tmp_path)
    assert main(["--check", str(tmp_path)]) == 1
    assert tree_digest(tmp_path) == before


def test_schema_describes_every_field_and_forbids_unknown_keys() -> None:
    schema = json.loads(schema_json())
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(OrgConfig.model_fields)
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name
        for field, spec in definition["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no docstring"
    assert schema["$defs"]["ClusterSpec"]["properties"]["api_server"]["pattern"] == "^https://"


def test_reference_has_a_row_per_field() -> None:
    text = reference_markdown()
    for model in ("ClusterSpec", "S3Spec", "Environment", "StackSpec"):
        for field in getattr(__import__("gfwizard.orgconfig", fromlist=[model]), model).model_fields:
            assert f"| `{field}` |" in text
    assert "| `use_lockfile` | boolean | `true` |" in text
    assert "| `backend` | `\"s3\"` \\| `\"http\"` | required |" in text


def test_example_is_honey_shaped() -> None:
    text = EXAMPLE.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=organization.schema.json"
    cfg = load_config(EXAMPLE)
    assert (cfg.cluster.name, cfg.cluster.context, cfg.cluster.network) == ("honey", "honey", "tailnet")
    assert cfg.cluster.kubeconfig == "~/.kube/kubeconfig-honey.yaml"
    assert cfg.cluster.api_server == "https://100.113.89.12:6443"
    assert cfg.cluster.fingerprint is None
    assert cfg.placement.roles["bumble"].node_selector == {"kubernetes.io/hostname": "bumble"}
    assert cfg.placement.roles["sting"].node_selector == {"kubernetes.io/hostname": "sting"}
    assert cfg.state.backend == "s3" and cfg.state.s3 is not None
    assert {n: e.require_confirmation for n, e in cfg.environments.items()} == {"dev": False, "prod": True}
    assert {s.name: s.depends_on for s in cfg.stacks} == {
        "attic": [], "arc-runners": ["attic"], "gitlab-runners": ["attic"],
        "runner-dashboard": ["arc-runners", "gitlab-runners"]}


def test_default_answers_build_the_example() -> None:
    assert build_config(ConfigAnswers()) == load_config(EXAMPLE)


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["a", "b"]])
def test_an_option_or_a_second_path_is_a_usage_error_that_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert "usage: python -m gfwizard.orgconfig_docs [--check] [REPO]" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "an option was taken for a repo path and written into"


def test_field_docs_are_the_strings_under_each_field() -> None:
    from gfwizard.orgconfig import ClusterSpec, S3Spec
    from gfwizard.orgconfig_fielddocs import field_docs

    docs = field_docs()
    assert docs["OrgConfig"]["version"] == "Format version of this file; must be 1."
    for model in (OrgConfig, ClusterSpec, S3Spec):
        assert set(docs[model.__name__]) == set(model.model_fields), model.__name__
    assert "always_written" not in docs["OrgConfig"]  # a ClassVar with no string under it
    # Loading a config no longer extracts them: the models carry no description of their own.
    assert OrgConfig.model_fields["version"].description is None
