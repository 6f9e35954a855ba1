"""The nodes pane: every node of honey by role (bumble, sting, control plane), Ready, pressure,
taints, and requested vs allocatable cpu and memory."""

from __future__ import annotations

from datetime import datetime

from gfwizard.status_model import StatusSnapshot
from gfwizard.status_text import cpu_pair, memory_pair, node_state, short_taint
from screens.status_pane import StatusPane
from screens.status_table import Row


class NodesPane(StatusPane):
    """Nodes grouped by placement role."""

    PANE = "nodes"
    COLUMNS = (("Role", "role"), ("Node", "node"), ("Status", "status"), ("CPU req/alloc", "cpu"),
               ("Mem req/alloc", "memory"), ("Pods", "pods"), ("Pressure", "pressure"), ("Taints", "taints"))
    EMPTY = "no nodes to show"
    PROBLEMS = ("node-not-ready",)

    def rows(self, snap: StatusSnapshot, now: datetime, env: str | None) -> list[Row]:
        rows: list[Row] = []
        for n in snap.nodes:
            status = (node_state(n), "bold green" if n.ready and not n.unschedulable else "bold red")
            pressure = (",".join(n.pressure), "bold yellow") if n.pressure else "-"
            rows.append((n.name, (n.role, n.name, status, cpu_pair(n), memory_pair(n), str(n.pods), pressure,
                                  ",".join(short_taint(t) for t in n.taints) or "-")))
        return rows
