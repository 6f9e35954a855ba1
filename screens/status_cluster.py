"""The API pane: reachable, version, round trip, and the fingerprint against the pinned one."""

from __future__ import annotations

from datetime import datetime

from gfwizard.status_model import StatusSnapshot, stale_remedy
from gfwizard.status_text import clock_time, since
from gfwizard.textfit import cell_width, wrap
from screens.status_pane import StatusPane
from screens.status_table import Cell, ColumnSpec, Row, cell_text

_FINGERPRINT_STYLE = {"match": "bold green", "mismatch": "bold red", "unpinned": "yellow", "unknown": "yellow"}
#: The fewest cells the Value column wraps to, however narrow the screen.
VALUE_LEAST = 20


class ClusterPane(StatusPane):
    """Reachability and identity of honey's API."""

    PANE = "cluster"
    COLUMNS = (("Check", "check"), ("Value", "value"))
    MARKS_STALE = False  # its "stale since" row says it

    def notes(self, snap: StatusSnapshot, rows: list[Row], env: str | None) -> list[str]:
        out = super().notes(snap, rows, env)
        if snap.stale_since is not None:
            # The banner only names what fails; the whole reason and remedy are here, wrapped, not in a cell.
            now = snap.taken_at
            out[:0] = [f"STALE since {clock_time(snap.stale_since)} ({since(snap.stale_since, now)} ago), retrying: "
                       f"{snap.stale_reason}", f"remedy: {stale_remedy(snap.stale_reason)}"]
        return out

    def fit(self, snap: StatusSnapshot, now: datetime, env: str | None) -> tuple[list[Row], list[ColumnSpec] | None]:
        """The rows, a value wider than the screen wrapped onto the rows under it: a cut went silently
        (``CA sha256 bb`` of a hash whose first 16 digits are what an operator compares), and every value
        here is short enough for a line or two."""
        rows = self.rows(snap, now, env)
        # Given even when unchanged: a Value width fixed for a narrower screen would stay after a widening.
        fitted, columns = rows, list(self.COLUMNS)
        for _ in range(2):  # wrapping adds rows, which can bring the scrollbar, which takes a column
            widths, spare = self.widths_and_spare(fitted, self.COLUMNS)
            if spare >= 0:
                break
            room = max(VALUE_LEAST, widths[1] + spare)
            fitted = [line for row in rows for line in _wrapped(row, room)]
            columns = [self.COLUMNS[0], ("Value", "value", room)]
        return fitted, columns

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        c = snap.cluster
        reach: Cell = ("reachable", "bold green") if c.reachable else ("UNREACHABLE", "bold red")
        rows: list[Row] = [
            ("server", ("server", (c.server or "-") + ("" if c.server_matches_config
                                                       else "  (differs from organization.yaml)"))),
            ("context", ("context", c.context or "-")),
            ("api", ("API", reach)),
            ("version", ("version", c.version or "-")),
            ("latency", ("round trip", f"{c.latency_ms:.0f} ms" if c.latency_ms is not None else "-")),
            ("fingerprint", ("fingerprint", (c.fingerprint, _FINGERPRINT_STYLE[c.fingerprint]))),
            ("fingerprint-detail", ("", c.fingerprint_detail or "-")),
        ]
        if c.kubeconfig_note:
            rows.append(("kubeconfig", ("kubeconfig", (c.kubeconfig_note, "yellow"))))
        if c.error:
            rows.append(("error", ("error", (c.error, "red"))))
        if snap.stale_since is not None:
            rows.append(("stale", ("stale since", (f"{clock_time(snap.stale_since)} — {snap.stale_reason}",
                                                   "bold yellow"))))
        return rows


def _wrapped(row: Row, room: int) -> list[Row]:
    """``row`` as it is when its value fits ``room`` cells, else its value wrapped over rows with an empty
    Check (keyed ``<key>+1``, ``<key>+2``…), each line in the value's style."""
    key, (check, value) = row
    text = cell_text(value)
    if cell_width(text) <= room:
        return [row]
    style = value[1] if isinstance(value, tuple) else ""
    return [(key if i == 0 else f"{key}+{i}", (check if i == 0 else "", (line, style) if style else line))
            for i, line in enumerate(wrap(text, room))]
