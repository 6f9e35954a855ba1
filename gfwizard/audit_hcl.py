"""The audit's HCL reader: ``.tf``, ``.tfvars`` and ``.tfbackend`` files, parsed with python-hcl2.

Backends (criterion 1), provider configuration (2), Civo-era providers and inputs (3), environment
contexts (4) and node roles used as contexts (5) are read from the parse tree, with the line of
every block and attribute; nothing here is a text search over HCL source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from gfwizard.audit_rules import AuditContext, shell_hits

#: providers that reach a Kubernetes cluster and must follow the kubeconfig contract.
KUBE_PROVIDERS = ("kubernetes", "helm", "kubectl")
#: provider arguments that build access some other way than the kubeconfig contract.
FORBIDDEN_ACCESS = ("host", "token", "client_certificate", "client_key", "cluster_ca_certificate",
                    "username", "password", "exec", "config_paths")
#: attributes that document rather than configure; their prose is not judged.
_PROSE = {"description", "error_message", "condition"}


class HclError(Exception):
    """A file python-hcl2 could not parse; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Node:
    """A block or attribute of the parse tree, flattened to what the rules need."""

    kind: str  # "block" or "attribute"
    name: str
    labels: list[str]
    line: int
    value: Any = None
    children: list["Node"] = field(default_factory=list)

    def attr(self, name: str) -> "Node | None":
        """The child attribute ``name``."""
        return next((c for c in self.children if c.kind == "attribute" and c.name == name), None)

    def blocks(self, name: str) -> list["Node"]:
        """The child blocks of type ``name``."""
        return [c for c in self.children if c.kind == "block" and c.name == name]


@dataclass
class StackFacts:
    """What one stack directory's files declare, gathered across its ``.tf`` files."""

    backends: list[tuple[str, Path, int, bool]] = field(default_factory=list)  # (type, file, line, labelled)
    providers: set[str] = field(default_factory=set)
    resources: dict[str, tuple[Path, int]] = field(default_factory=dict)  # provider prefix -> first use


def parse(text: str) -> list[Node]:
    """The top-level blocks and attributes of an HCL document."""
    import hcl2
    from lark.exceptions import UnexpectedInput

    try:
        tree = hcl2.parses(text)
    except UnexpectedInput as exc:
        line = exc.line if isinstance(getattr(exc, "line", None), int) and exc.line > 0 else 0
        raise HclError(str(exc).splitlines()[0], line) from exc
    except Exception as exc:  # python-hcl2 raises plain errors for semantic problems (duplicate keys)
        raise HclError(f"{type(exc).__name__}: {exc}".splitlines()[0], 0) from exc
    return list(_nodes(tree.body, 1))


def _nodes(body: Any, parent_line: int) -> Iterator[Node]:
    from hcl2 import SerializationOptions
    from hcl2.rules.base import AttributeRule, BlockRule

    opts = SerializationOptions(with_comments=False, strip_string_quotes=True, explicit_blocks=False)
    for child in body.children:
        # python-hcl2 8 keeps lark's position metadata on each rule but has no public accessor for it.
        line = getattr(getattr(child, "_meta", None), "line", None) or parent_line
        if isinstance(child, BlockRule):
            labels = [str(label.serialize(opts)).strip('"') for label in child.labels]
            yield Node("block", labels[0], labels[1:], line, children=list(_nodes(child.body, line)))
        elif isinstance(child, AttributeRule):
            yield Node("attribute", str(child.identifier.serialize(opts)), [], line,
                       value=child.expression.serialize(opts))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _walk(nodes: list[Node]) -> Iterator[Node]:
    for n in nodes:
        yield n
        yield from _walk(n.children)


def _refers(value: Any, variable: str) -> bool:
    return isinstance(value, str) and re.search(rf"\bvar\.{variable}\b", value) is not None


# -- .tf -------------------------------------------------------------------------------------------


def check_tf(ctx: AuditContext, path: Path, text: str, labelled: bool, facts: StackFacts | None) -> None:
    """Providers, Civo providers, context defaults and command strings of one ``.tf`` file; backends
    and resource usage go into ``facts`` when the file belongs to a stack."""
    nodes = parse(text)
    for node in nodes:
        if node.kind != "block":
            continue
        if node.name == "terraform":
            _terraform_block(ctx, path, node, labelled, facts)
        elif node.name == "provider" and node.labels:
            name = node.labels[0]
            if facts is not None:
                facts.providers.add(name)
            if name in KUBE_PROVIDERS:
                _provider(ctx, path, name, node, labelled)
            elif name == "civo":
                ctx.add(3, path, node.line, 'provider "civo" configured', labelled=labelled, rule="c3.civo-provider")
        elif node.name == "variable" and node.labels:
            _variable(ctx, path, node, labelled)
        elif node.name in ("resource", "data") and node.labels and facts is not None:
            prefix = node.labels[0].split("_", 1)[0]
            if prefix in KUBE_PROVIDERS:
                facts.resources.setdefault(prefix, (path, node.line))
    for node in _walk(nodes):
        if node.kind == "attribute" and node.name not in _PROSE:
            for s in _strings(node.value):
                ctx.add_hits(shell_hits(ctx, s, credentials=False), path, node.line, labelled=labelled)


def _terraform_block(ctx: AuditContext, path: Path, node: Node, labelled: bool, facts: StackFacts | None) -> None:
    for b in node.blocks("backend"):
        if facts is not None:
            facts.backends.append((b.labels[0] if b.labels else "?", path, b.line, labelled))
        _backend_credentials(ctx, path, b)
    if facts is not None:
        for b in node.blocks("cloud"):
            facts.backends.append(("cloud", path, b.line, labelled))
    for rp in node.blocks("required_providers"):
        for attr in rp.children:
            source = attr.value.get("source", "") if isinstance(attr.value, dict) else attr.value
            if attr.name == "civo" or (isinstance(source, str) and source.startswith("civo/")):
                ctx.add(3, path, attr.line, "Civo provider required (civo/civo)", labelled=labelled,
                        rule="c3.civo-provider")


def _provider(ctx: AuditContext, path: Path, name: str, node: Node, labelled: bool) -> None:
    """One kubernetes/helm/kubectl provider block against the kubeconfig contract."""
    conf: dict[str, Any] = {c.name: (c.value if c.kind == "attribute" else c) for c in node.children}
    if name == "helm":
        inner = conf.get("kubernetes")
        if isinstance(inner, Node):
            conf = {c.name: (c.value if c.kind == "attribute" else c) for c in inner.children}
        elif isinstance(inner, dict):
            conf = inner
        else:
            conf = {}
    problems: list[str] = []
    if not _refers(conf.get("config_path"), "k8s_config_path"):
        problems.append("config_path is not taken from var.k8s_config_path")
    if not _refers(conf.get("config_context"), "cluster_context"):
        problems.append("config_context is not taken from var.cluster_context")
    other = [k for k in FORBIDDEN_ACCESS if k in conf]
    if other:
        problems.append("access built another way: " + ", ".join(other))
    if problems:
        ctx.add(2, path, node.line, f'provider "{name}": ' + "; ".join(problems), labelled=labelled,
                rule="c2.provider-config")


def _variable(ctx: AuditContext, path: Path, node: Node, labelled: bool) -> None:
    default = node.attr("default")
    if default is None or not isinstance(default.value, str):
        return
    name = node.labels[0]
    if name in ("cluster_context", "kube_context", "cluster_name"):
        ctx.claim(default.value, path, default.line, labelled=labelled,
                  what="cluster" if name == "cluster_name" else "context")
    elif name in ("k8s_config_path", "kubeconfig", "kubeconfig_path", "kube_config_path"):
        _kubeconfig_value(ctx, path, default.line, default.value, labelled)


def _kubeconfig_value(ctx: AuditContext, path: Path, line: int, value: str, labelled: bool) -> None:
    tokens = set(re.split(r"[^a-z0-9]+", value.lower()))
    role = sorted(tokens & ctx.roles)
    if role:
        ctx.add(5, path, line, f"kubeconfig for node role {role[0]!r} ({value!r}): node role, not a cluster",
                labelled=labelled, rule="c5.role-kubeconfig")
    elif "civo" in tokens:
        ctx.add(3, path, line, f"Civo kubeconfig {value!r} as a primary input", labelled=labelled,
                rule="c3.civo-kubeconfig")


def _backend_credentials(ctx: AuditContext, path: Path, block: Node) -> None:
    """A credential written into a backend block fails criterion 1 whatever the backend, labelled or not."""
    for attr in _walk(block.children):
        if attr.kind != "attribute":
            continue
        if attr.name in _SECRET_KEYS:
            ctx.add(1, path, attr.line, f"credential {attr.name!r} written in the backend block",
                    rule="c1.backend-credential")
            continue
        for s in _strings(attr.value):
            hits = [h for h in shell_hits(ctx, s, credentials=True, claims=False) if h.rule in _TOKEN_RULES]
            ctx.add_hits(hits, path, attr.line)


#: The criterion-1 rules that mean a token itself is in the text (not only a reference to the old path).
_TOKEN_RULES = {"c1.glpat", "c1.gitlab-pat"}


def check_stack(ctx: AuditContext, stack_dir: Path, facts: StackFacts) -> None:
    """Stack-level rules: exactly an S3 backend, and a provider block for every provider used."""
    if not facts.backends:
        ctx.add(1, stack_dir, 0, "no backend block: state would be local, outside the environment's S3 bucket",
                rule="c1.backend-missing")
    for kind, path, line, labelled in facts.backends:
        if kind == "http":
            ctx.add(1, path, line, 'backend "http" (GitLab-managed HTTP state) in the primary path',
                    labelled=labelled, rule="c1.backend-http")
        elif kind != "s3":
            ctx.add(1, path, line, f'backend "{kind}" instead of the S3 backend', labelled=labelled,
                    rule="c1.backend-other")
    for prefix, (path, line) in sorted(facts.resources.items()):
        if prefix not in facts.providers:
            ctx.add(2, path, line, f"{prefix}_* resources without a provider \"{prefix}\" block: access falls back "
                    "to the provider's own defaults", rule="c2.provider-missing")


# -- .tfvars and .tfbackend ------------------------------------------------------------------------

_CONTEXT_KEYS = {"cluster_context": "context", "kube_context": "context", "context": "context",
                 "kubernetes_context": "context", "cluster": "cluster", "cluster_name": "cluster"}
_KUBECONFIG_KEYS = {"k8s_config_path", "kubeconfig", "kubeconfig_path", "kube_config_path"}


def check_tfvars(ctx: AuditContext, path: Path, text: str, labelled: bool) -> None:
    """Context values (with the environment named by the file), Civo-era inputs, kubeconfig paths."""
    env = ctx.env_of(path.name.removesuffix(".tfvars"))
    if "civo" in path.name.lower():
        ctx.add(3, path, 0, f"Civo-era tfvars file {path.name!r} as a primary input", labelled=labelled,
                rule="c3.civo-tfvars")
    for node in parse(text):
        if node.kind != "attribute":
            continue
        key = node.name.lower()
        if key in _CONTEXT_KEYS and isinstance(node.value, str):
            ctx.claim(node.value, path, node.line, env=env, labelled=labelled, what=_CONTEXT_KEYS[key])
        elif key.startswith("civo"):
            ctx.add(3, path, node.line, f"Civo-era input {node.name!r}", labelled=labelled, rule="c3.civo-tfvars")
        elif key in _KUBECONFIG_KEYS and isinstance(node.value, str):
            _kubeconfig_value(ctx, path, node.line, node.value, labelled)
            if node.value.strip():
                ctx.add(2, path, node.line, f"{node.name} = {node.value!r} hard-coded in tfvars",
                        target="the kubeconfig contract: gfwizard passes -var k8s_config_path=<the configured "
                               "kubeconfig> at plan/apply; tfvars never name a kubeconfig file",
                        labelled=labelled, rule="c2.kubeconfig-in-tfvars")
        for s in _strings(node.value):
            ctx.add_hits(shell_hits(ctx, s, credentials=True, claims=False), path, node.line, labelled=labelled)


_SECRET_KEYS = {"password", "access_key", "secret_key", "token", "session_token"}


def check_tfbackend(ctx: AuditContext, path: Path, text: str, labelled: bool) -> None:
    """A rendered partial backend file: HTTP state is the transitional path; no credential, ever."""
    nodes = [n for n in parse(text) if n.kind == "attribute"]
    names = {n.name: n for n in nodes}
    http = ".http." in path.name or "address" in names
    if http:
        address = names.get("address")
        line = address.line if address else 1
        where = "GitLab-managed state" if address and "/terraform/state" in str(address.value) else "HTTP state"
        ctx.add(1, path, line, f"generic HTTP backend configuration ({where})", labelled=labelled,
                rule="c1.backend-http")
    for n in nodes:
        if n.name in _SECRET_KEYS:
            ctx.add(1, path, n.line, f"credential {n.name!r} stored in a backend file", rule="c1.backend-credential")
