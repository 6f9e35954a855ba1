"""A private asyncio loop in a background thread, where the deploy engine lives while the Deploy
step is open. Plans made by one action stay valid for the next (the engine applies saved plans
from the loop that made them); the UI thread only ever submits work and receives messages."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


class EngineHost:
    """Runs coroutines on a dedicated event loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self._thread = threading.Thread(target=self.loop.run_forever, name="gfwizard-engine", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a submitted coroutine has not finished."""
        return any(not future.done() for future in list(self._pending))

    def submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        """Schedule ``coro`` on the engine loop."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine loop and wait for it (call from a worker thread, never the UI)."""
        return self.submit(coro).result()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every submitted coroutine; True when none is left running."""
        pending = [future for future in list(self._pending) if not future.done()]
        if pending:
            concurrent.futures.wait(pending, timeout=timeout)
        return not self.busy

    def close(self) -> None:
        """Stop the loop and its thread (call :meth:`wait` first: a coroutine still running is abandoned)."""
        if self.loop.is_closed():
            return
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()
