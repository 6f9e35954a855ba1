"""The steps of one stack in one run: init, plan + ``show -json``, apply of the saved plan, outputs
and (rehearsal) materialise. :class:`StackWorker` runs them through one :class:`TofuRunner`; the
engine (:mod:`gfwizard.stacks`) decides the order, writes the journal and emits the events.

A step either returns its result or a :class:`StepFailure` that says whether the stack failed, was
locked by someone else (holder read from the lock object) or was interrupted.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from gfwizard.journal import LockHolder
from gfwizard.layout import ERRORED_STATE, Layout
from gfwizard.paths import private_dir
from gfwizard.redact import register_secret
from gfwizard.stacks_events import Phase
from gfwizard.stacks_inputs import ClusterContract, inputs_hash, kubeconfig_file
from gfwizard.stacks_locks import is_lock_error, lock_remedy, read_lock_holder
from gfwizard.stacks_plans import plan_name, sweep_stale_plans
from gfwizard.tofu import CliConfig, OutputLine, RunResult, TofuBinary, TofuRunner, default_plugin_cache_dir
from gfwizard.tofu_events import UIEvent
from gfwizard.tofu_summary import PlanSummary, plan_hash, plan_summary, sensitive_output_values, sensitive_values

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.rehearsal.materialise import MaterialiseSummary

#: Seconds ``init`` and ``show -json`` / ``output -json`` may take before they are interrupted.
INIT_TIMEOUT = 900.0
SHOW_TIMEOUT = 300.0
_TAIL_LINES = 20
_INIT_STAMP = "gfwizard-init.json"
_TWIN_OUTPUTS = ("namespaces", "workloads")


@dataclass(frozen=True)
class StepFailure:
    """Why a step did not succeed, and what the operator can do."""

    phase: Phase
    message: str
    remedy: str
    details: tuple[str, ...] = ()
    interrupted: bool = False
    locked: bool = False
    lock: LockHolder | None = None

    @property
    def outcome(self) -> str:
        """The journal outcome: ``interrupted``, ``locked`` or ``failed``."""
        return "interrupted" if self.interrupted else "locked" if self.locked else "failed"


@dataclass(frozen=True)
class PlannedChange:
    """A saved plan: what it does, its hash, and the hash of the plan file's bytes."""

    summary: PlanSummary
    plan_hash: str
    file_sha256: str


@dataclass
class StackWorker:
    """Runs the binary for one stack of one run."""

    name: str
    cfg: "OrgConfig"
    env: str
    layout: Layout
    tfvars_name: str
    binary: TofuBinary
    run_id: str
    contract: ClusterContract
    environ: Mapping[str, str]
    lock_timeout: str
    grace_seconds: float
    on_line: Callable[[str, OutputLine], None]
    on_event: Callable[[str, UIEvent], None]
    #: The CLI configuration every run of this stack uses (worked out once per engine).
    cli: CliConfig | None = None
    #: The command a remedy tells the operator to run again once the cause is gone (backticked); a preview's
    #: is a preview again, never ``--resume``, which applies (and continues the last run that set out to deploy).
    rerun: str = ""
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_TAIL_LINES))
    _runner: TofuRunner | None = None

    def __post_init__(self) -> None:
        if not self.rerun:
            self.rerun = f"`gfwizard deploy --env {self.env} --resume`"

    # -- paths ------------------------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """The stack's code."""
        return self.layout.stack_dir(self.name)

    @property
    def tfvars(self) -> Path:
        """The environment's tfvars file."""
        return self.layout.tfvars_file(self.name, self.tfvars_name)

    @property
    def backend(self) -> Path:
        """The rendered backend file."""
        return self.layout.backend_file(self.name, self.env, self.cfg.state.backend)

    @property
    def data_dir(self) -> Path:
        """``TF_DATA_DIR`` (outside the checkout)."""
        return self.layout.data_dir(self.env, self.name)

    @property
    def transcript(self) -> Path:
        """This run's redacted transcript of the stack."""
        return self.layout.transcripts_dir(self.env) / f"{self.run_id}-{self.name}.log"

    @property
    def plan_file(self) -> Path:
        """This run's saved plan (one per run, so two runs never overwrite each other's plan)."""
        return self.layout.plan_file(self.env, self.name).with_name(plan_name(self.run_id))

    @property
    def errored_state(self) -> Path:
        """The state an apply of this env could not save, once claimed from the stack directory (where
        the binary writes it): private to this env and stack, outside the checkout."""
        return self.layout.errored_state(self.env, self.name)

    @property
    def unclaimed_errored_state(self) -> Path:
        """Where the binary leaves state it could not save: the stack directory, shared by every env."""
        return self.dir / ERRORED_STATE

    def claim_errored_state(self, since: float) -> bool:
        """Move a state file the binary left in the stack directory since ``since`` (epoch seconds) to
        this env's place; False when there is none, it is older, or this env already has one."""
        stray = self.unclaimed_errored_state
        try:
            if stray.stat().st_mtime < since - 1 or self.errored_state.exists():
                return False
        except FileNotFoundError:
            return False
        try:
            private_dir(self.errored_state.parent)
            shutil.move(str(stray), str(self.errored_state))
            self.errored_state.chmod(0o600)  # a state holds secrets in clear text
        except OSError:
            return False  # left where it is: every env refuses to plan over it, naming it
        return True

    def command(self, *args: str) -> str:
        """A command line the operator can paste: the binary on this stack's initialised data dir."""
        return " ".join([f"TF_DATA_DIR={shlex.quote(str(self.data_dir))}", shlex.quote(self.binary.path),
                         f"-chdir={shlex.quote(str(self.dir))}", *args])

    def errored_state_remedy(self, holder: LockHolder | None) -> str:
        """The recovery after an apply that could not save its state: runnable steps, in order."""
        errored = shlex.quote(str(self.errored_state))
        steps: list[str] = []
        if holder is not None and holder.id:
            steps.append(f"release the lock that apply left behind ({holder.who or '?'}, lock {holder.id}) once no "
                         f"apply of {self.name} runs any more: "
                         f"`{self.command('force-unlock', '-force', shlex.quote(holder.id))}`")
        elif holder is not None:
            steps.append(f"if `gfwizard backend locks --env {self.env}` lists a lock on {self.name}, release it with "
                         f"{self.binary.name} force-unlock (see `{self.command('force-unlock', '-help')}`)")
        steps.append(f"push the state it could not save: `{self.command('state', 'push', errored)}`")
        steps.append(f"remove the file: `rm {errored}`")
        steps.append(self.rerun)
        return "once the backend is reachable: " + "; then ".join(steps)

    def unclaimed_errored_state_failure(self) -> StepFailure:
        """Refuse to plan while a state file nobody claimed sits in the stack directory: it may be any
        environment's, so pushing it anywhere (or planning over it) could fork or overwrite a state."""
        stray = self.unclaimed_errored_state
        try:
            lineage = str(json.loads(stray.read_text(encoding="utf-8")).get("lineage") or "")
        except (OSError, ValueError, AttributeError):
            lineage = ""
        places = "; ".join(f"{env}: `mkdir -p {where} && mv -n {shlex.quote(str(stray))} {where}/`"
                           for env in self.cfg.environments
                           for where in [shlex.quote(str(self.layout.errored_state(env, self.name).parent))])
        which = (f"its lineage is {lineage}: the environment whose {self.name} state has that lineage "
                 "(`gfwizard status --once --json`, stacks[].state.lineage) is its owner"
                 if lineage else "it records no lineage: compare its resources with each environment's state")
        return StepFailure("init", f"{stray} holds state an apply could not save, and no gfwizard run claimed it for "
                                   f"an environment (the run was killed, or the binary outlived it); planning "
                                   f"{self.name} in any environment now could fork that state, so nothing was run",
                           f"find the environment it belongs to ({which}), then move it there — {places} — and run "
                           "the deploy again: it then shows how to push it")

    async def errored_state_failure(self) -> StepFailure:
        """Refuse to plan over state an earlier apply could not save: a plan now would fork the state."""
        holder = await asyncio.to_thread(read_lock_holder, self.cfg, self.env, self.name)
        return StepFailure("init", f"{self.errored_state} holds state an earlier apply could not save; planning "
                                   f"{self.name} now would fork its state, so nothing was run",
                           self.errored_state_remedy(holder))

    def inputs_hash(self) -> str:
        """Hash of code, tfvars, backend file, contract variables and ``TF_VAR_*``."""
        return inputs_hash(self.dir, backend_file=self.backend, var_args=self.contract.var_args(),
                           environ=self.environ)

    # -- process control --------------------------------------------------------------------------

    @property
    def runner(self) -> TofuRunner:
        """The stack's runner (created on first use)."""
        if self._runner is None:
            environ = {**self.environ, **dict(self.contract.extra_env)}
            self._runner = TofuRunner(self.binary, cwd=self.dir, data_dir=self.data_dir,
                                      plugin_cache_dir=default_plugin_cache_dir(), transcript=self.transcript,
                                      environ=environ, on_line=self._line, grace_seconds=self.grace_seconds,
                                      cli=self.cli)
        return self._runner

    def interrupt(self) -> None:
        """One SIGINT to the running binary; no later step of this stack starts."""
        self.runner.interrupt()

    async def escalate(self) -> None:
        """SIGTERM, then SIGKILL after the grace period."""
        await self.runner.cancel(escalate=True)

    def sweep_plans(self) -> None:
        """Delete the saved plans of runs whose process is gone (a killed run never deleted its own), also for a
        stack this run does not plan (a resume skips it), whose next plan would otherwise be the next sweep."""
        if self.plan_file.parent.is_dir():
            sweep_stale_plans(self.plan_file.parent, keep=self.plan_file)

    def remove_plan(self) -> None:
        """Delete the saved plan: it holds variable values in clear text."""
        self.plan_file.unlink(missing_ok=True)

    def _line(self, line: OutputLine) -> None:
        self.tail.append(line.text)
        self.on_line(self.name, line)

    # -- steps ------------------------------------------------------------------------------------

    async def init(self, provider_lock: asyncio.Lock) -> StepFailure | None:
        """``init -reconfigure`` with the rendered backend file, unless this data dir is already
        initialised for exactly this code, backend file and binary. Refused while an earlier apply's
        unsaved state (``errored.tfstate``) waits to be pushed."""
        if self.errored_state.exists():
            return await self.errored_state_failure()
        if self.unclaimed_errored_state.exists():
            return self.unclaimed_errored_state_failure()
        # The proof of an earlier init with the same inputs is a stamp written after it succeeded (the
        # binary; hashes of the backend file's bytes and of the *.tf and lock files) next to the data
        # dir's own backend record. Anything missing or different means init.
        stamp_file = self.data_dir / _INIT_STAMP
        if (self.data_dir / "terraform.tfstate").exists() and stamp_file.exists() \
                and stamp_file.read_text(encoding="utf-8") == self._init_stamp():
            return None
        # An init that fails or is interrupted half-way must never leave a stamp that still matches.
        stamp_file.unlink(missing_ok=True)
        # Provider installs into the shared plugin cache are not safe concurrently: serialise those.
        needs_lock = any("required_providers" in p.read_text(encoding="utf-8", errors="replace")
                         for p in self.dir.glob("*.tf"))
        if needs_lock:
            await provider_lock.acquire()
        try:
            result = await self.runner.run("init", "-input=false", "-reconfigure", "-no-color",
                                           f"-backend-config={self.backend}", timeout=INIT_TIMEOUT)
        finally:
            if needs_lock:
                provider_lock.release()
        if not result.ok:
            return await self.failure("init", result)
        stamp_file.write_text(self._init_stamp(), encoding="utf-8")  # after init: it may update the lock file
        return None

    def _init_stamp(self) -> str:
        code = hashlib.sha256()
        for path in sorted(self.dir.glob("*.tf")) + sorted(self.dir.glob(".terraform.lock.hcl")):
            code.update(path.name.encode() + b"\0" + path.read_bytes())
        backend = self.backend.read_bytes() if self.backend.exists() else b""
        return json.dumps({"binary": self.binary.describe(), "backend": hashlib.sha256(backend).hexdigest(),
                           "code": code.hexdigest()}, sort_keys=True)

    async def plan(self) -> PlannedChange | StepFailure:
        """Plan to the saved plan file, then summarise it with ``show -json``."""
        failure = await self.make_plan()
        return failure if failure is not None else await self.summarise()

    async def make_plan(self) -> StepFailure | None:
        """``plan -out`` to this run's saved plan file."""
        sweep_stale_plans(private_dir(self.plan_file.parent), keep=self.plan_file)
        result = await self.runner.run(
            "plan", "-input=false", "-json", f"-lock-timeout={self.lock_timeout}", f"-out={self.plan_file}",
            f"-var-file={self.tfvars}", *self.contract.var_args(), json_stream=True)
        if self.plan_file.exists():
            self.plan_file.chmod(0o600)  # the directory already keeps others out; the file does too
        return None if result.ok else await self.failure("plan", result)

    async def summarise(self) -> PlannedChange | StepFailure:
        """``show -json`` of the saved plan: its summary and hash; its sensitive values are registered
        with the redactor before anything else of this stack is shown or saved."""
        shown = await self.runner.run("show", "-json", str(self.plan_file), capture=True, timeout=SHOW_TIMEOUT)
        if not shown.ok:
            return await self.failure("show", shown)
        try:
            doc = json.loads(shown.stdout)
        except ValueError:
            return StepFailure("show", "show -json did not print a plan document",
                               "re-run; if it persists, check the binary version")
        register_secret(*sensitive_values(doc))
        return PlannedChange(plan_summary(doc), plan_hash(doc), file_sha256(self.plan_file) or "")

    async def apply(self, planned: PlannedChange) -> RunResult | StepFailure:
        """Apply the saved plan, and nothing else: refused when the plan file changed since planning."""
        if file_sha256(self.plan_file) != planned.file_sha256:
            return StepFailure("apply", f"the saved plan {self.plan_file} changed after it was planned",
                               "re-run the deploy to plan again; nothing was applied")
        self.runner.on_event = lambda ev: self.on_event(self.name, ev)
        started = time.time()
        try:
            result = await self.runner.run("apply", "-input=false", "-json", f"-lock-timeout={self.lock_timeout}",
                                           str(self.plan_file), json_stream=True)
        finally:
            self.runner.on_event = None
            # State the binary could not save lands in the stack directory, shared by every env: it is
            # this env's, so it moves to this env's place before anything else can read it as its own.
            self.claim_errored_state(started)
        if not result.ok:
            return await self.failure("apply", result)
        return result

    async def outputs(self, applied: RunResult | None = None) -> dict[str, Any] | StepFailure:
        """The root outputs: from the apply stream when it carried the twin outputs, else ``output -json``."""
        streamed = applied.outputs if applied is not None else {}
        if all(isinstance(streamed.get(k), dict) and "value" in streamed[k] for k in _TWIN_OUTPUTS):  # type: ignore[operator]
            return dict(streamed)
        result = await self.runner.run("output", "-json", capture=True, timeout=SHOW_TIMEOUT)
        if not result.ok:
            return await self.failure("output", result)
        try:
            outputs = json.loads(result.stdout or "{}")
        except ValueError:
            return StepFailure("output", "output -json did not print JSON", "re-run the deploy")
        register_secret(*sensitive_output_values(outputs))
        return outputs

    async def materialise(self, outputs: dict[str, Any]) -> "MaterialiseSummary | StepFailure":
        """Rehearsal only: create the twin's namespaces and workloads in the rehearsal API."""
        from gfwizard.errors import GfwError
        from gfwizard.rehearsal.materialise import materialise_stack, rehearsal_target

        try:
            target = rehearsal_target(kubeconfig_file(self.cfg, self.environ), self.cfg.cluster.context)
            return await asyncio.to_thread(materialise_stack, target.server, target.token, target.ca_pem, outputs)
        except GfwError as exc:
            return StepFailure("materialise", f"rehearsal materialise failed: {exc.message}",
                               exc.remedy or "check that the rehearsal API is running, then --resume")

    # -- failures ---------------------------------------------------------------------------------

    async def failure(self, phase: Phase, result: RunResult) -> StepFailure:
        """Classify a failed run: interrupted, locked (with the holder) or failed (with diagnostics)."""
        if result.interrupted:
            return StepFailure(phase, f"{phase} interrupted", f"re-run {self.rerun} to continue", interrupted=True)
        if is_lock_error(result.errors):
            holder = await asyncio.to_thread(read_lock_holder, self.cfg, self.env, self.name)
            who = (f"held by {holder.who or '?'} ({holder.operation or 'unknown operation'})"
                   if holder and holder.id else "held by another run")
            # The ID is read from the lock object, which anyone who can write to the bucket wrote: quoted.
            unlock = self.command("force-unlock", shlex.quote(holder.id)) if holder and holder.id else None
            return StepFailure(phase, f"state lock {who}", lock_remedy(self.cfg, self.env, self.name, holder, unlock,
                                                                         rerun=self.rerun),
                               locked=True, lock=holder)
        errors = result.errors
        if errors:
            details = tuple(": ".join(p for p in (d.summary, d.detail) if p) + (f" ({d.address})" if d.address else "")
                            for d in errors)
            message = f"{phase} failed: {errors[0].summary}"
        else:
            details = tuple(self.tail)
            message = f"{phase} failed (exit {result.returncode})"
        remedy = f"read the transcript {self.transcript}, fix the cause, then {self.rerun}"
        if phase == "apply" and self.errored_state.exists():
            holder = await asyncio.to_thread(read_lock_holder, self.cfg, self.env, self.name)
            remedy = (f"the binary could not save the state and wrote {self.errored_state}; "
                      + self.errored_state_remedy(holder))
        return StepFailure(phase, message, remedy, details=details)


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, or None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
