"""The API pane: reachable, version, round trip, and the fingerprint against the pinned one."""

from __future__ import annotations

from datetime import datetime

from gfwizard.status_model import StatusSnapshot, stale_remedy
from gfwizard.status_text import clock_time, since
from screens.status_pane import StatusPane
from screens.status_table import Cell, Row

_FINGERPRINT_STYLE = {"match": "bold green", "mismatch": "bold red", "unpinned": "yellow", "unknown": "yellow"}


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
