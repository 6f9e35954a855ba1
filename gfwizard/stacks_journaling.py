"""What the deploy engine writes down: one journal entry per step of a stack (kept as an attempt whether or not it
could be written), and the run's result, including that of a run a journal write stopped
(:mod:`gfwizard.stacks_unrecorded`).

:class:`EngineJournal` is mixed into :class:`gfwizard.stacks.DeployEngine` and works on its state (``run_id``,
``env``, ``order``, ``journal``, ``_attempts``, ``_gates``, ``_messages``, ...).
"""

from __future__ import annotations

import functools
import os
from datetime import datetime
from typing import TYPE_CHECKING, Mapping

from gfwizard.journal import JournalEntry, JournalWriteError, now_utc, operator_id
from gfwizard.journal_process import process_token
from gfwizard.stacks_apply import BAD_OUTCOMES
from gfwizard.stacks_events import DeployResult, StackResult
from gfwizard.stacks_unrecorded import JOURNAL_UNWRITABLE, Attempt, journal_stop, stack_results, stopped_messages

if TYPE_CHECKING:
    from gfwizard.stacks import StackPlan


class EngineJournal:
    """The journal entries and the result of a :class:`~gfwizard.stacks.DeployEngine` run (mixed into it)."""

    def _journal(self, plan: StackPlan, action: str, outcome: str, *, started: datetime, ended: bool) -> None:
        # Kept whether or not it is written: a run a journal write stops still says what each stack reached.
        self._attempts[plan.stack] = Attempt(plan, outcome, recorded=False)
        self.journal.append(JournalEntry(
            run_id=self.run_id, env=self.env, stack=plan.stack, action=action, outcome=outcome,  # type: ignore[arg-type]
            started_at=started, ended_at=now_utc() if ended else None, plan_hash=plan.plan_hash,
            inputs_hash=plan.inputs_hash, summary=plan.summary,
            lock_id=plan.lock.id if plan.lock and plan.lock.id else None, lock=plan.lock,
            transcript=str(plan.transcript) if plan.transcript else None, error=plan.error, phase=plan.phase,
            resumes=self._resumes, selection=tuple(self.order) if self.selected else None, plan_only=self.plan_only,
            binary=self.binary.describe(), operator=operator_id(), pid=os.getpid(), pid_token=_own_token()))
        self._attempts[plan.stack] = Attempt(plan, outcome, recorded=True)

    def _result(self, plans: Mapping[str, StackPlan], applied: Mapping[str, StackPlan],
                outcome: str | None) -> DeployResult:
        results: list[StackResult] = []
        first_bad: str | None = None
        for name in self.order:
            plan = applied.get(name) or plans[name]
            state = plan.outcome
            if not self.plan_only and name not in applied and state == "planned":
                state = "not-run"
            if first_bad is None and state in BAD_OUTCOMES:
                first_bad = state
            results.append(StackResult(name, state, plan.summary, plan.plan_hash,  # type: ignore[arg-type]
                                       str(plan.transcript) if plan.transcript else None, plan.error, plan.lock))
        if outcome is None:
            if first_bad is not None:
                outcome = first_bad
            elif self._cancelled:
                outcome = "interrupted"
            elif any(r.outcome == "not-run" for r in results):
                outcome = "failed"
            else:
                outcome = "planned" if self.plan_only else "applied"
        return DeployResult(self.run_id, self.env, outcome, tuple(results), tuple(self._gates),  # type: ignore[arg-type]
                            str(self.journal.path), self._resumes, tuple(self._messages))

    def _journal_failure_result(self, exc: JournalWriteError) -> DeployResult:
        """The result of a run a journal write stopped (see :mod:`gfwizard.stacks_unrecorded`)."""
        results = stack_results(self.order, self._attempts, plan_only=self.plan_only)
        stop = journal_stop(exc, self.order, results, self._attempts)
        return DeployResult(self.run_id, self.env, JOURNAL_UNWRITABLE, tuple(results),  # type: ignore[arg-type]
                            tuple(self._gates), str(self.journal.path), self._resumes,
                            (*self._messages, *stopped_messages(stop)), stop)


def _own_token() -> str:
    """This process's :func:`~gfwizard.journal_process.process_token` (a forked child is another process)."""
    return _token_of(os.getpid())


@functools.lru_cache(maxsize=4)
def _token_of(pid: int) -> str:
    # Only ever asked for this process's own pid: its token does not change while it runs.
    return process_token(pid)
