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
        self._thread = threading.Thread(target=self.loop.run_forever, name="gfwizard-engine", daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        """Schedule ``coro`` on the engine loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine loop and wait for it (call from a worker thread, never the UI)."""
        return self.submit(coro).result()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the engine loop and wait for its result."""

        async def _call() -> Any:
            return fn(*args)

        return self.run(_call())

    def close(self) -> None:
        """Stop the loop and its thread."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()
