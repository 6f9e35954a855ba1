"""Confirmation rules: typed env name for prod, destructive changes first; the inputs hash and the
cluster contract; the lock-error classification."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gfwizard.gates import ConfirmRequest, PlannedStack, answer_approves, answer_of, build_request, refusal
from gfwizard.orgconfig import OrgConfig
from gfwizard.stacks_inputs import cluster_contract, inputs_hash, kubeconfig_file, secret_tf_vars
from gfwizard.stacks_locks import is_lock_error
from gfwizard.tofu_events import Diagnostic
from gfwizard.tofu_summary import PlanSummary


def planned(stack: str, **counts: object) -> PlannedStack:
    return PlannedStack(stack, PlanSummary(**counts), "sha256:" + stack)  # type: ignore[arg-type]


def test_request_lists_changing_stacks_and_destructive_changes_deletes_first() -> None:
    stacks = [planned("attic", replace=1, replaces=["a.r"]), planned("arc"),
              planned("dash", destroy=1, deletes=["d.x"], add=1, creates=["d.y"])]
    request = build_request("prod", True, stacks)
    assert [s.stack for s in request.stacks] == ["attic", "dash"]
    assert [(c.action, c.stack, c.address) for c in request.destructive] == [
        ("delete", "dash", "d.x"), ("replace", "attic", "a.r")]
    assert request.prompt == "Type the environment name (prod) to apply attic, dash"
    assert request.destructive_counts == "1 delete, 1 replace"
    assert build_request("prod", True, [planned("arc", add=1, creates=["c.x"])]).destructive_counts == \
        "0 deletes, 0 replaces"
    assert build_request("dev", False, stacks).prompt == "Apply attic, dash to dev?"


@pytest.mark.parametrize(("typed", "answer", "ok"), [
    (True, "prod", True), (True, " prod\n", True), (True, "PROD", False), (True, "dev", False), (True, True, False),
    (True, "", False), (False, True, True), (False, False, False), (False, "yes", False)])
def test_answers(typed: bool, answer: object, ok: bool) -> None:
    request = ConfirmRequest(env="prod", typed=typed, stacks=(), destructive=())
    assert answer_approves(request, answer) is ok  # type: ignore[arg-type]


@pytest.mark.parametrize(("typed", "answer", "why"), [
    (True, "Prod", "'Prod' is not 'prod' (type the environment name exactly to apply)"),
    (True, " dev \n", "'dev' is not 'prod' (type the environment name exactly to apply)"),
    (True, "x" * 50, f"'{'x' * 40}…' is not 'prod' (type the environment name exactly to apply)"),
    (True, "pr\x1b[2Jod", "'pr\\x1b[2Jod' is not 'prod' (type the environment name exactly to apply)"),
    (True, "  ", "nothing was typed ('prod' applies)"),
    (True, False, "the confirmation was cancelled"),
    (False, False, "the operator declined")])
def test_a_refusal_says_why(typed: bool, answer: object, why: str) -> None:
    request = ConfirmRequest(env="prod", typed=typed, stacks=(), destructive=())
    assert refusal(request, answer) == why  # type: ignore[arg-type]


def test_asking_accepts_sync_and_async_callbacks() -> None:
    request = ConfirmRequest(env="prod", typed=True, stacks=(), destructive=())

    async def typed_async(req: ConfirmRequest) -> str:
        return req.env

    def approved(confirm: object) -> bool:
        return answer_approves(request, asyncio.run(answer_of(request, confirm)))  # type: ignore[arg-type]

    assert approved(lambda req: "prod")
    assert approved(typed_async)
    assert not approved(lambda req: True)


def cfg(kubeconfig: str) -> OrgConfig:
    return OrgConfig.model_validate({
        "version": 1, "organization": {"name": "tinyland", "full_name": "Tinyland"},
        "cluster": {"name": "honey", "context": "honey", "kubeconfig": kubeconfig,
                    "api_server": "https://100.113.89.12:6443", "network": "tailnet"},
        "state": {"backend": "s3", "s3": {"endpoint": "http://127.0.0.1:9", "bucket": "state-bucket"}},
        "environments": {"dev": {"cluster": "honey", "tfvars": "dev.tfvars"}},
        "stacks": [{"name": "attic"}],
    })


def test_contract_with_an_explicit_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    contract = cluster_contract(cfg("~/.kube/kubeconfig-honey.yaml"), {"HOME": str(tmp_path)})
    assert contract.var_args() == ["-var", f"k8s_config_path={tmp_path}/.kube/kubeconfig-honey.yaml",
                                   "-var", "cluster_context=honey"]
    assert contract.extra_env == ()


def test_contract_with_the_ambient_kubeconfig_points_the_providers_at_it() -> None:
    contract = cluster_contract(cfg(""), {"KUBECONFIG": "/a/one.yaml:/b/two.yaml", "HOME": "/h"})
    assert contract.k8s_config_path == "" and contract.extra_env == (("KUBE_CONFIG_PATHS", "/a/one.yaml:/b/two.yaml"),)
    assert kubeconfig_file(cfg(""), {"KUBECONFIG": "/a/one.yaml:/b/two.yaml"}) == Path("/a/one.yaml")
    assert cluster_contract(cfg(""), {"HOME": "/h"}).extra_env == (("KUBE_CONFIG_PATHS", "/h/.kube/config"),)


def test_contract_hands_the_providers_the_files_kubectl_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The providers expand a literal '~' that kubectl (and the deploy gates) do not, and tofu runs in the stack's
    # directory: each entry goes over as kubectl reads it, absolute, so all of them read the same files.
    monkeypatch.chdir(tmp_path)
    env = {"KUBECONFIG": "~/.kube/a.yaml:rel.yaml::/abs/b.yaml:rel.yaml", "HOME": "/h"}
    contract = cluster_contract(cfg(""), env)
    assert contract.extra_env == (("KUBE_CONFIG_PATHS", f"{tmp_path}/~/.kube/a.yaml:{tmp_path}/rel.yaml:/abs/b.yaml"),)
    assert kubeconfig_file(cfg(""), env) == tmp_path / "~" / ".kube" / "a.yaml"
    assert not (tmp_path / "~").exists()


def test_inputs_hash_follows_code_tfvars_backend_vars_and_tf_var(tmp_path: Path) -> None:
    stack = tmp_path / "attic"
    (stack / ".terraform").mkdir(parents=True)
    (stack / "main.tf").write_text("# a\n")
    (stack / "dev.tfvars").write_text("a = 1\n")
    (stack / "README.md").write_text("docs do not change plans\n")
    (stack / ".terraform" / "x.tf").write_text("ignored\n")
    backend = tmp_path / "dev.s3.tfbackend"
    backend.write_text('key = "a"\n')
    args = ["-var", "cluster_context=honey"]

    def h(**env: str) -> str:
        return inputs_hash(stack, backend_file=backend, var_args=args, environ=env)

    base = h()
    assert h() == base
    (stack / "README.md").write_text("changed docs\n")
    (stack / ".terraform" / "x.tf").write_text("changed\n")
    assert h() == base
    assert h(TF_VAR_apply_delay_seconds="3") != base
    assert h(UNRELATED="1") == base
    assert inputs_hash(stack, backend_file=backend, var_args=["-var", "cluster_context=other"], environ={}) != base
    (stack / "dev.tfvars").write_text("a = 2\n")
    changed_tfvars = h()
    assert changed_tfvars != base
    backend.write_text('key = "b"\n')
    assert h() != changed_tfvars


def test_inputs_hash_follows_the_files_the_code_reads_not_what_runs_leave(tmp_path: Path) -> None:
    # Only .tf/.tfvars/.hcl counted: a changed Helm values template (templatefile) changes the plan, yet
    # --resume skipped the stack as unchanged.
    stack = tmp_path / "arc-runners"
    (stack / "values").mkdir(parents=True)
    (stack / "main.tf").write_text('locals { v = templatefile("values/runner.yaml.tftpl", {}) }\n')
    (stack / "values" / "runner.yaml.tftpl").write_text("replicas: 1\n")
    backend = tmp_path / "dev.s3.tfbackend"
    backend.write_text('key = "a"\n')

    def h() -> str:
        return inputs_hash(stack, backend_file=backend, var_args=[], environ={})

    base = h()
    (stack / "errored.tfstate").write_text("{}\n")  # an apply that could not save its state
    (stack / "prod.s3.tfbackend").write_text('key = "p"\n')  # another environment's rendered backend
    (stack / "README.md").write_text("docs\n")
    assert h() == base
    (stack / "values" / "runner.yaml.tftpl").write_text("replicas: 3\n")
    assert h() != base


def test_secret_tf_vars() -> None:
    env = {"TF_VAR_rehearsal_runner_token": "tok-123456", "TF_VAR_namespace": "attic",
           "TF_VAR_db_password": "pw-654321", "PASSWORD": "not-a-tf-var"}
    assert sorted(secret_tf_vars(env)) == ["pw-654321", "tok-123456"]


def test_lock_errors_are_recognised_by_the_diagnostic_summary() -> None:
    def diag(summary: str, severity: str = "error") -> Diagnostic:
        return Diagnostic("diagnostic", "error", "", "", severity=severity, summary=summary, detail="ID: x")

    assert is_lock_error([diag("Error acquiring the state lock")])
    assert not is_lock_error([diag("Error acquiring the state lock", severity="warning")])
    assert not is_lock_error([diag("Error releasing the state lock")])
    assert not is_lock_error([diag("Invalid value for variable")])
