"""Where a deploy reads stack code and writes its working files.

A real deploy uses ``tofu/stacks/<stack>`` and renders backend files next to each stack. A rehearsal
(the configured cluster's network is ``loopback``) uses the provider-free twins in
``tofu/rehearsal/<stack>`` and keeps everything it writes inside the rehearsal workspace, so the
checkout is never touched. Terraform's data dir, plans and transcripts never live in the checkout:
they go under the user state dir (or the workspace), one directory per environment and stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from gfwizard.paths import repo_root, require_dir, require_state_dir, state_dir

WORKSPACE_ENV = "GFW_WORKSPACE"
#: What terraform/tofu name the state an apply could not save (written to their working directory).
ERRORED_STATE = "errored.tfstate"


@dataclass(frozen=True)
class Layout:
    """Paths for one checkout in one mode (real or rehearsal)."""

    repo: Path
    stacks_root: Path
    work_root: Path
    backend_root: Path | None
    rehearsal: bool

    def stack_dir(self, stack: str) -> Path:
        """The stack's OpenTofu code."""
        return self.stacks_root / stack

    def backend_file(self, stack: str, env: str, kind: str = "s3") -> Path:
        """The rendered partial backend file ``<env>.<kind>.tfbackend`` for ``stack``."""
        name = f"{env}.{kind}.tfbackend"
        if self.backend_root is None:
            return self.stack_dir(stack) / name
        return self.backend_root / stack / name

    def tfvars_file(self, stack: str, tfvars: str) -> Path:
        """The environment's tfvars file inside the stack directory."""
        return self.stack_dir(stack) / tfvars

    def data_dir(self, env: str, stack: str) -> Path:
        """``TF_DATA_DIR`` for this env and stack (keeps ``.terraform`` out of the checkout)."""
        return self.work_root / "work" / env / stack / ".terraform"

    def errored_state(self, env: str, stack: str) -> Path:
        """Where state an apply of this env and stack could not save is kept once claimed (the binary
        writes it into the stack directory, which every env shares)."""
        return self.work_root / "work" / env / stack / ERRORED_STATE

    def plan_file(self, env: str, stack: str) -> Path:
        """Where the saved plan of this env and stack is written."""
        return self.work_root / "work" / env / stack / "plan.tfplan"

    def transcripts_dir(self, env: str) -> Path:
        """Full, redacted transcripts of every IaC run for ``env``."""
        return self.work_root / "transcripts" / env

    def journal_file(self, env: str) -> Path:
        """The run journal (JSON lines) for ``env``."""
        return self.work_root / "journal" / f"{env}.jsonl"


def layout_for(network: str, *, repo: Path | None = None, environ: Mapping[str, str] | None = None) -> Layout:
    """The layout for a cluster whose ``network`` is given (``loopback`` means rehearsal)."""
    environ = os.environ if environ is None else environ
    root = repo or repo_root()
    if network == "loopback":
        workspace = environ.get(WORKSPACE_ENV)
        work = Path(workspace) if workspace else state_dir() / "rehearsal"
        return Layout(repo=root, stacks_root=root / "tofu" / "rehearsal", work_root=work,
                      backend_root=work / "backends", rehearsal=True)
    return Layout(repo=root, stacks_root=root / "tofu" / "stacks", work_root=state_dir(),
                  backend_root=None, rehearsal=False)


def require_work_root(network: str, environ: Mapping[str, str] | None = None, *, iac: bool = True) -> None:
    """Stop with an input error, before anything runs, when a directory that work on a cluster on ``network``
    writes into cannot be used: the state dir (``iac``: the IaC binary's provider cache and CLI configuration
    live there), and a rehearsal's work root (``$GFW_WORKSPACE``, else under the state dir)."""
    environ = os.environ if environ is None else environ
    if network == "loopback" and environ.get(WORKSPACE_ENV):
        require_dir(Path(environ[WORKSPACE_ENV]), "the rehearsal workspace", f"${WORKSPACE_ENV}",
                    f"point {WORKSPACE_ENV} at the running rehearsal's workspace (`gfwizard rehearse --serve` prints "
                    "its exports), or unset it")
    if iac or network == "loopback":
        require_state_dir()
    if iac:
        # Every run of the binary creates it (TF_PLUGIN_CACHE_DIR): a file in its place failed the first run with an
        # internal error, after the run had started.
        from gfwizard.tofu import default_plugin_cache_dir

        cache = default_plugin_cache_dir()
        require_dir(cache, "the provider plugin cache", "the gfwizard state directory",
                    f"move what is there aside (`mv {cache} {cache}.aside`): gfwizard creates the directory again "
                    "(it only caches the providers the IaC binary downloads)")


def require_work_dirs(layout: Layout, env: str, stacks: Sequence[str] = (), *, work: str = "deploy") -> None:
    """Stop with an input error, before anything runs, when something that is not a directory sits where ``work``
    on ``env`` keeps its files: a ``deploy`` its journals, transcripts, the IaC binary's data directories and
    rendered backend files (``stacks``: their own directories too), a ``render`` only the last, a ``migrate`` its
    source backups, scratch directories and transcripts. The work failed on it once started, with a traceback
    (and for the journal, a remedy naming a path below it)."""
    data = "the IaC binary's data directories and saved plans"
    transcripts = (layout.transcripts_dir(env), "the transcripts")
    places: list[tuple[Path, str]] = []
    if work == "deploy":
        places += [(layout.work_root / "journal", "the run journals"), transcripts,
                   (layout.work_root / "work" / env, data), *((layout.work_root / "work" / env / s, data) for s in stacks)]
    if work in ("deploy", "render") and layout.backend_root is not None:
        places += [(layout.backend_root, "the rendered backend files"),
                   *((layout.backend_root / s, "the rendered backend files") for s in stacks)]
    if work == "migrate":
        places += [(layout.work_root / "backups" / env, "the backups of the source states"),
                   (layout.work_root / "migrate" / env, "the migrations' scratch directories"), transcripts]
    for path, what in places:
        blocker = _not_a_directory(layout.work_root, path)
        if blocker is not None:
            from gfwizard.errors import InputError

            raise InputError(f"{blocker} is not a directory, but gfwizard keeps {what} there; nothing was written or run",
                             remedy=f"move it aside (`mv {blocker} {blocker}.aside`), then run again: gfwizard "
                                    "creates the directory")


def _not_a_directory(root: Path, path: Path) -> Path | None:
    """The first of ``path`` and its parents below ``root`` that exists but is not a directory (a symlink to one
    counts as one), or None."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    current = root
    for part in parts:
        current = current / part
        if os.path.lexists(current) and not os.path.isdir(current):
            return current
    return None
