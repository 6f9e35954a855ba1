"""Stack order from ``depends_on``: dependencies first, file order among independent stacks.

Unknown dependencies, unknown selected stacks and cycles are input errors, raised before anything
runs; a cycle is named (``a -> c -> b -> a``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from gfwizard.errors import InputError

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig


def dependency_graph(cfg: "OrgConfig") -> dict[str, list[str]]:
    """``stack -> depends_on`` (InputError on a dependency that is not a stack)."""
    names = [s.name for s in cfg.stacks]
    graph: dict[str, list[str]] = {}
    for spec in cfg.stacks:
        if spec.name in graph:
            raise InputError(f"stack {spec.name!r} is listed twice in organization.yaml",
                             remedy="list each stack once under stacks:")
        for dep in spec.depends_on:
            if dep not in names:
                raise InputError(f"stack {spec.name!r} depends on unknown stack {dep!r} (known: {', '.join(names)})",
                                 remedy="fix depends_on in organization.yaml")
        graph[spec.name] = list(spec.depends_on)
    return graph


def stack_order(cfg: "OrgConfig", selected: Sequence[str] | None = None) -> list[str]:
    """Stack names in dependency order (file order among independent stacks), limited to ``selected``.

    Raises InputError for an unknown selected stack, an unknown dependency or a cycle (naming it).
    """
    graph = dependency_graph(cfg)
    _refuse_cycles(graph)
    order: list[str] = []
    pending = list(graph)
    while pending:
        ready = next(name for name in pending if all(dep in order for dep in graph[name]))
        order.append(ready)
        pending.remove(ready)
    if selected:
        unknown = [s for s in selected if s not in graph]
        if unknown:
            raise InputError(f"unknown stack {unknown[0]!r} (known: {', '.join(graph)})",
                             remedy="pass --stack with one of the stacks listed in organization.yaml")
        wanted = set(selected)
        order = [s for s in order if s in wanted]
    return order


def _refuse_cycles(graph: Mapping[str, list[str]]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise InputError("stack dependencies form a cycle: " + " -> ".join(cycle),
                             remedy="remove one of these depends_on entries in organization.yaml")
        state[name] = 1
        for dep in graph[name]:
            visit(dep, path + [name])
        state[name] = 2

    for name in graph:
        visit(name, [])
