"""The READ-ONLY banner: always shown, turning into a STALE warning while the data is not live."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from gfwizard.redact import redact
from gfwizard.status_model import StatusSnapshot, stale_sources
from gfwizard.status_text import clock_time, since
from gfwizard.textsafe import printable


class ReadOnlyBanner(Static):
    """``READ-ONLY · nothing here can change the cluster or the state`` (+ stale marker, env filter).

    At most two lines at 80 columns, so the panes keep their rows during an outage: the stale marker
    names only what is failing; the full reason and remedy are in the API pane.
    """

    def show(self, snap: StatusSnapshot | None, now: datetime, env: str | None) -> None:
        """Render the banner for ``snap`` at ``now``."""
        stale = snap is not None and snap.stale_since is not None
        parts = ["READ-ONLY" if stale else "READ-ONLY: cannot change cluster, state or locks"]
        if env is not None:
            parts.append(f"env {env}")
        if snap is None:
            parts.append("connecting…")
        elif snap.stale_since is not None:
            parts.append(f"STALE since {clock_time(snap.stale_since)} ({since(snap.stale_since, now)} ago): "
                         f"{stale_sources(snap.stale_reason)}, retrying · see 1 API")
        else:
            count = len(snap.problems)
            parts.append("live · " + ("healthy" if not count else f"{count} problem{'s' if count > 1 else ''}"))
        text = printable(redact(" · ".join(parts)))
        if getattr(self, "_text", None) != text:
            self._text = text
            self.update(text)
        self.set_class(snap is not None and snap.stale_since is not None, "stale")
        self.set_class(snap is not None and snap.stale_since is None and not snap.healthy, "unhealthy")
