"""The events pane: the most recent Warning events, newest first."""

from __future__ import annotations

from datetime import datetime

from gfwizard.status_model import StatusSnapshot
from gfwizard.status_text import since
from screens.status_pane import StatusPane
from screens.status_table import Row


class EventsPane(StatusPane):
    """Recent Warning events across the cluster."""

    PANE = "events"
    COLUMNS = (("Age", "age"), ("Namespace", "namespace"), ("Object", "object"), ("Reason", "reason"),
               ("Count", "count"), ("Message", "message"))
    EMPTY = "no recent warning events"

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        return [(f"{e.namespace}/{e.object}/{e.reason}/{i}",
                 (since(e.last_seen, now), e.namespace, e.object, (e.reason, "yellow"), str(e.count), e.message))
                for i, e in enumerate(snap.events)]
