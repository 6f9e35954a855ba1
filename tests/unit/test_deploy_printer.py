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


def test_a_warning_gate_is_printed_with_its_detail_and_remedy_and_does_not_fail(
        capsys: pytest.CaptureFixture[str]) -> None:
    from gfwizard.checks import failed, passed, warned
    from gfwizard.stacks_events import GateChecked

    printer = _HumanPrinter()
    printer.event(GateChecked((passed("server", "ok"), passed("fingerprint", "ok"),
                               warned("kubeconfig", "/k/empty.yaml is empty: skipped, as kubectl skips it",
                                      "fill it or remove it from the list")), True))
    printer.event(GateChecked((failed("server", "other server", "fix the context"),), False))
    assert capsys.readouterr().out.splitlines() == [
        "gates: ✓ server  ✓ fingerprint  ! kubeconfig",
        "  ! kubeconfig: /k/empty.yaml is empty: skipped, as kubectl skips it",
        "    remedy: fill it or remove it from the list",
        "gates: ✗ server",
        "  ✗ server: other server",
        "    remedy: fix the context",
    ]


def test_a_multi_line_failure_keeps_its_continuation_lines_under_its_entry(
        capsys: pytest.CaptureFixture[str]) -> None:
    # The continuation lines started at column 0, where they read as entries of their own.
    from gfwizard.journal import LockHolder
    from gfwizard.stacks_events import StackFailed, StackLocked

    printer = _HumanPrinter()
    printer.event(StackFailed("attic", "apply", "Error: creating Namespace\ncontext deadline exceeded",
                              "check the cluster\nthen re-run", ("Error: timeout\n\n  on main.tf line 3",)))
    printer.event(StackLocked("arc-runners", "plan", LockHolder(id="abc", who="bob", operation="OperationTypeApply"),
                              None, "wait for bob\nor force-unlock abc"))
    pad = " " * len("  attic              FAILED        ")
    assert capsys.readouterr().out.splitlines() == [
        "  attic              FAILED        apply: Error: creating Namespace",
        f"{pad}context deadline exceeded",
        "      Error: timeout",
        "",
        "        on main.tf line 3",
        "      remedy: check the cluster",
        "              then re-run",
        "  arc-runners        LOCKED        state lock held by bob (OperationTypeApply, lock abc)",
        "      remedy: wait for bob",
        "              or force-unlock abc",
    ]


@pytest.mark.parametrize("second", ["while-saying-the-first", "while-the-handlers-go-back", "after-the-answer"])
def test_a_second_interrupt_while_the_prompt_returns_is_a_refusal_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], second: str) -> None:
    # The prompt's handler raised KeyboardInterrupt whenever a signal came, so a second Ctrl-C while the first was
    # being said (or the loop's handlers put back) escaped as a traceback.
    import asyncio
    import os
    import signal

    import gfwizard.commands.deploy as deploy
    from gfwizard.gates import ConfirmRequest, answer_approves

    def interrupt() -> None:
        os.kill(os.getpid(), signal.SIGINT)

    def read_line(prompt: str) -> str:
        if second == "after-the-answer":
            return "prod"  # typed whole; the Ctrl-C comes as the prompt returns
        interrupt()
        raise AssertionError("the interrupt did not stop the read")

    real_echo = deploy.echo

    def echo(text: str = "", err: bool = False, **style: object) -> None:
        if second == "while-saying-the-first" and text == "":
            interrupt()
        real_echo(text, err, **style)

    reinstalled: list[bool] = []

    def reinstall() -> None:
        if second != "while-saying-the-first":
            interrupt()
        for sig in deploy._PROMPT_SIGNALS:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
        reinstalled.append(True)

    monkeypatch.setattr(deploy, "read_line", read_line)
    monkeypatch.setattr(deploy, "echo", echo)
    previous = {sig: signal.getsignal(sig) for sig in deploy._PROMPT_SIGNALS}
    loop = asyncio.new_event_loop()
    try:
        confirm = deploy._TerminalConfirm(deploy._HumanPrinter())
        confirm.bind(loop, reinstall)
        request = ConfirmRequest("prod", True, (), ())
        try:
            answer = confirm(request)
        except KeyboardInterrupt:
            pytest.fail("a second interrupt escaped the prompt (a traceback on the terminal)")
    finally:
        loop.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert answer is False and not answer_approves(request, answer)
    assert reinstalled == [True]
    assert "Traceback" not in capsys.readouterr().err


def test_a_resource_still_changing_is_said_while_it_runs(capsys: pytest.CaptureFixture[str]) -> None:
    # The binary reports a long change every 10 s; the log said nothing between "applying" and the end.
    from gfwizard.stacks_events import ResourceApplied, ResourceProgress

    printer = _HumanPrinter()
    printer.event(ResourceProgress("attic", "helm_release.attic", "create", 10.0))
    printer.event(ResourceProgress("attic", "helm_release.attic", "create", 20.0))
    printer.event(ResourceApplied("attic", "helm_release.attic", "create", 24.6))
    assert [line.split(None, 1)[1] for line in capsys.readouterr().out.splitlines()] == [
        "create helm_release.attic still running (10s)",
        "create helm_release.attic still running (20s)",
        "create helm_release.attic (25s)",
    ]
