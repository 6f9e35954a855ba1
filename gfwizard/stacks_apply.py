"""How the deploy engine applies: the ready plans in dependency order, gated before the first and confirmed,
each stack applied (or recorded unchanged) and, in rehearsal, materialised; the first failure, lock or interrupt
stops the run.

:class:`EngineApply` is mixed into :class:`gfwizard.stacks.DeployEngine` and works on its state (``order``,
``workers``, ``journal``, ``_cancelled``, ...) and its gates (:mod:`gfwizard.stacks_gates`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable, Mapping

from gfwizard.checks import Check
from gfwizard.journal import DONE_OUTCOMES, now_utc
from gfwizard.stacks_events import ApplyStarted, DeployResult, StackApplied, StackMaterialised, StackNoChanges
from gfwizard.stacks_worker import StepFailure
from gfwizard.tofu import RunResult
from gfwizard.tofu_events import ChangeSummary

if TYPE_CHECKING:
    from gfwizard.stacks import StackPlan

#: Stack outcomes that end a run with the same outcome (the first one, in apply order).
BAD_OUTCOMES = ("failed", "locked", "interrupted")


class EngineApply:
    """The applies of a :class:`~gfwizard.stacks.DeployEngine` run (mixed into it)."""

    async def _apply(self, plans: Mapping[str, StackPlan],
                     gate_task: "asyncio.Future[list[Check]] | None") -> DeployResult:
        applicable: list[StackPlan] = []
        for name in self.order:
            if not plans[name].ready:
                break
            applicable.append(plans[name])
        changing = [p for p in applicable if p.changes]
        # Gated even when nothing changes: an unchanged stack is reported deployed (and, in a rehearsal,
        # materialised), which must not happen on a cluster that is not the pinned one.
        first = next((p for p in applicable if p.outcome != "skipped"), None)
        if first is not None and not self._cancelled:
            if not await self._gates_pass(gate_task):
                self._journal_gate_failure(first)
                return self._result(plans, {}, "gate-failed")
        if changing and not self._cancelled:
            refusal = await self._confirmed(changing)
            if refusal is not None:
                # A stack that failed (or was locked or interrupted) is the more important fact: the run
                # ends with its outcome, and the refusal is one of the messages.
                bad = next((plans[n].outcome for n in self.order if plans[n].outcome in BAD_OUTCOMES), None)
                if bad is not None:
                    self._messages.append(refusal)
                return self._result(plans, {}, bad or "refused")
            # The question may have waited for hours, and the kubeconfig may point the context elsewhere by now
            # (another honey, rebuilt): checked again, so that what the binary applies to is still the pinned one.
            if not self.assume_yes and not self._cancelled and not await self._gates_pass(None):
                if first is not None:  # (always: a changing plan is an applicable one)
                    self._journal_gate_failure(first)
                return self._result(plans, {}, "gate-failed")

        async def ready(name: str) -> StackPlan:
            return plans[name]

        applied, outcome = await self._apply_in_order(ready, None, gated=True)
        return self._result(plans, applied, outcome)

    async def _apply_in_order(self, plan_of: Callable[[str], Awaitable[StackPlan]],
                              gate_task: "asyncio.Future[list[Check]] | None",
                              gated: bool = False) -> tuple[dict[str, StackPlan], str | None]:
        """Apply each stack as soon as its plan is ready, in order; gate before the first stack that is
        applied or reported unchanged."""
        applied: dict[str, StackPlan] = {}
        for name in self.order:
            plan = await plan_of(name)
            if not plan.ready or self._cancelled:
                break
            if plan.outcome == "skipped":
                continue
            if not gated:
                if not await self._gates_pass(gate_task):
                    self._journal_gate_failure(plan)
                    return applied, "gate-failed"
                gated = True
            if not plan.changes:
                applied[name] = await self._no_changes(plan)
            else:
                applied[name] = await self._apply_stack(plan)
            if applied[name].outcome not in ("applied", "no-changes"):
                break
        return applied, None

    async def _no_changes(self, plan: StackPlan) -> StackPlan:
        started = now_utc()
        last = self.journal.last_deploy(plan.stack)
        # The last apply never materialised when it failed, was interrupted or gfwizard was killed after the
        # binary had applied (its state now says "no changes"): materialise now (idempotent).
        if self.materialise and last is not None and last.outcome not in DONE_OUTCOMES:
            failure = await self._materialise(plan.stack, None)
            if failure is not None:
                return self._apply_failed(plan, failure, started)
        self._journal(plan, "apply", "no-changes", started=started, ended=True)
        self._emit(StackNoChanges(plan.stack))
        return replace(plan, outcome="no-changes")

    async def _apply_stack(self, plan: StackPlan) -> StackPlan:
        worker = self.workers[plan.stack]
        assert plan.planned is not None
        started, t0 = now_utc(), time.monotonic()
        self._journal(plan, "apply", "started", started=started, ended=False)
        self._emit(ApplyStarted(plan.stack, plan.planned.plan_hash, plan.planned.summary))
        try:
            result = await worker.apply(plan.planned)
        except asyncio.CancelledError:
            self._journal(replace(plan, error="gfwizard was cancelled during apply"), "apply", "interrupted",
                          started=started, ended=True)
            raise
        if isinstance(result, StepFailure):
            return self._apply_failed(plan, result, started)
        counts = next((e for e in reversed(result.events) if isinstance(e, ChangeSummary)), None)
        self._emit(StackApplied(plan.stack, counts.add if counts else 0, counts.change if counts else 0,
                                counts.remove if counts else 0, time.monotonic() - t0))
        if self.materialise:
            failure = await self._materialise(plan.stack, result)
            if failure is not None:
                return self._apply_failed(plan, failure, started)
        done = replace(plan, outcome="applied")
        self._journal(done, "apply", "applied", started=started, ended=True)
        return done

    def _apply_failed(self, plan: StackPlan, failure: StepFailure, started: datetime) -> StackPlan:
        done = replace(plan, outcome=failure.outcome, error=failure.message, lock=failure.lock, phase=failure.phase)
        self._journal(done, "apply", failure.outcome, started=started, ended=True)
        self._emit_failure(plan.stack, failure, plan.transcript)
        return done

    async def _materialise(self, stack: str, applied: RunResult | None) -> StepFailure | None:
        worker = self.workers[stack]
        outputs = await worker.outputs(applied)
        if isinstance(outputs, StepFailure):
            return outputs
        summary = await worker.materialise(outputs)
        if isinstance(summary, StepFailure):
            return summary
        self._emit(StackMaterialised(stack, len(summary.namespaces), len(summary.workloads)))
        return None
