"""What each stack needs to be allowed to do, checked with SelfSubjectAccessReview.

The lists mirror what the stacks' resources and Helm charts create. Reviews are cluster-wide (no
namespace): the stacks create their own namespaces and cluster-scoped objects (CRDs, ClusterRoles),
so a namespace-scoped grant is not enough to deploy them.

* every stack: namespaces, deployments, services, secrets, configmaps, serviceaccounts;
* attic: + statefulsets, persistentvolumeclaims (the cache's store);
* arc-runners (gha-runner-scale-set-controller + gha-runner-scale-set charts): + roles, rolebindings,
  clusterroles, clusterrolebindings, customresourcedefinitions, and the actions.github.com resources
  autoscalingrunnersets, ephemeralrunnersets, ephemeralrunners, autoscalinglisteners;
* gitlab-runners (gitlab-runner chart): + roles, rolebindings (the chart installs no CRDs);
* runner-dashboard: the common set;
* any other stack: the common set.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Iterable

from gfwizard.checks import Check, failed, passed

if TYPE_CHECKING:
    from gfwizard.cluster_client import ClusterClient

VERBS: tuple[str, ...] = ("get", "list", "watch", "create", "update", "patch", "delete")
NAME = "rbac"

Resource = tuple[str, str]  # (api group, resource)

COMMON: tuple[Resource, ...] = (
    ("", "namespaces"), ("apps", "deployments"), ("", "services"), ("", "secrets"), ("", "configmaps"),
    ("", "serviceaccounts"),
)
_RBAC: tuple[Resource, ...] = (("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"))
_ARC_CRS: tuple[Resource, ...] = tuple(("actions.github.com", r) for r in (
    "autoscalingrunnersets", "ephemeralrunnersets", "ephemeralrunners", "autoscalinglisteners"))

STACK_RESOURCES: dict[str, tuple[Resource, ...]] = {
    "attic": COMMON + (("apps", "statefulsets"), ("", "persistentvolumeclaims")),
    "arc-runners": COMMON + _RBAC + (
        ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("apiextensions.k8s.io", "customresourcedefinitions")) + _ARC_CRS,
    "gitlab-runners": COMMON + _RBAC,
    "runner-dashboard": COMMON,
}


def resources_for(stacks: Iterable[str]) -> dict[Resource, list[str]]:
    """Each resource the given stacks need, with the stacks that need it (in order of first need)."""
    needed: dict[Resource, list[str]] = {}
    for stack in stacks:
        for res in STACK_RESOURCES.get(stack, COMMON):
            needed.setdefault(res, []).append(stack)
    return needed


def _label(res: Resource) -> str:
    group, resource = res
    return f"{resource}.{group}" if group else resource


def rbac_check(client: "ClusterClient", stacks: list[str], workers: int = 8) -> Check:
    """One SelfSubjectAccessReview per verb and resource the ``stacks`` need; list exactly what is missing."""
    needed = resources_for(stacks)
    asks = [(res, verb) for res in needed for verb in VERBS]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gfwizard-ssar") as pool:
        answers = list(pool.map(lambda a: client.access_review(a[1], a[0][1], a[0][0]), asks))
    missing: dict[Resource, list[str]] = defaultdict(list)
    for (res, verb), (allowed, _reason) in zip(asks, answers):
        if not allowed:
            missing[res].append(verb)
    user = client.target.user_name
    if not missing:
        return passed(NAME, f"user {user!r} may {', '.join(VERBS)} all {len(needed)} resource kinds the stacks "
                            f"need ({len(asks)} access reviews)")
    lines = [f"{_label(res)}: {', '.join(verbs)} (for {', '.join(needed[res])})" for res, verbs in missing.items()]
    count = sum(len(v) for v in missing.values())
    return failed(NAME, f"user {user!r} lacks {count} of {len(asks)} permissions the stacks need: " + "; ".join(lines),
                  f"ask honey's admin to bind user {user!r} to cluster-admin, or to a ClusterRole granting the verbs "
                  "listed (cluster-wide: the stacks create namespaces, CRDs and ClusterRoles)")
