"""The workloads status expects of a stack whose state cannot be read: the documented defaults, in the
namespace and environment the stack's ``<env>.tfvars`` gives (the checkout's files; read only); and
which of them run although the stack has no state (status's ``running-without-state`` problem and the
deploy's ``running without state`` gate)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

if TYPE_CHECKING:
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig

#: (namespace, kind, name, replicas) of one workload.
Spec = tuple[str, str, str, int]


_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
#: ``name = "plain string"``: no escapes, no templates.
_STRING_ATTRIBUTE = re.compile(rf'\s*({_IDENT})\s*=\s*"([^"\\$%]*)"\s*')
_ATTRIBUTE = re.compile(rf"\s*({_IDENT})\s*=\s*\S")
_SCALAR = re.compile(r"(-?[0-9]+(\.[0-9]+)?|true|false|null)\s*")


def tfvars_strings(text: str) -> dict[str, str]:
    """The top-level string attributes of a ``.tfvars`` document ({} when it does not parse).

    The stacks' tfvars are flat ``name = "value"`` lines and a few maps: :func:`simple_tfvars_strings`
    reads those without the HCL parser (loading its grammar costs ~0.2 s of CPU, on a deploy's gate path);
    anything it is not sure of goes to the parser."""
    simple = simple_tfvars_strings(text)
    if simple is not None:
        return simple
    from gfwizard.audit_hcl import HclError, parse

    try:
        nodes = parse(text)
    except HclError:
        return {}
    return {n.name: n.value for n in nodes if n.kind == "attribute" and isinstance(n.value, str)}


def simple_tfvars_strings(text: str) -> dict[str, str] | None:
    """:func:`tfvars_strings` for a document of top-level attributes whose strings hold no escape or
    template, with ``#`` / ``//`` comments; None for anything else (a block, a heredoc, a ``/* */``
    comment, a repeated name, brackets that do not close, a line it cannot place)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    depth = 0
    for line in text.splitlines():
        code = _strip_comment(line)
        if code is None:
            return None
        if not code.strip():
            continue
        if depth == 0:
            plain = _STRING_ATTRIBUTE.fullmatch(code)
            other = plain or _ATTRIBUTE.match(code)
            if other is None or other.group(1) in seen:
                return None
            seen.add(other.group(1))
            if plain is not None:
                out[plain.group(1)] = plain.group(2)
                continue
            code = code[other.end() - 1:]
            if code[0] not in "{[" and not _SCALAR.fullmatch(code):
                return None
        for char in _outside_strings(code):
            depth += 1 if char in "{[(" else -1 if char in "}])" else 0
            if depth < 0:
                return None
    return out if depth == 0 else None


def _strip_comment(line: str) -> str | None:
    """``line`` without a trailing ``#`` / ``//`` comment; None when it holds what the simple reader does
    not read (an escape, a template, a heredoc, a block comment, an unterminated string)."""
    in_string = False
    for i, char in enumerate(line):
        if in_string:
            if char in "\\$%":
                return None
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char == "#" or line.startswith("//", i):
            return line[:i]
        elif line.startswith("/*", i) or line.startswith("<<", i):
            return None
    return None if in_string else line


def _outside_strings(code: str) -> str:
    """The characters of ``code`` outside its (plain) strings."""
    return "".join(part for i, part in enumerate(code.split('"')) if i % 2 == 0)


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
