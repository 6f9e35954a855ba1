"""The ``running without state`` deploy gate: a stack of the run with no state object in S3 for the
environment while its workloads run on honey for that environment.

Applying such a stack would create again, from empty state, what already runs: with the real providers
the apply fails part-way on "already exists" and leaves a state that manages part of what runs. The
state is then elsewhere (still on the GitLab HTTP backend: the ``state migration`` gate sees that only
when ``TF_HTTP_PASSWORD`` is exported) or lost (the object was deleted).

Read-only: one HEAD per stack of the run; then, only for the stacks without state and only once the
cluster gates have verified honey's identity, one GET per workload such a stack would create.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from gfwizard.checks import Check, failed, passed

if TYPE_CHECKING:
    from gfwizard.cluster import ResolvedContext
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig

#: The gate's name, as the deploy shows it.
NAME = "running without state"
#: ``(kind, namespace, name)`` of a workload.
WorkloadKey = tuple[str, str, str]
#: Reads which of the given workloads run: key -> their environment label ("" when unlabelled).
WorkloadReader = Callable[[Sequence[WorkloadKey]], Mapping[WorkloadKey, str]]


def stateless_stacks(cfg: "OrgConfig", env: str, stacks: Sequence[str], environ: Mapping[str, str],
                     *, client: Any = None) -> list[str] | Check:
    """The stacks of ``stacks`` with no state object for ``env`` (one HEAD each), or a failed check
    saying why the store could not be asked."""
    from gfwizard.backend_direct import DirectS3, explain_direct, state_reader
    from gfwizard.backend_s3 import explain, object_exists, s3_target

    target = s3_target(cfg, environ)
    missing: list[str] = []
    for stack in stacks:
        key = cfg.state_key(env, stack)
        try:
            client = client or state_reader(cfg, environ)
            if not object_exists(client, target.bucket, key):
                missing.append(stack)
        except Exception as exc:  # noqa: BLE001 - worded for the operator; a look that failed never passes
            worded = explain_direct(exc, target=target, env=env, action=f"read {key}") \
                if isinstance(client, DirectS3) else None
            detail, remedy = worded or explain(exc, target=target, env=env, action=f"read {key}")
            return failed(NAME, f"could not look whether {stack} has state in {env}: {detail}", remedy)
    return missing


def untracked_check(cfg: "OrgConfig", env: str, stateless: Sequence[str], layout: "Layout",
                    *, environments: WorkloadReader | None = None, resolved: "ResolvedContext | None" = None) -> Check:
    """The gate for the stacks of the run that have no state (``stateless``): it fails when a workload
    one of them would create already runs for ``env`` (:func:`~gfwizard.status_expected.untracked_workloads`).

    ``environments(keys)`` reads the running workloads (default: :func:`gfwizard.cluster.workload_environments`,
    from ``resolved``, the context the gates verified, when it is given).
    """
    from gfwizard.cluster_errors import ClusterAccessError
    from gfwizard.status_expected import expected_workloads, untracked_workloads

    if not stateless:
        return passed(NAME, f"every stack of this run has its state in S3 for {env}")
    expected = expected_workloads(cfg, list(cfg.environments), layout)
    keys = sorted({(kind, ns, name) for stack in stateless for ns, kind, name, _ in expected.get((env, stack), ())})
    if environments is None:
        from gfwizard.cluster import workload_environments

        def environments(wanted: Sequence[WorkloadKey]) -> Mapping[WorkloadKey, str]:
            return workload_environments(cfg, wanted, resolved=resolved)
    try:
        running = environments(keys)
    except ClusterAccessError as exc:
        return failed(NAME, f"could not look whether the workloads of {', '.join(stateless)} already run: "
                            f"{exc.message}", exc.remedy)
    found = {stack: untracked_workloads(env, stack, expected, running.get) for stack in stateless}
    found = {stack: workloads for stack, workloads in found.items() if workloads}
    if not found:
        them = "it" if len(stateless) == 1 else "them"
        return passed(NAME, f"{', '.join(stateless)} {'has' if len(stateless) == 1 else 'have'} no state in S3 for "
                            f"{env} yet, and nothing of {them} runs on honey (a first deploy)")
    stacks = list(found)
    shown = "; ".join(f"{stack}: " + ", ".join(f"{kind} {ns}/{name}" for ns, kind, name in workloads)
                      for stack, workloads in found.items())
    target = cfg.state.s3
    bucket = f" in bucket {target.bucket}" if target is not None else ""
    one = len(stacks) == 1
    verb = "has" if one else "have"
    migrate = (f"`gfwizard backend migrate --env {env} --stack {stacks[0]}`" if one
               else f"`gfwizard backend migrate --env {env}` (every stack still on HTTP)")
    return failed(
        NAME,
        f"{', '.join(stacks)} {verb} no state in S3 for {env}, yet {'its' if one else 'their'} "
        f"workloads run on honey ({shown}): applying would create them again from empty state",
        f"if the state is still on the GitLab HTTP backend, export TF_HTTP_PASSWORD and run {migrate}; if it was "
        f"deleted, restore the previous version of {cfg.state_key(env, stacks[0])}{bucket}"
        f"{'' if one else ' (and of each other one)'}; `gfwizard status --env {env}` shows what runs")
