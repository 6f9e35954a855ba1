"""One node whole, over the Nodes pane: a narrow table elides its taints, name, pressures and role.

A dialog, not a timed note: on-call reads a long taint list at their own pace, and it cannot linger over
the next screen (a workload's log). Read-only like everything in status mode: it can only be closed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from gfwizard.status_model import NodeRow
from gfwizard.status_text import node_state
from screens.status_table import cell_text


def node_summary(node: NodeRow) -> str:
    """The node's role, status, pressures and taints whole, in one line of text."""
    pressure = ",".join(node.pressure) or "none"
    taints = ", ".join(node.taints) or "none"
    return f"{node_title(node)}: {node_state(node)}; pressure {pressure}; taints {taints}"


def node_title(node: NodeRow) -> str:
    """``sting (role sting)``: the word says which is the role when the node is named after it."""
    return f"{node.name} (role {node.role})"


class NodeModal(ModalScreen[None]):
    """A node's name, role, status, pressures and taints, none of them cut."""

    BINDINGS = [Binding("escape,b", "dismiss", "Close")]

    def __init__(self, node: NodeRow) -> None:
        super().__init__()
        #: The node shown (as read when its row was opened).
        self.row = node

    def compose(self) -> ComposeResult:
        with Vertical(id="node-dialog", classes="dialog"):
            yield Static(cell_text(node_title(self.row)), id="node-title", classes="dialog-title",
                         markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(cell_text(node_summary(self.row)), id="node-summary", markup=False)
        yield Footer(compact=True, show_command_palette=False)
