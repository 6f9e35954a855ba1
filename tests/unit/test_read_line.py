"""The CLI's prompt reader: a line from stdin; EOF is EOFError; a signal handler's exception ends the
wait; off the main thread it falls back to a plain read."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading

import pytest

from gfwizard.commands._common import read_line


def test_a_line_and_then_eof(monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    os.write(w, b"prod\n")
    os.close(w)
    with os.fdopen(r) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert read_line("Type the environment name (prod): ") == "prod"
        with pytest.raises(EOFError):
            read_line("again: ")


def test_a_signal_delivered_to_another_thread_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    with os.fdopen(r) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)

        def decline(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGUSR1, decline)
        # Delivered to another thread (the timer's own), as the kernel may do with a process-directed
        # signal: a blocking read in the main thread would never wake for it.
        timer = threading.Timer(0.3, lambda: signal.pthread_kill(threading.get_ident(), signal.SIGUSR1))
        try:
            timer.start()
            with pytest.raises(KeyboardInterrupt):
                read_line("Apply? [y/N]: ")
        finally:
            timer.cancel()
            signal.signal(signal.SIGUSR1, previous)
            os.close(w)


def test_off_the_main_thread_it_reads_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))
    answers: list[str] = []
    worker = threading.Thread(target=lambda: answers.append(read_line("Pin? [y/N]: ")))
    worker.start()
    worker.join(5)
    assert answers == ["yes"]
