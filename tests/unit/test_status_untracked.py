"""A stack with no state object whose workloads run anyway (its state still on the GitLab HTTP backend,
or lost) reads ``NO STATE, yet running`` and is a problem, never ``not applied``: deploying it would
create everything again. Another environment's workloads, or ambiguous unlabelled ones, never count."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gfwizard.orgconfig import OrgConfig
from gfwizard.status_assemble import Inputs, assemble
from gfwizard.status_model import ClusterStatus, problem_remedy
from gfwizard.status_records import workload_record
from gfwizard.status_state import StateObject
from gfwizard.status_text import problem_brief, render_text
from tests.status_support import FIXED_NOW

NOW = FIXED_NOW
STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")
#: What each environment's tfvars name (the checkout's dev and prod namespaces differ).
EXPECTED = {
    (env, stack): ((f"{stack}{suffix}", "Deployment", stack, 1),)
    for env, suffix in (("dev", "-dev"), ("prod", "")) for stack in STACKS
}


def _cfg() -> OrgConfig:
    from gfwizard.rehearsal.workspace import org_config

    return org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=Path("/nonexistent/kubeconfig"),
                      s3_endpoint="http://127.0.0.1:9000", bucket="state",
                      fingerprint=("2f9c8a1e-0000-4000-8000-000000000001", "ab" * 32))


def _deployment(namespace: str, name: str, environment: str | None) -> object:
    labels = {"gloriousflywheel.io/environment": environment} if environment else {}
    return workload_record("Deployment")({"metadata": {"name": name, "namespace": namespace, "labels": labels},
                                          "spec": {"replicas": 1}, "status": {"readyReplicas": 1}})


def _snapshot(workloads: dict[tuple[str, str, str], object], expected: dict = EXPECTED,  # type: ignore[type-arg]
              envs: tuple[str, ...] = ("dev", "prod")):  # type: ignore[no-untyped-def]
    states = {(env, stack): StateObject(key=f"gloriousflywheel/{env}/{stack}.tfstate", exists=False)
              for env in envs for stack in STACKS}
    inputs = Inputs(cluster=ClusterStatus(server="https://127.0.0.1:6443", reachable=True, fingerprint="match"),
                    workloads=workloads, states=states, expected=expected)
    return assemble(_cfg(), inputs, envs=list(envs), now=NOW)


def _stack(snap, env: str, stack: str):  # type: ignore[no-untyped-def]
    return next(s for s in snap.stacks if (s.env, s.stack) == (env, stack))


def test_a_labelled_workload_of_this_environment_without_state_is_a_problem_with_a_remedy() -> None:
    snap = _snapshot({("Deployment", "attic-dev", "attic"): _deployment("attic-dev", "attic", "dev")})
    attic = _stack(snap, "dev", "attic")
    assert attic.source == "untracked"
    assert [(w.name, w.found, w.ready) for w in attic.workloads] == [("attic", True, 1)]
    assert [s.source for s in snap.stacks if (s.env, s.stack) != ("dev", "attic")] == ["none"] * 7
    [problem] = snap.problems
    assert (problem.kind, problem.subject) == ("running-without-state", "dev/attic")
    assert problem.detail == "no state object gloriousflywheel/dev/attic.tfstate in S3, yet Deployment attic-dev/attic runs"
    assert "`gfwizard backend migrate --env dev --stack attic`" in problem_remedy(problem)
    assert problem_remedy(problem).startswith("do not deploy attic in dev yet")
    assert "restore the previous version of its state object" in problem_remedy(problem)
    assert problem_brief(problem) == "dev/attic runs without state"
    text = render_text(snap)
    assert "NO STATE, yet running" in text and "Deployment/attic-dev/attic (no state)" in text
    assert text.count("not applied") == 7
    assert snap.to_json()["stacks"][0]["source"] == "untracked" and not snap.to_json()["healthy"]


def test_a_workload_labelled_with_another_environment_is_not_this_ones() -> None:
    # Without the checkout both environments expect the same names: prod's workload is not dev's.
    same = {(env, stack): ((stack, "Deployment", stack, 1),) for env in ("dev", "prod") for stack in STACKS}
    snap = _snapshot({("Deployment", "attic", "attic"): _deployment("attic", "attic", "prod")}, expected=same)
    assert _stack(snap, "dev", "attic").source == "none"
    assert _stack(snap, "prod", "attic").source == "untracked"
    assert [p.subject for p in snap.problems] == ["prod/attic"]


def test_an_unlabelled_workload_counts_only_where_no_other_environment_expects_its_name() -> None:
    unlabelled = {("Deployment", "attic-dev", "attic"): _deployment("attic-dev", "attic", None)}
    assert _stack(_snapshot(unlabelled), "dev", "attic").source == "untracked"
    same = {(env, stack): ((stack, "Deployment", stack, 1),) for env in ("dev", "prod") for stack in STACKS}
    ambiguous = _snapshot({("Deployment", "attic", "attic"): _deployment("attic", "attic", None)}, expected=same)
    assert {s.source for s in ambiguous.stacks} == {"none"} and ambiguous.healthy


def test_only_the_shown_environment_is_judged_but_every_environment_disambiguates() -> None:
    same = {(env, stack): ((stack, "Deployment", stack, 1),) for env in ("dev", "prod") for stack in STACKS}
    snap = _snapshot({("Deployment", "attic", "attic"): _deployment("attic", "attic", None)}, expected=same,
                     envs=("dev",))
    assert _stack(snap, "dev", "attic").source == "none" and snap.healthy


def test_without_expected_workloads_or_with_state_nothing_is_untracked() -> None:
    running = {("Deployment", "attic-dev", "attic"): _deployment("attic-dev", "attic", "dev")}
    assert _snapshot(running, expected={}).healthy
    states = {("dev", "attic"): StateObject(key="k", exists=True, serial=3, last_modified=NOW - timedelta(minutes=1),
                                            workloads=(("attic-dev", "Deployment", "attic", 1),))}
    inputs = Inputs(cluster=ClusterStatus(server="s", reachable=True, fingerprint="match"), workloads=running,
                    states=states, expected=EXPECTED)
    snap = assemble(_cfg(), inputs, envs=["dev"], now=NOW)
    assert _stack(snap, "dev", "attic").source == "state" and snap.healthy


def test_the_environment_label_is_read_from_the_workload() -> None:
    assert _deployment("a", "b", "dev").environment == "dev"  # type: ignore[attr-defined]
    assert _deployment("a", "b", None).environment == ""  # type: ignore[attr-defined]
    odd = workload_record("Deployment")({"metadata": {"name": "b", "namespace": "a", "labels": ["not", "a", "map"]}})
    assert odd.environment == ""
