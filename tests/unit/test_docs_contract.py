"""The docs keep the decision: honey is the only cluster; bumble and sting appear only as node roles
(placement inputs), never as clusters, contexts or kubeconfigs. Checked with its own patterns, not
the audit's, so a bug in one does not hide a bug in the other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO

DOCS = sorted([*(REPO / "docs").glob("*.md"), REPO / "README.md", *(REPO / "tofu").rglob("README.md")])
ROLES = r"(?:bumble|sting)"
ROLE_AS_CLUSTER = [
    re.compile(rf"\b{ROLES}\b(?:\W+\w+){{0,2}}?\W+(?:clusters?|contexts?)\b", re.I),
    re.compile(rf"\b(?:clusters?|contexts?|--context|use-context)\b(?:\W+\w+){{0,2}}?\W+{ROLES}\b", re.I),
    re.compile(rf"kubeconfig[-_.]{ROLES}|{ROLES}[-_.]kubeconfig", re.I),
]
NEGATED = re.compile(r"\bnot?\b|\bnever\b|node[- ]roles?|placement|refuse", re.I)
CONTEXT_VALUE = re.compile(r"(?:--context[= ]|use-context |\bcontext: |\bcluster: |cluster_context = \"?)`?([\w./:@-]+)")
KUBECONFIG_FILE = re.compile(r"kubeconfig-([\w-]+)\.ya?ml")


def lines(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


def code(path: Path) -> list[tuple[int, str, str]]:
    """``(line number, code, whole line)``: fenced block lines whole, elsewhere the inline code spans."""
    out, fenced = [], False
    for n, line in lines(path):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        out += [(n, line, line)] if fenced else [(n, span, line) for span in re.findall(r"`([^`]+)`", line)]
    return out


def test_the_docs_exist() -> None:
    names = {p.name for p in DOCS}
    assert {"quick-start.md", "deployment-authority.md", "status-mode.md", "json-output.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_node_roles_are_never_clusters_or_contexts(doc: Path) -> None:
    bad = [(n, line) for n, line in lines(doc)
           if not NEGATED.search(line) and any(p.search(line) for p in ROLE_AS_CLUSTER)]
    assert bad == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_context_and_kubeconfig_named_is_honey(doc: Path) -> None:
    """Contexts, clusters and kubeconfig files the docs name are honey's, except on lines labelled legacy."""
    bad = []
    for n, snippet, line in code(doc):
        if "legacy" in line.lower():
            continue
        for value in CONTEXT_VALUE.findall(snippet) + KUBECONFIG_FILE.findall(snippet):
            value = value.strip("`\"'.,")
            if value and value != "honey" and not re.fullmatch(r"[A-Z_]+|<[^>]*>?|\$\w*|\{.*", value):
                bad.append((n, value, line))
    assert bad == []


def test_the_patterns_catch_what_they_must() -> None:
    """The two checks above can fail."""
    for text in ("Deploy runners to the sting cluster.", "kubectl --context bumble get pods",
                 "export KUBECONFIG=~/.kube/kubeconfig-sting.yaml", "switch to the bumble context"):
        assert any(p.search(text) for p in ROLE_AS_CLUSTER) and not NEGATED.search(text), text
    assert not any(p.search("bumble and sting are node roles inside honey") for p in ROLE_AS_CLUSTER[2:])
    assert CONTEXT_VALUE.findall("kubectl --context tinyland-civo-dev get ns") == ["tinyland-civo-dev"]


@pytest.mark.parametrize("name", ["quick-start.md", "deployment-authority.md"])
def test_honey_is_named_as_the_one_cluster(name: str) -> None:
    text = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert re.search(r"\*\*honey\*\*, the one cluster|\*\*one\*\* on-prem Kubernetes cluster, \*\*honey\*\*", text)
    assert "context `honey`" in text
    assert re.search(r"`bumble` and `sting` are node roles inside honey", text)


def test_deployment_authority_lists_the_five_exit_criteria() -> None:
    text = (REPO / "docs" / "deployment-authority.md").read_text(encoding="utf-8")
    for n, words in enumerate(["without GitLab-specific backend credentials", "same kubeconfig and context model",
                               "depends on the Civo CLI", "described once and reused everywhere",
                               "bumble or sting as separate clusters"], start=1):
        assert re.search(rf"^{n}\. .*{re.escape(words)}", text, re.M), n
    assert "`tofu validate` is not part of the audit" in text


def test_status_mode_states_its_read_only_guarantees() -> None:
    text = (REPO / "docs" / "status-mode.md").read_text(encoding="utf-8")
    assert "## Read-only guarantees" in text
    for phrase in ("raises before it is\n  sent", "GET, HEAD and LIST only", "never written"):
        assert phrase in text
