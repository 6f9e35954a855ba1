"""The READ-ONLY banner: always shown, turning into a STALE warning while the data is not live."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime

from textual.widgets import Static

from gfwizard.redact import redact
from gfwizard.status_model import StatusSnapshot, stale_sources
from gfwizard.status_text import PROBLEM_PANE, clock_time, problem_brief, since
from gfwizard.textsafe import printable


#: A pane named in the banner (``· see 1 API``, ``3 Stacks``): kept on one line when the banner wraps.
_PANE_REF = re.compile(r"(?:· )?(?:see )?\b\d (?:API|Nodes|Stacks|Locks|Events)\b")
#: Not whitespace to textwrap, so a glued pane reference is one word.
_GLUE = "\x00"


class ReadOnlyBanner(Static):
    """``READ-ONLY · nothing here can change the cluster or the state`` (+ stale marker, env filter).

    At most two lines at 80 columns, so the panes keep their rows during an outage: the stale marker
    names only what is failing; the full reason and remedy are in the API pane.
    """

    def show(self, snap: StatusSnapshot | None, now: datetime, env: str | None) -> None:
        """Render the banner for ``snap`` at ``now``."""
        self._last = (snap, now, env)
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
        if getattr(self, "_text", None) != text or getattr(self, "_wrapped_for", None) != self._width():
            self._text = text
            self._wrapped_for = self._width()
            self.update(self._wrap(text))
        self.set_class(snap is not None and snap.stale_since is not None, "stale")
        self.set_class(snap is not None and snap.stale_since is None and not snap.healthy, "unhealthy")

    def on_resize(self) -> None:
        # Which problems fit, and where the lines break, depend on the width: a banner made for a wider screen
        # took three lines after a shrink, and its last (the panes to see) was cut until the next snapshot.
        last = getattr(self, "_last", None)
        if last is not None and getattr(self, "_wrapped_for", None) != self._width():
            self.show(*last)

    def _wrap(self, text: str) -> str:
        """``text`` in lines of the banner's width that never part a pane's number from its name (``see 1``
        then ``API`` on the next line), or as it is when that would take more than two lines."""
        glued = _PANE_REF.sub(lambda m: m[0].replace(" ", _GLUE), text)
        lines = textwrap.wrap(glued, self._width() - 2, break_on_hyphens=False)
        return "\n".join(lines).replace(_GLUE, " ") if len(lines) <= 2 else text

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
