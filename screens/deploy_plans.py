"""The Deploy step's plans: accepting new ones (a stack done earlier whose plan changes something is not done any
more), and which plans an apply hands to the engine ("apply next": the stacks up to the first that changes
something; "apply all": every stack not done; done stacks as skipped).

:class:`DeployPlans` is mixed into :class:`screens.deploy_screen.DeployScreen`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.widgets import Static

if TYPE_CHECKING:
    from gfwizard.stacks import StackPlan


class DeployPlans:
    """The plans of the Deploy step and what an apply takes from them (mixed into it)."""

    def _accept_plans(self, plans: dict[str, "StackPlan"]) -> None:
        """New plans are the truth: a stack done earlier whose plan changes something is not done any more."""
        self.plans, self.plans_consumed = plans, False
        for name, plan in plans.items():
            if name in self.done and plan.changes:
                del self.done[name]
        ready = [p for p in plans.values() if p.ready]
        stuck = next((n for n, p in plans.items() if not p.ready and n not in self.done), None)
        self.held_back = self.gates is not None and not self.gates.ok
        if self.held_back:
            # The gates beside these plans (their GateChecked came before this) failed: the engine held every plan
            # back, and the plans say only what the binary saw, not what a deploy would do.
            failing = ", ".join(check.name for check in self.gates.checks if not check.ok)
            from screens.stack_list import StackList

            for row in self.rows.values():
                if row.state == "planned":  # its saved plan is gone: "planned" would offer what cannot be applied
                    row.state = "held back"
                    self.query_one(StackList).update_row(row)
            self._status(f"A safety gate failed ({failing}) while planning: these plans are no preview of a deploy, "
                         "and none can be applied. g shows each gate's detail and remedy; p plans again once it is "
                         "followed.", True)
        elif stuck is None:
            changing = sum(1 for p in ready if p.changes)
            if self.busy in ("apply", "resume"):
                # Planned again as part of an apply: that apply goes on, so nothing is offered yet.
                self._status(f"{len(ready)}/{len(plans)} stacks planned; {self.busy} continues… (c cancels)", False)
            elif changing:
                self._status(f"{len(ready)}/{len(plans)} stacks planned, {changing} with changes. "
                             "a applies the next, A applies all.", False)
            elif all(name in self.done for name in self.rows):
                self._status(f"{len(ready)}/{len(plans)} stacks planned: nothing to change, every stack is applied. "
                             "Ctrl+N for the summary.", False)
            else:
                self._status(f"{len(ready)}/{len(plans)} stacks planned: nothing to change. A records them as up to "
                             "date (nothing is applied).", False)
        elif not self.query_one("#step-status", Static).has_class("blocked"):  # else: the failure says why
            why = plans[stuck].error or plans[stuck].outcome
            self._status(f"{stuck} is not planned ({why}): nothing from it on can be applied. r retries.", True)

    def _next_batch(self) -> list[str]:
        """What "apply next" hands to the engine: stacks not done yet, up to and including the first
        whose plan changes something (unchanged ones before it are recorded as such)."""
        batch: list[str] = []
        for name in self.rows:
            if name in self.done:
                continue
            plan = self.plans.get(name)
            if plan is None or not plan.ready:
                break
            batch.append(name)
            if plan.changes:
                break
        return batch

    def _can_apply(self) -> bool:
        """Something is left to apply, and either its plan is ready or an apply will plan first."""
        if all(name in self.done for name in self.rows):
            return False
        return self.plans_consumed or bool(self._next_batch())

    def _plans_for(self, mode: str) -> dict[str, "StackPlan"] | None:
        """The plans handed to the engine (done stacks as skipped; for "next", everything after the
        batch held back as unplanned), or None when there is nothing to apply."""
        from gfwizard.stacks import StackPlan

        batch = self._next_batch() if mode == "next" else [n for n in self.rows if n not in self.done]
        if not batch:
            return None
        plans: dict[str, StackPlan] = {}
        for stack in self.rows:
            plan = self.plans.get(stack) or StackPlan(stack)
            if stack in self.done:
                plans[stack] = replace(plan, outcome="skipped")
            else:
                plans[stack] = plan if stack in batch else StackPlan(stack)
        return plans
