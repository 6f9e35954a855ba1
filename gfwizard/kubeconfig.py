"""Kubeconfig discovery: every context on this machine, where it comes from, how it authenticates,
when its client certificate expires, and what it is in terms of the deployment decision.

Candidates are each ``KUBECONFIG`` entry, the configured ``cluster.kubeconfig`` (when a
:class:`TargetHint` names one), ``~/.kube/config``, ``~/.kube/kubeconfig-*.y*ml`` and
``~/.kube/*.y*ml``. The merge set (the ``KUBECONFIG`` entries, or the ``~/.kube`` set when
``KUBECONFIG`` is unset) is merged with kubectl's rules: the first file to define a context,
cluster, user or ``current-context`` wins and later definitions are ignored whole. Files outside
the merge set are read on their own. Where kubectl and the Python Kubernetes client (v37) would
see something different, a warning says exactly what.

Discovery never runs an exec plugin, never writes a kubeconfig file and never copies a token,
key or password into its results.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from gfwizard import kubeconfig_env
from gfwizard.errors import InputError
from gfwizard.kubeconfig_auth import AuthKind, UserSummary, cert_expiry_from_file, is_expired
from gfwizard.kubeconfig_classify import Classification, TargetHint, classify, load_target_hint, server_key
from gfwizard.kubeconfig_files import (
    HOME_PATTERNS,
    Candidate,
    ClusterSummary,
    ContextEntry,
    FileStatus,
    FileSummary,
    list_candidates,
)
from gfwizard.kubeconfig_merge import Merged, merge

__all__ = [
    "AuthKind", "Classification", "ContextInfo", "Discovery", "FileInfo", "FileStatus", "TargetHint",
    "discover", "load_target_hint", "HOME_PATTERNS",
]

#: How the warning that no kubeconfig file exists starts (the places looked in follow).
NO_KUBECONFIG_WARNING = "No kubeconfig found; looked in: "


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One candidate file and how reading it went."""

    path: str
    status: FileStatus
    error: str = ""

    def to_dict(self) -> dict[str, str]:
        """The ``--json`` form: exactly ``path``, ``status``, ``error``."""
        return {"path": self.path, "status": self.status.value, "error": self.error}


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """One context as discovery sees it. Holds names, a server URL and dates: never a secret."""

    name: str
    file: str
    cluster: str
    server: str
    user: str
    namespace: str
    auth: AuthKind
    classification: Classification
    #: Why it got that classification ("" for ``other``).
    reason: str = ""
    #: Base name of the exec plugin's command (never its arguments or environment).
    exec_command: str = ""
    #: The client certificate's notAfter, ISO 8601 UTC.
    cert_expiry: str | None = None
    cert_expired: bool | None = None
    #: kubectl's current context (in the merged view).
    current: bool = False
    #: kubectl, run with this environment and no flags, sees this context.
    kubectl_visible: bool = False
    #: Files that supplied the cluster and user entries ("" when not found).
    cluster_file: str = ""
    user_file: str = ""
    #: Set when an earlier file in the merge set defines the same context name (kubectl uses that one).
    shadowed_by: str = ""
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form of one context."""
        return {
            "name": self.name, "file": self.file, "cluster": self.cluster, "server": self.server,
            "user": self.user, "namespace": self.namespace, "auth": self.auth.value,
            "exec_command": self.exec_command, "cert_expiry": self.cert_expiry,
            "cert_expired": self.cert_expired, "classification": self.classification.value,
            "reason": self.reason, "current": self.current, "kubectl_visible": self.kubectl_visible,
            "cluster_file": self.cluster_file, "user_file": self.user_file,
            "shadowed_by": self.shadowed_by, "problems": list(self.problems),
        }


@dataclass
class Discovery:
    """The result of :func:`discover`."""

    contexts: list[ContextInfo] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Every place looked at: KUBECONFIG entries, the configured kubeconfig, the ~/.kube patterns.
    searched: list[str] = field(default_factory=list)
    #: The merge set, in order (files that exist and were read).
    merged_files: list[str] = field(default_factory=list)
    #: kubectl's current context in the merged view, if any.
    current_context: str | None = None
    target: TargetHint = field(default_factory=TargetHint)

    @property
    def found_any(self) -> bool:
        """True when at least one candidate file exists (whatever its state)."""
        return any(f.status is not FileStatus.MISSING for f in self.files)

    def context(self, name: str, file: str | None = None) -> ContextInfo | None:
        """The context called ``name`` (kubectl's pick when several files define it), or None.

        ``file`` picks the definition in that file instead.
        """
        fallback: ContextInfo | None = None
        for ctx in self.contexts:
            if ctx.name != name:
                continue
            if file is not None:
                if os.path.abspath(file) == ctx.file:
                    return ctx
                continue
            if not ctx.shadowed_by:
                return ctx
            fallback = fallback or ctx
        return fallback

    def client_target(self, name: str, file: str | None = None) -> tuple[str, str]:
        """``(config_file, context)`` to hand to the Kubernetes client for context ``name``.

        ``config_file`` is the context's own file when that file also holds the cluster and
        user kubectl would use; otherwise it is the merge set joined with ``os.pathsep`` (the
        Python client merges such a list first-file-wins, like kubectl; empty and unreadable
        files are left out because the Python client refuses them). Raises :class:`InputError`
        when the context is unknown, its cluster or user is defined nowhere, or it is a hidden
        (shadowed) definition that only the merged view could complete.
        """
        ctx = self.context(name, file)
        if ctx is None:
            known = ", ".join(sorted({c.name for c in self.contexts})[:20]) or "none"
            raise InputError(f"no context named {name!r} was discovered (known: {known})",
                             "run `gfwizard discover` to list the contexts and the files they come from")
        if not ctx.cluster_file or not ctx.user_file:
            missing = "cluster" if not ctx.cluster_file else "user"
            if not (ctx.cluster if missing == "cluster" else ctx.user):
                # No `cluster:` (or `user:`) field at all: there is no entry to add, the context must name one.
                raise InputError(f"context {name!r} in {ctx.file} names no {missing} (its {missing}: field is "
                                 "missing or empty)",
                                 f"add `{missing}: NAME` under context {name!r} in {ctx.file}, where NAME is a "
                                 f"{missing} entry a kubeconfig defines, or pick another context")
            raise InputError(f"context {name!r} in {ctx.file} names a {missing} that no file defines",
                             f"add the {missing} entry to {ctx.file}, or pick another context")
        if ctx.cluster_file == ctx.file and ctx.user_file == ctx.file:
            return ctx.file, ctx.name
        if ctx.shadowed_by:
            raise InputError(
                f"context {name!r} in {ctx.file} is hidden by the one in {ctx.shadowed_by} and needs entries from "
                "other files, so no client would load this definition",
                f"rename one of the two contexts, or use the one in {ctx.shadowed_by}",
            )
        return os.pathsep.join(self.merged_files), ctx.name

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form: exactly ``contexts``, ``files``, ``warnings``."""
        return {
            "contexts": [c.to_dict() for c in self.contexts],
            "files": [f.to_dict() for f in self.files],
            "warnings": list(self.warnings),
        }


def _summaries(candidates: list[Candidate], environ: Mapping[str, str]) -> list[FileSummary]:
    from gfwizard import kubeconfig_cache as cache

    return cache.summaries([c.path for c in candidates], use_disk=cache.disk_cache_enabled(environ))


def discover(
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    target: TargetHint | None = None,
    now: dt.datetime | None = None,
) -> Discovery:
    """Find, read and classify every kubeconfig context on this machine. Never raises for a bad file.

    ``environ`` defaults to ``os.environ`` (only ``KUBECONFIG`` is read), ``home`` to the user's
    home directory, ``target`` to honey's defaults, ``now`` (for the expired flag) to the clock.
    """
    environ = os.environ if environ is None else environ
    home_dir = str(home) if home is not None else os.path.expanduser("~")
    hint = target or TargetHint()
    candidates, searched = list_candidates(environ, home_dir, hint.kubeconfig)
    summaries = _summaries(candidates, environ)
    result = Discovery(searched=searched, target=hint)
    result.files = [FileInfo(c.path, s.status, s.error) for c, s in zip(candidates, summaries)]
    if environ.get("KUBECONFIG") and not kubeconfig_env.entries(environ["KUBECONFIG"]):
        result.warnings.append("; ".join(kubeconfig_env.no_file_note(environ["KUBECONFIG"])))
    if not result.found_any:
        result.warnings.append(NO_KUBECONFIG_WARNING + ", ".join(searched))
    for c, s in zip(candidates, summaries):
        result.warnings.extend(f"{c.path}: {note}" for note in s.notes)
    merged = merge(candidates, summaries, env_set=bool(environ.get("KUBECONFIG")))
    result.warnings.extend(merged.warnings)
    result.merged_files = merged.files
    result.current_context = merged.current
    moment = now or dt.datetime.now(dt.timezone.utc)
    for cand, summ in zip(candidates, summaries):
        if summ.status is not FileStatus.OK:
            continue
        for entry in summ.contexts:
            result.contexts.append(_context_info(cand, summ, entry, merged, hint, moment))
    return result


def _context_info(cand: Candidate, summ: FileSummary, entry: ContextEntry, merged: Merged, hint: TargetHint,
                  now: dt.datetime) -> ContextInfo:
    problems: list[str] = []
    shadowed_by = ""
    if cand.in_merge:
        winner = merged.contexts.get(entry.name)
        if winner is not None and winner != cand.path:
            shadowed_by = winner
        cluster_file, cluster = merged.clusters.get(entry.cluster, ("", None))
        user_file, user = merged.users.get(entry.user, ("", None))
    else:
        cluster = summ.clusters.get(entry.cluster)
        user = summ.users.get(entry.user)
        cluster_file = cand.path if cluster is not None else ""
        user_file = cand.path if user is not None else ""
    if cluster is None:
        problems.append(f"cluster {entry.cluster!r} is not defined" if entry.cluster else "context names no cluster")
    if user is None and entry.user:
        problems.append(f"user {entry.user!r} is not defined")
    server = cluster.server if isinstance(cluster, ClusterSummary) else ""
    if isinstance(cluster, ClusterSummary) and cluster.insecure:
        problems.append("insecure-skip-tls-verify is set: the server certificate is not checked")
    auth, exec_command, expiry = AuthKind.NONE, "", None
    if isinstance(user, UserSummary):
        auth, exec_command, expiry = user.auth, user.exec_command, user.cert_expiry
        problems.extend(user.problems)
        if user.cert_file:
            expiry, problem = cert_expiry_from_file(user.cert_file)
            if problem:
                problems.append(problem)
    kind, reason = classify(entry.name, entry.cluster, server, hint)
    if (kind is Classification.TARGET and hint.api_server and server and entry.name == hint.context
            and server_key(server) != server_key(hint.api_server)):
        problems.append(f"server {server} is not the configured api_server {hint.api_server}")
    expired = is_expired(expiry, now)
    if expired:
        problems.append(f"client certificate expired {expiry}")
    return ContextInfo(
        name=entry.name, file=cand.path, cluster=entry.cluster, server=server, user=entry.user,
        namespace=entry.namespace, auth=auth, classification=kind, reason=reason,
        exec_command=exec_command, cert_expiry=expiry, cert_expired=expired,
        current=bool(not shadowed_by and cand.in_merge and merged.current == entry.name),
        kubectl_visible=bool(cand.kubectl_reads and not shadowed_by and merged.kubectl_ok),
        cluster_file=cluster_file, user_file=user_file, shadowed_by=shadowed_by, problems=tuple(problems),
    )
