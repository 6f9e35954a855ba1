"""What one deploy is asked to cover: its environment and its ``--stack`` selection, checked before anything runs.

:class:`~gfwizard.stacks.DeployEngine` checks its selection here, and ``gfwizard deploy`` calls the same check
first, so an unknown name is refused before any other input error. Each refusal names what is valid and a
``gfwizard deploy`` command line that would work with the same flags (an empty value is said to be empty, a
node role passed as a stack is said to be one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

from gfwizard.errors import InputError

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig


def deploy_command(env: str, stacks: Sequence[str], *, plan_only: bool, assume_yes: bool, resume: bool) -> str:
    """The ``gfwizard deploy`` command line for these choices, backticked (what a remedy tells the operator
    to run)."""
    flags = [f"--stack {s}" for s in stacks]
    flags += [flag for flag, on in (("--plan-only", plan_only), ("--yes", assume_yes), ("--resume", resume)) if on]
    return f"`gfwizard deploy --env {' '.join([env, *flags])}`"


def check_selection(cfg: "OrgConfig", env: str, stacks: Sequence[str], *, plan_only: bool, assume_yes: bool,
                    resume: bool) -> None:
    """Refuse an unknown environment or stack (InputError), naming the valid ones and the command that would
    work (a node role passed as a stack is said to be one)."""
    import difflib  # only a refusal guesses, and a deploy's start-up is measured

    def command(env: str, stacks: Sequence[str]) -> str:
        return deploy_command(env, stacks, plan_only=plan_only, assume_yes=assume_yes, resume=resume)

    envs = list(cfg.environments)
    if env not in cfg.environments:
        guess = (difflib.get_close_matches(env, envs, n=1) or envs)[0]
        # An empty value (`--env "$ENV"` with ENV unset) is named as such, not as an unknown name ''.
        what = "--env is empty: an environment name is needed" if not env.strip() else \
            f"unknown environment {env!r}"
        raise InputError(f"{what} (known: {', '.join(envs)})" + ("; nothing was run" if not env.strip() else ""),
                         remedy=f"pass one of {', '.join(envs)}, e.g. {command(guess, stacks)}")
    check_stack_names(cfg, stacks, lambda chosen: command(env, chosen))


def check_stack_names(cfg: "OrgConfig", stacks: Sequence[str], command: Callable[[Sequence[str]], str]) -> None:
    """Refuse a ``--stack`` value that is not a stack of ``cfg`` (InputError): an empty one, a node role (said to be
    one, with the stacks placed on it) or an unknown name (with a guess). ``command(stacks)``: the backticked
    command line a remedy offers with those stacks (``gfwizard deploy ...``, ``gfwizard backend migrate ...``)."""
    import difflib

    known = [spec.name for spec in cfg.stacks]
    for name in stacks:
        if name in known:
            continue
        if not name.strip():
            named = [s for s in stacks if s in known]
            raise InputError(f"--stack is empty: a stack name is needed (stacks: {', '.join(known)}); nothing was run",
                             remedy=f"pass --stack with one of the stacks in organization.yaml, e.g. "
                                    f"{command(named or known[:1])}, or leave --stack out for every stack")
        if name in cfg.placement.roles:
            placed = [s for s in known if cfg.placement.stacks.get(s) == name]
            on_it = f"; stacks placed on it: {', '.join(placed)}" if placed else ""
            rest = [s for s in stacks if s != name and s in known]
            raise InputError(f"{name!r} is a node role (placement.roles), not a stack{on_it} "
                             f"(stacks: {', '.join(known)})",
                             remedy=f"pass --stack with stack names, e.g. "
                                    f"{command(list(dict.fromkeys(rest + placed)) or known[:1])}")
        guess = difflib.get_close_matches(name, known, n=1)
        fixed = [guess[0] if s == name else s for s in stacks if s in known or s == name] if guess else \
            [s for s in stacks if s in known] or known[:1]
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise InputError(f"unknown stack {name!r} (known: {', '.join(known)})",
                         remedy=f"{hint}pass --stack with one of the stacks in organization.yaml, e.g. "
                                f"{command(list(dict.fromkeys(fixed)))}")
