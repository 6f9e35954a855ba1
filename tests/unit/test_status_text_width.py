"""``status --once`` fits the terminal: no line wider than the width it is laid out for, and nothing that
says what is wrong (a stack, its state, its readiness, a lock id, a remedy) cut or lost on the way."""

from __future__ import annotations

import os
import unicodedata
from datetime import timedelta

import pytest

from gfwizard.commands.status import report_width
from gfwizard.redact import register_secret
from gfwizard.status_model import EventRow, StackRow, StateRow, WorkloadRow, problem_remedy
from gfwizard.status_text import node_state, render_text, stack_state
from gfwizard.textfit import Column, cell_width, elide, elide_names, fit_table, pack
from tests.status_support import FIXED_NOW, fixed_snapshot

SECRET = "s3cr3t-canary-7f2a9c41d0e8b6"
LONG_MESSAGE = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
                f"2 Insufficient memory (token {SECRET} seen). preemption: 0/3 nodes are available: 3 No preemption "
                "victims found for incoming pod.")


def _incident():
    """The fixed snapshot, plus what makes lines long: a stack running without state, a long workload
    name, a long lock holder, an event message that names a registered secret."""
    snap = fixed_snapshot()
    untracked = StackRow(env="dev", stack="runner-dashboard", role="bumble", source="untracked",
                         state=StateRow(key="gloriousflywheel/dev/runner-dashboard.tfstate", exists=False),
                         workloads=[WorkloadRow(namespace="runner-dashboard-dev", kind="Deployment",
                                                name="runner-dashboard-frontend", desired=2,
                                                ready=0, found=True, restarts=3, pods=2,
                                                crash_looping=["runner-dashboard-frontend-5f7c9b8d4-abcde"])])
    lock = snap.locks[0].model_copy(update={"who": "a-very-long-operator-name@a-very-long-host.tailnet.ts.net"})
    event = EventRow(namespace="runner-dashboard-dev", object="Pod/runner-dashboard-frontend-5f7c9b8d4-abcde",
                     reason="FailedScheduling", message=LONG_MESSAGE, count=7,
                     last_seen=FIXED_NOW - timedelta(minutes=2))
    return snap.model_copy(update={"stacks": [*snap.stacks, untracked], "locks": [lock],
                                   "events": [*snap.events, event]})


def _flat(text: str) -> str:
    """The report with its wrapping undone (each run of spaces and line breaks one space)."""
    return " ".join(text.split())


@pytest.mark.parametrize("width", [80, 200])
def test_the_report_fits_the_width_and_keeps_every_fact(width: int) -> None:
    register_secret(SECRET)
    snap = _incident()
    text = render_text(snap, width=width)
    lines = text.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert too_wide == [], too_wide
    flat = _flat(text)
    for s in snap.stacks:
        # The stack, its state whole and on the stack's own row.
        row = next(line for line in lines if line.split()[:2] == [s.env, s.stack])
        assert stack_state(s, snap.taken_at) in row, (row, text)
    assert "NO STATE, yet running" in text and "0/2" in text
    for workload in ("Deployment/arc-systems-dev/arc-dev-gha-rs-controller",
                     "Deployment/runner-dashboard-dev/runner-dashboard-frontend"):
        assert any(workload in line for line in lines), f"{workload} cut or split:\n{text}"
    assert "Deployment/runner-dashboard-dev/runner-dashboard-frontend (no state)" in flat
    # The lock id is what force-unlock takes: whole on one line.
    assert any("4b9f0c1e-1d2e-4a7b-9c3d-2e1f0a9b8c7d" in line for line in lines)
    assert "a-very-long-operator-name@a-very-long-host.tailnet.ts.net" in text and "2h00m OLD" in text
    for p in snap.problems:
        assert _flat(f"remedy: {problem_remedy(p, live=False, context=snap.cluster.context)}") in flat, p.kind
        assert _flat(f"{p.kind}: {p.subject}: {p.detail}") in flat, p.kind
    assert "[events] could not read: secrets (403): forbidden" in flat
    # The secret is redacted before the message is wrapped: no line break splits it past the redactor.
    assert SECRET not in text and SECRET not in text.replace("\n", "").replace(" ", "")
    assert "[REDACTED]" in text and "…" in text  # the long event message is elided, with its ellipsis


#: Names in wide characters (two terminal cells each): a node, a workload, a lock holder.
WIDE_NODE = "ハニー蜂ノード"
WIDE_WORKLOAD = "キャッシュサーバー本番用のとても長いワークロード名"
WIDE_HOLDER = "運用担当者@ノートパソコン.tailnet.ts.net"


def _cells(text: str) -> int:
    """Terminal cells, counted apart from the code under test: 2 for W/F, 0 for marks and format characters."""
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _wide_snapshot():
    """The fixed snapshot with wide node, workload, taint, holder and event text."""
    snap = fixed_snapshot()
    node = snap.nodes[0].model_copy(update={"name": WIDE_NODE, "taints": ["ロール=蜂:NoSchedule"]})
    workload = WorkloadRow(namespace="attic-dev", kind="Deployment", name=WIDE_WORKLOAD, desired=2, ready=1,
                           found=True, restarts=3, pods=2, crash_looping=[WIDE_WORKLOAD + "-5f7c9-abcde"])
    stack = snap.stacks[0].model_copy(update={"workloads": [*snap.stacks[0].workloads, workload]})
    lock = snap.locks[0].model_copy(update={"who": WIDE_HOLDER})
    event = snap.events[0].model_copy(update={"message": "コンテナの再起動に失敗しました。" * 12})
    return snap.model_copy(update={"nodes": [node, *snap.nodes[1:]], "stacks": [stack, *snap.stacks[1:]],
                                   "locks": [lock], "events": [event, *snap.events[1:]]})


@pytest.mark.parametrize("width", [40, 80, 120])
def test_the_report_with_wide_names_fits_the_width_in_cells(width: int) -> None:
    text = render_text(_wide_snapshot(), width=width)
    too_wide = [(_cells(line), line) for line in text.splitlines() if _cells(line) > width]
    assert too_wide == [], "\n".join(f"{n}: {line}" for n, line in too_wide)
    flat = "".join(text.split())
    for name in (WIDE_NODE, WIDE_WORKLOAD, WIDE_HOLDER):
        assert name in flat, name  # wrapped if need be, never cut


def test_a_wide_terminal_gets_the_one_line_rows() -> None:
    snap = fixed_snapshot()
    assert render_text(snap, width=200) == render_text(snap)
    lines = render_text(snap, width=200).splitlines()
    header = lines[lines.index("Stacks") + 1].split()
    assert header == ["ENV", "STACK", "ROLE", "STATE", "LAST", "APPLY", "READY", "WORKLOAD", "RESTARTS", "CRASHLOOP"]


def test_at_80_columns_the_state_last_apply_and_readiness_stay_on_the_row() -> None:
    lines = render_text(fixed_snapshot(), width=80).splitlines()
    at = lines.index("Stacks")
    assert lines[at + 1].split() == ["ENV", "STACK", "STATE", "LAST", "APPLY", "READY"]
    assert lines[at + 2].split() == ["dev", "attic", "serial", "7,", "30m", "ago", "applied", "30m", "ago", "0/1"]
    # The workload's own columns are said under its row, labelled, and wrapped between items.
    assert lines[at + 3:at + 5] == ["        workload Deployment/attic-dev/attic · restarts 14",
                                    "        crashloop attic-7d9f-x2 · role bumble"]
    nodes = lines[lines.index("Nodes") + 1].split()
    assert nodes == ["ROLE", "NODE", "STATUS", "PRESSURE", "CPU", "MEM", "PODS"]
    assert "          taints node-role.kubernetes.io/control-plane:NoSchedule" in lines


def test_a_very_narrow_width_says_each_row_as_labelled_lines() -> None:
    text = render_text(fixed_snapshot(), width=40)
    assert max(len(line) for line in text.splitlines()) <= 40, text
    assert "\n  env dev · stack gitlab-runners\n      age 2h00m OLD\n" in text
    # A value longer than the line goes on over the next (the id is 36 characters): wrapped, not cut.
    assert "4b9f0c1e-1d2e-4a7b-9c3d-2e1f0a9b8c7d" in text.replace("\n      ", "")


def test_fit_table_and_pack() -> None:
    cols = (Column("NAME"), Column("STATE"), Column("NOTE", 1))
    rows = [("a", "broken", "a long note that does not fit"), ("b", "ok", "-")]
    assert fit_table(cols, rows, 80) == ["  NAME  STATE   NOTE", "  a     broken  a long note that does not fit",
                                         "  b     ok      -"]
    assert fit_table(cols, rows, 20) == ["  NAME  STATE", "  a     broken", "        note a long",
                                         "        note that", "        does not fit", "  b     ok"]
    assert pack(["one two", "three"], 12, "  ") == ["  one two", "  three"]
    # An item longer than a line is wrapped onto more lines, not cut.
    assert pack(["workload Deployment/ns/a-name-longer-than-the-line"], 24, "    ") == [
        "    workload Deployment/", "    ns/a-name-longer-tha", "    n-the-line"]
    assert elide("runner-dashboard", 9) == "runner-d…" and elide("runner-dashboard", 9, middle=True) == "runn…oard"
    assert elide("short", 9) == "short"


def test_elide_names_keeps_each_names_start_and_end_in_the_width() -> None:
    node = "ip-10-0-113-27.eu-central-1.compute.internal-worker-pool-b"
    other = "ip-10-0-87-4.eu-central-1.compute.internal-worker-pool-a"
    assert elide_names(["bumble", "sting"], 20) == "bumble, sting" and elide_names([], 20) == "none"
    assert elide_names([], 20, empty="nowhere") == "nowhere"
    assert elide_names([node], 19) == "ip-10-0-1…er-pool-b"
    # Two names share the width while each keeps ``least`` characters; past that, the first and a count.
    assert elide_names([node, other], 20) == "ip-1…ol-b, ip-1…ol-a"
    assert elide_names([node, other, node], 20) == "ip-10-0-…r-pool-b +2"
    # A short name stays whole and leaves its share to the long one, measured in cells (this one is 23).
    wide = "ノード-東京-ワーカー-01"
    assert elide_names(["bumble", wide], 31) == f"bumble, {wide}"
    assert elide_names(["bumble", wide], 25) == "bumble, ノード-…ーカー-01"
    assert elide_names([wide, "bumble"], 25) == "ノード-…ーカー-01, bumble"
    for width in range(0, 40):
        for names in ([node], [node, other], [node, other, node], ["a", "b"], [], [wide], [wide, node]):
            assert cell_width(elide_names(names, width)) <= width, (names, width)


@pytest.mark.parametrize(("columns", "tty", "expected"), [
    (None, None, 80),        # a pipe or a file: the paste target, not this terminal
    (None, 132, 132),        # a terminal: its width
    ("200", None, 200),      # COLUMNS wins
    ("100", 132, 100),
    ("abc", None, 80),       # not a number: ignored
    ("0", 132, 132),
    ("12", None, 40),        # narrower than the least it lays out for
])
def test_the_width_comes_from_columns_then_the_terminal_then_80(
        monkeypatch: pytest.MonkeyPatch, columns: str | None, tty: int | None, expected: int) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.delenv("LINES", raising=False)

    def size(fd: int = 1) -> os.terminal_size:
        if tty is None:
            raise OSError("not a terminal")
        return os.terminal_size((tty, 40))

    monkeypatch.setattr(os, "get_terminal_size", size)
    assert report_width() == expected


@pytest.mark.parametrize("pressure", [[], ["DiskPressure"],
                                      ["MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"]])
def test_at_columns_80_a_control_plane_node_notready_and_cordoned_fits_whole(
        monkeypatch: pytest.MonkeyPatch, pressure: list[str]) -> None:
    """The live Nodes pane ran past 80 columns for this node; ``status --once`` at ``COLUMNS=80`` keeps each
    line in 80 and says its status, pressures and taints whole (the status on the node's own line)."""
    monkeypatch.setenv("COLUMNS", "80")
    snap = fixed_snapshot()
    node = snap.nodes[2].model_copy(update={"ready": False, "unschedulable": True, "pressure": pressure})
    assert node.role == "control-plane"
    text = render_text(snap.model_copy(update={"nodes": [*snap.nodes[:2], node]}), width=report_width())
    lines = text.splitlines()
    assert max(_cells(line) for line in lines) <= 80, text
    section = "\n".join(lines[lines.index("Nodes") + 1:lines.index("Stacks")])
    row = next(line for line in section.splitlines() if f" {node.name} " in f"{line} ")
    assert node.role in row and node_state(node) in row, row
    flat = " ".join(section.split())
    for fact in (",".join(node.pressure), *node.taints):
        assert fact in flat, (fact, section)
