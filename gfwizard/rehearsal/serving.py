"""Running the rehearsal's loopback servers in daemon threads, and stopping them cleanly."""

from __future__ import annotations

import threading
from typing import Any


def serve_in_thread(server: Any, name: str) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread named ``name`` (polls for shutdown at 10 Hz)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True)
    thread.start()
    return thread


def stop_serving(server: Any, thread: threading.Thread | None, timeout: float = 5.0) -> None:
    """Shut ``server`` down, free its port and wait for its thread."""
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(timeout=timeout)
