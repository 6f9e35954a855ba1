"""How long something has lasted (a state lock held, a lock-age threshold, a state object's or an event's
age), in the one notation the operator reads everywhere: ``status`` (text and live view), ``deploy``,
``backend locks`` and the wizard's deploy step all say ``42s``, ``5m``, ``3h12m``, ``2d4h``.

The rehearsal API server's tables keep kubectl's own notation (``rehearsal/k8s_tables.py``): they stand in
for what kubectl prints."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h12m``, ``2d4h`` (``?`` when unknown); each unit whole, the rest dropped."""
    if seconds is None:
        return "?"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h"
