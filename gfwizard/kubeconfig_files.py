"""Kubeconfig candidate files: where discovery looks, and a secret-free summary of each file.

A summary keeps, per file, the context entries, each cluster's server and each user's kind of
auth (see :mod:`gfwizard.kubeconfig_auth`): never a token, key or password. Summaries are cached
by ``(real path, mtime_ns, ctime_ns, size, inode, device)`` in-process here and on disk by
:mod:`gfwizard.kubeconfig_cache`. Files are opened read-only and never written.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping

from gfwizard import kubeconfig_env
from gfwizard.kubeconfig_auth import UserSummary, summarise_user
from gfwizard.paths import special_kind

#: Larger files are reported as too large, not read (a real kubeconfig is a few KiB; this bounds memory).
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024
TOO_LARGE = f"is larger than {MAX_KUBECONFIG_BYTES // (1024 * 1024)} MiB, more than any kubeconfig needs; not read"

#: The patterns searched under the home directory, in order.
HOME_PATTERNS = ("~/.kube/config", "~/.kube/kubeconfig-*.y*ml", "~/.kube/*.y*ml")


class FileStatus(str, Enum):
    """How reading one candidate file went."""

    OK = "ok"
    MISSING = "missing"
    EMPTY = "empty"
    UNREADABLE = "unreadable"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One file discovery reads, where it came from, and whether kubectl would read it too."""

    path: str
    #: "KUBECONFIG", "organization.yaml" (cluster.kubeconfig) or "~/.kube". A "KUBECONFIG" candidate outside
    #: the merge set is the home-expanded reading of an entry written with a literal "~" (kubectl reads the
    #: entry unexpanded: that is the candidate in the merge set).
    source: str
    #: Part of the set merged with kubectl's first-file-wins rules.
    in_merge: bool
    #: kubectl, run with this environment and no flags, reads this file.
    kubectl_reads: bool
    #: The entry as written (a KUBECONFIG entry may start with "~").
    raw: str = ""


@dataclass(frozen=True, slots=True)
class ContextEntry:
    """A ``contexts[]`` entry: names only."""

    name: str
    cluster: str
    user: str
    namespace: str


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """A ``clusters[]`` entry: the server and a short digest of its CA (public data)."""

    server: str
    insecure: bool = False
    ca: str = ""


@dataclass(frozen=True)
class FileSummary:
    """Everything discovery keeps of one file."""

    status: FileStatus
    error: str = ""
    current_context: str | None = None
    contexts: tuple[ContextEntry, ...] = ()
    clusters: dict[str, ClusterSummary] = field(default_factory=dict)
    users: dict[str, UserSummary] = field(default_factory=dict)
    #: Entries skipped because they were malformed (the rest of the file still counts).
    notes: tuple[str, ...] = ()

    def to_cache(self) -> dict[str, Any]:
        """A compact JSON-ready form (no secrets: see :class:`UserSummary`)."""
        return {
            "s": self.status.value, "e": self.error, "cc": self.current_context,
            "x": [[c.name, c.cluster, c.user, c.namespace] for c in self.contexts],
            "k": {n: [c.server, c.insecure, c.ca] for n, c in self.clusters.items()},
            "u": {n: u.to_cache() for n, u in self.users.items()},
            "n": list(self.notes),
        }

    @classmethod
    def from_cache(cls, raw: dict[str, Any]) -> "FileSummary":
        """The inverse of :meth:`to_cache`."""
        return cls(
            FileStatus(raw["s"]), raw["e"], raw["cc"],
            tuple(ContextEntry(*c) for c in raw["x"]),
            {n: ClusterSummary(*c) for n, c in raw["k"].items()},
            {n: UserSummary.from_cache(u) for n, u in raw["u"].items()},
            tuple(raw["n"]),
        )


def _abs(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def list_candidates(environ: Mapping[str, str], home: str, extra: str = "") -> tuple[list[Candidate], list[str]]:
    """Candidate files in discovery order (deduplicated by real path) and the places searched.

    Order: each ``KUBECONFIG`` entry as kubectl reads it (see :mod:`gfwizard.kubeconfig_env`), the
    home-expanded file of each entry starting with ``~``, then ``extra`` (the configured kubeconfig), then
    ``~/.kube/config``, ``~/.kube/kubeconfig-*.y*ml``, ``~/.kube/*.y*ml`` (each glob sorted).
    With ``KUBECONFIG`` set the merge set is its entries; unset, it is the ``~/.kube`` set.
    """
    env_value = environ.get("KUBECONFIG", "")
    entries = kubeconfig_env.entries(env_value)
    # Set at all, KUBECONFIG replaces ~/.kube/config for kubectl, even when it names no file (KUBECONFIG=":").
    use_env = bool(env_value)
    out: list[Candidate] = []
    seen: set[str] = set()
    searched: list[str] = []

    def add(path: str, source: str, in_merge: bool, kubectl_reads: bool, raw: str = "") -> None:
        path = _abs(path)
        key = os.path.realpath(path)
        if key in seen:
            return
        seen.add(key)
        out.append(Candidate(path, source, in_merge, kubectl_reads, raw or path))

    def expand(entry: str) -> str:
        return kubeconfig_env.expand_home(entry, home)

    for entry in entries:
        searched.append(entry)
        # Read as kubectl reads it: nothing expanded, so a quoted '~' is a directory under the current one.
        add(kubeconfig_env.kubectl_path(entry), "KUBECONFIG", True, True, entry)
    for entry in entries:
        if entry.startswith("~"):
            # The file such an entry was meant to name: listed, but outside the merge set (kubectl never reads
            # it through this entry). Added after every entry, so one that names it outright keeps it merged.
            add(expand(entry), "KUBECONFIG", False, False, entry)
    if extra:
        expanded = expand(os.path.expandvars(extra))
        searched.append(extra)
        add(expanded, "organization.yaml", False, False, extra)
    kube = os.path.join(home, ".kube")
    for pattern in HOME_PATTERNS:
        searched.append(pattern)
        concrete = os.path.join(kube, pattern[len("~/.kube/"):])
        if "*" not in pattern:
            add(concrete, "~/.kube", not use_env, not use_env)
            continue
        for match in sorted(glob.glob(concrete)):
            add(match, "~/.kube", not use_env, False)
    return out, searched


#: (real path, mtime_ns, ctime_ns, size, inode, device): a file whose key is unchanged has unchanged content.
StatKey = tuple[str, int, int, int, int, int]

_memo: dict[StatKey, FileSummary] = {}


def stat_key(path: str) -> tuple[StatKey | None, FileSummary | None]:
    """The cache key of ``path``, or a summary saying why it cannot be read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, FileSummary(FileStatus.MISSING, "no such file")
    except OSError as exc:
        return None, FileSummary(FileStatus.UNREADABLE, exc.strerror or str(exc))
    special = _special_file(st)
    if special is not None:
        return None, special
    return (os.path.realpath(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev), None


#: What discovery says of ``/dev/null``: kubectl (and the shell idiom ``KUBECONFIG=/dev/null``) reads it as empty.
DEV_NULL = f"is {os.devnull}: reads as an empty kubeconfig"


def _is_dev_null(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and (st.st_rdev, st.st_dev, st.st_ino) == (null.st_rdev, null.st_dev, null.st_ino)


def _special_file(st: os.stat_result) -> FileSummary | None:
    """The summary of a file that is not read (None when it is read): ``/dev/null`` is empty, as kubectl reads
    it; anything else that is not a regular file of at most the size cap is unreadable."""
    if _is_dev_null(st):
        return FileSummary(FileStatus.EMPTY, DEV_NULL)
    problem = _not_readable(st)
    return FileSummary(FileStatus.UNREADABLE, problem) if problem else None


def unread_special(path: str) -> str:
    """What ``path`` is when it exists but is never read as a kubeconfig: neither a regular file, a directory
    nor ``/dev/null`` (which reads as empty); ``""`` otherwise (missing included)."""
    try:
        st = os.stat(path)
    except OSError:
        return ""
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or _is_dev_null(st):
        return ""
    return special_kind(st.st_mode)


def _not_readable(st: os.stat_result) -> str:
    """Why a file with this stat is not read ("" when it is): only regular files up to the size cap."""
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        # A FIFO would block the read forever and a device like /dev/zero never ends: never opened.
        return f"is {special_kind(mode)}, not a regular file; not read"
    if st.st_size > MAX_KUBECONFIG_BYTES:
        return TOO_LARGE
    return ""


def memo_get(key: StatKey) -> FileSummary | None:
    """The in-process cached summary for ``key``."""
    return _memo.get(key)


def memo_put(key: StatKey, summary: FileSummary) -> None:
    """Remember a summary for the rest of this process."""
    _memo[key] = summary


def clear_memo() -> None:
    """Forget every in-process summary (tests use this)."""
    _memo.clear()


def read_summary(path: str) -> FileSummary:
    """Read and summarise one file (no cache involved). Never raises for a bad file."""
    import yaml

    from gfwizard.kubeconfig_yaml import load_yaml

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused by the fstat below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as fh:
            special = _special_file(os.fstat(fd))
            if special is not None:
                return special
            data = fh.read(MAX_KUBECONFIG_BYTES + 1)  # the file may have grown since it was stat'ed
    except FileNotFoundError:
        return FileSummary(FileStatus.MISSING, "no such file")
    except IsADirectoryError:
        return FileSummary(FileStatus.UNREADABLE, "is a directory, not a file")
    except OSError as exc:
        return FileSummary(FileStatus.UNREADABLE, exc.strerror or str(exc))
    if len(data) > MAX_KUBECONFIG_BYTES:
        return FileSummary(FileStatus.UNREADABLE, TOO_LARGE)
    if not data:
        # Only a file of no bytes is empty before parsing, as in client-go: whitespace holding a tab is a YAML
        # error there (and here), whitespace and comments alone parse to no document (summarise_doc).
        return FileSummary(FileStatus.EMPTY, "file is empty")
    try:
        doc = load_yaml(data)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return FileSummary(FileStatus.INVALID, f"not valid YAML: {where}{exc.problem or exc.context or 'parse error'}")
    except yaml.YAMLError as exc:
        # ReaderError (bad encoding) and friends carry no mark; their text names no content.
        return FileSummary(FileStatus.INVALID, f"not valid YAML: {type(exc).__name__}")
    return summarise_doc(doc, os.path.dirname(path))


def _names(section: Any, label: str, notes: list[str]) -> list[tuple[str, Any]] | str:
    """``(name, body)`` pairs of a clusters/contexts/users list, or an error string."""
    if section is None:
        return []
    if not isinstance(section, list):
        return f"'{label}' is a {type(section).__name__}, expected a list"
    pairs: list[tuple[str, Any]] = []
    body_key = label[:-1]
    for i, item in enumerate(section):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            notes.append(f"{label}[{i}] has no name; skipped")
            continue
        pairs.append((name, item.get(body_key)))
    twice = duplicate_name(name for name, _ in pairs)
    if twice is not None:
        return f"duplicate {body_key} name {twice!r} (kubectl refuses a file with duplicate names)"
    return pairs


def duplicate_name(names: Iterable[str]) -> str | None:
    """The first of ``names`` that comes a second time, or None. kubectl and the stacks' providers (client-go)
    refuse a kubeconfig file that names one cluster, context or user twice."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _digest(value: Any) -> str:
    if not value:
        return ""
    return hashlib.blake2b(str(value).encode(), digest_size=8).hexdigest()


def summarise_doc(doc: Any, base_dir: str) -> FileSummary:
    """Summarise a parsed kubeconfig document (``base_dir`` resolves relative file references)."""
    if doc is None:
        return FileSummary(FileStatus.EMPTY, "no YAML document (only comments or whitespace)")
    if not isinstance(doc, dict):
        return FileSummary(FileStatus.INVALID, f"top level is a {type(doc).__name__}, expected a mapping")
    kind = doc.get("kind")
    if kind not in (None, "", "Config"):
        return FileSummary(FileStatus.INVALID, f"kind {kind!r} is not a kubeconfig (expected kind: Config)")
    notes: list[str] = []
    sections: dict[str, list[tuple[str, Any]]] = {}
    for label in ("clusters", "contexts", "users"):
        result = _names(doc.get(label), label, notes)
        if isinstance(result, str):
            return FileSummary(FileStatus.INVALID, result)
        sections[label] = result
    clusters: dict[str, ClusterSummary] = {}
    for name, body in sections["clusters"]:
        body = body if isinstance(body, dict) else {}
        server = body.get("server")
        clusters[name] = ClusterSummary(
            _without_userinfo(server) if isinstance(server, str) else "",
            body.get("insecure-skip-tls-verify") is True,
            _digest(body.get("certificate-authority-data") or body.get("certificate-authority")),
        )
    users = {name: summarise_user(body, base_dir) for name, body in sections["users"]}
    contexts: list[ContextEntry] = []
    for name, body in sections["contexts"]:
        body = body if isinstance(body, dict) else {}
        contexts.append(ContextEntry(
            name, _text(body.get("cluster")), _text(body.get("user")), _text(body.get("namespace")),
        ))
    current = doc.get("current-context")
    return FileSummary(
        FileStatus.OK, "", current if isinstance(current, str) and current else None,
        tuple(contexts), clusters, users, tuple(notes),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _without_userinfo(server: str) -> str:
    """The server URL without ``user:password@`` (never kept, shown or cached)."""
    scheme, sep, rest = server.partition("://")
    if not sep:
        return server
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    return f"{scheme}://{host}{slash}{path}"
