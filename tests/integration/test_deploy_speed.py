"""What makes a deploy fast, and that each shortcut is safe: init is skipped only for a data dir
initialised with exactly the same inputs; independent plans overlap; a CLI configuration variable
naming a missing file is handled once instead of warned about in every run."""

from __future__ import annotations

import json
import stat
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gfwizard.orgconfig import load_config, save_config
from tests.integration.test_deploy_support import ORDER, deploy, events, journal, objects, of, repo_copy

pytestmark = pytest.mark.integration


def transcripts(result: dict[str, Any]) -> dict[str, str]:
    """stack -> the text of its transcript in this run."""
    return {s["stack"]: Path(s["transcript"]).read_text() for s in result["stacks"] if s.get("transcript")}


def plan_attic(*extra: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    proc = deploy("--env", "dev", "--stack", "attic", "--plan-only", "--json", *extra, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = events(proc)[-1]
    return result, transcripts(result)["attic"]


def test_init_is_skipped_only_for_a_data_dir_initialised_with_the_same_inputs(rehearsal_workspace: Any,
                                                                              iac_bin: str) -> None:
    ws = rehearsal_workspace
    _, first = plan_attic()
    assert "$ terraform init" in first
    data_dir = ws.dir / "work" / "dev" / "attic" / ".terraform"
    stamp = data_dir / "gfwizard-init.json"
    assert stamp.is_file()

    result, again = plan_attic()
    assert "$ terraform init" not in again and "$ terraform plan" in again
    assert result["stacks"][0]["outcome"] == "planned"

    # Another backend file (a new state key): init again, and the plan is made against the new state.
    cfg = load_config(ws.config_path)
    data = cfg.model_dump()
    data["state"]["s3"]["key_prefix"] = "elsewhere"
    save_config(type(cfg).model_validate(data), ws.config_path)
    proc = deploy("--env", "dev", "--stack", "attic", "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    moved = events(proc)
    assert "$ terraform init" in transcripts(moved[-1])["attic"]
    assert [s["outcome"] for s in moved[-1]["stacks"]] == ["applied"]
    assert "elsewhere/dev/attic.tfstate" in objects(ws)
    assert not any(k.startswith("gloriousflywheel/") for k in objects(ws)), "state went to the old key"

    # Any doubt means init: no stamp, or a data dir without its backend record.
    stamp.unlink()
    assert "$ terraform init" in plan_attic()[1]
    (data_dir / "terraform.tfstate").unlink()
    assert "$ terraform init" in plan_attic()[1]
    assert "$ terraform init" not in plan_attic()[1]


def test_init_runs_again_when_the_code_or_the_binary_changes(rehearsal_workspace: Any, iac_bin: str,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_copy(tmp_path)
    monkeypatch.setenv("GFW_REPO", str(repo))
    assert "$ terraform init" in plan_attic()[1]
    assert "$ terraform init" not in plan_attic()[1]
    lock = repo / "tofu" / "rehearsal" / "attic" / ".terraform.lock.hcl"
    lock.write_text("# provider locks changed\n")
    assert "$ terraform init" in plan_attic()[1]
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(f"#!/bin/sh\nexec {iac_bin} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    assert "$ terraform init" in plan_attic(env={"GFW_TOFU_BIN": str(wrapper)})[1]


def test_a_missing_cli_config_file_is_said_once_and_no_run_warns(rehearsal_workspace: Any, iac_bin: str,
                                                                 tmp_path: Path) -> None:
    missing = tmp_path / "no-such.tfrc"
    proc = deploy("--env", "dev", "--plan-only", "--json", env={"TF_CLI_CONFIG_FILE": str(missing)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    notes = of(evs, "run_note")
    assert len(notes) == 1 and f"TF_CLI_CONFIG_FILE={missing}" in notes[0]["message"]
    assert evs.index(notes[0]) < evs.index(of(evs, "stack_planning")[0])
    texts = transcripts(evs[-1])
    assert sorted(texts) == sorted(ORDER)
    assert all("CLI configuration" not in text for text in texts.values())
    assert not missing.exists(), "the operator's path was written"

    mine = tmp_path / "operator.tfrc"
    mine.write_text("disable_checkpoint = true\n")
    proc = deploy("--env", "dev", "--plan-only", "--json", "--stack", "attic", env={"TF_CLI_CONFIG_FILE": str(mine)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert not of(evs, "run_note")
    assert "CLI configuration" not in transcripts(evs[-1])["attic"]
    assert mine.read_text() == "disable_checkpoint = true\n"

    human = deploy("--env", "dev", "--plan-only", env={"TF_CLI_CONFIG_FILE": str(missing)})
    assert human.returncode == 0 and human.stderr.count("note: TF_CLI_CONFIG_FILE=") == 1


SLOW_PLAN = textwrap.dedent('''\
    #!{python}
    """terraform, but every plan of attic takes {delay}s longer; logs when each plan starts and ends."""
    import os, subprocess, sys, time

    def note(text):
        with open({log!r}, "a") as fh:
            fh.write(f"{{time.time():.3f}} {{os.path.basename(os.getcwd())}} {{text}}\\n")

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "plan":
        note("plan-start")
        if os.path.basename(os.getcwd()) == "attic":
            time.sleep({delay})
    code = subprocess.call([{real!r}, *sys.argv[1:]])
    if command == "plan":
        note("plan-end")
    sys.exit(code)
''')


def test_independent_plans_overlap_and_applies_stay_in_order(rehearsal_workspace: Any, iac_bin: str,
                                                             tmp_path: Path) -> None:
    log = tmp_path / "plans.log"
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(SLOW_PLAN.format(python=sys.executable, log=str(log), real=iac_bin, delay=2))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    proc = deploy("--env", "dev", "--yes", "--json", "--concurrency", "4", env={"GFW_TOFU_BIN": str(wrapper)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    marks = {(stack, what): float(at) for at, stack, what in (line.split() for line in log.read_text().splitlines())}
    # runner-dashboard depends (through arc-runners and gitlab-runners) on attic, and yet its plan
    # started while attic's was still running: nothing reads another stack's state.
    assert marks[("runner-dashboard", "plan-start")] < marks[("attic", "plan-end")]
    assert marks[("runner-dashboard", "plan-end")] < marks[("attic", "plan-end")]
    assert [e["stack"] for e in of(evs, "apply_started")] == ORDER
    assert [e["stack"] for e in of(evs, "stack_applied")] == ORDER
    first_apply = evs.index(of(evs, "apply_started")[0])
    assert evs.index(of(evs, "gate_checked")[0]) < first_apply
    assert all(evs.index(e) < first_apply for e in of(evs, "stack_planned") if e["stack"] == "attic")


def test_a_dependency_that_fails_to_plan_stops_the_rollout_before_any_apply(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    repo = repo_copy(tmp_path)
    monkeypatch.setenv("GFW_REPO", str(repo))
    tfvars = repo / "tofu" / "rehearsal" / "attic" / "dev.tfvars"
    tfvars.write_text(tfvars.read_text() + "apply_delay_seconds = -1\n")  # fails the variable's validation
    before = objects(ws)
    proc = deploy("--env", "dev", "--yes", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    evs = events(proc)
    result = evs[-1]
    assert result["outcome"] == "failed"
    outcomes = {s["stack"]: s["outcome"] for s in result["stacks"]}
    assert outcomes["attic"] == "failed" and all(outcomes[s] == "not-run" for s in ORDER[1:]), outcomes
    failure = of(evs, "stack_failed")[0]
    assert failure["stack"] == "attic" and failure["phase"] == "plan"
    assert not of(evs, "apply_started") and not of(evs, "stack_applied")
    assert objects(ws) == before
    assert not [e for e in journal(ws) if e["action"] == "apply"]
    assert json.dumps(evs).count("apply_delay_seconds") >= 1  # the diagnostic names the variable
