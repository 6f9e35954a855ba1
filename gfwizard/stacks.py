"""Ordered deploys of the organization's stacks: plan concurrently, gate, confirm, apply in order.

:class:`DeployEngine` is the one engine behind ``gfwizard deploy`` and the TUI:

1. inputs are checked before any process starts (unknown env or stack, by
   :mod:`gfwizard.stacks_selection`; dependency cycle, missing stack directory or tfvars:
   :class:`~gfwizard.errors.InputError`);
2. backend files are rendered from organization.yaml; every stack is initialised with its backend
   file (``-reconfigure``: the rendered file is the truth, state is never migrated implicitly; skipped
   when the data dir was initialised for exactly the same backend file, code and binary) and
   planned to a saved plan file, with the cluster contract variables and the env's tfvars. Plans run
   concurrently (bounded; no stack reads another's state, so dependencies only order the applies),
   the first to apply first and with a head start (its init runs alone); ``show -json`` of each
   saved plan gives its summary and hash;
3. the gates run (:mod:`gfwizard.gates`; the engine's side in :mod:`gfwizard.stacks_gates`) in a thread next to
   the plans, in a plan-only run and in :meth:`DeployEngine.plan_all` (the wizard's Plan) too, and
   :meth:`DeployEngine.apply` runs them again before the first apply; without ``assume_yes``, the operator
   confirms through the injected callback;
4. saved plans are applied one by one in dependency order (:mod:`gfwizard.stacks_apply`); the first failure,
   lock or interrupt stops the run. In rehearsal each applied twin's outputs are materialised in the rehearsal API.

Everything that happens is an event (:mod:`gfwizard.stacks_events`) and a journal line
(:mod:`gfwizard.journal`, written with the run's result by :mod:`gfwizard.stacks_journaling`). ``resume`` skips
the stacks the last run deployed whose inputs have not changed since, and continues at the one that failed, was
interrupted or locked (what it reads from the journal: :mod:`gfwizard.stacks_resume`). (It compares the inputs
hash, not the plan hash: a re-plan after an apply is by definition a different plan. The plan hash is journaled
with every entry and reported for each skipped stack.)

Every plan is made before the first apply, so a stack that read another stack's outputs through
remote state would plan against the outputs from before this run; the GloriousFlywheel stacks do
not (dependencies only order the rollout).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable, Mapping, Sequence

from gfwizard import gates as gates_mod
from gfwizard.checks import Check
from gfwizard.errors import InputError
from gfwizard.journal import Journal, JournalEntry, JournalWriteError, LockHolder, RunRecord, new_run_id, now_utc
from gfwizard.kubeconfig_secrets import register_context_secrets
from gfwizard.layout import Layout, layout_for, require_work_dirs, require_work_root
from gfwizard.redact import redact, register_env_secrets, register_secret
from gfwizard.stacks_apply import EngineApply
from gfwizard.stacks_events import (
    BackendRendered, DeployEvent, DeployResult, LogLine, Phase, ResourceApplied, ResourceApplying, ResourceFailed,
    ResourceProgress, RunFinished, RunNote, RunStarted, StackFailed, StackInterrupted, StackLocked, StackPlanned,
    StackPlanning, StackSkipped,
)
from gfwizard.stacks_gates import EngineGates
from gfwizard.stacks_inputs import cluster_contract, secret_tf_vars
from gfwizard.stacks_journaling import EngineJournal
from gfwizard.stacks_order import dependency_graph, stack_order
from gfwizard.stacks_resume import EngineResume
from gfwizard.stacks_runlock import env_run_lock
from gfwizard.stacks_selection import check_selection, deploy_command
from gfwizard.stacks_unrecorded import Attempt
from gfwizard.stacks_worker import PlannedChange, StackWorker, StepFailure
from gfwizard.tofu import (
    DEFAULT_GRACE_SECONDS, CliConfig, OutputLine, TofuBinary, cli_config, default_plugin_cache_dir,
    find_binary, require_lockfile_support,
)
from gfwizard.tofu_events import ApplyComplete, ApplyErrored, ApplyProgress, ApplyStart, UIEvent
from gfwizard.tofu_summary import PlanSummary

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

EventCallback = Callable[[DeployEvent], None]

__all__ = ["DeployEngine", "EventCallback", "StackPlan", "dependency_graph", "stack_order"]


@dataclass
class StackPlan:
    """One stack's plan in this run."""

    stack: str
    outcome: str = "not-run"
    summary: PlanSummary | None = None
    plan_hash: str | None = None
    planned: PlannedChange | None = None
    inputs_hash: str | None = None
    transcript: Path | None = None
    error: str | None = None
    lock: LockHolder | None = None
    phase: Phase | None = None

    @property
    def ready(self) -> bool:
        """True when the stack can be applied (or needs nothing) in this run."""
        return self.outcome in ("planned", "skipped")

    @property
    def changes(self) -> bool:
        """True when applying this plan would change something."""
        return self.outcome == "planned" and self.summary is not None and self.summary.has_changes


class DeployEngine(EngineApply, EngineGates, EngineJournal, EngineResume):
    """Plans and applies the stacks of one environment (see the module docstring)."""

    def __init__(self, cfg: "OrgConfig", env: str, *, layout: Layout | None = None,
                 stacks: Sequence[str] | None = None, plan_only: bool = False, resume: bool = False,
                 assume_yes: bool = False, confirm: gates_mod.ConfirmCallback | None = None,
                 on_event: EventCallback | None = None, concurrency: int = 2, binary: TofuBinary | None = None,
                 environ: Mapping[str, str] | None = None, gate_runner: gates_mod.GateRunner | None = None,
                 lock_timeout: str = "0s", grace_seconds: float = DEFAULT_GRACE_SECONDS,
                 materialise: bool | None = None) -> None:
        check_selection(cfg, env, stacks or (), plan_only=plan_only, assume_yes=assume_yes, resume=resume)
        self.cfg = cfg
        self.env = env
        self.environment = cfg.environment(env)
        self.graph = dependency_graph(cfg)
        self.order = stack_order(cfg, stacks)
        if concurrency < 1:
            raise InputError("concurrency must be at least 1", remedy="pass a positive number")
        if not plan_only and not assume_yes and confirm is None:
            raise InputError("refusing to apply without a confirmation: nobody can be asked",
                             remedy="run on a terminal to be asked, or pass --yes (the safety gates still run)")
        if cfg.state.backend != "s3":
            raise InputError(f"state.backend is {cfg.state.backend!r}, but the stacks declare backend \"s3\" "
                             "(their backend.tf): they deploy onto S3 state only; HTTP state is what migrates to it",
                             remedy=f"migrate every stack still on HTTP (`gfwizard backend migrate --env {env}`, or "
                                    "Ctrl+T in the wizard's State backend step), then set state.backend: s3")
        self.environ = dict(os.environ if environ is None else environ)
        _check_state_endpoint(cfg, self.environ)
        # The CLI checks this first too; here the wizard, which builds the engine directly, is refused the same way.
        require_work_root(cfg.cluster.network, self.environ)
        self.layout = layout or layout_for(cfg.cluster.network)
        require_work_dirs(self.layout, env, cfg.stack_names)
        self.journal = Journal(self.layout.journal_file(env))
        self.journal.require_readable()
        self._run_lock = env_run_lock(self.layout, env)
        #: The run a resume continues, read once: its selection, its deployed stacks and its id agree.
        self._previous: RunRecord | None = self.journal.last_attempt() if resume else None
        #: A resume without ``stacks`` continues the resumed run's selection: (its run id, its stacks).
        self._resumed_selection: tuple[str, tuple[str, ...]] | None = None
        if resume and not stacks:
            stacks = self._previous_selection()
        self.selected = bool(stacks)
        self._check_stack_files()
        self.plan_only, self.resume, self.assume_yes = plan_only, resume, assume_yes
        self.confirm = confirm
        self.on_event = on_event
        self.concurrency = concurrency
        self.gate_runner = gate_runner
        self.materialise = cfg.is_rehearsal if materialise is None else materialise
        self.binary = binary or find_binary(self.environ)
        if cfg.state.s3 is not None and cfg.state.s3.use_lockfile:
            require_lockfile_support(self.binary)
        self.run_id = new_run_id()
        contract = cluster_contract(cfg, self.environ)
        # The environment may be the caller's (the wizard's session), not this process's, which the redactor
        # registered at import.
        register_env_secrets(self.environ)
        register_secret(*secret_tf_vars(self.environ))
        # Terraform gets the same kubeconfig, and may print its token before the gates have read it.
        register_context_secrets(cfg.cluster.kubeconfig or None, cfg.cluster.context, self.environ)
        self.workers = {name: StackWorker(
            name=name, cfg=cfg, env=env, layout=self.layout, tfvars_name=self.environment.tfvars,
            binary=self.binary, run_id=self.run_id, contract=contract, environ=self.environ,
            lock_timeout=lock_timeout, grace_seconds=grace_seconds, on_line=self._on_line,
            on_event=self._on_ui_event, rerun=self._rerun_command()) for name in self.order}
        self._cancelled = False
        #: plan_all or apply stopped once it had started (an error, a journal stop): see :attr:`spent`.
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._messages: list[str] = []
        self._resumes: str | None = None
        self._done_before: dict[str, JournalEntry] = {}
        self._gates: list[Check] = []
        self._gate_task: asyncio.Future[list[Check]] | None = None
        self._prepared = False
        self._warm: asyncio.Future[None] | None = None
        self._observer_error: Exception | None = None
        #: The last journal entry this run tried to write for each stack (and whether it was written).
        self._attempts: dict[str, Attempt] = {}

    # -- public -----------------------------------------------------------------------------------

    async def run(self) -> DeployResult:
        """Plan every selected stack, then (unless plan-only) gate, confirm and apply in order.

        With ``assume_yes`` a stack is applied as soon as its plan and every earlier apply are done,
        while later stacks are still planning; otherwise every plan is shown and confirmed first.
        A journal entry that cannot be written stops the run, which still ends with its result
        (``journal-unwritable``: what each stack reached, and why it stopped).
        """
        self._bind_loop()
        gate_task: asyncio.Future[list[Check]] | None = None
        tasks: dict[str, asyncio.Task[StackPlan]] = {}
        stopped: JournalWriteError | None = None
        self._require_journal()
        self._run_lock.acquire(self.run_id, _WHOLE_RUN)
        try:
            self._emit(RunStarted(self.run_id, self.env, tuple(self.order), self.binary.describe(),
                                  self.plan_only, self._resume_source()))
            await self._report_previous_run()
            await self._prepare()
            # The gates run beside the plans (a plan-only run too: a preview of the wrong cluster is no
            # preview); once they fail, no further stack starts planning.
            gate_task = self._gate_task = asyncio.ensure_future(self._run_gates())
            tasks = self._start_plans()
            if self.plan_only:
                plans = await self._gather(tasks)
                gated = await self._gates_pass(gate_task)
                planned = [name for name, plan in plans.items() if plan.outcome == "planned"]
                if not gated and planned:
                    self._messages.append(gates_mod.gate_failed_plans_note(planned, self._gates))
                result = self._result(plans, {}, None if gated else "gate-failed")
            elif self.assume_yes:
                applied, outcome = await self._apply_in_order(tasks.__getitem__, gate_task)
                result = self._result(await self._gather(tasks), applied, outcome)
            else:
                result = await self._apply(await self._gather(tasks), gate_task)
        except JournalWriteError as exc:
            stopped = exc
        finally:
            if gate_task is not None and not gate_task.done():
                gate_task.cancel()
            try:
                await _stop_plans(tasks.values())
            finally:
                self.discard()
        if stopped is not None:
            # Once every binary of the run has stopped: nothing changes after this.
            result = self._journal_failure_result(stopped)
        self._emit(RunFinished(result))
        self._raise_observer_error()
        return result

    async def plan_all(self) -> dict[str, StackPlan]:
        """The first half of :meth:`run`: render backends, then init + plan + show every selected stack, with the
        gates checked beside the plans as a plan-only run checks them (one :class:`GateChecked`; once they fail, no
        further stack starts planning).

        When the gates fail, the plans made meanwhile are no preview of a deploy (see
        :func:`gfwizard.gates.gate_failed_plans_note`): their saved plans are deleted and they are returned not
        ready (``not-run``, the reason in ``error``, the binary's summary kept), so :meth:`apply` applies none of
        them and ends ``gate-failed``; plan again once the failing gate's remedy is followed. :attr:`gates` holds the
        checks.

        A journal entry that cannot be written ends the run as :meth:`run` does (:class:`RunFinished` with the
        ``journal-unwritable`` result), then raises its :class:`JournalWriteError`: there is nothing to apply.

        Follow it with :meth:`apply` (or :meth:`discard`) in the same event loop: the saved plans hold
        variable values in clear text and are deleted by either.
        """
        self._bind_loop()
        self._require_journal()
        self._run_lock.acquire(self.run_id, _STEPWISE)
        tasks: dict[str, asyncio.Task[StackPlan]] = {}
        gate_task: asyncio.Future[list[Check]] | None = None
        try:
            await self._prepare()
            gate_task = self._gate_task = asyncio.ensure_future(self._run_gates())
            tasks = self._start_plans()
            plans = await self._gather(tasks)
            if not await self._gates_pass(gate_task):
                plans = self._held_back(plans)
        except BaseException as exc:
            self._stopped = True
            if gate_task is not None and not gate_task.done():
                gate_task.cancel()
            try:
                await _stop_plans(tasks.values())
            finally:
                self.discard()
            if isinstance(exc, JournalWriteError):
                # The run ends here, as :meth:`run` ends it: with its result, which says why and what it reached
                # (there are no plans left to return).
                self._emit(RunFinished(self._journal_failure_result(exc)))
                self._raise_observer_error()
            raise
        if self._observer_error is not None:
            self._stopped = True
            self.discard()
            self._raise_observer_error()
        return plans

    async def apply(self, plans: Mapping[str, StackPlan]) -> DeployResult:
        """The second half of :meth:`run`: gate, confirm (unless ``assume_yes``), apply the ready plans in
        order and stop at the first failure; emits :class:`RunFinished` and deletes the saved plans. A journal
        entry that cannot be written stops it with the ``journal-unwritable`` result, as in :meth:`run`."""
        self._bind_loop()
        self._run_lock.acquire(self.run_id, _STEPWISE)
        try:
            if self._gates_failed():
                # plan_all held every plan back (none is ready): the run stops at the gates, not at a stack.
                result = self._result(plans, {}, "gate-failed")
            else:
                result = await self._apply(plans, None)
        except JournalWriteError as exc:
            result = self._journal_failure_result(exc)  # (the applies run one at a time: none runs now)
        except BaseException:
            # An unexpected error may leave a stack's step stopped halfway (its binary interrupted, its runner
            # done): the next action needs a new engine, as after plan_all stops on an error.
            self._stopped = True
            raise
        finally:
            self.discard()
        self._emit(RunFinished(result))
        self._raise_observer_error()
        return result

    @property
    def gates(self) -> tuple[Check, ...]:
        """The checks of the last gate run of this engine (empty before any)."""
        return tuple(self._gates)

    @property
    def spent(self) -> bool:
        """True once the run was cancelled, or :meth:`plan_all` or :meth:`apply` stopped on an error after it started:
        the stacks it stopped stay stopped (their next step says "interrupted" at once), so the next plan needs a new
        engine."""
        return self._cancelled or self._stopped

    def discard(self) -> None:
        """Delete this run's saved plans (they hold variable values in clear text) and let the next run of
        the environment in."""
        for worker in self.workers.values():
            worker.remove_plan()
        self._run_lock.release()

    def cancel(self, escalate: bool = False) -> None:
        """Stop the run: one SIGINT to every running binary (``escalate``: SIGTERM, then SIGKILL).

        Safe to call from a signal handler on the loop or from another thread.
        """
        loop = self._loop
        if loop is not None and self._loop_thread != threading.get_ident():
            loop.call_soon_threadsafe(self._cancel, escalate)
        else:
            self._cancel(escalate)

    # -- planning ---------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        if self._prepared:
            return
        self._prepared = True
        self._use_cli_config()
        if self.materialise and not self.plan_only:
            # Materialising sits between one apply and the next: load its code while the plans run.
            self._warm = asyncio.ensure_future(asyncio.to_thread(_import_materialiser))
        await self._render_backends()
        await asyncio.to_thread(self._sweep_plans)
        self._prepare_resume()
        self._warn_unselected_dependencies()
        self._note_unreadable_journal()

    def _require_journal(self) -> None:
        """Refuse a journal that cannot be read before a run writes anything (its lock file included), as the
        engine's constructor does: the wizard builds the engine when the Deploy step opens and plans later, and a
        journal that became unreadable meanwhile (a directory in its place) is an input error, not a crash."""
        if not self._prepared:
            self.journal.require_readable()

    def _sweep_plans(self) -> None:
        for worker in self.workers.values():
            worker.sweep_plans()

    def _use_cli_config(self) -> None:
        """One CLI configuration for every run of every stack; a note (once) when gfwizard's own is used."""
        cli: CliConfig = cli_config(self.environ, plugin_cache_dir=default_plugin_cache_dir())
        for worker in self.workers.values():
            worker.cli = cli
            if worker._runner is not None:
                worker._runner.cli = cli
        if cli.note:
            self._emit(RunNote(redact(cli.note)))

    def _start_plans(self) -> dict[str, "asyncio.Task[StackPlan]"]:
        slots = _PlanSlots(asyncio.Semaphore(self.concurrency), asyncio.Lock(), asyncio.Event())
        tasks: dict[str, asyncio.Task[StackPlan]] = {}
        for name in self.order:
            tasks[name] = asyncio.ensure_future(self._plan_stack(name, tasks, slots))
        return tasks

    async def _gather(self, tasks: Mapping[str, Awaitable[StackPlan]]) -> dict[str, StackPlan]:
        results = await asyncio.gather(*tasks.values())
        return dict(zip(tasks.keys(), results))

    async def _plan_stack(self, name: str, tasks: Mapping[str, "asyncio.Task[StackPlan]"],
                          slots: "_PlanSlots") -> StackPlan:
        lead = name == self.order[0]
        try:
            if not lead:
                # The first stack to apply heads the critical path: its init runs alone, then the
                # others start (they are needed only once the applies before them are done).
                await slots.lead_initialised.wait()
            return await self._plan_in_slot(name, tasks, slots.plans, slots.providers, slots.lead_initialised)
        finally:
            if lead:
                slots.lead_initialised.set()

    async def _plan_in_slot(self, name: str, tasks: Mapping[str, "asyncio.Task[StackPlan]"], sem: asyncio.Semaphore,
                            provider_lock: asyncio.Lock, lead_initialised: asyncio.Event) -> StackPlan:
        worker = self.workers[name]
        inputs = worker.inputs_hash()
        previous = self._done_before.get(name)
        if previous is not None and previous.inputs_hash == inputs:
            skipped = StackPlan(name, outcome="skipped", summary=previous.summary, plan_hash=previous.plan_hash,
                                inputs_hash=inputs)
            self._journal(skipped, "skip", "skipped", started=now_utc(), ended=True)
            # A skip entry means that run found it deployed already (by an earlier one), with these inputs.
            how = "deployed" if previous.outcome != "skipped" else "found deployed (unchanged)"
            self._emit(StackSkipped(name, f"{how} in run {previous.run_id} with plan {previous.plan_hash or '?'}; "
                                          "inputs unchanged", previous.plan_hash))
            return skipped
        plan = StackPlan(name, inputs_hash=inputs, transcript=worker.transcript)
        if self._cancelled:
            return replace(plan, error="cancelled before it started")
        # No stack reads another's state, so a stack plans as soon as a slot is free, whatever its
        # dependencies are doing (they only order the applies). Tasks queue for the slots in apply
        # order, so the first stack to apply is the first to plan. A dependency that has already
        # failed to plan makes planning pointless: nothing after it is applied in this run. The slot
        # covers init and plan; the short `show -json` runs while the next stack's init starts.
        async with sem:
            if self._gates_failed():
                reason = "not planned: the deploy gates failed (see the gates)"
                self._emit(StackSkipped(name, reason))
                return replace(plan, error=reason)
            failed_dep = self._failed_dependency(name, tasks)
            if failed_dep is not None:
                reason = f"not planned: its dependency {failed_dep} did not plan"
                self._emit(StackSkipped(name, reason))
                return replace(plan, error=reason)
            if self._cancelled:
                return replace(plan, error="cancelled before it started")
            started, t0 = now_utc(), time.monotonic()
            self._emit(StackPlanning(name))
            failure = await worker.init(provider_lock)
            lead_initialised.set()  # (the lead's; already set for every other stack)
            if failure is None and self._cancelled:
                return replace(plan, error="cancelled before it started")
            if failure is None:
                failure = await worker.make_plan()
        if failure is not None:
            return self._plan_failed(plan, failure, started)
        planned = await worker.summarise()  # a cancel since the plan makes this an interrupted step
        if isinstance(planned, StepFailure):
            return self._plan_failed(plan, planned, started)
        done = replace(plan, outcome="planned", summary=planned.summary, plan_hash=planned.plan_hash, planned=planned)
        self._journal(done, "plan", "planned", started=started, ended=True)
        self._emit(StackPlanned(name, planned.summary, planned.plan_hash, time.monotonic() - t0))
        return done

    def _failed_dependency(self, name: str, tasks: Mapping[str, "asyncio.Task[StackPlan]"]) -> str | None:
        """A dependency of ``name`` that has already finished planning without a usable plan."""
        for dep in self.graph[name]:
            task = tasks.get(dep)
            if task is not None and task.done() and not task.cancelled() and not task.result().ready:
                return dep
        return None

    def _plan_failed(self, plan: StackPlan, failure: StepFailure, started: datetime) -> StackPlan:
        failed_plan = replace(plan, outcome=failure.outcome, error=failure.message, lock=failure.lock,
                              phase=failure.phase)
        self._journal(failed_plan, "plan", failure.outcome, started=started, ended=True)
        self._emit_failure(plan.stack, failure, plan.transcript)
        return failed_plan

    # -- events, inputs, backends -----------------------------------------------------------------

    def _emit_failure(self, stack: str, failure: StepFailure, transcript: Path | None) -> None:
        shown = str(transcript) if transcript else None
        if failure.interrupted:
            self._emit(StackInterrupted(stack, failure.phase, shown))
        elif failure.locked:
            age = failure.lock.age_seconds() if failure.lock else None
            self._emit(StackLocked(stack, failure.phase, failure.lock, age, redact(failure.remedy)))
        else:
            self._emit(StackFailed(stack, failure.phase, redact(failure.message), redact(failure.remedy),
                                   tuple(redact(d) for d in failure.details), shown))

    def _on_line(self, stack: str, line: OutputLine) -> None:
        self._emit(LogLine(stack, line.stream, line.text))

    def _on_ui_event(self, stack: str, event: UIEvent) -> None:
        if isinstance(event, ApplyStart):
            self._emit(ResourceApplying(stack, event.address, event.action))
        elif isinstance(event, ApplyProgress):
            self._emit(ResourceProgress(stack, event.address, event.action, event.elapsed_seconds))
        elif isinstance(event, ApplyComplete):
            self._emit(ResourceApplied(stack, event.address, event.action, event.elapsed_seconds))
        elif isinstance(event, ApplyErrored):
            self._emit(ResourceFailed(stack, event.address, event.action, event.elapsed_seconds))

    def _emit(self, event: DeployEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception as exc:  # noqa: BLE001 - kept and raised once the run is journaled
            # An observer that breaks (a closed pipe, a bug in a printer) must not cut a rollout
            # short between an apply and its journal entry; the error surfaces when the run is over.
            if self._observer_error is None:
                self._observer_error = exc

    def _raise_observer_error(self) -> None:
        error, self._observer_error = self._observer_error, None
        if error is not None:
            raise error

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def _cancel(self, escalate: bool) -> None:
        self._cancelled = True
        for worker in self.workers.values():
            if escalate:
                asyncio.ensure_future(worker.escalate())
            else:
                worker.interrupt()

    def _check_stack_files(self) -> None:
        for name in self.order:
            stack_dir = self.layout.stack_dir(name)
            if not stack_dir.is_dir() and self.layout.rehearsal:
                # A rehearsal deploys the provider-free twin: the checkout is not what is missing.
                raise InputError(f"stack {name!r} has no rehearsal twin: {stack_dir} does not exist; nothing was run",
                                 remedy=f"a rehearsal deploys the provider-free twins in {self.layout.stacks_root}: "
                                        f"add one for {name!r}, or leave it out (`gfwizard deploy --env {self.env} "
                                        "--stack STACK` for each other stack), or fix stacks: in organization.yaml")
            if not stack_dir.is_dir():
                raise InputError(f"stack directory {stack_dir} does not exist",
                                 remedy="run from a GloriousFlywheel checkout (or set GFW_REPO), or fix stacks: "
                                        "in organization.yaml")
            tfvars = self.layout.tfvars_file(name, self.environment.tfvars)
            if not tfvars.is_file():
                raise InputError(f"{tfvars} does not exist (environments.{self.env}.tfvars)",
                                 remedy=f"create it, or fix environments.{self.env}.tfvars in organization.yaml")

    async def _render_backends(self) -> None:
        from gfwizard.backend_render import render_backends

        rendered = await asyncio.to_thread(render_backends, self.cfg, self.env, self.layout)
        changed = tuple(str(f.path) for f in rendered if f.changed)
        if changed:
            self._emit(BackendRendered(changed))

    def _rerun_command(self) -> str:
        """What a failed, locked or interrupted stack's remedy says to run again, with the stacks chosen with
        ``--stack`` (``--resume`` alone would deploy every stack): a deploy's is ``--resume``; a preview's is
        the same preview, never ``--resume``, which would apply."""
        return deploy_command(self.env, self.order if self.selected else (), plan_only=self.plan_only,
                              assume_yes=False, resume=not self.plan_only)


#: What holds the run lock of a whole run (the deploy command) and of one planned and applied in two
#: halves (the wizard's Deploy step).
_WHOLE_RUN = "a deploy from the command line"
_STEPWISE = "the wizard's Deploy step"


@dataclass(frozen=True)
class _PlanSlots:
    """What the plan tasks of one run share."""

    #: Bounds the init + plan of concurrent stacks.
    plans: asyncio.Semaphore
    #: Serialises provider installs into the shared plugin cache.
    providers: asyncio.Lock
    #: Set once the first stack's init is done (or it will not run).
    lead_initialised: asyncio.Event


async def _stop_plans(tasks: Iterable["asyncio.Task[StackPlan]"]) -> None:
    """Cancel the plan tasks still running and wait until they have ended: a cancelled run stops its binary
    (one SIGINT, escalated after the grace period), and a plan it finishes meanwhile is written only then, so
    the saved plans (variable values in clear text) are deleted after this, not before."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


def _check_state_endpoint(cfg: "OrgConfig", environ: Mapping[str, str]) -> None:
    """Refuse an ``AWS_ENDPOINT_URL_S3`` that differs from ``state.s3.endpoint``: the binary writes the
    state and its locks where the rendered backend files say (the configured endpoint), while the gates'
    lock probe and the lock reads would go to the variable's, so they would vouch for another store."""
    from gfwizard.backend_s3 import ENDPOINT_ENV, s3_target

    target = s3_target(cfg, environ)
    if target.overrides_config:
        raise InputError(f"{ENDPOINT_ENV} is {target.endpoint}, but state.s3.endpoint is {target.config_endpoint}: "
                         "the binary would write the state and its locks to the second (the backend files name it) "
                         "while the deploy's lock probe and lock reads went to the first",
                         remedy=f"unset {ENDPOINT_ENV} in this shell, or set state.s3.endpoint to it in "
                                "organization.yaml")


def _import_materialiser() -> None:
    import gfwizard.rehearsal.materialise  # noqa: F401 - imported for its side effect: loaded once, early
