"""How kubectl reads the ``KUBECONFIG`` variable, for discovery and for validate/deploy alike.

client-go splits the value on ``os.pathsep``, skips empty entries, drops duplicates and expands
nothing: a ``~`` (or ``$VAR``) that the shell left alone, as in ``KUBECONFIG='~/.kube/a.yaml'``, stays
literal, so kubectl looks for ``./~/.kube/a.yaml`` relative to the current directory and, finding no
such file, skips the entry without a word. (Checked with kubectl 1.32.) The Python Kubernetes client
and the hashicorp providers do expand ``~``, so such an entry is where tools disagree: gfwizard reads
it the way kubectl does and says so.

A file of the list that holds no YAML document (empty, or only whitespace or comments) is skipped by
kubectl as an empty config; the Python client refuses the whole list for it. gfwizard skips it as
kubectl does and says so (:func:`empty_files_note`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True, slots=True)
class TildeEntry:
    """A ``KUBECONFIG`` entry starting with ``~``: the file kubectl reads and the one the operator meant."""

    entry: str
    #: What kubectl reads: the entry as a path relative to the current directory.
    literal: str
    #: What the shell would have made of it (the home directory in place of ``~``).
    expanded: str

    def problem(self) -> str:
        """One sentence: what kubectl does with the entry."""
        exists = "a different file" if os.path.exists(self.literal) else "which does not exist"
        return (f"KUBECONFIG entry {self.entry!r} starts with '~', which kubectl does not expand: it reads "
                f"{self.literal} ({exists}), not {self.expanded}")

    def remedy(self) -> str:
        """What to do: write the path without ``~``, or let the shell expand it."""
        shell = (f'export KUBECONFIG="$HOME{self.entry[1:]}"' if self.entry.startswith("~/")
                 else "leave the '~' unquoted")
        return (f"write the entry without '~' ({self.expanded}), or let the shell expand it: {shell} "
                "(a '~' inside quotes is not expanded)")


def entries(value: str) -> list[str]:
    """The ``KUBECONFIG`` entries kubectl reads, as written: split on ``os.pathsep``, empties skipped,
    duplicates dropped (the first kept)."""
    out: list[str] = []
    for entry in value.split(os.pathsep):
        if entry and entry not in out:
            out.append(entry)
    return out


def no_file_note(value: str) -> tuple[str, str]:
    """``(problem, remedy)`` for a ``KUBECONFIG`` that is set but names no file (``":"``): kubectl then reads
    nothing at all."""
    return (f"KUBECONFIG is set to {value!r}, which names no file: kubectl then reads no kubeconfig at all (it does "
            "not fall back to ~/.kube/config)",
            "set KUBECONFIG to a kubeconfig file (for honey: ~/.kube/kubeconfig-honey.yaml), or unset it to use "
            "~/.kube/config")


def empty_files_note(paths: "tuple[str, ...] | list[str]") -> tuple[str, str]:
    """``(detail, remedy)`` for kubeconfig files skipped because they hold no YAML document ("" when none)."""
    if not paths:
        return "", ""
    named = ", ".join(paths)
    are, them = ("is", "it") if len(paths) == 1 else ("are", "them")
    return (f"{named} {are} empty (no YAML document: no bytes, or only whitespace or comments): skipped, as "
            f"kubectl skips {them}",
            f"put the kubeconfig {named} should hold into {them}, or remove {them} from the kubeconfig list "
            "(KUBECONFIG, cluster.kubeconfig or --kubeconfig); nothing to do if it is meant to be empty")


def kubectl_path(entry: str) -> str:
    """The file kubectl reads for one entry: nothing expanded, relative to the current directory."""
    return os.path.normpath(os.path.abspath(entry))


def expand_home(entry: str, home: str) -> str:
    """``entry`` with a leading ``~`` expanded the way a shell (and the Python client) would."""
    if entry == "~" or entry.startswith("~" + os.sep):
        return os.path.normpath(home + entry[1:])
    return os.path.normpath(os.path.abspath(os.path.expanduser(entry)))


def tilde_entries(environ: Mapping[str, str], home: str | None = None) -> list[TildeEntry]:
    """Every ``KUBECONFIG`` entry starting with ``~`` whose expansion is another file than kubectl reads."""
    home = home if home is not None else (environ.get("HOME") or os.path.expanduser("~"))
    out: list[TildeEntry] = []
    for entry in entries(environ.get("KUBECONFIG", "")):
        if not entry.startswith("~"):
            continue
        literal, expanded = kubectl_path(entry), expand_home(entry, home)
        if os.path.realpath(literal) != os.path.realpath(expanded):
            out.append(TildeEntry(entry, literal, expanded))
    return out
