"""The workloads status expects of a stack whose state cannot be read: the documented defaults, in the
namespace and environment the stack's ``<env>.tfvars`` gives (the checkout's files; read only); and
which of them run although the stack has no state (status's ``running-without-state`` problem and the
deploy's ``running without state`` gate)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Sequence

if TYPE_CHECKING:
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig

#: (namespace, kind, name, replicas) of one workload.
Spec = tuple[str, str, str, int]


def tfvars_strings(text: str) -> dict[str, str]:
    """The top-level string attributes of a ``.tfvars`` document ({} when it does not parse)."""
    from gfwizard.audit_hcl import HclError, parse

    try:
        nodes = parse(text)
    except HclError:
        return {}
    return {n.name: n.value for n in nodes if n.kind == "attribute" and isinstance(n.value, str)}


def expected_workloads(cfg: "OrgConfig", envs: Sequence[str],
                       layout: "Layout") -> dict[tuple[str, str], tuple[Spec, ...]]:
    """``(env, stack) -> workloads`` from the defaults and each stack's tfvars for that env."""
    from gfwizard.placement import default_requests

    out: dict[tuple[str, str], tuple[Spec, ...]] = {}
    for env in envs:
        environment = cfg.environments.get(env)
        for stack in cfg.stack_order():
            values: dict[str, str] = {}
            if environment is not None:
                try:
                    values = tfvars_strings(layout.tfvars_file(stack, environment.tfvars).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    values = {}
            requests = default_requests(stack, namespace=values.get("namespace") or None,
                                        environment=values.get("environment") or env)
            out[(env, stack)] = tuple((w.namespace, w.kind, w.name, w.replicas) for w in requests)
    return out


def untracked_workloads(env: str, stack: str, expected: Mapping[tuple[str, str], tuple[Spec, ...]],
                        environment_of: Callable[[tuple[str, str, str]], "str | None"]) -> list[tuple[str, str, str]]:
    """The ``(namespace, kind, name)`` of the workloads ``stack`` would create in ``env`` that run, so that a
    missing state for it means its state is elsewhere (still on the GitLab HTTP backend) or lost.

    ``environment_of((kind, namespace, name))`` is the running workload's environment label (``""`` when
    it has none) or None when it does not run. A workload labelled with another environment is not this
    one's. An unlabelled one counts only when no other environment's copy of the stack would have the same
    namespace and name (without the checkout's tfvars, dev and prod expect the same names)."""
    elsewhere = {spec[:3] for (other, name), other_specs in expected.items()
                 if name == stack and other != env for spec in other_specs}
    found: list[tuple[str, str, str]] = []
    for namespace, kind, name, _ in expected.get((env, stack), ()):
        label = environment_of((kind, namespace, name))
        if label is None:
            continue
        if label == env or (not label and (namespace, kind, name) not in elsewhere):
            found.append((namespace, kind, name))
    return found
