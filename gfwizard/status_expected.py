"""The workloads status expects of a stack whose state cannot be read: the documented defaults, in the
namespace and environment the stack's ``<env>.tfvars`` gives (the checkout's files; read only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

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
