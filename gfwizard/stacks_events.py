"""What the deploy engine reports: one dataclass per thing that happened, and the final result.

The TUI and ``gfwizard deploy`` subscribe to the same events (``DeployEngine(on_event=...)``), so
both show the same run. Every string in an event is already redacted. ``event.kind`` is the
snake_case name used as ``"event"`` in ``gfwizard deploy --json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from gfwizard.checks import Check
from gfwizard.journal import LockHolder
from gfwizard.tofu_summary import PlanSummary

StackOutcome = Literal["planned", "applied", "no-changes", "failed", "locked", "interrupted", "skipped", "not-run"]
RunOutcome = Literal["planned", "applied", "failed", "locked", "interrupted", "gate-failed", "refused",
                     "journal-unwritable"]
Phase = Literal["init", "plan", "show", "apply", "output", "materialise"]


@dataclass(frozen=True)
class DeployEvent:
    """Base of every engine event."""

    @property
    def kind(self) -> str:
        """``StackPlanned`` -> ``stack_planned``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()


@dataclass(frozen=True)
class RunStarted(DeployEvent):
    """A deploy began: which stacks, in which order, with which binary."""

    run_id: str
    env: str
    stacks: tuple[str, ...]
    binary: str
    plan_only: bool
    resumes: str | None = None


@dataclass(frozen=True)
class DependencyWarning(DeployEvent):
    """A selected stack depends on one that is neither selected nor recorded as deployed."""

    stack: str
    dependency: str
    detail: str


@dataclass(frozen=True)
class PreviousRunUnfinished(DeployEvent):
    """The journal holds an apply that started and never recorded an outcome (gfwizard was killed)."""

    stack: str
    run_id: str
    started_at: str
    operator: str
    pid: int
    process_alive: bool
    detail: str


@dataclass(frozen=True)
class RunNote(DeployEvent):
    """Something about the whole run the operator should know once (e.g. which CLI configuration the
    binary uses because the one named in the environment does not exist)."""

    message: str


@dataclass(frozen=True)
class BackendRendered(DeployEvent):
    """Backend files that were (re)written from organization.yaml before init."""

    files: tuple[str, ...]


@dataclass(frozen=True)
class StackSkipped(DeployEvent):
    """A stack is not planned or applied in this run, and why."""

    stack: str
    reason: str
    plan_hash: str | None = None


@dataclass(frozen=True)
class StackPlanning(DeployEvent):
    """Init and plan of a stack started."""

    stack: str


@dataclass(frozen=True)
class StackPlanned(DeployEvent):
    """A stack's saved plan is ready: what it will do, and its hash."""

    stack: str
    summary: PlanSummary
    plan_hash: str
    duration: float


@dataclass(frozen=True)
class GateChecked(DeployEvent):
    """The safety gates beside the plans and before the first apply (cluster server + fingerprint, backend lock
    probe, state checks)."""

    checks: tuple[Check, ...]
    ok: bool


@dataclass(frozen=True)
class ApplyRefused(DeployEvent):
    """Nothing was applied: the confirmation was declined or could not be asked."""

    reason: str


@dataclass(frozen=True)
class ApplyStarted(DeployEvent):
    """A stack's saved plan is being applied."""

    stack: str
    plan_hash: str
    summary: PlanSummary


@dataclass(frozen=True)
class ResourceApplying(DeployEvent):
    """The binary started changing one resource."""

    stack: str
    address: str
    action: str


@dataclass(frozen=True)
class ResourceProgress(DeployEvent):
    """One resource change is still running (the binary says so about every 10 seconds)."""

    stack: str
    address: str
    action: str
    elapsed_seconds: float


@dataclass(frozen=True)
class ResourceApplied(DeployEvent):
    """One resource change finished."""

    stack: str
    address: str
    action: str
    elapsed_seconds: float


@dataclass(frozen=True)
class ResourceFailed(DeployEvent):
    """One resource change failed (the stack's StackFailed carries the diagnostics)."""

    stack: str
    address: str
    action: str
    elapsed_seconds: float


@dataclass(frozen=True)
class StackApplied(DeployEvent):
    """A stack's apply finished and its state was saved."""

    stack: str
    added: int
    changed: int
    destroyed: int
    duration: float


@dataclass(frozen=True)
class StackNoChanges(DeployEvent):
    """A stack's plan had no changes: nothing was applied."""

    stack: str


@dataclass(frozen=True)
class StackMaterialised(DeployEvent):
    """Rehearsal only: the twin's namespaces and workloads were created in the rehearsal API."""

    stack: str
    namespaces: int
    workloads: int


@dataclass(frozen=True)
class StackFailed(DeployEvent):
    """A stack failed; nothing after it is applied."""

    stack: str
    phase: Phase
    message: str
    remedy: str
    diagnostics: tuple[str, ...] = ()
    transcript: str | None = None


@dataclass(frozen=True)
class StackLocked(DeployEvent):
    """Another operator (or a stale run) holds the stack's state lock; nothing after it is applied."""

    stack: str
    phase: Phase
    lock: LockHolder | None
    age_seconds: float | None
    remedy: str


@dataclass(frozen=True)
class StackInterrupted(DeployEvent):
    """The run was cancelled while this stack's binary was running (it was sent one SIGINT)."""

    stack: str
    phase: Phase
    transcript: str | None = None


@dataclass(frozen=True)
class LogLine(DeployEvent):
    """One redacted line of a stack's binary output (for a log tail; not part of ``--json``)."""

    stack: str
    stream: str
    text: str


@dataclass(frozen=True)
class StackResult:
    """Where one stack stands at the end of a run."""

    stack: str
    outcome: StackOutcome
    summary: PlanSummary | None = None
    plan_hash: str | None = None
    transcript: str | None = None
    error: str | None = None
    lock: LockHolder | None = None


@dataclass(frozen=True)
class JournalStop:
    """Why a run a journal write stopped ended (outcome ``journal-unwritable``), and what it applied."""

    #: The journal error (``the run journal PATH cannot be written: REASON; the entry was not recorded``).
    error: str
    #: Each entry the run could not write, e.g. ``the 'applied' entry of arc-runners``.
    lost: tuple[str, ...]
    #: The stacks applied in this run, in dependency order (those of ``unrecorded`` included).
    applied: tuple[str, ...]
    #: The stacks of ``applied`` whose entry saying so could not be written.
    unrecorded: tuple[str, ...]
    remedy: str

    @property
    def why(self) -> str:
        """The error, each entry it kept out of the journal, and that the run stopped there."""
        return self.error + (f": {' and '.join(self.lost)}" if self.lost else "") + "; the run stopped there"

    @property
    def applied_text(self) -> str:
        """``applied in this run: attic, arc-runners (not recorded in the journal)``, or that nothing was."""
        if not self.applied:
            return "nothing was applied in this run"
        return "applied in this run: " + ", ".join(
            name + (" (not recorded in the journal)" if name in self.unrecorded else "") for name in self.applied)


@dataclass(frozen=True)
class DeployResult:
    """The end of a run: overall outcome, exit code and every stack's result."""

    run_id: str
    env: str
    outcome: RunOutcome
    stacks: tuple[StackResult, ...]
    gates: tuple[Check, ...] = ()
    journal: str | None = None
    resumes: str | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)
    #: Set when a journal write stopped the run (outcome ``journal-unwritable``); its messages say the same last.
    journal_stop: JournalStop | None = None

    @property
    def exit_code(self) -> int:
        """0 when everything planned or applied, else 1 (input errors never get this far: exit 2)."""
        return 0 if self.outcome in ("planned", "applied") else 1


@dataclass(frozen=True)
class RunFinished(DeployEvent):
    """The last event of every run."""

    result: DeployResult
