"""Classification of contexts against the deployment decision, and the hint read from organization.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gfwizard.kubeconfig import Classification, TargetHint
from gfwizard.kubeconfig_classify import classify, load_target_hint, server_key
from tests.helpers import tree_digest
from tests.unit.test_kubeconfig_helpers import kubeconfig, run_discover

HONEY = "https://100.113.89.12:6443"
T, L, G, M, O = (Classification.TARGET, Classification.LEGACY_CIVO, Classification.GITLAB_AGENT,
                 Classification.NODE_ROLE_MISUSE, Classification.OTHER)


@pytest.mark.parametrize(
    ("context", "cluster", "server", "kind", "reason"),
    [
        ("honey", "honey", HONEY, T, "context name is the target context 'honey'"),
        ("admin@prod", "prod", "HTTPS://100.113.89.12:6443/", T, f"server is the target API server {HONEY}"),
        ("tinyland-civo-dev", "x", HONEY, L, "listed in cluster.legacy_contexts"),
        ("old", "my-civo-cluster", "https://10.0.0.1:6443", L, "Civo-era name"),
        ("old", "old", "https://abc123.k8s.civo.com:6443", L, "server is on civo.com"),
        ("tinyland/infra:honey", "gitlab", "https://10.0.0.1", G, "name shaped like a GitLab agent context (group/project:agent)"),
        ("tinyland/agents:dev", "x", HONEY, G, "name shaped like a GitLab agent context (group/project:agent)"),
        ("agent", "agent", "https://kas.gitlab.com/k8s-proxy/", G, "server is a GitLab agent (KAS) proxy"),
        ("agent", "agent", "https://gitlab.example.com/-/kubernetes-agent/k8s-proxy", G, "server is a GitLab agent (KAS) proxy"),
        ("bumble", "bumble", HONEY, M, "named after node role 'bumble': a node inside honey, not a cluster"),
        ("admin@sting", "honey", HONEY, M, "named after node role 'sting': a node inside honey, not a cluster"),
        ("ops", "bumble-cluster", "https://10.0.0.1", M, "named after node role 'bumble': a node inside honey, not a cluster"),
        ("bumblebee", "bumblebee", "https://10.0.0.1", O, ""),
        ("kind-dev", "kind-dev", "https://127.0.0.1:40000", O, ""),
    ],
)
def test_classify(context: str, cluster: str, server: str, kind: Classification, reason: str) -> None:
    assert classify(context, cluster, server, TargetHint()) == (kind, reason)


def test_configured_roles_legacy_and_target() -> None:
    hint = TargetHint(context="hive", api_server="https://hive.tail1234.ts.net:6443",
                      legacy_contexts=("old-prod",), roles=("bumble", "sting", "gpu-pool"))
    assert classify("hive", "x", "", hint)[0] is T
    assert classify("honey", "honey", HONEY, hint)[0] is O
    assert classify("other", "y", "https://HIVE.tail1234.ts.net:6443", hint)[0] is T
    assert classify("old-prod", "z", "https://hive.tail1234.ts.net:6443", hint)[0] is L
    assert classify("gpu-pool", "gpu-pool", "", hint) == (M, "named after node role 'gpu-pool': a node inside honey, not a cluster")


def test_server_key_normalises_case_and_trailing_slash() -> None:
    assert server_key("HTTPS://Honey.Example:6443/") == "https://honey.example:6443"
    assert server_key("https://user:pw@host:6443/base/") == "https://host:6443/base"
    assert server_key("") == ""


def test_classification_through_discovery_and_target_server_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(kubeconfig(
        [("honey", "elsewhere", "u"), ("bumble", "honey", "u"), ("t/a:dev", "kas", "u"), ("prod", "honey", "u")],
        {"elsewhere": "https://10.9.9.9:6443", "honey": HONEY, "kas": "https://kas.gitlab.com/k8s-proxy/"},
        {"u": {"token": "t" * 16}},
    ))
    result = run_discover([tmp_path], {"KUBECONFIG": str(path)})
    got = {c.name: c.classification for c in result.contexts}
    assert got == {"honey": T, "bumble": M, "t/a:dev": G, "prod": T}
    assert f"server https://10.9.9.9:6443 is not the configured api_server {HONEY}" in result.context("honey").problems  # type: ignore[union-attr]


ORG = """\
version: 1
cluster:
  name: honey
  context: hive
  kubeconfig: ~/.kube/kubeconfig-hive.yaml
  api_server: https://hive.example:6443
  legacy_contexts: [old-one]
placement:
  roles:
    bumble: {node_selector: {kubernetes.io/hostname: bumble}}
    gpu: {node_selector: {kubernetes.io/hostname: gpu}}
"""


def test_load_target_hint_reads_only_the_needed_keys(tmp_path: Path) -> None:
    org = tmp_path / "organization.yaml"
    org.write_text(ORG)
    before = tree_digest(tmp_path)
    hint, warning = load_target_hint(org)
    assert warning == ""
    assert (hint.context, hint.api_server, hint.legacy_contexts, hint.roles, hint.kubeconfig, hint.source) == (
        "hive", "https://hive.example:6443", ("old-one",), ("bumble", "gpu", "sting"), "~/.kube/kubeconfig-hive.yaml", str(org))
    assert tree_digest(tmp_path) == before


def test_load_target_hint_missing_file_gives_defaults_silently(tmp_path: Path) -> None:
    assert load_target_hint(tmp_path / "none.yaml") == (TargetHint(), "")


def test_load_target_hint_bad_yaml_gives_defaults_and_says_where(tmp_path: Path) -> None:
    org = tmp_path / "organization.yaml"
    org.write_text("cluster:\n  context: [honey\n")
    hint, warning = load_target_hint(org)
    assert hint == TargetHint()
    assert warning == f"{org} is not valid YAML at line 3, column 1; classifying with the defaults"


def test_load_target_hint_ignores_wrongly_typed_values(tmp_path: Path) -> None:
    org = tmp_path / "organization.yaml"
    org.write_text("cluster: {context: 7, api_server: [x], legacy_contexts: nope}\n")
    hint, warning = load_target_hint(org)
    assert warning == ""
    assert (hint.context, hint.api_server, hint.legacy_contexts) == ("honey", HONEY, ("tinyland-civo-dev",))


def test_configured_kubeconfig_is_a_candidate_outside_the_merge_set(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    hive = home / "hive.yaml"
    hive.write_text(kubeconfig([("hive", "c", "u")], {"c": "https://hive.example:6443"}, {"u": {"token": "t" * 16}}))
    result = run_discover([home], {}, home=home, target=TargetHint(context="hive", kubeconfig="~/hive.yaml"))
    ctx = result.context("hive")
    assert ctx is not None
    assert (ctx.file, ctx.classification, ctx.kubectl_visible) == (str(hive), T, False)
    assert result.searched[0] == "~/hive.yaml"
    assert os.path.exists(hive)
