"""What a run a journal write stopped says each stack reached (:mod:`gfwizard.stacks_unrecorded`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfwizard.journal import JournalWriteError
from gfwizard.stacks import StackPlan
from gfwizard.stacks_unrecorded import Attempt, journal_stop, stack_results, stopped_messages


@pytest.mark.parametrize(("outcome", "recorded", "plan_only", "reached"), [
    ("planned", True, False, "not-run"),
    ("planned", True, True, "planned"),
    ("planned", False, True, "planned"),
    ("started", False, False, "not-run"),
    ("started", True, False, "interrupted"),
    ("applied", False, False, "applied"),
    ("gate-failed", True, False, "not-run"),
    ("skipped", True, False, "skipped"),
    ("locked", True, False, "locked"),
], ids=lambda v: str(v))
def test_each_stack_reached_what_its_last_attempted_entry_says(outcome: str, recorded: bool, plan_only: bool,
                                                              reached: str) -> None:
    attempts = {"attic": Attempt(StackPlan("attic"), outcome, recorded)}
    results = stack_results(["attic", "arc-runners"], attempts, plan_only=plan_only)
    assert [(r.stack, r.outcome) for r in results] == [("attic", reached), ("arc-runners", "not-run")]
    lost = {"started": "the start of its apply"}.get(outcome, f"its {outcome!r} entry")
    assert results[0].error == (None if recorded else f"{lost} could not be written to the journal")


def test_the_messages_name_the_lost_entries_what_was_applied_and_the_remedy(tmp_path: Path) -> None:
    exc = JournalWriteError(tmp_path / "dev.jsonl", OSError(28, "No space left on device"))
    attempts = {"attic": Attempt(StackPlan("attic"), "applied", True),
                "arc-runners": Attempt(StackPlan("arc-runners"), "applied", False)}
    order = ["attic", "arc-runners", "gitlab-runners"]
    stop = journal_stop(exc, order, stack_results(order, attempts, plan_only=False), attempts)
    assert (stop.error, stop.lost, stop.applied, stop.unrecorded, stop.remedy) == (
        exc.message, ("the 'applied' entry of arc-runners",), ("attic", "arc-runners"), ("arc-runners",), exc.remedy)
    messages = stopped_messages(stop)
    assert messages[:2] == [
        f"the run journal {tmp_path / 'dev.jsonl'} cannot be written: No space left on device; the entry was not "
        "recorded: the 'applied' entry of arc-runners; the run stopped there",
        "applied in this run: attic, arc-runners (not recorded in the journal)"]
    assert messages[2] == f"remedy: {exc.remedy}"
    nothing = journal_stop(exc, order, stack_results(order, {}, plan_only=False), {})
    assert (nothing.lost, nothing.applied, nothing.unrecorded) == ((), (), ())
    assert stopped_messages(nothing)[:2] == [f"{exc.message}; the run stopped there", "nothing was applied in this run"]
