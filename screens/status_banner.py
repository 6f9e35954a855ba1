"""The READ-ONLY banner: always shown, turning into a STALE warning while the data is not live."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from gfwizard.redact import redact
from gfwizard.status_model import StatusSnapshot, stale_remedy
from gfwizard.status_text import clock_time, since
from gfwizard.textsafe import printable


class ReadOnlyBanner(Static):
    """``READ-ONLY · nothing here can change the cluster or the state`` (+ stale marker, env filter)."""

    def show(self, snap: StatusSnapshot | None, now: datetime, env: str | None) -> None:
        """Render the banner for ``snap`` at ``now``."""
        parts = ["READ-ONLY: cannot change cluster, state or locks"]
        if env is not None:
            parts.append(f"env {env}")
        if snap is None:
            parts.append("connecting…")
        elif snap.stale_since is not None:
            parts.append(f"STALE since {clock_time(snap.stale_since)} ({since(snap.stale_since, now)} ago), "
                         f"retrying: {snap.stale_reason} · remedy: {stale_remedy(snap.stale_reason)}")
        else:
            count = len(snap.problems)
            parts.append("live · " + ("healthy" if not count else f"{count} problem{'s' if count > 1 else ''}"))
        text = printable(redact(" · ".join(parts)))
        if getattr(self, "_text", None) != text:
            self._text = text
            self.update(text)
        self.set_class(snap is not None and snap.stale_since is not None, "stale")
        self.set_class(snap is not None and snap.stale_since is None and not snap.healthy, "unhealthy")
