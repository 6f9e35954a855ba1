"""What the deploy engine reads from the journal before it plans: the run a ``resume`` continues (its selection,
the stacks it deployed, which are skipped when their inputs are unchanged), an apply an earlier run never
finished, unreadable journal lines, and dependencies of a ``--stack`` selection that are not deployed.

:class:`EngineResume` is mixed into :class:`gfwizard.stacks.DeployEngine` and works on its state (``cfg``,
``env``, ``order``, ``journal``, ``_previous``, ``_done_before``, ``_messages``, ...); the skip itself is decided
where each stack is planned, from ``_done_before``.
"""

from __future__ import annotations

import asyncio

from gfwizard.durations import duration
from gfwizard.errors import InputError
from gfwizard.journal import DONE_OUTCOMES
from gfwizard.journal_process import operator_host, run_state
from gfwizard.stacks_events import DependencyWarning, PreviousRunUnfinished, RunNote
from gfwizard.stacks_order import stack_order


class EngineResume:
    """Resume and the journal's word on earlier runs, for a :class:`~gfwizard.stacks.DeployEngine` (mixed into
    it)."""

    def _previous_selection(self) -> list[str] | None:
        """The stacks the unfinished run a resume continues was limited to (None: it covered every stack,
        or it finished, so there is nothing to continue); sets :attr:`order` to them."""
        previous = self._previous
        if previous is None or not previous.selection or not previous.resumable:
            return None
        try:
            self.order = stack_order(self.cfg, previous.selection)
        except InputError as exc:
            raise InputError(f"run {previous.run_id}, which --resume continues, selected "
                             f"{', '.join(previous.selection)}: {exc.message}",
                             remedy="pass --stack for each stack to deploy (with --resume, only those are "
                                    "considered)") from exc
        self._resumed_selection = (previous.run_id, tuple(self.order))
        return self.order

    def _resume_source(self) -> str | None:
        if not self.resume:
            return None
        previous = self._previous
        return previous.run_id if previous is not None and previous.resumable else None

    def _prepare_resume(self) -> None:
        if not self.resume:
            return
        previous = self._previous
        # Said as a note as soon as it is known (before any plan or question) and kept in the result's messages.
        notes: list[str] = []
        if previous is None:
            notes.append("nothing to resume: no run has set out to deploy yet (previews and declined runs "
                         "do not count), so this is a normal deploy of every selected stack")
        else:
            self._resumes = previous.run_id if previous.resumable else None
            self._done_before = {name: e for name, e in previous.applies.items() if e.outcome in DONE_OUTCOMES}
            if self._resumed_selection is not None:
                notes.append(f"run {previous.run_id} was limited to {', '.join(self._resumed_selection[1])}: "
                             "so is this resume (pass --stack to choose other stacks)")
            if not previous.resumable:
                notes.append(f"run {previous.run_id} ended without a failure or an interruption: nothing to "
                             "resume, so this is a normal deploy in which the stacks that run deployed with "
                             "unchanged inputs are skipped")
        for note in notes:
            self._messages.append(note)
            self._emit(RunNote(note))

    async def _report_previous_run(self) -> None:
        previous = self.journal.last_run()
        if previous is None:
            return
        for entry in previous.unfinished:
            run = run_state(entry.pid, entry.operator, entry.pid_token)
            alive = run == "running"
            state = {"running": "is still running", "gone": "is gone",
                     "elsewhere": f"ran on host {operator_host(entry.operator)}, not this one: whether it still "
                                  "runs cannot be seen from here",
                     "unknown": "is unknown (the entry names no process)"}[run]
            found = await asyncio.to_thread(self._what_happened, entry.stack)
            self._emit(PreviousRunUnfinished(
                entry.stack, entry.run_id, entry.started_at.isoformat(), entry.operator, entry.pid, alive,
                f"apply of {entry.stack} in run {entry.run_id} never recorded an outcome; its process "
                f"{entry.pid} on {entry.operator} {state}. {found}"))

    def _what_happened(self, stack: str) -> str:
        """What the stack's lock and working directory say about an apply that never recorded an outcome."""
        from gfwizard.stacks_locks import read_lock_holder

        worker = self.workers.get(stack)
        left = next((f for f in (worker.errored_state, worker.unclaimed_errored_state) if f.exists()), None) \
            if worker is not None else None
        if left is not None:
            return (f"Its binary could not save the state and left {left}: this run refuses to "
                    f"plan {stack} and shows the recovery steps.")
        holder = read_lock_holder(self.cfg, self.env, stack)
        if holder is None:
            return ("The state lock is free: the binary finished (or stopped) and released it, so the state holds "
                    "what it applied. This run plans it again and applies only what is still missing.")
        if not holder.id:
            return (f"Its state lock could not be read: `gfwizard backend locks --env {self.env}` shows it. This "
                    "run plans it again.")
        age = holder.age_seconds()
        since = f", taken {duration(age)} ago" if age is not None else ""
        return (f"The state lock is still held by {holder.who or '?'} ({holder.operation or '?'}, lock {holder.id}"
                f"{since}): its binary may still be running. This run reports {stack} as locked until it is "
                "released.")

    def _note_unreadable_journal(self) -> None:
        """Say once per run that journal lines were skipped (a torn line after a crash, a hand edit): the run
        goes on with the readable ones, but resume and the dependency warnings know only what those say."""
        self.journal.entries()
        # The run lock is held: nobody else writes this journal, so a last line without its newline is torn.
        note = self.journal.unreadable_note(settled=True)
        if not note:
            return
        self._messages.append(note)
        self._emit(RunNote(note))

    def _warn_unselected_dependencies(self) -> None:
        if not self.selected:
            return
        chosen = set(self.order)
        for name in self.order:
            for dep in self.graph[name]:
                if dep in chosen:
                    continue
                # A failed gate or a held lock applied nothing: the entry before it says what is deployed.
                last = self.journal.last_known_deploy(dep)
                if last is None or last.outcome not in DONE_OUTCOMES:
                    state = f"last outcome {last.outcome} in run {last.run_id}" if last else "never deployed"
                    self._emit(DependencyWarning(name, dep, f"{name} depends on {dep}, which is not selected and "
                                                            f"not recorded as deployed in {self.env} ({state})"))
