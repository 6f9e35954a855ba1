"""The audit's YAML reader: CI workflows (GitHub Actions, GitLab CI) and organization configs.

Files are composed with PyYAML's safe loader into nodes that keep their marks, so every finding
carries the line of the key or value it is about (for a multi-line script, the line inside it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from gfwizard.audit_rules import CONTEXT_CLAIMS, AuditContext, labelled_name, shell_hits

_CONTEXT_KEY = re.compile(r"(?:^|_)(?:kube_?)?context$|^cluster_context$", re.I)
_DEPLOY = re.compile(r"\bgfwizard\s+deploy\b|\b(?:tofu|terraform)\b(?:\s+-\S+)*\s+(?:plan|apply)\b|"
                     r"\bjust\s+(?:tofu-plan|tofu-apply|deploy)\b")
#: OpenTofu/Terraform changing real infrastructure directly, not through ``gfwizard deploy``.
_DIRECT_APPLY = re.compile(r"\b(?:tofu|terraform)\b(?:\s+-\S+)*\s+(?:apply|destroy)\b")
_DIRECT_APPLY_TARGET = ("CI deploys only through the operator's contract: `gfwizard deploy --env <env>` (its gates, "
                        "the kubeconfig contract and S3 state), never OpenTofu/Terraform apply on its own")
_SETS_KUBECONFIG = re.compile(r"\bKUBECONFIG=")
_GITLAB_RESERVED = {"stages", "variables", "include", "default", "workflow", "image", "services",
                    "before_script", "after_script", "cache", "spec"}


class YamlError(Exception):
    """A file PyYAML could not parse; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def compose(text: str) -> yaml.Node | None:
    """The node tree of a single-document YAML file (custom tags such as ``!reference`` are kept)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise YamlError(first, line) from exc


def get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under ``key`` of a mapping node."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def items(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    """``(key, value)`` pairs of a mapping node with scalar keys."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                yield k.value, v


def scalar(node: yaml.Node | None) -> str | None:
    """The text of a scalar node."""
    return node.value if isinstance(node, yaml.ScalarNode) else None


@dataclass
class Source:
    """One YAML file's text, for mapping a match inside a scalar back to its line."""

    path: Path
    lines: list[str]

    def line_of(self, node: yaml.Node, needle: str) -> int:
        """The 1-based line inside ``node`` where ``needle`` first appears (else the node's first line)."""
        start, end = node.start_mark.line, max(node.end_mark.line, node.start_mark.line)
        for i in range(start, min(end, len(self.lines) - 1) + 1):
            if needle and needle in self.lines[i]:
                return i + 1
        return start + 1


# -- workflows -------------------------------------------------------------------------------------


def check_workflow(ctx: AuditContext, path: Path, text: str, labelled: bool, flavour: str) -> None:
    """A GitHub Actions workflow (``flavour="github"``) or a GitLab CI file (``"gitlab"``)."""
    root = compose(text)
    src = Source(path, text.splitlines())
    if not isinstance(root, yaml.MappingNode):
        return
    jobs = get(root, "jobs") if flavour == "github" else root
    job_of: dict[int, tuple[str, str | None]] = {}
    for job_id, job in items(jobs):
        if flavour == "gitlab" and (job_id in _GITLAB_RESERVED or job_id.startswith(".")):
            continue
        env = _job_env(ctx, job_id, job)
        for node in _descendants(job):
            job_of[id(node)] = (job_id, env)
    for key, node, parent_key in _scalars(root):
        job_id, env = job_of.get(id(node), ("", None))
        lab = labelled or labelled_name(job_id)
        _scalar_rules(ctx, src, node, key, parent_key, env, lab)
    if flavour == "github":
        _dispatch_inputs(ctx, src, root, labelled)
    _deploy_without_kubeconfig(ctx, src, root, flavour, labelled)


def _job_env(ctx: AuditContext, job_id: str, job: yaml.Node) -> str | None:
    env_node = get(job, "environment")
    name = scalar(env_node) or scalar(get(env_node, "name"))
    if name and "${{" not in name and "$" not in name:
        return ctx.env_of(name)
    return ctx.env_of(job_id)


def _descendants(node: yaml.Node) -> Iterator[yaml.Node]:
    yield node
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield k
            yield from _descendants(v)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            yield from _descendants(v)


def _scalars(node: yaml.Node, parent_key: str = "") -> Iterator[tuple[bool, yaml.ScalarNode, str]]:
    """``(is_key, node, parent_key)`` for every scalar, keys included."""
    if isinstance(node, yaml.ScalarNode):
        yield False, node, parent_key
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                yield True, k, parent_key
                yield from _scalars(v, k.value)
            else:
                yield from _scalars(k, parent_key)
                yield from _scalars(v, parent_key)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            yield from _scalars(v, parent_key)


def _scalar_rules(ctx: AuditContext, src: Source, node: yaml.ScalarNode, is_key: bool, parent_key: str,
                  env: str | None, labelled: bool) -> None:
    text = node.value
    if not isinstance(text, str) or not text:
        return
    for hit in shell_hits(ctx, text, credentials=True, claims=False):
        ctx.add(hit.criterion, src.path, src.line_of(node, hit.needle), hit.found, labelled=labelled, rule=hit.rule)
    if is_key:
        return
    if parent_key == "uses" and text.lower().startswith("civo/"):
        ctx.add(3, src.path, src.line_of(node, text), f"Civo GitHub action {text!r}", labelled=labelled,
                rule="c3.civo-action")
    if _CONTEXT_KEY.search(parent_key) or parent_key == "TF_VAR_cluster_context":
        ctx.claim(text, src.path, src.line_of(node, text), env=env, labelled=labelled)
    elif parent_key.upper() == "KUBECONFIG":
        tokens = set(re.split(r"[^a-z0-9]+", text.lower()))
        role = sorted(tokens & ctx.roles)
        if role:
            ctx.add(5, src.path, src.line_of(node, role[0]), f"KUBECONFIG for node role {role[0]!r}: node role, "
                    "not a cluster", labelled=labelled, rule="c5.role-kubeconfig")
    for m in CONTEXT_CLAIMS.finditer(text):
        ctx.claim(m.group(1), src.path, src.line_of(node, m.group(0)), env=env, labelled=labelled)


def _dispatch_inputs(ctx: AuditContext, src: Source, root: yaml.Node, labelled: bool) -> None:
    """A manual-dispatch environment choice must offer only the environments the config describes."""
    on = get(root, "on") or get(root, "true")
    for name, spec in items(get(get(on, "workflow_dispatch"), "inputs")):
        if "env" not in name.lower():
            continue
        options = get(spec, "options")
        for opt in options.value if isinstance(options, yaml.SequenceNode) else []:
            value = scalar(opt)
            if value and value not in ctx.environments:
                ctx.add(4, src.path, opt.start_mark.line + 1,
                        f"dispatch input {name!r} offers environment {value!r}, which the config does not describe",
                        target=f"only {', '.join(ctx.environments)}, as config/organization.yaml describes them",
                        labelled=labelled, rule="c4.dispatch-environment")


def _deploy_without_kubeconfig(ctx: AuditContext, src: Source, root: yaml.Node, flavour: str,
                               labelled: bool) -> None:
    """A plan/apply/deploy step must run with the kubeconfig contract: KUBECONFIG set to a file."""
    global_env = get(root, "env") if flavour == "github" else get(root, "variables")
    ready_globally = get(global_env, "KUBECONFIG") is not None
    jobs = get(root, "jobs") if flavour == "github" else root
    for job_id, job in items(jobs):
        if flavour == "gitlab" and (job_id in _GITLAB_RESERVED or job_id.startswith(".")):
            continue
        ready = ready_globally or get(get(job, "env" if flavour == "github" else "variables"), "KUBECONFIG") is not None
        for run_node, step_env in _runs(job, flavour):
            text = run_node.value if isinstance(run_node.value, str) else ""
            step_ready = ready or get(step_env, "KUBECONFIG") is not None
            if _SETS_KUBECONFIG.search(text) and ("GITHUB_ENV" in text or "export KUBECONFIG" in text):
                ready = True
                step_ready = True
            job_labelled = labelled or labelled_name(job_id)
            direct = _DIRECT_APPLY.search(text)
            if direct:
                ctx.add(2, src.path, src.line_of(run_node, direct.group(0)),
                        f"{direct.group(0)!r} applies directly in CI, bypassing `gfwizard deploy`",
                        target=_DIRECT_APPLY_TARGET, labelled=job_labelled, rule="c2.ci-direct-apply")
            m = _DEPLOY.search(text)
            if m and not step_ready:
                ctx.add(2, src.path, src.line_of(run_node, m.group(0)),
                        f"{m.group(0)!r} runs without KUBECONFIG pointing at a kubeconfig file",
                        labelled=job_labelled, rule="c2.deploy-without-kubeconfig")


def _runs(job: yaml.Node, flavour: str) -> Iterator[tuple[yaml.ScalarNode, yaml.Node | None]]:
    """The shell scripts of a job, in order, with their step-level env (GitHub only)."""
    if flavour == "github":
        steps = get(job, "steps")
        for step in steps.value if isinstance(steps, yaml.SequenceNode) else []:
            run = get(step, "run")
            if isinstance(run, yaml.ScalarNode):
                yield run, get(step, "env")
        return
    for key in ("before_script", "script"):
        section = get(job, key)
        if isinstance(section, yaml.ScalarNode):
            yield section, None
        elif isinstance(section, yaml.SequenceNode):
            for item in section.value:
                if isinstance(item, yaml.ScalarNode):
                    yield item, None


# -- organization config ---------------------------------------------------------------------------


def check_config(ctx: AuditContext, path: Path, text: str, labelled: bool) -> None:
    """An organization config (``config/*.yaml``): the cluster, the environments and the state backend."""
    root = compose(text)
    src = Source(path, text.splitlines())
    cluster = get(root, "cluster")
    if cluster is None and get(root, "environments") is None:
        return
    for key, what in (("name", "cluster"), ("context", "context")):
        node = get(cluster, key)
        if scalar(node):
            ctx.claim(node.value, path, src.line_of(node, node.value), labelled=labelled, what=what)
    kubeconfig = get(cluster, "kubeconfig")
    if scalar(kubeconfig):
        tokens = set(re.split(r"[^a-z0-9]+", kubeconfig.value.lower()))
        role = sorted(tokens & ctx.roles)
        if role:
            ctx.add(5, path, kubeconfig.start_mark.line + 1, f"kubeconfig for node role {role[0]!r}: node role, "
                    "not a cluster", labelled=labelled, rule="c5.role-kubeconfig")
        elif "civo" in tokens:
            ctx.add(3, path, kubeconfig.start_mark.line + 1, f"Civo kubeconfig {kubeconfig.value!r} as the cluster "
                    "access", labelled=labelled, rule="c3.civo-kubeconfig")
    for env, spec in items(get(root, "environments")):
        node = get(spec, "cluster")
        if scalar(node):
            ctx.claim(node.value, path, node.start_mark.line + 1, env=env, labelled=labelled, what="cluster")
    backend = get(get(root, "state"), "backend")
    if scalar(backend) == "http":
        ctx.add(1, path, backend.start_mark.line + 1, "state.backend: http (GitLab-managed HTTP state) is the default",
                labelled=labelled, rule="c1.config-backend-http")


@dataclass(frozen=True)
class Target:
    """The cluster, context, environments, roles and legacy contexts an audit holds a checkout to."""

    cluster: str
    context: str
    environments: tuple[str, ...]
    roles: frozenset[str]
    legacy_contexts: frozenset[str]
    source: Path | None


def read_target(root: Path, default_cluster: str, default_envs: tuple[str, ...],
                default_roles: frozenset[str]) -> Target:
    """The target from ``config/organization.yaml`` (else the example); the design's defaults otherwise.

    A config that names a node role or a Civo context as its cluster cannot define the target: the
    defaults are kept and the config itself is reported by :func:`check_config`.
    """
    for name in ("organization.yaml", "organization.example.yaml"):
        path = root / "config" / name
        try:
            if not path.is_file():  # a FIFO would block the read (check_config reports it as unreadable)
                continue
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        cluster = data.get("cluster") if isinstance(data, dict) else None
        if not isinstance(cluster, dict) or not isinstance(cluster.get("name"), str):
            continue
        placement = data.get("placement") if isinstance(data.get("placement"), dict) else {}
        roles = placement.get("roles") if isinstance(placement.get("roles"), dict) else {}
        all_roles = default_roles | {str(r).lower() for r in roles}
        name_, context = cluster["name"], str(cluster.get("context") or cluster["name"])
        bad = {t for v in (name_, context) for t in re.split(r"[^a-z0-9]+", v.lower())}
        if bad & all_roles or "civo" in bad:
            return Target(default_cluster, default_cluster, default_envs, all_roles, frozenset(), path)
        envs = data.get("environments")
        legacy = cluster.get("legacy_contexts") if isinstance(cluster.get("legacy_contexts"), list) else []
        return Target(name_, context, tuple(envs) if isinstance(envs, dict) and envs else default_envs,
                      all_roles, frozenset(str(c).lower() for c in legacy), path)
    return Target(default_cluster, default_cluster, default_envs, default_roles, frozenset(), None)
