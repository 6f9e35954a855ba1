"""kubectl's merge rules over the merge set, and warnings where tools would disagree.

kubectl (client-go ``ClientConfigLoadingRules``) merges the ``KUBECONFIG`` list so that the first
file to define a context, cluster or user name wins, the entry is taken whole (never merged field
by field), and the first file that sets ``current-context`` wins. It skips missing and empty files
(an empty file, or one of only whitespace or comments, reads as an empty config) and refuses the whole
list when one file cannot be read or parsed. gfwizard skips an empty file too, with a warning naming it.

The Python Kubernetes client (v37, ``kube_config.KubeConfigMerger``) differs in ways checked here
against its source: it lets the *last* file that sets ``current-context`` win, it refuses the whole
list when a file is empty ("Invalid kube-config. <path> file is empty"; gfwizard never hands it such a
list: it builds the client from the one context it resolved), and it expands ``~`` in
``KUBECONFIG`` entries, which kubectl does not (discovery merges what kubectl reads, and lists the
expanded file outside the merge set with a warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gfwizard.kubeconfig_auth import UserSummary
from gfwizard.kubeconfig_env import TildeEntry, empty_files_note, kubectl_path
from gfwizard.kubeconfig_files import DEV_NULL, TOO_LARGE, Candidate, ClusterSummary, FileStatus, FileSummary


@dataclass
class Merged:
    """The merged view of the merge set."""

    #: context name -> the file whose definition wins.
    contexts: dict[str, str] = field(default_factory=dict)
    clusters: dict[str, tuple[str, ClusterSummary]] = field(default_factory=dict)
    users: dict[str, tuple[str, UserSummary]] = field(default_factory=dict)
    current: str | None = None
    current_file: str = ""
    #: Merge-set files that were read (status ok), in order.
    files: list[str] = field(default_factory=list)
    #: False when kubectl would refuse to load its files at all.
    kubectl_ok: bool = True
    warnings: list[str] = field(default_factory=list)


def _quote_all(pairs: list[tuple[str, str]], limit: int = 4) -> str:
    shown = ", ".join(f"{path} sets {value!r}" for path, value in pairs[:limit])
    if len(pairs) > limit:
        shown += f" and {len(pairs) - limit} more file(s) set one"
    return shown


def merge(candidates: list[Candidate], summaries: list[FileSummary], env_set: bool) -> Merged:
    """Merge the candidates flagged ``in_merge`` with kubectl's rules; say where tools would differ."""
    out = Merged()
    currents: list[tuple[str, str]] = []
    kubectl_current: str | None = None
    reads = _KubectlReads({c.path for c in candidates if c.kubectl_reads},
                          next((c.path for c in candidates if c.kubectl_reads), "~/.kube/config"))
    for cand, summ in zip(candidates, summaries):
        if not cand.in_merge:
            if cand.source == "KUBECONFIG":
                out.warnings.append(_tilde_warning(cand))
            continue
        if summ.status in (FileStatus.INVALID, FileStatus.UNREADABLE) and cand.kubectl_reads:
            out.kubectl_ok = False
            what = "this KUBECONFIG list" if env_set else cand.path
            out.warnings.append(_refusal(cand.path, what, summ))
        if summ.status is FileStatus.EMPTY and summ.error != DEV_NULL:  # /dev/null is empty on purpose
            detail, remedy = empty_files_note([cand.path])
            out.warnings.append(f"{detail}; {remedy}")
        if summ.status is not FileStatus.OK:
            continue
        out.files.append(cand.path)
        if summ.current_context:
            currents.append((cand.path, summ.current_context))
            if out.current is None:
                out.current, out.current_file = summ.current_context, cand.path
            if cand.kubectl_reads and kubectl_current is None:
                kubectl_current = summ.current_context
        _merge_entries(out, cand.path, summ, reads)
    _current_warnings(out, currents, env_set, kubectl_current, candidates)
    if not env_set:
        _unset_warnings(out, candidates, summaries)
    return out


def _tilde_warning(cand: Candidate) -> str:
    """The home-expanded reading of a ``~`` entry: what kubectl reads instead, and what to do."""
    tilde = TildeEntry(cand.raw, kubectl_path(cand.raw), cand.path)
    return (f"{tilde.problem()} (the Python kubernetes client expands it); contexts from {cand.path} are listed, "
            f"but kubectl does not see them and none of them is current; {tilde.remedy()}")


def _refusal(path: str, what: str, summ: FileSummary) -> str:
    """What kubectl does with a file discovery could not use. It does not refuse every one: it waits forever on a
    FIFO, and it reads a file over gfwizard's size cap (checked with kubectl 1.32)."""
    if summ.error.startswith("is a FIFO"):
        return (f"kubectl hangs on {what}: {path} is a FIFO (named pipe), and kubectl (like the Python kubernetes "
                "client) waits for a writer before it reads any file of the list. Contexts from the other files "
                "are listed anyway")
    if summ.error == TOO_LARGE:
        return (f"gfwizard did not read {path}: it {TOO_LARGE.removesuffix('; not read')}. "
                f"kubectl does read it: the contexts it defines are not listed here, and if it is not a valid "
                f"kubeconfig kubectl refuses {what}. Contexts from the other files are listed anyway")
    return (f"kubectl refuses to load {what}: {path} is {summ.status.value} ({summ.error})"
            f"{_python_client_on(summ)}. Contexts from the other files are listed anyway")


def _python_client_on(summ: FileSummary) -> str:
    """What the Python client does with a file kubectl refuses (only the cases checked in its source)."""
    if summ.status is FileStatus.UNREADABLE or summ.error.startswith(("not valid YAML", "top level is")):
        return "; so does the Python kubernetes client"
    if summ.error.startswith("duplicate "):
        return "; the Python kubernetes client loads it and keeps the first of the duplicates"
    return ""


@dataclass(frozen=True)
class _KubectlReads:
    """The files kubectl, run with this environment and no flags, reads (its KUBECONFIG entries, else
    only ``default``, ``~/.kube/config``)."""

    paths: set[str]
    default: str

    def pick(self, first: str, other: str) -> str:
        """Who uses which of two definitions of one name, ``first`` winning the merge: kubectl's pick when
        it reads either file; else that it reads neither (the ``~/.kube`` files discovery also scans
        while KUBECONFIG is unset), and gfwizard's pick."""
        for path in (first, other):
            if path in self.paths:
                return f"kubectl uses the one in {path}"
        return (f"kubectl reads neither file unless it is in KUBECONFIG (unset, kubectl reads only {self.default}); "
                f"gfwizard uses the one in {first}")


def _merge_entries(out: Merged, path: str, summ: FileSummary, reads: _KubectlReads) -> None:
    for entry in summ.contexts:
        first = out.contexts.setdefault(entry.name, path)
        if first != path:
            out.warnings.append(f"context {entry.name!r} is defined in {first} and {path}; {reads.pick(first, path)}")
    for name, cluster in summ.clusters.items():
        first_c = out.clusters.setdefault(name, (path, cluster))
        if first_c[0] != path and first_c[1] != cluster:
            detail = f" (server {first_c[1].server or '-'} vs {cluster.server or '-'})" if first_c[1].server != cluster.server else ""
            out.warnings.append(
                f"cluster {name!r} is defined differently in {first_c[0]} and {path}{detail}; "
                f"{reads.pick(first_c[0], path)} for every context that names it, including those in {path}"
            )
    for name, user in summ.users.items():
        first_u = out.users.setdefault(name, (path, user))
        if first_u[0] != path and first_u[1] != user:
            out.warnings.append(
                f"user {name!r} is defined differently in {first_u[0]} and {path} ({first_u[1].auth.value} vs "
                f"{user.auth.value}); {reads.pick(first_u[0], path)} for every context that names it"
            )


def _current_warnings(out: Merged, currents: list[tuple[str, str]], env_set: bool, kubectl_current: str | None,
                      candidates: list[Candidate]) -> None:
    if out.current and out.current not in out.contexts:
        out.warnings.append(f"current-context {out.current!r} (set in {out.current_file}) names no context in the merged files")
    if len({value for _, value in currents}) < 2:
        return
    first_path, first_value = currents[0]
    if env_set:
        last_path, last_value = currents[-1]
        text = (f"files disagree on current-context: {_quote_all(currents)}. kubectl uses {first_value!r} from "
                f"{first_path} (the first file in KUBECONFIG wins)")
        if last_value != first_value:
            text += (f"; the Python kubernetes client (KubeConfigMerger) given the same KUBECONFIG would use "
                     f"{last_value!r} from {last_path} (the last file wins)")
        out.warnings.append(text)
        return
    default = next((c.path for c in candidates if c.kubectl_reads), "~/.kube/config")
    seen = (f"which sets {kubectl_current!r}" if kubectl_current else "which sets no current-context")
    out.warnings.append(
        f"files disagree on current-context: {_quote_all(currents)}. Discovery marks {first_value!r} from "
        f"{first_path} current (the first file wins); with KUBECONFIG unset kubectl reads only {default}, {seen}"
    )


def _unset_warnings(out: Merged, candidates: list[Candidate], summaries: list[FileSummary]) -> None:
    default = next(((c, s) for c, s in zip(candidates, summaries) if c.kubectl_reads), None)
    others = sum(len(s.contexts) for c, s in zip(candidates, summaries) if c.in_merge and not c.kubectl_reads)
    if default is not None and default[1].status is FileStatus.MISSING and others:
        out.warnings.append(
            f"KUBECONFIG is unset and {default[0].path} does not exist: kubectl sees none of the {others} "
            "context(s) in the other ~/.kube files; set KUBECONFIG (or pass --kubeconfig) to use them"
        )
