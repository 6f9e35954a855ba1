"""``audit(path)``: a checkout held against the deployment-authority decision's five exit criteria.

The audit reads, never writes. It finds the deployment surfaces of a checkout (stacks, tfvars,
backend files, CI workflows, organization configs, Justfiles/Makefiles/scripts and docs), parses
each with the right parser (python-hcl2, PyYAML; text only for recipes and Markdown) and reports one
:class:`~gfwizard.audit_model.Finding` per problem. A file that does not parse is a criterion-0
finding, never a crash. Files explicitly labelled legacy compatibility are reported as
``legacy-labelled`` and do not fail; the primary deploy path (the stacks, README, quick-start, the
root Justfile/Makefile, the deploy workflow) is never labelled as a whole file. Every file read, and
every dotenv file, is also searched for committed credential literals, which fail labelled or not.

Rule identifiers (the ``rule`` of each finding) are listed in docs/json-output.md.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Iterator

from gfwizard.audit_hcl import HclError, StackFacts, check_stack, check_tf, check_tfbackend, check_tfvars
from gfwizard.audit_model import CRITERIA, TARGETS, AuditReport, Finding, Severity
from gfwizard.audit_rules import (DEFAULT_CLUSTER, DEFAULT_ENVIRONMENTS, DEFAULT_ROLES, AuditContext, labelled_file,
                                  secret_literals)
from gfwizard.audit_text import check_markdown, check_recipes
from gfwizard.audit_yaml import YamlError, check_config, check_workflow, read_target
from gfwizard.errors import InputError
from gfwizard.paths import special_kind

__all__ = ["CRITERIA", "TARGETS", "AuditReport", "Finding", "Severity", "audit", "surface_files"]

#: directories that are never a deployment surface (tool state, dependencies, the test suite).
SKIP_DIRS = {".git", ".venv", "venv", ".tox", "node_modules", ".terraform", "__pycache__", "tests",
             "build", "dist", "site-packages"}
_VISIBLE_HIDDEN = {".github", ".gitlab"}
#: hidden directories of tools and editors: never walked.
_TOOL_STATE_DIRS = {".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".nox", ".direnv", ".cache",
                    ".idea", ".vscode"}
#: dotenv-style files: read for committed credentials only.
_DOTENV = re.compile(r"\.env(?:rc)?|\.env\..+|.+\.env")
_RECIPE_NAMES = {"justfile", ".justfile", "makefile", "gnumakefile"}
_PRIMARY_DOCS = {"README.md", "docs/quick-start.md"}
_MAX_BYTES = 2_000_000


def audit(path: Path) -> AuditReport:
    """Audit the checkout at ``path``. Raises :class:`InputError` when it is not a directory, or holds
    no file the audit reads (an empty or unrelated directory must not pass every criterion)."""
    root = Path(path).expanduser()
    try:
        is_dir = root.is_dir()
    except OSError as exc:  # a name too long for the file system, a directory above it that cannot be searched
        raise InputError(f"{root} cannot be read: {exc.strerror or exc}; nothing was audited",
                         remedy="pass the root of a GloriousFlywheel checkout (the directory holding tofu/)") from None
    if not is_dir:
        raise InputError(f"{root} is not a directory; nothing was audited",
                         remedy="pass the root of a GloriousFlywheel checkout (the directory holding tofu/)")
    root = root.resolve()
    files = list(surface_files(root))
    if not files:
        raise InputError(f"{root} holds no deployment-surface file (stacks, tfvars, backend files, config, "
                         "workflows, recipes, scripts or docs): nothing was audited",
                         remedy="pass the root of a GloriousFlywheel checkout (the directory holding tofu/)")
    if not (root / "tofu" / "stacks").is_dir():
        # Criterion 1 is about the stacks: without them every criterion would "pass" a directory that is
        # not the checkout (a parent directory, another repository).
        raise InputError(f"{root} has no tofu/stacks directory, so it is not a GloriousFlywheel checkout: nothing "
                         "was audited", remedy="pass the root of a GloriousFlywheel checkout (the directory holding "
                                               "tofu/stacks)")
    target = read_target(root, DEFAULT_CLUSTER, DEFAULT_ENVIRONMENTS, DEFAULT_ROLES)
    ctx = AuditContext(root=root, target_cluster=target.cluster, target_context=target.context,
                       environments=target.environments, roles=target.roles,
                       legacy_contexts=target.legacy_contexts)
    if target.source is None:
        ctx.add(4, "config", 0, f"no config/organization.yaml or organization.example.yaml: the target is taken as "
                f"{DEFAULT_CLUSTER!r}", info=True, rule="c4.no-config")
    stacks: dict[Path, StackFacts] = {}
    unparsed: set[Path] = set()
    for file, kind in files:
        stack_dir = _stack_dir(root, file)
        if stack_dir is not None:
            stacks.setdefault(stack_dir, StackFacts())
        if not _check_file(ctx, file, kind, stacks.get(stack_dir) if stack_dir else None) and stack_dir:
            unparsed.add(stack_dir)
    if not stacks:
        ctx.add(1, "tofu/stacks", 0, "no stacks found under tofu/stacks", info=True, rule="c1.no-stacks")
    for stack_dir, facts in sorted(stacks.items()):
        if stack_dir not in unparsed or facts.backends:
            check_stack(ctx, stack_dir, facts)
    ctx.finish()
    return AuditReport(path=str(root), findings=ctx.findings())


def _check_file(ctx: AuditContext, file: Path, kind: str, facts: StackFacts | None) -> bool:
    """Run the rules of ``kind`` on one file; False when it could not be read or parsed."""
    try:
        info = file.stat()
        special = _not_regular(info.st_mode)
        if special:
            # A FIFO blocks the read until a writer comes, and a link to /dev/zero (a symlink can be committed)
            # never ends: either would hang the audit, in CI too. Never opened.
            ctx.add(0, file, 0, f"is {special}, not a regular file: not read (reading it could block or never end)",
                    rule="c0.unreadable")
            return False
        if info.st_size > _MAX_BYTES:
            ctx.add(0, file, 0, f"larger than {_MAX_BYTES} bytes: not audited", info=True, rule="c0.too-large")
            return True
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        ctx.add(0, file, 0, f"cannot be read as UTF-8 text ({type(exc).__name__})", rule="c0.unreadable")
        return False
    rel = ctx.rel(file)
    labelled = labelled_file(rel, text, kind)
    parsed = _run_rules(ctx, file, text, kind, labelled, facts, rel)
    # A committed credential fails wherever it sits, labelled or not, parsed or not.
    for line, shown in secret_literals(text):
        ctx.add_secret(file, line, shown)
    return parsed


def _run_rules(ctx: AuditContext, file: Path, text: str, kind: str, labelled: bool, facts: StackFacts | None,
               rel: str) -> bool:
    """The rules of ``kind``; False when the file does not parse or a rule trips over it."""
    try:
        if kind == "tf":
            check_tf(ctx, file, text, labelled, facts)
        elif kind == "tfvars":
            check_tfvars(ctx, file, text, labelled)
        elif kind == "tfbackend":
            check_tfbackend(ctx, file, text, labelled)
        elif kind in ("github", "gitlab"):
            check_workflow(ctx, file, text, labelled, kind)
        elif kind == "config":
            check_config(ctx, file, text, labelled)
        elif kind == "recipes":
            check_recipes(ctx, file, text, labelled)
        elif kind == "markdown":
            check_markdown(ctx, file, text, labelled, primary=_primary_doc(rel))
        # "dotenv" files are read for committed credentials only (see _check_file)
    except (HclError, YamlError) as exc:
        ctx.add(0, file, exc.line, f"does not parse: {exc}", rule="c0.parse")
        return False
    except Exception as exc:  # a rule that trips over an odd file must not hide the rest of the audit
        ctx.add(0, file, 0, f"could not be audited ({type(exc).__name__}: {exc})", rule="c0.internal")
        return False
    return True


def _not_regular(mode: int) -> str:
    """What a file of ``mode`` (followed through a symlink) is when it is neither a regular file nor a directory:
    ``"a FIFO (named pipe)"``, ``"a character device"``, ...; ``""`` for a regular file or a directory."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ""
    return special_kind(mode)


def surface_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every deployment-surface file below ``root`` with its kind, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if _keep_dir(d))
        here = Path(dirpath)
        for name in sorted(filenames):
            kind = _kind(here / name, root)
            if kind:
                yield here / name, kind


def _keep_dir(name: str) -> bool:
    # Other hidden directories (.ci, .devcontainer) are walked too, but only for dotenv files (see _kind).
    return name not in SKIP_DIRS and name not in _TOOL_STATE_DIRS and not name.endswith(".egg-info")


def _kind(file: Path, root: Path) -> str | None:
    rel = file.relative_to(root).as_posix()
    name = file.name
    lower = name.lower()
    parts = rel.split("/")
    if _DOTENV.fullmatch(lower):
        return "dotenv"
    if any(p.startswith(".") and p not in _VISIBLE_HIDDEN for p in parts[:-1]):
        return None
    if lower.endswith(".tf"):
        return "tf"
    if lower.endswith(".tfvars"):
        return "tfvars"
    if lower.endswith(".tfbackend"):
        return "tfbackend"
    yaml_file = lower.endswith((".yml", ".yaml"))
    if yaml_file and parts[:2] == [".github", "workflows"] and len(parts) == 3:
        return "github"
    if yaml_file and (lower.endswith(".gitlab-ci.yml") or lower == ".gitlab-ci.yaml" or parts[0] == ".gitlab"):
        return "gitlab"
    if yaml_file and parts[0] == "config" and len(parts) == 2:
        return "config"
    if lower in _RECIPE_NAMES or lower.endswith((".just", ".mk", ".sh")):
        return "recipes"
    if lower.endswith(".md"):
        return "markdown"
    return None


def _primary_doc(rel: str) -> bool:
    return rel in _PRIMARY_DOCS or (rel.startswith("tofu/stacks/") and rel.endswith("README.md"))


def _stack_dir(root: Path, file: Path) -> Path | None:
    """``tofu/stacks/<stack>`` when ``file`` is a ``.tf`` file directly inside one."""
    rel = file.relative_to(root).parts
    if len(rel) == 4 and rel[0] == "tofu" and rel[1] == "stacks" and file.suffix == ".tf":
        return root / rel[0] / rel[1] / rel[2]
    return None
