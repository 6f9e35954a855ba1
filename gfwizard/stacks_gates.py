"""The deploy engine's safety gates: run beside the plans and again before the first apply, what a failed gate
holds back and journals, and the operator's confirmation.

:class:`EngineGates` is mixed into :class:`gfwizard.stacks.DeployEngine` and works on its state (``cfg``, ``env``,
``order``, ``workers``, ``_gate_task``, ``_gates``, ...). The cluster, lock-probe and confirmation checks
themselves are :mod:`gfwizard.gates`'; this adds the engine's own: ``state migration`` and ``running without
state`` (:mod:`gfwizard.stacks_untracked`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Mapping, Sequence

from gfwizard import gates as gates_mod
from gfwizard.checks import Check, all_ok, failed, passed
from gfwizard.journal import now_utc
from gfwizard.orgconfig_checks import confirmation_check
from gfwizard.redact import redact
from gfwizard.stacks_events import ApplyRefused, GateChecked
from gfwizard.tofu_summary import PlanSummary

if TYPE_CHECKING:
    from gfwizard.cluster import ResolvedContext
    from gfwizard.stacks import StackPlan


class EngineGates:
    """The gates of a :class:`~gfwizard.stacks.DeployEngine` run (mixed into it)."""

    def _gates_failed(self) -> bool:
        """Whether this run's gates have finished and did not pass (a crash counts as a failure)."""
        task = self._gate_task
        if task is None or not task.done():
            return False
        if task.cancelled() or task.exception() is not None:
            return True
        return not all_ok(task.result())

    def _held_back(self, plans: Mapping[str, StackPlan]) -> dict[str, StackPlan]:
        """``plans`` after the gates beside them failed: each saved plan deleted and each plan not ready, so that
        none is applied (what its binary saw may be of another cluster or of a state a deploy would not start
        from)."""
        held: dict[str, StackPlan] = {}
        for name, plan in plans.items():
            if plan.outcome == "planned":
                self.workers[name].remove_plan()
                plan = replace(plan, outcome="not-run", planned=None,
                               error="planned while the deploy gates failed: no preview, and not applied (see the "
                                     "gates)")
            held[name] = plan
        return held

    async def _gates_pass(self, gate_task: "asyncio.Future[list[Check]] | None") -> bool:
        try:
            checks = list(await (gate_task if gate_task is not None else self._run_gates()))
        except Exception as exc:  # noqa: BLE001 - a crashing gate is a failed gate, never a pass
            checks = [failed("gates", f"the gate checks crashed: {type(exc).__name__}: {redact(str(exc))}",
                             "run `gfwizard doctor` to see which check breaks, then re-run the deploy")]
        self._gates = checks
        ok = all_ok(checks)
        self._emit(GateChecked(tuple(checks), ok))
        return ok

    def _journal_gate_failure(self, plan: StackPlan) -> None:
        """Journal where a failed gate stopped the run, so that ``--resume`` continues there."""
        failing = ", ".join(c.name for c in self._gates if not c.ok) or "gates"
        self._journal(replace(plan, error=f"not applied: a safety gate failed ({failing})"), "apply", "gate-failed",
                      started=now_utc(), ended=True)

    async def _run_gates(self) -> list[Check]:
        (gates, context), (migration, stateless) = await asyncio.gather(
            asyncio.to_thread(self._cluster_gates), asyncio.to_thread(self._state_checks))
        checks = [*gates, *migration]
        if isinstance(stateless, Check):
            checks.append(stateless)
        elif all_ok(checks):
            # Workloads are read only from a cluster whose identity the gates have just verified, through the
            # very context they verified.
            from gfwizard.stacks_untracked import untracked_check

            checks.append(await asyncio.to_thread(untracked_check, self.cfg, self.env, stateless, self.layout,
                                                  resolved=context))
        # Not a gate (it never stops a run): said with them, just before the question it is about.
        confirmation = confirmation_check(self.cfg, self.env)
        if confirmation is not None:
            checks.append(confirmation)
        return checks

    def _cluster_gates(self) -> tuple[list[Check], "ResolvedContext | None"]:
        """The gates, and the context the default ones verified (read once, for the workload reads after them)."""
        if self.gate_runner is not None:
            return self.gate_runner(self.cfg, self.env), None
        from gfwizard.cluster import resolve_configured
        from gfwizard.cluster_errors import ClusterAccessError

        try:
            context: "ResolvedContext | None" = resolve_configured(self.cfg)
        except ClusterAccessError:
            context = None  # the gates read it again and say why it cannot be read
        return gates_mod.default_gate_checks(self.cfg, self.env, resolved=context), context

    def _state_checks(self) -> tuple[list[Check], "list[str] | Check"]:
        """The ``state migration`` gate, and the stacks of the run without state in S3 that it did not already
        stop (for the ``running without state`` gate; a failed check when S3 could not be asked)."""
        from gfwizard.stacks_untracked import stateless_stacks

        stateless = stateless_stacks(self.cfg, self.env, self.order, self.environ)
        if isinstance(stateless, Check):
            return self._migration_check(self.order)[0], stateless
        # Only a stack without S3 state can be waiting for its migration: no HTTP read for the others.
        migration, pending = self._migration_check(stateless)
        return migration, [s for s in stateless if s not in pending]

    def _migration_check(self, stacks: Sequence[str]) -> tuple[list[Check], list[str]]:
        """A gate on those of ``stacks`` whose state is still only on the HTTP backend (looked at with
        ``state.http`` and ``TF_HTTP_PASSWORD`` only): deploying one would create it again on empty S3
        state, and its migration would then refuse the S3 object that deploy wrote. Returns the gate (none when
        nothing could be looked at) and those stacks."""
        if self.cfg.state.http is None or not self.environ.get("TF_HTTP_PASSWORD"):
            return [], []
        from gfwizard.backend_migrate import pending_migrations

        pending = pending_migrations(self.cfg, self.env, self.environ, stacks=stacks)
        if not pending:
            return [passed("state migration", "no stack of this run has its state only on the HTTP backend")], []
        them = "it" if len(pending) == 1 else "them"
        # One stack: its own command; several: the one that moves every stack still on HTTP, in dependency order.
        command = (f"`gfwizard backend migrate --env {self.env} --stack {pending[0]}`" if len(pending) == 1
                   else f"`gfwizard backend migrate --env {self.env}` (every stack still on HTTP)")
        return [failed("state migration",
                       f"the state of {', '.join(pending)} in {self.env} is still only on the GitLab HTTP backend: "
                       f"deploying now would create {them} again on empty S3 state and break the migration",
                       f"migrate first: {command}, or Ctrl+T in the wizard's State backend step")], pending

    async def _confirmed(self, changing: list[StackPlan]) -> str | None:
        """None when the applies may go ahead, else why not (also emitted as :class:`ApplyRefused`)."""
        if self.assume_yes:
            return None
        stacks = [gates_mod.PlannedStack(p.stack, p.summary or PlanSummary(), p.plan_hash or "") for p in changing]
        request = gates_mod.build_request(self.env, self.environment.require_confirmation, stacks)
        assert self.confirm is not None
        answer = await gates_mod.answer_of(request, self.confirm)
        if gates_mod.answer_approves(request, answer):
            return None
        reason = redact(f"nothing applied: {gates_mod.refusal(request, answer)}")
        self._emit(ApplyRefused(reason))
        return reason
