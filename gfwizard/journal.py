"""The run journal: one JSON line per event of a deploy, per environment (``layout.journal_file(env)``).

Every plan and apply of every stack appends an entry. An apply appends twice: ``started`` before the
binary runs and the outcome after it exits, so a gfwizard that was killed mid-apply leaves a
``started`` entry with no outcome behind, which the next run reports. Entries never hold a secret:
every string is redacted before it is written. Lines that cannot be read (a torn last line after a
crash, a hand edit) are skipped and counted, never fatal.

Entries carry :data:`JOURNAL_SCHEMA`. A field this gfwizard does not know is ignored (a newer gfwizard
may add optional fields without a new schema); a line an older gfwizard would misread (a new outcome, a
changed meaning) must be written with a higher schema: it is then skipped and said to be written by a
newer gfwizard, whose upgrade reads it.
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from gfwizard.errors import CheckFailure, InputError
from gfwizard.tofu_events import redact_obj
from gfwizard.tofu_summary import PlanSummary

#: The journal line schema this gfwizard writes and reads (lines without one are schema 1).
JOURNAL_SCHEMA = 1

Action = Literal["plan", "apply", "skip"]
Outcome = Literal["started", "planned", "applied", "no-changes", "failed", "interrupted", "locked", "skipped",
                  "gate-failed"]

#: Outcomes after which a stack counts as deployed (resume skips it when its inputs are unchanged).
DONE_OUTCOMES: frozenset[str] = frozenset({"applied", "no-changes", "skipped"})
#: Apply outcomes that changed nothing (a safety gate stopped the run first; another run held the state lock):
#: they say nothing about what is deployed.
NOTHING_APPLIED_OUTCOMES: frozenset[str] = frozenset({"gate-failed", "locked"})
#: Outcomes a resume continues at (``gate-failed``: a safety gate stopped the run before this stack).
RESUMABLE_OUTCOMES: frozenset[str] = frozenset({"failed", "interrupted", "locked", "started", "gate-failed"})


class LockHolder(BaseModel):
    """Who holds a state lock, read from the lock object itself (``<key>.tflock``, JSON)."""

    model_config = ConfigDict(frozen=True)

    id: str
    who: str = ""
    operation: str = ""
    created: datetime | None = None
    version: str = ""
    path: str = ""

    def age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the lock was taken (None when the lock did not say)."""
        if self.created is None:
            return None
        now = now or datetime.now(timezone.utc)
        return max(0.0, (now - self.created).total_seconds())


class JournalEntry(BaseModel):
    """One line of the journal."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    env: str
    stack: str
    action: Action
    outcome: Outcome
    started_at: datetime
    ended_at: datetime | None = None
    plan_hash: str | None = None
    #: SHA-256 of the stack directory's files but docs, its backend file, contract and ``TF_VAR_`` variables
    #: (what resume compares).
    inputs_hash: str | None = None
    summary: PlanSummary | None = None
    lock_id: str | None = None
    lock: LockHolder | None = None
    transcript: str | None = None
    error: str | None = None
    #: Where a failed stack stopped: init, plan, show, apply, output or materialise.
    phase: str | None = None
    #: The run this one resumed, for ``skip`` entries and every entry of a resumed run.
    resumes: str | None = None
    #: The stacks the run was limited to (``--stack``), in dependency order; absent when it covered every stack.
    selection: tuple[str, ...] | None = None
    #: The run only planned (``--plan-only``): a preview, never the run a resume continues.
    plan_only: bool = False
    binary: str = ""
    operator: str = ""
    pid: int = 0
    #: The writing process's identity on its host (boot id and start time, :func:`~gfwizard.journal_process.
    #: process_token`): a pid since handed to another process is not taken for it; "" when ``/proc`` could not say.
    pid_token: str = ""
    #: :data:`JOURNAL_SCHEMA` of the gfwizard that wrote the line.
    schema_version: int = JOURNAL_SCHEMA


def now_utc() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


def new_run_id() -> str:
    """A fresh, sortable run id: ``20250101T120000Z-1a2b3c``."""
    return now_utc().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def operator_id() -> str:
    """``user@host`` of this process (what the journal records as the operator)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


@dataclass
class RunRecord:
    """The last entry of each stack and action of one run."""

    run_id: str
    started_at: datetime
    plans: dict[str, JournalEntry] = field(default_factory=dict)
    applies: dict[str, JournalEntry] = field(default_factory=dict)
    #: The stacks the run was limited to, or None when it covered every stack.
    selection: tuple[str, ...] | None = None
    plan_only: bool = False

    def outcome(self, stack: str) -> str | None:
        """The stack's deploy outcome in this run: its apply/skip entry, else its plan entry."""
        entry = self.applies.get(stack) or self.plans.get(stack)
        return entry.outcome if entry else None

    @property
    def unfinished(self) -> list[JournalEntry]:
        """Applies that started and never recorded an outcome (gfwizard was killed)."""
        return [e for e in self.applies.values() if e.outcome == "started"]

    @property
    def attempted(self) -> bool:
        """True when the run set out to deploy: it reached an apply (or skip), or a stack failed, was
        interrupted or locked. A preview (``--plan-only``) or a run whose applies were declined did not."""
        if self.plan_only:
            return False
        return bool(self.applies) or any(e.outcome in RESUMABLE_OUTCOMES for e in self.plans.values())

    @property
    def resumable(self) -> bool:
        """True when some stack failed, was interrupted, locked, stopped by a gate or never finished."""
        return any(e.outcome in RESUMABLE_OUTCOMES for e in [*self.applies.values(), *self.plans.values()])


@dataclass
class _ReadState:
    """What :meth:`Journal.entries` has parsed of one file: its complete lines up to ``offset``."""

    dev: int
    ino: int
    offset: int = 0
    #: The bytes just before ``offset``: a file rewritten in place no longer ends its read part with them.
    tail: bytes = b""
    entries: list[JournalEntry] = field(default_factory=list)
    #: How many lines (complete or not) have been parsed, and the 1-based numbers of the unreadable ones.
    lines: int = 0
    unreadable: list[int] = field(default_factory=list)
    #: Line number -> schema of the unreadable lines a newer gfwizard wrote.
    newer: dict[int, int] = field(default_factory=dict)


#: How many bytes before the parsed offset are compared to notice a journal rewritten in place.
_TAIL_CHECK = 256


def _still_ends_with(fh: BinaryIO, state: _ReadState) -> bool:
    """True when the bytes before ``state.offset`` are those read last time (no rewrite in place)."""
    if not state.tail:
        return True
    fh.seek(state.offset - len(state.tail))
    return fh.read(len(state.tail)) == state.tail


def _parse_into(data: bytes, out: list[JournalEntry], state: _ReadState) -> None:
    """Parse the JSON lines of ``data`` into ``out``; note the line numbers of the unreadable ones in
    ``state.unreadable`` (``data`` starts at line ``state.lines + 1``)."""
    raws = data.split(b"\n")
    if data.endswith(b"\n"):
        raws.pop()  # the empty remainder after the last newline is no line
    for raw in raws:
        state.lines += 1
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        try:
            entry = JournalEntry.model_validate_json(line)
        except (ValidationError, ValueError):
            entry = None
        if entry is not None and entry.schema_version <= JOURNAL_SCHEMA:
            out.append(entry)
            continue
        state.unreadable.append(state.lines)
        schema = entry.schema_version if entry is not None else _newer_schema(line)
        if schema is not None:
            state.newer[state.lines] = schema


def _newer_schema(line: str) -> int | None:
    """The schema of a line that does not validate, when it says a newer gfwizard wrote it (else None)."""
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    schema = raw.get("schema_version") if isinstance(raw, dict) else None
    return schema if isinstance(schema, int) and not isinstance(schema, bool) and schema > JOURNAL_SCHEMA else None


class JournalWriteError(CheckFailure):
    """A journal line could not be written (nothing of it was left in the file)."""

    def __init__(self, path: Path, exc: OSError) -> None:
        reason = exc.strerror or type(exc).__name__
        super().__init__(f"the run journal {path} cannot be written: {reason}; the entry was not recorded",
                         remedy=f"free space on (or fix the permissions of) {path.parent}, or move {path} aside if "
                                "it is not a file; then deploy again: each stack not recorded as deployed is planned "
                                "again and only what is still missing is applied")


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may write fewer, e.g. up to a file size limit)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _cut_back(fd: int, size: int) -> None:
    """Remove what a failed write left after ``size`` (a half line would glue the next one to it)."""
    try:
        os.ftruncate(fd, size)
    except OSError:
        pass  # the reader skips and counts a torn line; the next append ends it first


#: Line numbers an unreadable-lines note names before it says "…".
_SHOWN_LINES = 10


class Journal:
    """The append-only journal file of one environment.

    Reads are incremental: the entries parsed so far are kept, and a later read parses only the
    lines appended since (by this process or another one), so a long history is parsed once per
    process, not once per question. A file replaced, truncated or rewritten in place is read again
    from the start.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        #: The line numbers (1-based) of the unreadable complete lines (a last line still being written is not
        #: among them).
        self.unreadable_lines: list[int] = []
        #: The number of a last line without its newline that cannot be read: still being written by a run,
        #: or torn by a crash (what it is when nobody writes, e.g. under the run lock).
        self.partial_line: int | None = None
        #: Line number -> schema of the unreadable lines (the partial one included) a newer gfwizard wrote.
        self.newer_lines: dict[int, int] = {}
        self._read: _ReadState | None = None
        self._reading = threading.Lock()  # the read state is shared: one reader at a time

    def append(self, entry: JournalEntry) -> None:
        """Append ``entry`` as one redacted JSON line (created 0600, flushed to disk).

        The line is written whole or not at all: a write that fails (a full disk, a file size limit) is cut
        back off, and :class:`JournalWriteError` says why. A torn last line (gfwizard killed mid-write) is
        ended first, so the new line is not glued onto it and lost with it.
        """
        data = redact_obj(entry.model_dump(mode="json", exclude_none=True))
        line = (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise JournalWriteError(self.path, exc) from None
        try:
            # One writer per environment (the run lock), so the size read here is where this line starts.
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            try:
                _write_all(fd, line)
                os.fsync(fd)
            except OSError as exc:
                _cut_back(fd, size)
                raise JournalWriteError(self.path, exc) from None
        finally:
            os.close(fd)

    def require_readable(self) -> None:
        """Read the journal (a missing one is empty) or raise :class:`InputError` saying why it cannot be read
        (a directory where the file belongs, no permission): a run checks it before it starts, not midway."""
        try:
            self.entries()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InputError(f"the run journal {self.path} cannot be read: {reason}; nothing was run",
                             remedy=f"fix its permissions, or move it aside (`mv {self.path} {self.path}.aside`): "
                                    "the next deploy then starts a new journal, and --resume knows no earlier "
                                    "run") from None

    def entries(self) -> list[JournalEntry]:
        """Every readable entry, oldest first (unreadable complete lines are numbered in :attr:`unreadable_lines`)."""
        with self._reading:
            return self._entries()

    def _entries(self) -> list[JournalEntry]:
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            self._read = None
            self.unreadable_lines = []
            self.partial_line = None
            self.newer_lines = {}
            return []
        with fh:
            st = os.fstat(fh.fileno())
            state = self._read
            if state is None or (state.dev, state.ino) != (st.st_dev, st.st_ino) or st.st_size < state.offset \
                    or not _still_ends_with(fh, state):
                state = self._read = _ReadState(st.st_dev, st.st_ino)
            fh.seek(state.offset)
            data = fh.read()
        # Only complete lines are kept: the last one may still be being written (or was torn by a
        # kill); it is parsed for this answer and again, whole, once its newline arrives.
        complete = data.rfind(b"\n") + 1
        if complete:
            _parse_into(data[:complete], state.entries, state)
            state.offset += complete
            state.tail = (state.tail + data[:complete])[-_TAIL_CHECK:]
        partial: list[JournalEntry] = []
        pending = _ReadState(state.dev, state.ino, lines=state.lines)
        _parse_into(data[complete:], partial, pending)
        self.unreadable_lines = list(state.unreadable)
        self.partial_line = pending.unreadable[0] if pending.unreadable else None
        self.newer_lines = {**state.newer, **pending.newer}
        return [*state.entries, *partial]

    def unreadable_note(self, settled: bool = False) -> str:
        """``journal PATH: 2 unreadable lines skipped (lines 3, 7)`` for the last read, or "" when every
        complete line was read (a torn line after a crash, a hand edit: what the operator is told).
        ``settled``: nobody is writing (the caller holds the run lock), so an unreadable last line without its
        newline is torn, not still being written, and counts too."""
        skipped = self.skipped_note(settled)
        return f"journal {self.path}: {skipped}" if skipped else ""

    def skipped_note(self, settled: bool = False) -> str:
        """``2 unreadable lines skipped (lines 3, 7)`` for the last read, or "" (``settled``: see
        :meth:`unreadable_note`)."""
        bad = [*self.unreadable_lines, *([self.partial_line] if settled and self.partial_line else [])]
        if not bad:
            return ""
        shown = ", ".join(str(n) for n in bad[:_SHOWN_LINES]) + (", …" if len(bad) > _SHOWN_LINES else "")
        lines = "line" if len(bad) == 1 else "lines"
        note = f"{len(bad)} unreadable {lines} skipped ({lines} {shown})"
        newer = [n for n in bad if n in self.newer_lines]
        if newer:
            which = "line" if len(newer) == 1 else "lines"
            shown = ", ".join(str(n) for n in newer[:_SHOWN_LINES]) + (", …" if len(newer) > _SHOWN_LINES else "")
            note += (f"; {which} {shown} written by a newer gfwizard (schema {max(self.newer_lines[n] for n in newer)}"
                     f", this one reads {JOURNAL_SCHEMA}): upgrade gfwizard to read "
                     + ("it" if len(newer) == 1 else "them"))
        return note

    def newer_skipped(self, settled: bool = False) -> bool:
        """True when a line the last read skipped was written by a newer gfwizard (``settled``: see
        :meth:`unreadable_note`)."""
        return any(n in self.newer_lines for n in [*self.unreadable_lines,
                                                   *([self.partial_line] if settled and self.partial_line else [])])

    def runs(self) -> list[RunRecord]:
        """Runs in the order they started, each with the last entry per stack and action."""
        records: dict[str, RunRecord] = {}
        for entry in self.entries():
            record = records.setdefault(entry.run_id, RunRecord(entry.run_id, entry.started_at,
                                                                selection=entry.selection, plan_only=entry.plan_only))
            record.selection = record.selection or entry.selection
            if entry.action == "plan":
                record.plans[entry.stack] = entry
            else:
                record.applies[entry.stack] = entry
        return list(records.values())

    def last_run(self) -> RunRecord | None:
        """The most recent run, or None for an empty journal."""
        runs = self.runs()
        return runs[-1] if runs else None

    def last_attempt(self) -> RunRecord | None:
        """The most recent run that set out to deploy (what ``--resume`` continues): previews and runs
        whose applies were declined are passed over."""
        return next((run for run in reversed(self.runs()) if run.attempted), None)

    def last_deploy(self, stack: str) -> JournalEntry | None:
        """The most recent apply/skip entry of ``stack`` in any run."""
        for entry in reversed(self.entries()):
            if entry.stack == stack and entry.action != "plan":
                return entry
        return None

    def last_known_deploy(self, stack: str) -> JournalEntry | None:
        """The most recent apply/skip entry of ``stack`` that says what is deployed: applies that changed
        nothing (:data:`NOTHING_APPLIED_OUTCOMES`, with their ``started`` entry) are passed over."""
        nothing_applied: set[str] = set()
        for entry in reversed(self.entries()):
            if entry.stack != stack or entry.action == "plan":
                continue
            if entry.outcome in NOTHING_APPLIED_OUTCOMES:
                nothing_applied.add(entry.run_id)
            elif not (entry.outcome == "started" and entry.run_id in nothing_applied):
                return entry
        return None
