"""``gfwizard deploy`` with real terraform against the rehearsal S3 and API: full deploy, plan-only,
no-op re-deploy, resume after a failure, refusals and input errors."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, tree_digest
from tests.integration.test_deploy_support import (
    ORDER, api_get, deploy, events, journal, make_wrapper, non_get_api_requests, objects, of, repo_copy, state,
    state_keys, wrapper_log,
)

pytestmark = pytest.mark.integration


def failing_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack: str) -> tuple[Path, str]:
    """A repo copy (``GFW_REPO``) whose ``stack`` fails to apply in dev; returns its dev.tfvars and the
    good text to write back."""
    repo = repo_copy(tmp_path)
    monkeypatch.setenv("GFW_REPO", str(repo))
    tfvars = repo / "tofu" / "rehearsal" / stack / "dev.tfvars"
    good = tfvars.read_text()
    tfvars.write_text(good + "inject_failure = true\n")
    return tfvars, good


def edit_config(ws: Any, old: str, new: str) -> None:
    """Replace the first ``old`` in the workspace's organization.yaml with ``new`` (which must be there)."""
    text = ws.config_path.read_text()
    edited = text.replace(old, new, 1)
    assert edited != text, f"{old!r} is not in {ws.config_path}"
    ws.config_path.write_text(edited)


def refused(ws: Any, tmp_path: Path, iac_bin: str, *args: str,
            env: dict[str, str] | None = None) -> "subprocess.CompletedProcess[str]":
    """``gfwizard deploy ARGS`` through a logging wrapper binary, asserting an input error before anything
    ran: exit 2, no traceback, no terraform process, the workspace and the bucket as they were."""
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    before, bucket = tree_digest(ws.dir, ignore=("api-requests.log",)), objects(ws)
    ws.api.request_log.clear()
    proc = deploy(*args, env={"GFW_TOFU_BIN": str(wrapper), **(env or {})})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert wrapper_log(log) == [], "a terraform process was spawned"
    assert tree_digest(ws.dir, ignore=("api-requests.log",)) == before and objects(ws) == bucket
    return proc


def test_full_dev_deploy_of_the_four_twins(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    checkout = tree_digest(REPO / "tofu")
    proc = deploy("--env", "dev", "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    result = evs[-1]
    assert result["event"] == "result" and result["outcome"] == "applied" and result["exit_code"] == 0
    assert [(s["stack"], s["outcome"]) for s in result["stacks"]] == [(s, "applied") for s in ORDER]
    assert [e["stack"] for e in of(evs, "stack_applied")] == ORDER
    assert [e["stack"] for e in of(evs, "apply_started")] == ORDER
    gates = of(evs, "gate_checked")
    assert len(gates) == 1 and gates[0]["ok"]
    assert {c["name"] for c in gates[0]["checks"]} >= {"server", "fingerprint"}
    # Gates ran before the first apply.
    assert evs.index(gates[0]) < evs.index(of(evs, "apply_started")[0])
    planned = {e["stack"]: e["summary"] for e in of(evs, "stack_planned")}
    assert planned["arc-runners"]["add"] == 3 and 'terraform_data.namespace["arc-runners-dev"]' in \
        planned["arc-runners"]["creates"]

    assert state_keys(ws) == set(ORDER)
    assert not [k for k in objects(ws) if k.endswith(".tflock")], "a lock was left behind"
    attic = state(ws, "attic")
    assert {r["name"] for r in attic["resources"]} == {"namespace", "workload"}

    status, deployment = api_get(ws.api, "/apis/apps/v1/namespaces/attic-dev/deployments/attic")
    assert status == 200
    assert deployment["spec"]["template"]["spec"]["nodeSelector"] == {"gloriousflywheel.io/role": "bumble"}
    status, _ = api_get(ws.api, "/api/v1/namespaces/arc-runners-dev")
    assert status == 200
    assert [e["stack"] for e in of(evs, "stack_materialised")] == ORDER

    lines = journal(ws)
    assert [(e["stack"], e["outcome"]) for e in lines if e["action"] == "apply" and e["outcome"] != "started"] == \
        [(s, "applied") for s in ORDER]
    assert all(e["plan_hash"].startswith("sha256:") and e["inputs_hash"] for e in lines)
    for stack in ORDER:
        transcript = Path(next(s["transcript"] for s in result["stacks"] if s["stack"] == stack))
        assert transcript.is_file() and "$ terraform apply" in transcript.read_text()
    assert not list(ws.dir.rglob("*.tfplan")), "saved plans outlive the run"
    assert tree_digest(REPO / "tofu") == checkout, "the deploy wrote into the checkout"


def test_plan_only_changes_nothing_and_a_redeploy_without_changes_applies_nothing(
        rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    assert deploy("--env", "dev", "--yes").returncode == 0
    before = objects(ws)
    ws.api.request_log.clear()

    # A pending change (the slow-apply knob adds a resource): plan-only shows it and changes nothing.
    proc = deploy("--env", "dev", "--plan-only", "--json", env={"TF_VAR_apply_delay_seconds": "1"})
    assert proc.returncode == 0, proc.stderr
    evs = events(proc)
    assert evs[-1]["outcome"] == "planned"
    assert all(e["summary"]["add"] == 1 for e in of(evs, "stack_planned"))
    # The gates run for a preview too (a plan of the wrong cluster is no preview); they pass here.
    assert not of(evs, "apply_started") and [e["ok"] for e in of(evs, "gate_checked")] == [True]
    assert objects(ws) == before
    assert non_get_api_requests(ws.api) == []
    run_id = evs[0]["run_id"]
    assert [(e["stack"], e["action"], e["outcome"]) for e in journal(ws) if e["run_id"] == run_id] and all(
        e["action"] == "plan" and e["outcome"] == "planned" for e in journal(ws) if e["run_id"] == run_id)

    proc = deploy("--env", "dev", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    evs = events(proc)
    for e in of(evs, "stack_planned"):
        summary = e["summary"]
        assert (summary["add"], summary["change"], summary["destroy"], summary["replace"]) == (0, 0, 0, 0)
    assert not of(evs, "apply_started") and not of(evs, "stack_applied")
    assert [e["stack"] for e in of(evs, "stack_no_changes")] == ORDER
    assert [s["outcome"] for s in evs[-1]["stacks"]] == ["no-changes"] * 4
    # Nothing to apply is still gated: "deployed" is only said of the pinned cluster.
    gates = of(evs, "gate_checked")
    assert len(gates) == 1 and gates[0]["ok"] and evs.index(gates[0]) < evs.index(of(evs, "stack_no_changes")[0])
    assert objects(ws) == before

    # The human summary says so too.
    proc = deploy("--env", "dev", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "result: applied, nothing changed (run " in proc.stdout
    assert objects(ws) == before

    # Another cluster answering (the pinned kube-system UID differs): no "nothing changed" success, the
    # gate fails, and nothing is reported deployed, materialised or journaled as applied.
    text = ws.config_path.read_text()
    ws.config_path.write_text(text.replace(ws.api.kube_system_uid, "00000000-0000-4000-8000-000000000000"))
    entries = len(journal(ws))
    ws.api.request_log.clear()
    proc = deploy("--env", "dev", "--yes", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[-1]["outcome"] == "gate-failed" and not of(evs, "stack_no_changes")
    assert not of(evs, "gate_checked")[0]["ok"]
    assert [(e["stack"], e["outcome"]) for e in journal(ws)[entries:] if e["action"] == "apply"] == [
        ("attic", "gate-failed")]
    assert objects(ws) == before and non_get_api_requests(ws.api) == []


def test_resume_after_a_failure_in_stack_three_starts_at_stack_three(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    tfvars, good = failing_stack(tmp_path, monkeypatch, "gitlab-runners")

    proc = deploy("--env", "dev", "--yes", "--json")
    assert proc.returncode == 1, proc.stderr
    evs = events(proc)
    first_run = evs[0]["run_id"]
    assert [(s["stack"], s["outcome"]) for s in evs[-1]["stacks"]] == [
        ("attic", "applied"), ("arc-runners", "applied"), ("gitlab-runners", "failed"),
        ("runner-dashboard", "not-run")]
    failure = of(evs, "stack_failed")[0]
    assert failure["stack"] == "gitlab-runners" and failure["phase"] == "apply"
    assert any("injected apply failure" in d for d in failure["diagnostics"])
    assert "--resume" in failure["remedy"]
    assert state_keys(ws) == {"attic", "arc-runners", "gitlab-runners"}
    applied_hashes = {e["stack"]: e["plan_hash"] for e in journal(ws) if e["outcome"] == "applied"}

    tfvars.write_text(good)
    proc = deploy("--env", "dev", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[0]["resumes"] == first_run and evs[-1]["resumes"] == first_run
    skipped = of(evs, "stack_skipped")
    assert [(e["stack"], e["plan_hash"]) for e in skipped] == [
        ("attic", applied_hashes["attic"]), ("arc-runners", applied_hashes["arc-runners"])]
    assert [e["stack"] for e in of(evs, "stack_planning")] == ["gitlab-runners", "runner-dashboard"]
    assert [e["stack"] for e in of(evs, "apply_started")] == ["gitlab-runners", "runner-dashboard"]
    assert [(s["stack"], s["outcome"]) for s in evs[-1]["stacks"]] == [
        ("attic", "skipped"), ("arc-runners", "skipped"), ("gitlab-runners", "applied"),
        ("runner-dashboard", "applied")]
    # A skipped stack's summary is the earlier deploy's (what was applied then).
    assert [s["summary"]["add"] for s in evs[-1]["stacks"][:2]] == [2, 3]
    assert state_keys(ws) == set(ORDER)
    assert {r["name"] for r in state(ws, "gitlab-runners")["resources"]} == {"namespace", "runner_token", "workload"}

    # Resuming a run that finished says there is nothing to resume, and what it does instead: a
    # deploy in which only the stack whose inputs changed since that run is planned.
    finished = evs[0]["run_id"]
    tfvars.write_text(good + 'runner_image_tag = "alpine-v18.0.99"\n')
    proc = deploy("--env", "dev", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[-1]["messages"] == [
        f"run {finished} ended without a failure or an interruption: nothing to resume, so this is a normal "
        "deploy in which the stacks that run deployed with unchanged inputs are skipped"]
    assert [e["stack"] for e in of(evs, "apply_started")] == ["gitlab-runners"]


def test_unreadable_journal_lines_are_noted_once_and_never_fail_the_run(rehearsal_workspace: Any,
                                                                       iac_bin: str) -> None:
    ws = rehearsal_workspace
    assert deploy("--env", "dev", "--yes", "--stack", "attic").returncode == 0
    path = ws.dir / "journal" / "dev.jsonl"
    good = len(path.read_bytes().splitlines())
    with path.open("ab") as fh:
        fh.write(b'{"run_id": "r1", "stack": "att\n')
        fh.write(b"\x00\xff\xfe garbage \x9c\n")
    proc = deploy("--env", "dev", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    said = f"journal {path}: 2 unreadable lines skipped (lines {good + 1}, {good + 2})"
    assert [e["message"] for e in of(evs, "run_note") if e["message"].startswith("journal ")] == [said]
    assert evs.index(of(evs, "run_note")[-1]) < evs.index(of(evs, "stack_planning")[0])
    assert said in evs[-1]["messages"] and evs[-1]["outcome"] == "applied"
    assert [(s["stack"], s["outcome"]) for s in evs[-1]["stacks"]][0] == ("attic", "skipped")

    human = deploy("--env", "dev", "--yes", "--stack", "attic")
    assert human.returncode == 0 and human.stderr.count(f"note: {said}") == 1, human.stderr


def test_a_line_torn_by_a_crash_is_noted_and_the_next_runs_entries_are_kept(rehearsal_workspace: Any,
                                                                             iac_bin: str) -> None:
    # gfwizard killed while writing a line leaves it without its newline: the next run said nothing of it, and
    # its own first entry was glued onto the torn line and lost with it.
    ws = rehearsal_workspace
    assert deploy("--env", "dev", "--yes", "--stack", "attic").returncode == 0
    path = ws.dir / "journal" / "dev.jsonl"
    good = len(path.read_bytes().splitlines())
    with path.open("ab") as fh:
        fh.write(b'{"action":"apply","env":"dev","outcome":"appl')
    proc = deploy("--env", "dev", "--yes", "--stack", "attic", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    said = f"journal {path}: 1 unreadable line skipped (line {good + 1})"
    assert [e["message"] for e in of(evs, "run_note") if e["message"].startswith("journal ")] == [said]
    lines = path.read_bytes().splitlines()
    assert lines[good] == b'{"action":"apply","env":"dev","outcome":"appl'
    mine = [json.loads(line) for line in lines[good + 1:]]
    assert mine and all(e["run_id"] == evs[-1]["run_id"] for e in mine)
    assert [(e["stack"], e["action"], e["outcome"]) for e in mine][-1] == ("attic", "apply", "no-changes")


def test_a_dependency_cycle_is_an_input_error_before_any_run(rehearsal_workspace: Any, iac_bin: str,
                                                             tmp_path: Path) -> None:
    ws = rehearsal_workspace
    edit_config(ws, "- {name: attic}", "- {name: attic, depends_on: [runner-dashboard]}")
    proc = refused(ws, tmp_path, iac_bin, "--env", "dev", "--yes")
    assert "cycle" in proc.stderr and "attic" in proc.stderr


@pytest.mark.parametrize("args,message,remedy", [
    (["--env", "dev", "--yes", "--stack", ""],
     "error: --stack is empty: a stack name is needed (stacks: attic, arc-runners, gitlab-runners, runner-dashboard); "
     "nothing was run",
     "remedy: pass --stack with one of the stacks in organization.yaml, e.g. `gfwizard deploy --env dev --stack attic "
     "--yes`, or leave --stack out for every stack"),
    (["--env", "dev", "--plan-only", "--stack", "gitlab-runners", "--stack", " "],
     "error: --stack is empty: a stack name is needed",
     "e.g. `gfwizard deploy --env dev --stack gitlab-runners --plan-only`, or leave --stack out for every stack"),
    (["--env", "", "--yes"], "error: --env is empty: an environment name is needed (known: dev, prod); nothing was run",
     "remedy: pass one of dev, prod, e.g. `gfwizard deploy --env dev --yes`"),
])
def test_an_empty_stack_or_env_is_named_as_empty_and_nothing_runs(rehearsal_workspace: Any, iac_bin: str,
                                                                   tmp_path: Path, args: list[str], message: str,
                                                                   remedy: str) -> None:
    # `--stack "$STACK"` with STACK unset: "unknown stack ''" read like a bug; the value is said to be empty.
    ws = rehearsal_workspace
    proc = refused(ws, tmp_path, iac_bin, *args)
    assert message in proc.stderr and remedy in proc.stderr, proc.stderr
    assert "unknown stack ''" not in proc.stderr
    assert ws.api.request_log.entries() == [], "the cluster was contacted"


@pytest.mark.parametrize("args,message,remedy", [
    (["--env", "qa", "--yes"], "unknown environment 'qa' (known: dev, prod)",
     "remedy: pass one of dev, prod, e.g. `gfwizard deploy --env dev --yes`"),
    (["--env", "dve", "--plan-only", "--stack", "attic"], "unknown environment 'dve' (known: dev, prod)",
     "remedy: pass one of dev, prod, e.g. `gfwizard deploy --env dev --stack attic --plan-only`"),
    (["--env", "dev", "--yes", "--stack", "arc-runners", "--stack", "atic"],
     "unknown stack 'atic' (known: attic, arc-runners, gitlab-runners, runner-dashboard)",
     "remedy: did you mean 'attic'? pass --stack with one of the stacks in organization.yaml, e.g. "
     "`gfwizard deploy --env dev --stack arc-runners --stack attic --yes`"),
    (["--env", "dev", "--yes", "--stack", "zzz"], "unknown stack 'zzz' (known: attic, arc-runners, ",
     "e.g. `gfwizard deploy --env dev --stack attic --yes`"),
    (["--env", "dev", "--yes", "--stack", "bumble"],
     "'bumble' is a node role (placement.roles), not a stack; stacks placed on it: attic, runner-dashboard "
     "(stacks: attic, arc-runners, gitlab-runners, runner-dashboard)",
     "remedy: pass --stack with stack names, e.g. `gfwizard deploy --env dev --stack attic --stack "
     "runner-dashboard --yes`"),
])
def test_unknown_env_or_stack_is_an_input_error(rehearsal_workspace: Any, iac_bin: str, tmp_path: Path,
                                                args: list[str], message: str, remedy: str) -> None:
    proc = refused(rehearsal_workspace, tmp_path, iac_bin, *args)
    assert message in proc.stderr and remedy in proc.stderr, proc.stderr


@pytest.mark.parametrize("var,where", [("GFW_STATE_DIR", "file"), ("GFW_STATE_DIR", "under a file"),
                                       ("GFW_WORKSPACE", "file")])
def test_an_unusable_state_dir_is_an_input_error_before_anything_runs(rehearsal_workspace: Any, iac_bin: str,
                                                                      tmp_path: Path, var: str, where: str) -> None:
    # It was a traceback from the first plan (mkdir of the provider cache, or of the journal in the workspace),
    # after the backend files were rendered.
    ws = rehearsal_workspace
    blocker = tmp_path / "state-file"
    blocker.write_text("not a directory\n")
    state = blocker if where == "file" else blocker / "gfwizard"
    proc = refused(ws, tmp_path, iac_bin, "--env", "dev", "--yes", env={var: str(state)})
    problem = "it is a file, not a directory" if where == "file" else "Not a directory"
    what = "the gfwizard state directory" if var == "GFW_STATE_DIR" else "the rehearsal workspace"
    assert f"error: {what} {state} (from ${var}) cannot be used: {problem}; nothing was run" in proc.stderr, proc.stderr
    assert f"remedy: point {var} at " in proc.stderr
    assert blocker.read_text() == "not a directory\n"


def test_a_journal_that_cannot_be_read_is_an_input_error_before_anything_runs(rehearsal_workspace: Any,
                                                                              iac_bin: str, tmp_path: Path) -> None:
    # A directory where the journal belongs was an internal error with a traceback, after the run had started.
    ws = rehearsal_workspace
    journal = ws.dir / "journal" / "dev.jsonl"
    journal.mkdir(parents=True)
    proc = refused(ws, tmp_path, iac_bin, "--env", "dev", "--yes", "--json")
    [line] = proc.stdout.splitlines()
    error = json.loads(line)["error"]
    assert error["message"] == f"the run journal {journal} cannot be read: Is a directory; nothing was run"
    assert f"move it aside (`mv {journal} {journal}.aside`)" in error["remedy"] and error["exit_code"] == 2
    assert journal.is_dir() and list(journal.iterdir()) == []


def test_a_stack_without_a_rehearsal_twin_is_said_to_have_none(rehearsal_workspace: Any, iac_bin: str,
                                                               tmp_path: Path) -> None:
    ws = rehearsal_workspace
    edit_config(ws, "  - {name: attic}\n", "  - {name: attic}\n  - {name: extra}\n")
    proc = refused(ws, tmp_path, iac_bin, "--env", "dev", "--yes")
    twins = REPO / "tofu" / "rehearsal"
    assert f"stack 'extra' has no rehearsal twin: {twins / 'extra'} does not exist; nothing was run" in proc.stderr
    assert f"a rehearsal deploys the provider-free twins in {twins}: add one for 'extra'" in proc.stderr
    assert "GloriousFlywheel checkout" not in proc.stderr, proc.stderr


def test_prod_without_yes_and_without_a_terminal_refuses(rehearsal_workspace: Any, iac_bin: str,
                                                         tmp_path: Path) -> None:
    ws = rehearsal_workspace
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    before, bucket = tree_digest(ws.dir, ignore=("api-requests.log",)), objects(ws)
    proc = deploy("--env", "prod", env={"GFW_TOFU_BIN": str(wrapper)})
    assert proc.returncode == 2
    assert "refusing to apply without --yes: there is no terminal to ask for confirmation" in proc.stderr
    assert "--yes" in proc.stderr and "fingerprint" in proc.stderr
    proc = deploy("--env", "prod", "--json", env={"GFW_TOFU_BIN": str(wrapper)})
    assert proc.returncode == 2 and json.loads(proc.stdout)["error"]["exit_code"] == 2, proc.stdout
    assert wrapper_log(log) == []
    assert tree_digest(ws.dir, ignore=("api-requests.log",)) == before and objects(ws) == bucket


def test_the_no_terminal_refusal_repeats_the_operators_stacks_resume_and_config(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path) -> None:
    # The remedy named `gfwizard deploy --env prod`: followed on a terminal it deployed every stack of the default
    # config, not the --stack / --resume / --config the operator gave.
    import shlex

    ws = rehearsal_workspace
    config = tmp_path / "my configs" / "org.yaml"
    config.parent.mkdir()
    config.write_text(ws.config_path.read_text())
    proc = refused(ws, tmp_path, iac_bin, "--env", "prod", "--stack", "attic", "--resume", "--config", str(config),
                   env={"GFW_CONFIG": ""})
    same = f"--config {shlex.quote(str(config))}"
    assert (f"remedy: pass --yes: `gfwizard deploy --env prod --stack attic --yes --resume {same}` (the cluster "
            f"fingerprint and lock probe gates still run), or preview with `gfwizard deploy --env prod --stack attic "
            f"--plan-only {same}`, or run `gfwizard deploy --env prod --stack attic --resume {same}` on a terminal"
            ) in proc.stderr, proc.stderr


def test_prod_without_require_confirmation_is_warned_with_the_gates(rehearsal_workspace: Any, iac_bin: str) -> None:
    # Written by hand without require_confirmation, prod got only a [y/N] question and nothing said why.
    ws = rehearsal_workspace
    edit_config(ws, "prod: {cluster: honey, tfvars: prod.tfvars, require_confirmation: true}",
                "prod: {cluster: honey, tfvars: prod.tfvars}")
    before = ws.config_path.read_text()
    proc = deploy("--env", "prod", "--stack", "attic", "--plan-only")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  ! confirmation [prod]" in next(line for line in proc.stdout.splitlines() if line.startswith("gates: "))
    assert ("  ! confirmation [prod]: environment 'prod' is named as production but does not set require_confirmation: "
            "an apply to it asks only yes/no ([y/N] on a terminal), where production needs its name typed"
            ) in proc.stdout, proc.stdout
    assert "    remedy: add the line `require_confirmation: true` under `prod:`" in proc.stdout
    evs = events(deploy("--env", "prod", "--stack", "attic", "--plan-only", "--json"))
    (gate,) = of(evs, "gate_checked")
    assert gate["ok"] is True
    assert [c["level"] for c in gate["checks"] if c["name"] == "confirmation [prod]"] == ["warn"]
    assert ws.config_path.read_text() == before  # said, never changed
    dev = events(deploy("--env", "dev", "--stack", "attic", "--plan-only", "--json"))
    assert not [c for g in of(dev, "gate_checked") for c in g["checks"] if c["name"].startswith("confirmation")]


def test_a_wrong_fingerprint_stops_before_any_apply_even_with_yes(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    text = ws.config_path.read_text()
    uid = ws.api.kube_system_uid
    ws.config_path.write_text(text.replace(uid, "00000000-0000-4000-8000-000000000000"))
    proc = deploy("--env", "prod", "--yes", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    evs = events(proc)
    gate = of(evs, "gate_checked")[0]
    assert not gate["ok"]
    fingerprint = next(c for c in gate["checks"] if c["name"] == "fingerprint")
    assert fingerprint["level"] == "fail" and fingerprint["remedy"]
    assert evs[-1]["outcome"] == "gate-failed" and not of(evs, "apply_started")
    assert state_keys(ws, "prod") == set()
    # Journaled where it stopped, so a resume (once the right cluster answers) continues this run.
    stopped = [e for e in journal(ws, "prod") if e["run_id"] == evs[0]["run_id"] and e["action"] == "apply"]
    assert [(e["stack"], e["outcome"]) for e in stopped] == [("attic", "gate-failed")]
    assert "a safety gate failed (fingerprint)" in stopped[0]["error"]
    # A preview of that cluster is refused the same way.
    preview = deploy("--env", "prod", "--plan-only")
    assert preview.returncode == 1, preview.stdout + preview.stderr
    assert "result: gate-failed" in preview.stdout and "fingerprint" in preview.stdout, preview.stdout
    assert state_keys(ws, "prod") == set()
    ws.config_path.write_text(text)
    proc = deploy("--env", "prod", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    resumed = events(proc)
    assert resumed[0]["resumes"] == evs[0]["run_id"] and resumed[-1]["outcome"] == "applied"
    assert not [m for m in resumed[-1]["messages"] if "nothing to resume" in m]


async def test_a_cluster_swapped_while_the_question_waits_is_gated_again_before_any_apply(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path) -> None:
    """The gates ran before the question, which may wait for hours: a kubeconfig rewritten meanwhile (the context
    now reaching another honey, e.g. a rebuilt one) was applied to after the typed answer, and the rehearsal's
    materialiser wrote the stack's namespace and deployment into that unverified cluster."""
    from gfwizard.orgconfig import load_config
    from gfwizard.rehearsal.apiserver import RehearsalAPIServer
    from gfwizard.rehearsal.workspace import write_kubeconfig
    from gfwizard.stacks import DeployEngine
    from gfwizard.stacks_events import ApplyStarted, DeployEvent, GateChecked

    ws = rehearsal_workspace
    other = RehearsalAPIServer(log_path=tmp_path / "other-api.log").start()
    try:
        asked: list[str] = []

        def confirm(request: Any) -> str:
            asked.append(request.env)
            write_kubeconfig(ws.kubeconfig_path, server=other.url, ca_pem=other.ca_pem, token=other.admin_token)
            return "prod"

        seen: list[DeployEvent] = []
        engine = DeployEngine(load_config(ws.config_path), "prod", stacks=["attic"], confirm=confirm,
                              on_event=seen.append)
        result = await engine.run()
        assert asked == ["prod"]
        gates = [e for e in seen if isinstance(e, GateChecked)]
        assert [g.ok for g in gates] == [True, False], gates
        failing = {c.name for c in gates[-1].checks if not c.ok}
        assert "fingerprint" in failing, gates[-1]
        assert result.outcome == "gate-failed" and not [e for e in seen if isinstance(e, ApplyStarted)]
        assert state_keys(ws, "prod") == set(), "applied after the cluster changed"
        assert non_get_api_requests(other) == [], "something was written into the unverified cluster"
        stopped = [e for e in journal(ws, "prod") if e["action"] == "apply"]
        assert [(e["stack"], e["outcome"]) for e in stopped] == [("attic", "gate-failed")]
        assert not list((ws.dir / "work").rglob("*.tfplan")), "the saved plan was left"
    finally:
        other.stop()


async def test_plan_all_then_apply_is_the_same_run_in_two_halves(rehearsal_workspace: Any, iac_bin: str) -> None:
    from gfwizard.orgconfig import load_config
    from gfwizard.stacks import DeployEngine
    from gfwizard.stacks_events import DeployEvent, RunFinished

    ws = rehearsal_workspace
    seen: list[DeployEvent] = []
    engine = DeployEngine(load_config(ws.config_path), "dev", stacks=["attic", "gitlab-runners"], assume_yes=True,
                          on_event=seen.append)
    plans = await engine.plan_all()
    assert [(n, p.outcome, p.summary.add if p.summary else None) for n, p in plans.items()] == [
        ("attic", "planned", 2), ("gitlab-runners", "planned", 3)]
    assert all(p.plan_hash and p.planned and engine.workers[n].plan_file.is_file() for n, p in plans.items())
    assert state_keys(ws) == set(), "planning applied something"
    result = await engine.apply(plans)
    assert result.outcome == "applied" and state_keys(ws) == {"attic", "gitlab-runners"}
    assert isinstance(seen[-1], RunFinished) and seen[-1].result == result
    assert not any(w.plan_file.exists() for w in engine.workers.values())


@pytest.mark.parametrize("wrong", [False, True], ids=["pinned", "fingerprint-mismatch"])
async def test_plan_all_runs_the_gates_a_plan_only_run_runs(rehearsal_workspace: Any, iac_bin: str,
                                                            wrong: bool) -> None:
    """The wizard's planning half (plan_all) ran no gate, while ``--plan-only`` did: a preview of a cluster that is
    not the pinned honey read as one of it, and its plans could be applied once the gates passed later."""
    from gfwizard.orgconfig import load_config
    from gfwizard.stacks import DeployEngine
    from gfwizard.stacks_events import ApplyStarted, DeployEvent, GateChecked

    def said(check: Any) -> tuple[str, str, str, str]:
        # (the lock probe's object is named afresh each time)
        return check.name, check.level.value, re.sub(r"lock-probe/[0-9a-f]{32}", "lock-probe/…", check.detail), \
            check.remedy

    ws = rehearsal_workspace
    if wrong:
        edit_config(ws, ws.api.kube_system_uid, "00000000-0000-4000-8000-000000000000")
    cfg = load_config(ws.config_path)
    preview: list[DeployEvent] = []
    previewed = await DeployEngine(cfg, "dev", stacks=["attic"], plan_only=True, on_event=preview.append).run()
    assert previewed.outcome == ("gate-failed" if wrong else "planned"), previewed
    ws.api.request_log.clear()
    bucket = objects(ws)
    seen: list[DeployEvent] = []
    engine = DeployEngine(cfg, "dev", stacks=["attic"], assume_yes=True, on_event=seen.append)
    plans = await engine.plan_all()
    try:
        [expected] = [e for e in preview if isinstance(e, GateChecked)]
        [gates] = [e for e in seen if isinstance(e, GateChecked)]
        assert [said(c) for c in gates.checks] == [said(c) for c in expected.checks]
        assert gates.ok is (not wrong) and engine.gates == gates.checks
        attic = plans["attic"]
        assert attic.summary is not None and attic.summary.add == 2, attic
        if wrong:
            fingerprint = next(c for c in gates.checks if c.name == "fingerprint")
            assert not fingerprint.ok and fingerprint.detail.startswith("fingerprint mismatch (kube-system UID "
                                                                        "differs)") and fingerprint.remedy
            assert (attic.outcome, attic.ready, attic.planned) == ("not-run", False, None), attic
            assert attic.error == "planned while the deploy gates failed: no preview, and not applied (see the gates)"
            assert not engine.workers["attic"].plan_file.exists(), "the held-back plan was kept"
        else:
            assert attic.ready and engine.workers["attic"].plan_file.is_file()
    finally:
        if not wrong:
            engine.discard()
    if wrong:  # the held-back plans are never applied, whatever the gates say by then
        result = await engine.apply(plans)
        # Stopped by the gates, as the run would have been: not a stack's failure (it ended "failed").
        assert result.outcome == "gate-failed" and not [e for e in seen if isinstance(e, ApplyStarted)], result
        assert result.gates == tuple(gates.checks) and [(s.stack, s.outcome) for s in result.stacks] == [("attic", "not-run")]
    assert state_keys(ws) == set(), "planning applied something"
    assert non_get_api_requests(ws.api) == [], "planning wrote into the cluster"
    assert objects(ws) == bucket, "planning left an object in the bucket (the lock probe's, a lock)"
    assert not list((ws.dir / "work").rglob("*.tfplan")), "a saved plan was left"


def test_stack_selection_includes_nothing_else_and_warns_about_undeployed_dependencies(
        rehearsal_workspace: Any, iac_bin: str) -> None:
    proc = deploy("--env", "dev", "--stack", "runner-dashboard", "--plan-only", "--json")
    assert proc.returncode == 0, proc.stderr
    evs = events(proc)
    assert evs[0]["stacks"] == ["runner-dashboard"]
    assert [e["stack"] for e in of(evs, "stack_planned")] == ["runner-dashboard"]
    warnings = of(evs, "dependency_warning")
    assert [(w["stack"], w["dependency"]) for w in warnings] == [
        ("runner-dashboard", "arc-runners"), ("runner-dashboard", "gitlab-runners")]
    assert "never deployed" in warnings[0]["detail"]

    assert deploy("--env", "dev", "--yes", "--stack", "arc-runners", "--stack", "gitlab-runners",
                  "--stack", "attic").returncode == 0
    proc = deploy("--env", "dev", "--stack", "runner-dashboard", "--plan-only", "--json")
    assert of(events(proc), "dependency_warning") == []


def test_a_failed_gate_does_not_make_a_deployed_dependency_look_undeployed(rehearsal_workspace: Any,
                                                                          iac_bin: str) -> None:
    ws = rehearsal_workspace
    assert deploy("--env", "dev", "--yes", "--stack", "attic").returncode == 0
    text = ws.config_path.read_text()
    ws.config_path.write_text(text.replace(ws.api.kube_system_uid, "00000000-0000-4000-8000-000000000000"))
    proc = deploy("--env", "dev", "--yes", "--stack", "attic", "--json")
    assert proc.returncode == 1 and events(proc)[-1]["outcome"] == "gate-failed", proc.stdout + proc.stderr
    ws.config_path.write_text(text)

    proc = deploy("--env", "dev", "--plan-only", "--json", "--stack", "arc-runners", "--stack", "gitlab-runners")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert of(events(proc), "dependency_warning") == []


def _table(out: str) -> dict[str, list[str]]:
    """The rows of the human result table: stack -> [outcome, changes] (ANSI colours removed)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    rows = text[text.rindex("STACK "):].splitlines()[1:]
    return {line[:18].strip(): [c for c in (line[19:31].strip(), line[32:48].strip()) if c]
            for line in rows if line[:18].strip() in ORDER}


def _on_a_terminal(args: list[str], answer: str, prompt: str, timeout: float = 120) -> tuple[int, str]:
    """Run ``gfwizard deploy ARGS`` on a pseudo-terminal, type ``answer`` at ``prompt``; (exit code, output)."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", *args], cwd=REPO, stdin=slave,
                            stdout=slave, stderr=slave, env=dict(os.environ), close_fds=True)
    os.close(slave)
    output, answered, deadline = b"", False, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and prompt.encode() in output:
            os.write(master, answer.encode() + b"\r")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=30), output.decode("utf-8", "replace")


def test_on_a_terminal_prod_asks_for_the_typed_name_and_lists_destructive_changes(
        rehearsal_workspace: Any, iac_bin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    for typed in ("dev", "Prod"):
        code, out = _on_a_terminal(["--env", "prod", "--stack", "attic"], typed, "Type the environment name (prod)")
        assert code == 1, out
        assert f"nothing applied: '{typed}' is not 'prod' (type the environment name exactly to apply)" in out, out
        assert "result: refused" in out and state_keys(ws, "prod") == set()
    # Ctrl-D (end of input) at the question cancels, and is said so.
    code, out = _on_a_terminal(["--env", "prod", "--stack", "attic"], "\x04", "Type the environment name (prod)")
    assert code == 1 and "nothing applied: the confirmation was cancelled" in out, out
    assert state_keys(ws, "prod") == set() and not [e for e in journal(ws, "prod") if e["action"] != "plan"]

    code, out = _on_a_terminal(["--env", "prod", "--stack", "attic"], "prod", "Type the environment name (prod)")
    assert code == 0, out
    assert state_keys(ws, "prod") == {"attic"}

    # Nothing to change: nothing is asked.
    code, out = _on_a_terminal(["--env", "prod", "--stack", "attic"], "no", "Type the environment name (prod)")
    assert code == 0 and "no changes" in out and "Type the environment name" not in out

    # Replacing a resource is destructive: it is listed, in red, before the question.
    monkeypatch.setenv("TF_VAR_apply_delay_seconds", "1")
    assert deploy("--env", "prod", "--stack", "attic", "--yes").returncode == 0
    monkeypatch.setenv("TF_VAR_apply_delay_seconds", "2")
    code, out = _on_a_terminal(["--env", "prod", "--stack", "attic"], "", "Type the environment name (prod)")
    assert code == 1, out
    assert "nothing applied: nothing was typed ('prod' applies)" in out, out
    assert "Destructive changes:" in out and "\x1b[31m  REPLACE  attic: terraform_data.apply_delay[0]" in out
    assert out.index("Destructive changes:") < out.index("Type the environment name (prod)")


def test_on_a_terminal_dev_asks_yes_or_no(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    code, out = _on_a_terminal(["--env", "dev", "--stack", "attic"], "n", "Apply attic to dev?")
    assert code == 1 and "nothing applied: the operator declined" in out, out
    assert state_keys(ws) == set()
    code, out = _on_a_terminal(["--env", "dev", "--stack", "attic"], "y", "Apply attic to dev?")
    assert code == 0, out
    assert state_keys(ws) == {"attic"}


def test_on_a_terminal_a_refusal_after_a_failed_plan_ends_failed(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    repo = repo_copy(tmp_path)
    monkeypatch.setenv("GFW_REPO", str(repo))
    (repo / "tofu" / "rehearsal" / "runner-dashboard" / "broken.tf").write_text(
        'output "broken" {\n  value = var.no_such_variable\n}\n')
    code, out = _on_a_terminal(["--env", "dev"], "n", "to dev?")
    assert code == 1, out
    assert "nothing applied: the operator declined" in out
    assert _table(out) == {"attic": ["not-run", "+2 ~0 -0 ±0"], "arc-runners": ["not-run", "+3 ~0 -0 ±0"],
                           "gitlab-runners": ["not-run", "+3 ~0 -0 ±0"], "runner-dashboard": ["failed"]}, out
    assert "result: failed (run " in out and "result: refused" not in out, out
    # The refusal is among the result's messages, after the table.
    assert out.index("result: failed") > out.rindex("nothing applied: the operator declined") > out.index("STACK")
    assert state_keys(ws) == set()


def test_the_table_shows_no_counts_for_a_skipped_stack(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tfvars, good = failing_stack(tmp_path, monkeypatch, "arc-runners")
    assert deploy("--env", "dev", "--yes", "--stack", "attic", "--stack", "arc-runners").returncode == 1
    tfvars.write_text(good)
    proc = deploy("--env", "dev", "--yes", "--resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _table(proc.stdout) == {"attic": ["skipped", "-"], "arc-runners": ["applied", "+1 ~0 -1 ±0"]}, \
        proc.stdout


def test_nothing_to_resume_is_said_before_planning_and_before_the_question(rehearsal_workspace: Any,
                                                                         iac_bin: str) -> None:
    proc = deploy("--env", "dev", "--yes", "--stack", "attic", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    finished = events(proc)[0]["run_id"]
    said = (f"run {finished} ended without a failure or an interruption: nothing to resume, so this is a normal "
            "deploy in which the stacks that run deployed with unchanged inputs are skipped")

    proc = deploy("--env", "dev", "--plan-only", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    notes = [e for e in of(evs, "run_note") if "nothing to resume" in e["message"]]
    assert [e["message"] for e in notes] == [said]
    assert evs.index(notes[0]) < evs.index(of(evs, "stack_planning")[0])
    assert evs[-1]["messages"] == [said]

    code, out = _on_a_terminal(["--env", "dev", "--resume"], "n", "to dev?")
    assert code == 1, out
    assert f"note: {said}" in out
    assert out.index(f"note: {said}") < out.index("planned") < out.index("to dev? [y/N]"), out


def test_resume_without_stack_continues_the_stacks_the_resumed_run_selected(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    tfvars, good = failing_stack(tmp_path, monkeypatch, "gitlab-runners")
    proc = deploy("--env", "dev", "--yes", "--json", "--stack", "gitlab-runners", "--stack", "attic")
    assert proc.returncode == 1, proc.stderr
    first_run = events(proc)[0]["run_id"]
    assert state_keys(ws) == {"attic", "gitlab-runners"}

    tfvars.write_text(good)
    proc = deploy("--env", "dev", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[0]["stacks"] == ["attic", "gitlab-runners"], "the resume left the resumed run's selection"
    assert evs[-1]["messages"] == [
        f"run {first_run} was limited to attic, gitlab-runners: so is this resume (pass --stack to choose other "
        "stacks)"]
    assert [e["stack"] for e in of(evs, "apply_started")] == ["gitlab-runners"]
    assert state_keys(ws) == {"attic", "gitlab-runners"}, "the resume deployed a stack nobody selected"
    resumed = [e for e in journal(ws) if e["run_id"] == evs[0]["run_id"]]
    assert resumed and all(e["selection"] == ["attic", "gitlab-runners"] for e in resumed)

    # An explicit --stack wins over the resumed run's selection.
    tfvars.write_text(good + "inject_failure = true\n")
    proc = deploy("--env", "dev", "--yes", "--json", "--stack", "gitlab-runners")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed_run = events(proc)[0]["run_id"]
    tfvars.write_text(good)
    proc = deploy("--env", "dev", "--yes", "--resume", "--stack", "arc-runners")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = proc.stdout.splitlines()[0]
    assert header.startswith(f"deploy dev (plan + apply, resuming run {failed_run}) with ") and \
        header.endswith(": arc-runners"), header
    assert state_keys(ws) == {"attic", "gitlab-runners", "arc-runners"}

    # A limited run that finished leaves nothing to continue: the resume is a normal deploy of every
    # stack, skipping those that run deployed with unchanged inputs.
    proc = deploy("--env", "dev", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[0]["stacks"] == ORDER
    assert [e["stack"] for e in of(evs, "stack_skipped")] == ["arc-runners"]
    assert state_keys(ws) == set(ORDER)


def test_resume_of_a_run_whose_selected_stack_is_gone_is_an_input_error(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    failing_stack(tmp_path, monkeypatch, "runner-dashboard")
    proc = deploy("--env", "dev", "--yes", "--stack", "runner-dashboard")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = ws.config_path.read_text()
    renamed = text.replace("runner-dashboard", "dashboard")
    assert renamed != text
    ws.config_path.write_text(renamed)
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    before, bucket = tree_digest(ws.dir, ignore=("api-requests.log",)), objects(ws)
    proc = deploy("--env", "dev", "--yes", "--resume", env={"GFW_TOFU_BIN": str(wrapper)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "which --resume continues, selected runner-dashboard: unknown stack 'runner-dashboard'" in proc.stderr
    assert "pass --stack for each stack to deploy" in proc.stderr
    assert wrapper_log(log) == [], "a terraform process was spawned"
    assert tree_digest(ws.dir, ignore=("api-requests.log",)) == before and objects(ws) == bucket


def test_a_preview_after_a_failure_does_not_become_the_run_a_resume_continues(
        rehearsal_workspace: Any, iac_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = rehearsal_workspace
    tfvars, good = failing_stack(tmp_path, monkeypatch, "arc-runners")
    proc = deploy("--env", "dev", "--yes", "--json", "--stack", "arc-runners")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed_run = events(proc)[0]["run_id"]
    tfvars.write_text(good)

    preview = deploy("--env", "dev", "--plan-only", "--json", "--stack", "attic")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    proc = deploy("--env", "dev", "--yes", "--resume", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[0]["resumes"] == failed_run and evs[0]["stacks"] == ["arc-runners"]
    assert [e["stack"] for e in of(evs, "apply_started")] == ["arc-runners"]
    assert state_keys(ws) == {"arc-runners"}, "the resume deployed stacks the failed run never selected"


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM"])
def test_a_hangup_or_sigterm_at_the_prompt_declines_and_leaves_no_plan(
        rehearsal_workspace: Any, iac_bin: str, sig: str) -> None:
    """At the confirmation prompt (stdin a terminal): a hangup (SIGHUP, and the terminal gone) or a
    SIGTERM declines: exit 1, nothing applied, the saved plan (variable values in clear text) deleted."""
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    ws = rehearsal_workspace
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gfwizard", "deploy", "--env", "dev", "--stack", "attic"],
                            cwd=REPO, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ), close_fds=True)
    os.close(slave)
    assert proc.stderr is not None
    prompt, deadline = b"", time.monotonic() + 120
    while b"[y/N]" not in prompt:  # the prompt goes to stderr
        assert time.monotonic() < deadline and proc.poll() is None, prompt.decode(errors="replace")[-2000:]
        if select.select([proc.stderr], [], [], 0.2)[0]:
            prompt += os.read(proc.stderr.fileno(), 4096)
    proc.send_signal(getattr(signal, sig))
    if sig == "SIGHUP":
        os.close(master)  # a hangup: the terminal is gone too
    out, err = proc.communicate(timeout=60)
    if sig != "SIGHUP":
        os.close(master)
    text = out.decode("utf-8", "replace") + (prompt + err).decode("utf-8", "replace")
    assert proc.returncode == 1, text[-2000:]
    assert "nothing applied: the operator declined" in text
    assert state_keys(ws) == set()
    assert [e["action"] for e in journal(ws)] == ["plan"], "something past the plan was journaled"
    assert not list((ws.dir / "work").rglob("*.tfplan")), "the saved plan (variable values in clear text) was left"


def test_an_http_state_backend_is_refused_before_anything_runs(rehearsal_workspace: Any, iac_bin: str,
                                                                tmp_path: Path) -> None:
    ws = rehearsal_workspace
    text = ws.config_path.read_text()
    http = text.replace("  backend: s3\n", "  backend: http\n", 1)  # its http section is already there
    assert http != text
    ws.config_path.write_text(http)
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    before, bucket = tree_digest(ws.dir, ignore=("api-requests.log",)), objects(ws)
    proc = deploy("--env", "dev", "--yes", env={"GFW_TOFU_BIN": str(wrapper)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "state.backend is 'http', but the stacks declare backend \"s3\"" in proc.stderr
    assert "`gfwizard backend migrate --env dev`" in proc.stderr
    assert wrapper_log(log) == [], "a terraform process was spawned"
    assert tree_digest(ws.dir, ignore=("api-requests.log",)) == before and objects(ws) == bucket


def test_an_s3_endpoint_variable_other_than_the_configured_one_is_refused(rehearsal_workspace: Any, iac_bin: str,
                                                                          tmp_path: Path) -> None:
    """The binary writes to state.s3.endpoint (the backend files name it); the gates and lock reads would
    follow AWS_ENDPOINT_URL_S3, so a run with both, differing, would vouch for another store."""
    ws = rehearsal_workspace
    wrapper, log = make_wrapper(tmp_path, iac_bin)
    before, bucket = tree_digest(ws.dir, ignore=("api-requests.log",)), objects(ws)
    elsewhere = "http://127.0.0.1:9"
    proc = deploy("--env", "dev", "--yes", env={"GFW_TOFU_BIN": str(wrapper), "AWS_ENDPOINT_URL_S3": elsewhere})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (f"AWS_ENDPOINT_URL_S3 is {elsewhere}, but state.s3.endpoint is {ws.env['AWS_ENDPOINT_URL_S3']}: the "
            "binary would write the state and its locks to the second") in proc.stderr, proc.stderr
    assert "unset AWS_ENDPOINT_URL_S3 in this shell, or set state.s3.endpoint to it" in proc.stderr
    assert wrapper_log(log) == [], "a terraform process was spawned"
    assert tree_digest(ws.dir, ignore=("api-requests.log",)) == before and objects(ws) == bucket
    # The same value as the config (what the rehearsal exports) is no conflict.
    same = deploy("--env", "dev", "--plan-only", env={"GFW_TOFU_BIN": str(wrapper)})
    assert same.returncode == 0, same.stdout + same.stderr


async def test_once_the_gates_fail_no_further_stack_starts_planning(rehearsal_workspace: Any, iac_bin: str) -> None:
    """A plan of the wrong cluster is no preview: a plan-only run is gated too, and stops planning."""
    from gfwizard.checks import failed
    from gfwizard.orgconfig import load_config
    from gfwizard.stacks import DeployEngine
    from gfwizard.stacks_events import DeployEvent, GateChecked, StackSkipped

    ws = rehearsal_workspace
    wrong = [failed("fingerprint", "fingerprint mismatch: kube-system UID differs", "run `gfwizard validate`")]
    for plan_only in (True, False):
        seen: list[DeployEvent] = []
        engine = DeployEngine(load_config(ws.config_path), "dev", plan_only=plan_only, assume_yes=True, concurrency=1,
                              on_event=seen.append, gate_runner=lambda _cfg, _env: wrong)
        result = await engine.run()
        assert result.outcome == "gate-failed", (plan_only, result)
        # The first stack was already planning when the gates answered; none started after that.
        assert result.stacks[0].error is None, result.stacks[0]
        skipped = [e.stack for e in seen if isinstance(e, StackSkipped)]
        assert skipped == ORDER[1:], (plan_only, skipped)
        assert [e.ok for e in seen if isinstance(e, GateChecked)] == [False]
        assert {r.error for r in result.stacks[1:]} == {"not planned: the deploy gates failed (see the gates)"}
        if plan_only:  # the plan that did run is not to be trusted
            note = [m for m in result.messages if m.startswith("the plans of attic were made while the gates")]
            assert len(note) == 1 and "a cluster that is not the pinned honey" in note[0], note
    assert state_keys(ws) == set()


async def test_a_failed_state_gate_does_not_blame_the_cluster(rehearsal_workspace: Any, iac_bin: str) -> None:
    """The plan-only note names the state gate that failed; the cluster passed, so it is not called another one."""
    from gfwizard.checks import failed, passed
    from gfwizard.orgconfig import load_config
    from gfwizard.stacks import DeployEngine

    ws = rehearsal_workspace
    gates = [passed("server", "the configured api_server"), passed("fingerprint", "matches the pinned fingerprint"),
             failed("state migration", "the state of attic in dev is still only on the GitLab HTTP backend",
                    "migrate first: `gfwizard backend migrate --env dev --stack attic`")]
    engine = DeployEngine(load_config(ws.config_path), "dev", plan_only=True, assume_yes=True, concurrency=1,
                          gate_runner=lambda _cfg, _env: gates)
    result = await engine.run()
    assert result.outcome == "gate-failed" and result.stacks[0].outcome == "planned", result
    note = [m for m in result.messages if m.startswith("the plans of attic were made while the gates")]
    assert note == ["the plans of attic were made while the gates were being checked, and the state migration gate "
                    "failed: they are no preview of a deploy, which stops there until the remedy is followed"], note
    assert state_keys(ws) == set()


def test_a_long_resource_change_is_reported_while_it_runs(rehearsal_workspace: Any, iac_bin: str) -> None:
    # The binary says "still creating" every 10 s; the deploy's own output said nothing between a stack's
    # "applying" and its end, which for a helm release of several minutes reads as a hang.
    proc = deploy("--env", "dev", "--stack", "attic", "--yes", "--json", env={"TF_VAR_apply_delay_seconds": "11"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    [progress] = of(evs, "resource_progress")
    assert (progress["stack"], progress["address"], progress["action"]) == (
        "attic", "terraform_data.apply_delay[0]", "create")
    assert progress["elapsed_seconds"] >= 10
    sleep = evs.index(progress)
    started = [i for i, e in enumerate(evs) if e["event"] == "resource_applying"
               and e["address"] == progress["address"]]
    done = [i for i, e in enumerate(evs) if e["event"] == "resource_applied" and e["address"] == progress["address"]]
    assert started and done and started[0] < sleep < done[0]
