"""Helpers shared by tests: digests that prove nothing was written, CLI runners."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent


def tree_digest(root: Path, ignore: Sequence[str] = ()) -> dict[str, str]:
    """Map every file below ``root`` (relative path) to its SHA-256; missing root -> empty map."""
    out: dict[str, str] = {}
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part in ignore for part in path.relative_to(root).parts):
            continue
        if path.is_file() and not path.is_symlink():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_cli(args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120, input: str | None = None,
            closed: Sequence[int] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``gfwizard ARGS`` in a fresh interpreter (the real entry point) and capture its output.

    ``closed``: standard descriptors (0, 1, 2) the command starts without, as ``<&-`` / ``>&-`` leave it
    (a closed one captures nothing)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)

    def close() -> None:
        for fd in closed:
            os.close(fd)

    return subprocess.run(
        [sys.executable, "-m", "gfwizard", *args],
        capture_output=True, text=True, env=full_env, cwd=str(cwd or REPO), timeout=timeout, input=input,
        preexec_fn=close if closed else None,
    )


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process umask set to ``mask`` for the block, then restored."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


_DIRECTORY_AT_APPLY = """#!{python}
import os, sys
journal = {journal!r}
# Once arc-runners' apply starts (its 'started' entry is written), a directory takes the journal's place.
if sys.argv[1:2] == ["apply"] and os.path.basename(os.getcwd()) == "arc-runners" and not os.path.isdir(journal):
    os.rename(journal, journal + ".aside")
    os.mkdir(journal)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def journal_replaced_at_apply(wrapper: Path, real: str, journal: Path) -> Path:
    """Write ``wrapper``: the IaC binary ``real``, except that once arc-runners' apply starts a directory takes
    the place of ``journal`` (a journal that can no longer be written mid-run); returns ``wrapper``."""
    wrapper.write_text(_DIRECTORY_AT_APPLY.format(python=sys.executable, real=real, journal=str(journal)))
    wrapper.chmod(0o755)
    return wrapper
