"""The ``running without state`` gate's decisions (:mod:`gfwizard.stacks_untracked`), with the cluster
and the store replaced: which running workloads make a stack without state a stop, and that a look
that fails is a failed gate with the reason and a remedy, never a pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gfwizard.backend_direct import DirectS3Error
from gfwizard.checks import Level
from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.layout import layout_for
from gfwizard.orgconfig import OrgConfig
from gfwizard.stacks_untracked import NAME, stateless_stacks, untracked_check
from tests.helpers import REPO


def _cfg() -> OrgConfig:
    from gfwizard.rehearsal.workspace import org_config

    return org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=Path("/nonexistent/kubeconfig"),
                      s3_endpoint="http://127.0.0.1:9000", bucket="state",
                      fingerprint=("2f9c8a1e-0000-4000-8000-000000000001", "ab" * 32))


def _check(running: dict[tuple[str, str, str], str], stateless: tuple[str, ...] = ("attic",)) -> Any:
    asked: list[list[tuple[str, str, str]]] = []

    def environments(keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        asked.append(list(keys))
        return {k: v for k, v in running.items() if k in keys}

    check = untracked_check(_cfg(), "dev", stateless, layout_for("loopback", repo=REPO), environments=environments)
    return check, asked


def test_a_workload_labelled_with_this_environment_stops_the_stack() -> None:
    check, asked = _check({("Deployment", "attic-dev", "attic"): "dev"})
    assert check.name == NAME and check.level is Level.FAIL
    assert check.detail == ("attic has no state in S3 for dev, yet its workloads run on honey (attic: Deployment "
                            "attic-dev/attic): applying would create them again from empty state")
    assert check.remedy.startswith("if the state is still on the GitLab HTTP backend, export TF_HTTP_PASSWORD and "
                                   "run `gfwizard backend migrate --env dev --stack attic`;")
    assert "restore the previous version of gloriousflywheel/dev/attic.tfstate in bucket state" in check.remedy
    # Only the workloads dev's attic would create (its tfvars' namespace) were asked for.
    assert asked == [[("Deployment", "attic-dev", "attic")]]


def test_several_stacks_are_named_together_and_the_remedy_says_to_go_on_with_the_others() -> None:
    running = {("Deployment", "attic-dev", "attic"): "dev", ("Deployment", "runner-dashboard-dev",
                                                               "runner-dashboard"): ""}
    check, _ = _check(running, stateless=("attic", "arc-runners", "runner-dashboard"))
    assert check.level is Level.FAIL
    assert check.detail.startswith("attic, runner-dashboard have no state in S3 for dev, yet their workloads run")
    assert "run `gfwizard backend migrate --env dev` (every stack still on HTTP);" in check.remedy
    assert "dev/attic.tfstate in bucket state (and of each other one);" in check.remedy


@pytest.mark.parametrize("label", ["prod", "staging"])
def test_a_workload_labelled_with_another_environment_is_not_this_ones(label: str) -> None:
    check, _ = _check({("Deployment", "attic-dev", "attic"): label})
    assert check.level is Level.PASS
    assert check.detail == "attic has no state in S3 for dev yet, and nothing of it runs on honey (a first deploy)"


def test_an_unlabelled_workload_at_a_name_only_this_environment_uses_counts() -> None:
    check, _ = _check({("Deployment", "attic-dev", "attic"): ""})
    assert check.level is Level.FAIL and "Deployment attic-dev/attic" in check.detail


def test_prods_workloads_do_not_stop_dev() -> None:
    check, _ = _check({("Deployment", "attic", "attic"): "prod", ("Deployment", "attic", "attic-x"): ""})
    assert check.level is Level.PASS


def test_every_stack_with_state_passes_without_asking_the_cluster() -> None:
    check, asked = _check({("Deployment", "attic-dev", "attic"): "dev"}, stateless=())
    assert (check.level, check.detail) == (Level.PASS, "every stack of this run has its state in S3 for dev")
    assert asked == []


def test_a_cluster_that_cannot_be_read_fails_the_gate_with_its_reason() -> None:
    def forbidden(_keys: Any) -> Any:
        raise ClusterAccessError("forbidden", "forbidden (403): deployments.apps is forbidden",
                                 "ask honey's admin to grant user 'ci' the missing permission", status=403)

    check = untracked_check(_cfg(), "dev", ("attic", "arc-runners"), layout_for("loopback", repo=REPO),
                            environments=forbidden)
    assert check.level is Level.FAIL
    assert check.detail == ("could not look whether the workloads of attic, arc-runners already run: "
                            "forbidden (403): deployments.apps is forbidden")
    assert check.remedy == "ask honey's admin to grant user 'ci' the missing permission"


class _Store:
    """``head_object`` answers per key: True (exists), False (404) or an exception to raise."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - botocore's names
        self.asked.append(Key)
        answer = self.answers[Key]
        if answer is True:
            return {}
        raise answer if isinstance(answer, Exception) else DirectS3Error(404, "404", "Not Found", "HeadObject")


def test_stateless_stacks_are_those_whose_state_object_is_missing() -> None:
    store = _Store({"gloriousflywheel/dev/attic.tfstate": True, "gloriousflywheel/dev/arc-runners.tfstate": False,
                    "gloriousflywheel/dev/gitlab-runners.tfstate": False})
    found = stateless_stacks(_cfg(), "dev", ["attic", "arc-runners", "gitlab-runners"], {}, client=store)
    assert found == ["arc-runners", "gitlab-runners"]
    assert len(store.asked) == 3


def test_a_store_that_refuses_the_look_fails_the_gate_and_asks_no_further() -> None:
    denied = DirectS3Error(403, "AccessDenied", "Access Denied", "HeadObject")
    store = _Store({"gloriousflywheel/dev/attic.tfstate": denied, "gloriousflywheel/dev/arc-runners.tfstate": False})
    check = stateless_stacks(_cfg(), "dev", ["attic", "arc-runners"], {}, client=store)
    assert not isinstance(check, list)
    assert check.name == NAME and check.level is Level.FAIL
    assert check.detail.startswith("could not look whether attic has state in dev: ")
    assert "AccessDenied" in check.detail or "403" in check.detail or "denied" in check.detail.lower(), check.detail
    assert check.remedy
    assert store.asked == ["gloriousflywheel/dev/attic.tfstate"]
