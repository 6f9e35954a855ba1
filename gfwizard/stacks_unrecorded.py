"""The result of a run that a journal write stopped (a full disk, a journal replaced by a directory): what each
stack had reached when it stopped, from the entries the run attempted, so that the run still ends with a result
that says why it stopped and what was applied so far."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from gfwizard.stacks_events import JournalStop, StackResult

if TYPE_CHECKING:
    from gfwizard.journal import JournalWriteError
    from gfwizard.stacks import StackPlan

#: The run outcome of a run a journal write stopped.
JOURNAL_UNWRITABLE = "journal-unwritable"

#: Journal outcomes that are a stack's result as they are.
_AS_IS = frozenset({"skipped", "applied", "no-changes", "failed", "locked", "interrupted"})


@dataclass(frozen=True)
class Attempt:
    """The last journal entry the run tried to write for a stack."""

    plan: "StackPlan"
    #: The entry's outcome (``planned``, ``started``, ``applied``, ...).
    outcome: str
    #: False when it could not be written.
    recorded: bool


def stack_results(order: Sequence[str], attempts: Mapping[str, Attempt], *, plan_only: bool) -> list[StackResult]:
    """Each stack's result in ``order``: the outcome its last attempted entry says it reached (an entry that could
    not be written still says what happened: an ``applied`` one follows a finished apply)."""
    results: list[StackResult] = []
    for name in order:
        attempt = attempts.get(name)
        if attempt is None:
            results.append(StackResult(name, "not-run", error="not run: the run stopped when the journal could not "
                                                               "be written"))
            continue
        plan, outcome = attempt.plan, attempt.outcome
        if outcome in _AS_IS:
            state = outcome
        elif outcome == "planned" and plan_only:
            state = "planned"
        elif outcome == "started" and attempt.recorded:
            state = "interrupted"  # an apply whose end was never written: the run stopped during it
        else:
            state = "not-run"  # planned but not applied, a failed gate, an apply whose start could not be written
        error = plan.error
        if not attempt.recorded:
            what = "the start of its apply" if outcome == "started" else f"its {outcome!r} entry"
            error = f"{what} could not be written to the journal" + (f"; {error}" if error else "")
        results.append(StackResult(name, state, plan.summary, plan.plan_hash,  # type: ignore[arg-type]
                                   str(plan.transcript) if plan.transcript else None, error, plan.lock))
    return results


def journal_stop(exc: "JournalWriteError", order: Sequence[str], results: Sequence[StackResult],
                 attempts: Mapping[str, Attempt]) -> JournalStop:
    """Why the run stopped (the journal error and each entry it kept out), what it applied (and did not record),
    and the remedy."""
    lost = tuple(f"the {attempts[s].outcome!r} entry of {s}" for s in order
                 if s in attempts and not attempts[s].recorded)
    applied = tuple(r.stack for r in results if r.outcome == "applied")
    unrecorded = tuple(name for name in applied if not attempts[name].recorded)
    return JournalStop(exc.message, lost, applied, unrecorded, exc.remedy)


def stopped_messages(stop: JournalStop) -> list[str]:
    """The result's last messages of a run a journal write stopped: why, what it applied, the remedy."""
    return [stop.why, stop.applied_text, f"remedy: {stop.remedy}"]
