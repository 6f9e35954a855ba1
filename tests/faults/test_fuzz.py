"""Scenario 6: fuzzed input. Random and mutated documents go through the organization.yaml loader,
both kubeconfig readers (discovery's summary and the validation client's context resolution) and
the audit of a checkout. Each may only fail with its own typed error carrying a location — never
another exception — and the audit never crashes.

Bounded (``max_examples``) so the whole module runs in seconds; ``--runs N`` draws N fresh batches.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import REPO

FUZZ = settings(max_examples=60, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW_FUZZ = settings(FUZZ, max_examples=25)

ORG_TEXT = (REPO / "config" / "organization.example.yaml").read_text()
KUBECONFIG_TEXT = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "honey", "preferences": {},
    "clusters": [{"name": "honey", "cluster": {"server": "https://100.113.89.12:6443",
                                                "certificate-authority-data": "LS0tLS1CRUdJTg=="}}],
    "users": [{"name": "honey-admin", "user": {"token": "fuzz-token-not-a-secret"}},
              {"name": "exec-user", "user": {"exec": {"command": "true", "apiVersion": "client.authentication.k8s.io/v1"}}}],
    "contexts": [{"name": "honey", "context": {"cluster": "honey", "user": "honey-admin", "namespace": "default"}},
                 {"name": "tinyland-civo-dev", "context": {"cluster": "honey", "user": "exec-user"}}],
}, sort_keys=False)

# -- mutations ------------------------------------------------------------------------------------

NASTY = st.sampled_from(["", ":", "- ", "{", "}", "[", "]", "&a", "*a", "<<: *a", "!!python/object:os.system", "\t",
                         "\x00", "\ufeff", "'", '"', "#", "---", "...", "%YAML 1.1", "? ", "|", ">", "~", "null",
                         "1e9999", "-1", "0x10", "yes", "no", "\u202e", "\U0001f600", "a" * 300, "\r\n", "\\"])


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with 1-4 random edits: delete/duplicate/swap lines, insert junk, truncate, re-indent."""
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "junk", "truncate", "indent", "dedent"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(NASTY) + "\n")
        elif op == "junk":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.one_of(NASTY, st.text(max_size=8))) + lines[i][at:]
        elif op == "truncate":
            lines = lines[:i] + [lines[i][: draw(st.integers(0, len(lines[i])))]]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        else:
            lines[i] = lines[i].lstrip()
    return "".join(lines)


LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                   st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3),
                   st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))


@st.composite
def replaced_value(draw: st.DrawFn, text: str) -> str:
    """``text`` parsed, one random node replaced by a random value of another type, dumped again."""
    doc = yaml.safe_load(text)
    node: Any = doc
    path: list[Any] = []
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        node = node[key]
    if not path:
        return yaml.safe_dump(draw(LEAVES))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = draw(LEAVES)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def documents(text: str) -> st.SearchStrategy[str]:
    """Random text, mutated text and value-replaced variants of ``text``."""
    return st.one_of(st.text(max_size=200), mutated(text), replaced_value(text),
                     st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


# -- organization.yaml ----------------------------------------------------------------------------


@FUZZ
@given(text=documents(ORG_TEXT))
def test_organization_loader_raises_only_config_errors_with_a_location(run: int, text: str) -> None:
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.orgconfig_yaml import ConfigError, load_config_text

    try:
        cfg = load_config_text(text, "organization.yaml")
    except ConfigError as exc:
        assert exc.problems, "a ConfigError without problems"
        for problem in exc.problems:
            assert problem.file == "organization.yaml" and problem.line >= 1 and problem.column >= 1, problem
            assert problem.message
        assert exc.remedy
    else:
        assert isinstance(cfg, OrgConfig)


@SLOW_FUZZ
@given(raw=st.one_of(mutated(ORG_TEXT).map(str.encode), st.binary(max_size=120)))
def test_organization_file_loader_and_validate_cli_never_crash(run: int, raw: bytes) -> None:
    from gfwizard.errors import InputError
    from gfwizard.orgconfig_yaml import ConfigError, load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "organization.yaml"
        path.write_bytes(raw)
        try:
            load_config(path)
        except ConfigError as exc:
            assert all(p.line >= 1 and p.column >= 1 and p.file == str(path) for p in exc.problems)
        except InputError as exc:  # the file itself (not the content): must still name it
            assert str(path) in exc.message


# -- kubeconfig -----------------------------------------------------------------------------------


def _kubeconfig_with(section: str, body_key: str, body: Any) -> str:
    """The kubeconfig above with the first ``section`` entry's ``body_key`` replaced (found by fuzzing)."""
    doc = yaml.safe_load(KUBECONFIG_TEXT)
    if body_key:
        doc[section][0][body_key] = body
    else:
        doc[section] = body
    return yaml.safe_dump(doc)


@FUZZ
@given(text=documents(KUBECONFIG_TEXT))
@example(text="0")
@example(text="- a\n- b\n")
@example(text=_kubeconfig_with("contexts", "context", "honey"))
@example(text=_kubeconfig_with("clusters", "cluster", "https://x"))
@example(text=_kubeconfig_with("users", "user", "token"))
@example(text=_kubeconfig_with("users", "user", {"exec": "kubelogin"}))
@example(text=_kubeconfig_with("contexts", "", {"honey": 1}))
@example(text=_kubeconfig_with("contexts", "", ["honey"]))
def test_kubeconfig_readers_fail_only_with_their_own_typed_errors(run: int, text: str) -> None:
    from gfwizard.cluster_errors import ClusterAccessError
    from gfwizard.cluster_kubeconfig import resolve_context
    from gfwizard.kubeconfig_files import FileStatus, read_summary

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kubeconfig-honey.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        summary = read_summary(str(path))  # discovery: a bad file is reported, never fatal
        assert isinstance(summary.status, FileStatus)
        if summary.status is FileStatus.INVALID and summary.error.startswith("not valid YAML: line"):
            assert "column" in summary.error
        assert summary.status is FileStatus.OK or summary.error, "a bad file without a reason"
        try:
            resolve_context(str(path), "honey")
        except ClusterAccessError as exc:
            assert exc.kind == "kubeconfig", (exc.kind, exc.message)
            assert str(path) in exc.message and exc.remedy, exc.message


@SLOW_FUZZ
@given(texts=st.lists(documents(KUBECONFIG_TEXT), min_size=1, max_size=3))
def test_discovery_over_mutated_files_never_crashes(run: int, texts: list[str]) -> None:
    import os

    from gfwizard.kubeconfig import discover

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / ".kube").mkdir()
        paths = []
        for i, text in enumerate(texts):
            path = home / ".kube" / f"kubeconfig-{i}.yaml"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            paths.append(str(path))
        result = discover(environ={"KUBECONFIG": os.pathsep.join(paths), "HOME": str(home)}, home=home)
        assert len(result.files) >= len(paths)


# -- audit ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trimmed checkout with every kind of surface the audit reads (one stack, config, CI, recipes, docs)."""
    root = tmp_path_factory.mktemp("audit-checkout")
    shutil.copytree(REPO / "tofu" / "stacks" / "attic", root / "tofu" / "stacks" / "attic",
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (root / "config").mkdir()
    shutil.copy(REPO / "config" / "organization.example.yaml", root / "config")
    for rel in ("Justfile", "README.md", "docs/quick-start.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, root / rel)
    workflows = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))[:2]
    (root / ".github" / "workflows").mkdir(parents=True)
    for wf in workflows:
        shutil.copy(wf, root / ".github" / "workflows")
    return root


def _surfaces(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and p.suffix in (".tf", ".tfvars", ".tfbackend", ".yaml", ".yml"))


@SLOW_FUZZ
@given(data=st.data())
def test_audit_never_crashes_on_mutated_hcl_and_yaml(run: int, small_checkout: Path, data: st.DataObject) -> None:
    from gfwizard.audit import AuditReport, audit

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "checkout"
        shutil.copytree(small_checkout, root)
        for rel in data.draw(st.lists(st.sampled_from(_surfaces(root)), min_size=1, max_size=3, unique=True)):
            path = root / rel
            text = path.read_text()
            strategy = st.one_of(mutated(text), st.text(max_size=200))
            if path.suffix in (".yaml", ".yml"):
                strategy = st.one_of(strategy, replaced_value(text))
            path.write_text(data.draw(strategy, label=rel), encoding="utf-8", errors="surrogatepass")
        report = audit(root)
        assert isinstance(report, AuditReport)
        for finding in report.findings:
            assert finding.file and finding.line >= 0
