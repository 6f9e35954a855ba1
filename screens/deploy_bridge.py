"""The Deploy step's bridge to the deploy engine: the messages the engine's thread and the step's workers post
to the screen, the UI-thread calls a worker waits on, and the questions (the apply confirmation, a consent)
that open a modal from another thread.

:class:`EngineBridge` is mixed into :class:`screens.deploy_screen.DeployScreen`; its messages keep the
``deploy_screen`` namespace, so their handlers are ``on_deploy_screen_...`` as they were when the screen
declared them.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from rich.text import Text
from textual.message import Message
from textual.worker import get_current_worker

from screens.confirm_modal import ConfirmModal, TypedConfirmModal

if TYPE_CHECKING:
    from gfwizard.gates import ConfirmRequest
    from gfwizard.stacks_events import DeployEvent

T = TypeVar("T")


def confirm_body(request: "ConfirmRequest") -> Text:
    """What an apply will do: destroys and replaces first, in red; then each stack's counts."""
    text = Text()
    if request.destructive:
        # The count first: at 80x24 the list below it scrolls, and a line out of view must not go unnoticed.
        text.append(f"DESTROYS AND REPLACES: {request.destructive_counts}\n", style="bold red")
        for change in request.destructive:
            text.append(f"  {change.action:<8} {change.stack}: {change.address}\n", style="red")
        text.append("\n")
    for planned in request.stacks:
        text.append(f"  {planned.stack:<18} {planned.summary.counts()}\n")
    text.append(f"\nEnvironment: {request.env}")
    return text


def wait_for_answer(answer: "concurrent.futures.Future[T]") -> T:
    """``answer``'s result, waited for in a worker thread; once the worker is cancelled the wait ends
    with ``TimeoutError`` (nobody is left to take the result)."""
    worker = get_current_worker()
    while True:
        try:
            return answer.result(timeout=0.2)
        except concurrent.futures.TimeoutError:
            if worker.is_cancelled:
                raise


class EngineBridge:
    """Engine events, UI-thread calls and questions from other threads, for the Deploy step (mixed into
    it)."""

    @dataclass
    class EngineEvent(Message, namespace="deploy_screen"):
        """The deploy engine reported something (``event`` is one of gfwizard.stacks_events)."""

        event: "DeployEvent"

    @dataclass
    class EngineReady(Message, namespace="deploy_screen"):
        """A new engine was built for ``env``."""

        env: str
        order: list[str]
        binary: str
        #: The journal's last run failed, was interrupted or locked, or never finished.
        resumable: bool = False

    @dataclass
    class UiCall(Message, namespace="deploy_screen"):
        """A worker asks the screen to run ``fn`` on the UI thread, in order with earlier messages."""

        fn: Callable[[], Any]
        answer: "concurrent.futures.Future[Any]" = field(default_factory=concurrent.futures.Future)

    def on_deploy_screen_ui_call(self, message: UiCall) -> None:
        try:
            message.answer.set_result(message.fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the waiting worker, which raises it
            message.answer.set_exception(exc)

    def _on_ui(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the UI thread after every message posted so far; call from a worker thread."""
        call = self.UiCall(fn)
        self.post_message(call)
        return wait_for_answer(call.answer)

    def _on_event(self, event: "DeployEvent") -> None:
        from gfwizard.stacks_events import LogLine, StackPlanning

        if isinstance(event, LogLine):
            self.log_pane.add_line(event.stack, event.text)
            return
        if isinstance(event, StackPlanning) and self.log_pane.has_lines(event.stack):
            # Queued from the engine's thread, so it lands before the new run's first line.
            from datetime import datetime

            self.log_pane.add_line(event.stack, f"──── planned again at {datetime.now():%H:%M:%S} ────")
        self.post_message(self.EngineEvent(event))

    def _confirm(self, request: "ConfirmRequest") -> Any:
        """Asked by the engine before the first apply; opens the modal on the UI thread."""
        import asyncio

        body = confirm_body(request)
        if request.typed:
            # The dialog only closes with the exact name or a cancel: a cancel is said as one, not as a wrong name.
            answer = self._ask(TypedConfirmModal(f"Apply to {request.env}?", body, request.env),
                               lambda ok: request.env if ok else False, declined=False)
        else:
            answer = self._ask(ConfirmModal(f"Apply to {request.env}?", body, "Apply"), bool, declined=False)
        return asyncio.wrap_future(answer)

    def _ask(self, modal: Any, convert: Callable[[Any], T], declined: T) -> "concurrent.futures.Future[T]":
        """Open ``modal`` from a worker or the engine's thread; its answer (``convert``-ed) comes back in the
        future. The step waits for it and nothing runs meanwhile; leaving the step answers ``declined``."""
        answer: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._asking[answer] = declined

        def answered(value: Any) -> None:
            self._asking.pop(answer, None)
            result = convert(value)
            if result and self.busy is not None:  # a no is reported by whoever asked
                self._status(f"{self.busy} running… (c cancels)", False)
            if not answer.done():
                answer.set_result(result)

        def ask() -> None:
            self._status("Waiting for your answer in the dialog (nothing runs until then).", False)
            self.app.push_screen(modal, answered)

        self.app.call_from_thread(ask)
        return answer

    def _decline_open_questions(self) -> None:
        """Leaving the step (or quitting) with a dialog open answers it with its no: the worker or engine
        waiting for it goes on (and refuses) instead of waiting for ever."""
        for answer, declined in list(self._asking.items()):
            if not answer.done():
                answer.set_result(declined)
        self._asking.clear()
