"""The safety gates before any apply, and the operator's confirmation.

Gates (never skipped, not even with ``--yes``): the cluster's ``server`` and ``fingerprint`` checks
(:func:`gfwizard.cluster.gate_checks`; an unpinned fingerprint fails) and, for S3 state, the backend
lock probe (:func:`gfwizard.backend.lock_probe`). The engine adds ``state migration`` (stacks whose
state is still only on the HTTP backend; :meth:`gfwizard.stacks_gates.EngineGates._migration_check`) and,
once those pass, ``running without state`` (stacks with no S3 state whose workloads already run;
:mod:`gfwizard.stacks_untracked`). A failing gate stops the run before the first apply.
Both run without the Kubernetes client and botocore where the credentials allow it
(:mod:`gfwizard.cluster_direct`, :mod:`gfwizard.backend_direct`): same checks, a fraction of the CPU.

Confirmation: without ``--yes`` the engine asks through an injected callback (the CLI prompts on a
terminal, the TUI opens a modal). An environment with ``require_confirmation`` (prod) needs its name
typed; the engine, not the callback, compares the answer. Deletes and replaces are listed first.
After an answer that applies, the engine runs the gates again: the question may have waited for hours.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence, Union

from gfwizard.checks import Check, failed, warned
from gfwizard.errors import GfwError
from gfwizard.tofu_summary import PlanSummary

if TYPE_CHECKING:
    from gfwizard.cluster import ResolvedContext
    from gfwizard.orgconfig import OrgConfig

#: Runs the gates for (config, env) and returns their checks (blocking; the engine runs it in a thread).
GateRunner = Callable[["OrgConfig", str], list[Check]]
ConfirmAnswer = Union[bool, str]
#: Asked once before the first apply; returns True/False, or the typed text when ``typed`` is set.
ConfirmCallback = Callable[["ConfirmRequest"], Union[ConfirmAnswer, Awaitable[ConfirmAnswer]]]


def default_gate_checks(cfg: "OrgConfig", env: str, *, resolved: "ResolvedContext | None" = None) -> list[Check]:
    """Cluster ``server`` + ``fingerprint`` checks, then the backend lock probe (S3 state only).
    ``resolved``: the configured context already read (:func:`gfwizard.cluster.resolve_configured`).

    The two talk to different services and wait on the network most of the time, so the lock probe
    runs in a second thread while the cluster is checked; the result lists them in this order.
    """
    from concurrent.futures import ThreadPoolExecutor

    from gfwizard.cluster import gate_checks

    def probe() -> Check:
        from gfwizard.backend_checks import lock_probe

        try:
            return lock_probe(cfg)
        except GfwError as exc:
            return failed("lock probe", exc.message, exc.remedy or f"run `gfwizard backend check --env {env}`")

    checks: list[Check] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gfwizard-lock-probe") as pool:
        probed = pool.submit(probe) if cfg.state.backend == "s3" else None
        try:
            checks.extend(gate_checks(cfg, resolved=resolved))
        except GfwError as exc:
            checks.append(failed("cluster gates", exc.message, exc.remedy or "run `gfwizard validate`"))
        if probed is not None:
            checks.append(probed.result())
        else:
            checks.append(warned("lock probe", "state.backend is http: locking is the HTTP state server's, not probed",
                                 remedy="move the state to S3 (`gfwizard backend migrate`)"))
    return checks


#: Gates whose failure means the cluster answering may not be the pinned honey.
CLUSTER_GATES = frozenset({"server", "fingerprint", "cluster gates"})


def gate_failed_plans_note(planned: Sequence[str], checks: Sequence[Check]) -> str:
    """Why plans made beside gates that then failed are no preview (a plan-only run's message).

    Only a failed cluster gate means the plans may be of another cluster; a failed state gate (e.g.
    ``state migration``) means they were made on a state a deploy would not start from.
    """
    failing = [c.name for c in checks if not c.ok]
    head = f"the plans of {', '.join(planned)} were made while the gates were being checked, and "
    if not failing or CLUSTER_GATES & set(failing):
        return head + ("the gates failed: they show what the binary saw on a cluster that is not the pinned honey, "
                       "not what a deploy would do")
    which = f"the {failing[0]} gate" if len(failing) == 1 else f"the gates {', '.join(failing)}"
    return head + f"{which} failed: they are no preview of a deploy, which stops there until the remedy is followed"


@dataclass(frozen=True)
class DestructiveChange:
    """A delete or replace the operator must see before confirming."""

    stack: str
    action: str
    address: str


@dataclass(frozen=True)
class PlannedStack:
    """One stack that will be applied, with what its plan does."""

    stack: str
    summary: PlanSummary
    plan_hash: str


@dataclass(frozen=True)
class ConfirmRequest:
    """What the operator is asked to approve."""

    env: str
    #: True for environments with ``require_confirmation``: the answer must be the env name, typed.
    typed: bool
    stacks: tuple[PlannedStack, ...]
    #: Every delete and replace, deletes first, in apply order.
    destructive: tuple[DestructiveChange, ...]

    @property
    def destructive_counts(self) -> str:
        """``"12 deletes, 1 replace"``: how many destroys and replaces the apply makes (the list may be longer
        than a dialog shows)."""
        deletes = sum(1 for c in self.destructive if c.action == "delete")
        replaces = len(self.destructive) - deletes
        return f"{deletes} delete{'' if deletes == 1 else 's'}, {replaces} replace{'' if replaces == 1 else 's'}"

    @property
    def prompt(self) -> str:
        """The question to show."""
        names = ", ".join(s.stack for s in self.stacks)
        if self.typed:
            return f"Type the environment name ({self.env}) to apply {names}"
        return f"Apply {names} to {self.env}?"


def destructive_changes(stacks: Sequence[PlannedStack]) -> tuple[DestructiveChange, ...]:
    """Every delete, then every replace, across ``stacks`` (in apply order within each group)."""
    deletes = [DestructiveChange(s.stack, "delete", a) for s in stacks for a in s.summary.deletes]
    replaces = [DestructiveChange(s.stack, "replace", a) for s in stacks for a in s.summary.replaces]
    return tuple(deletes + replaces)


def build_request(env: str, typed: bool, stacks: Sequence[PlannedStack]) -> ConfirmRequest:
    """The confirmation request for ``stacks`` (only those with changes are listed)."""
    changing = tuple(s for s in stacks if s.summary.has_changes)
    return ConfirmRequest(env=env, typed=typed, stacks=changing, destructive=destructive_changes(changing))


def typed_matches(typed: str, env: str) -> bool:
    """Whether a typed confirmation names ``env``: exactly, but for whitespace around it (a stray space from a
    paste is no other name; a case-folded one might be). The terminal and the wizard compare alike."""
    return typed.strip() == env


def answer_approves(request: ConfirmRequest, answer: ConfirmAnswer) -> bool:
    """True when ``answer`` approves ``request``: the env name when typed (see :func:`typed_matches`), else True."""
    if request.typed:
        return isinstance(answer, str) and typed_matches(answer, request.env)
    return answer is True


#: How much of a wrong typed answer a refusal repeats.
_SHOWN_ANSWER = 40


def refusal(request: ConfirmRequest, answer: ConfirmAnswer) -> str:
    """Why ``answer`` does not approve ``request``, e.g. ``'Prod' is not 'prod' (…)`` (it repeats only what
    was typed, made printable and cut short; the confirmation is no secret)."""
    if not request.typed:
        return "the operator declined"
    if not isinstance(answer, str):
        return "the confirmation was cancelled"
    typed = answer.strip()
    if not typed:
        return f"nothing was typed ({request.env!r} applies)"
    return f"'{shown_answer(typed)}' is not {request.env!r} (type the environment name exactly to apply)"


def shown_answer(typed: str) -> str:
    """A typed confirmation as it is repeated back: made printable and cut to 40 characters (a paste must not
    fill the terminal or the dialog)."""
    from gfwizard.textsafe import printable

    return printable(typed if len(typed) <= _SHOWN_ANSWER else typed[:_SHOWN_ANSWER] + "…")


async def answer_of(request: ConfirmRequest, confirm: ConfirmCallback) -> ConfirmAnswer:
    """Ask through ``confirm`` (sync or async) and return its answer unchecked."""
    answer = confirm(request)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer  # type: ignore[return-value]
