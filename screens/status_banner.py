"""The READ-ONLY banner: always shown, turning into a STALE warning while the data is not live."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from gfwizard.redact import redact
from gfwizard.status_model import StatusSnapshot, stale_sources
from gfwizard.status_text import PROBLEM_PANE, clock_time, problem_brief, since
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
        elif snap.healthy and snap.unreadable:
            # Nothing unhealthy was seen, but not everything could be read: say so, as --once does.
            parts.append(f"live · healthy as far as could be read ({len(snap.unreadable)} read(s) failed)")
        elif snap.healthy:
            parts.append("live · healthy")
        else:
            parts = ["READ-ONLY", *parts[1:], "live"]
            parts.append(self._problems(snap, budget=2 * (self._width() - 2) - 12 - len(" · ".join(parts))))
        text = printable(redact(" · ".join(parts)))
        if getattr(self, "_text", None) != text:
            self._text = text
            self.update(text)
        self.set_class(snap is not None and snap.stale_since is not None, "stale")
        self.set_class(snap is not None and snap.stale_since is None and not snap.healthy, "unhealthy")

    def _width(self) -> int:
        width = self.size.width or (self.app.size.width if self.is_attached else 0)
        return max(40, width or 80)

    @staticmethod
    def _problems(snap: StatusSnapshot, budget: int) -> str:
        """``2 problems: node sting not Ready, old lock dev/gitlab-runners · see 2 Nodes, 4 Locks``, made
        shorter (the first and how many more; only the count) until it fits ``budget`` characters."""
        problems = snap.problems
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        see = "see " + ", ".join(dict.fromkeys(PROBLEM_PANE[p.kind] for p in problems))
        briefs = list(dict.fromkeys(problem_brief(p) for p in problems))
        choices = [f"{count}: {', '.join(briefs)} · {see}"]
        if len(briefs) > 1:
            choices.append(f"{count}: {briefs[0]} and {len(briefs) - 1} more · {see}")
        choices.append(f"{count} · {see}")
        return next((text for text in choices if len(text) <= budget), choices[-1])
