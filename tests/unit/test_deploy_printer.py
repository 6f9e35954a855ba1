"""The human progress log of ``gfwizard deploy`` names each stack's state as the result table does."""

from __future__ import annotations

import pytest

from gfwizard.commands.deploy import _HumanPrinter
from gfwizard.stacks_events import StackSkipped


def test_a_stack_never_planned_reads_not_run_and_one_found_deployed_reads_skipped(
        capsys: pytest.CaptureFixture[str]) -> None:
    printer = _HumanPrinter()
    printer.event(StackSkipped("arc-runners", "not planned: the deploy gates failed (see the gates)"))
    printer.event(StackSkipped("gitlab-runners", "not planned: its dependency attic did not plan"))
    printer.event(StackSkipped("attic", "deployed in run 20261207T000000Z-abc123 with plan sha256:1; inputs unchanged",
                               "sha256:1"))
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [(words[0], words[1]) for words in lines] == [
        ("arc-runners", "not-run"), ("gitlab-runners", "not-run"), ("attic", "skipped")]
