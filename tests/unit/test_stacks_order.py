"""Stack order and selection from ``depends_on``; bad graphs are input errors before any run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gfwizard.errors import InputError
from gfwizard.orgconfig import OrgConfig, StackSpec
from gfwizard.stacks import DeployEngine, stack_order
from tests.helpers import tree_digest


def config(stacks: list[dict[str, Any]]) -> OrgConfig:
    return OrgConfig.model_validate({
        "version": 1, "organization": {"name": "tinyland", "full_name": "Tinyland"},
        "cluster": {"name": "honey", "context": "honey", "api_server": "https://127.0.0.1:6443",
                    "network": "loopback"},
        "state": {"backend": "s3", "s3": {"endpoint": "http://127.0.0.1:9", "bucket": "state-bucket"}},
        "environments": {"dev": {"cluster": "honey", "tfvars": "dev.tfvars"}},
        "stacks": stacks,
    })


DESIGN = [{"name": "attic"}, {"name": "arc-runners", "depends_on": ["attic"]},
          {"name": "gitlab-runners", "depends_on": ["attic"]},
          {"name": "runner-dashboard", "depends_on": ["arc-runners", "gitlab-runners"]}]


def unvalidated(cfg: OrgConfig, stacks: list[tuple[str, list[str]]]) -> OrgConfig:
    """A config whose stacks bypass the model's own checks (as a hand-built or migrated one could)."""
    specs = [StackSpec.model_construct(name=n, depends_on=d) for n, d in stacks]
    return cfg.model_copy(update={"stacks": specs})


def test_design_order() -> None:
    assert stack_order(config(DESIGN)) == ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]


def test_file_order_does_not_matter() -> None:
    assert stack_order(config(list(reversed(DESIGN)))) == [
        "attic", "gitlab-runners", "arc-runners", "runner-dashboard"]


def test_selection_keeps_order_and_includes_nothing_else() -> None:
    cfg = config(DESIGN)
    assert stack_order(cfg, ["runner-dashboard", "attic"]) == ["attic", "runner-dashboard"]


def test_unknown_selected_stack() -> None:
    with pytest.raises(InputError, match=r"unknown stack 'atic' \(known: attic, arc-runners"):
        stack_order(config(DESIGN), ["atic"])


def test_cycle_is_named() -> None:
    cfg = unvalidated(config(DESIGN), [("a", ["c"]), ("b", ["a"]), ("c", ["b"])])
    with pytest.raises(InputError, match=r"stack dependencies form a cycle: a -> c -> b -> a") as info:
        stack_order(cfg)
    assert "depends_on" in info.value.remedy


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(InputError, match="cycle: a -> a"):
        stack_order(unvalidated(config(DESIGN), [("a", ["a"])]))


def test_unknown_dependency() -> None:
    with pytest.raises(InputError, match="stack 'b' depends on unknown stack 'zz'"):
        stack_order(unvalidated(config(DESIGN), [("a", []), ("b", ["zz"])]))


def test_engine_refuses_a_cycle_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GFW_TOFU_BIN points at nothing: the engine must fail on the graph before it looks for a binary.
    monkeypatch.setenv("GFW_TOFU_BIN", str(tmp_path / "no-such-binary"))
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    before = tree_digest(tmp_path)
    cfg = unvalidated(config(DESIGN), [("attic", ["runner-dashboard"]), ("runner-dashboard", ["attic"])])
    with pytest.raises(InputError, match="cycle"):
        DeployEngine(cfg, "dev", plan_only=True)
    assert tree_digest(tmp_path) == before


def test_engine_input_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_TOFU_BIN", str(tmp_path / "no-such-binary"))
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    cfg = config(DESIGN)
    with pytest.raises(InputError, match=r"unknown environment 'qa' \(known: dev\)"):
        DeployEngine(cfg, "qa", plan_only=True)
    with pytest.raises(InputError, match="refusing to apply without a confirmation"):
        DeployEngine(cfg, "dev")
    with pytest.raises(InputError, match="concurrency must be at least 1"):
        DeployEngine(cfg, "dev", plan_only=True, concurrency=0)
    assert not (tmp_path / "ws").exists()


def test_engine_refuses_a_selection_as_gfwizard_deploy_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wizard's engine and ``gfwizard deploy`` share one selection check: the same refusal, naming a
    command that works, before a binary is looked for or anything is written."""
    monkeypatch.setenv("GFW_TOFU_BIN", str(tmp_path / "no-such-binary"))
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    before = tree_digest(tmp_path)
    cfg = config(DESIGN)
    with pytest.raises(InputError) as typo:
        DeployEngine(cfg, "dev", stacks=["arc-runners", "atic"], plan_only=True)
    assert typo.value.message == "unknown stack 'atic' (known: attic, arc-runners, gitlab-runners, runner-dashboard)"
    assert typo.value.remedy == ("did you mean 'attic'? pass --stack with one of the stacks in organization.yaml, "
                                 "e.g. `gfwizard deploy --env dev --stack arc-runners --stack attic --plan-only`")
    with pytest.raises(InputError) as empty:
        DeployEngine(cfg, "", assume_yes=True)
    assert empty.value.message == "--env is empty: an environment name is needed (known: dev); nothing was run"
    assert empty.value.remedy == "pass one of dev, e.g. `gfwizard deploy --env dev --yes`"
    assert tree_digest(tmp_path) == before


def test_missing_stack_directory_or_tfvars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_TOFU_BIN", str(tmp_path / "no-such-binary"))
    monkeypatch.setenv("GFW_REPO", str(tmp_path / "repo"))
    cfg = config([{"name": "attic"}])
    with pytest.raises(InputError, match=r"stack 'attic' has no rehearsal twin: .*tofu/rehearsal/attic does not exist"):
        DeployEngine(cfg, "dev", plan_only=True)
    (tmp_path / "repo" / "tofu" / "rehearsal" / "attic").mkdir(parents=True)
    with pytest.raises(InputError, match=r"attic/dev.tfvars does not exist \(environments.dev.tfvars\)"):
        DeployEngine(cfg, "dev", plan_only=True)
