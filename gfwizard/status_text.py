"""Words and tables for a status snapshot: the human output of ``status --once`` and the cell texts
the status app shows (one formatting, so both say the same thing)."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from gfwizard.commands._common import with_config
from gfwizard.durations import duration
from gfwizard.journal_process import operator_host
from gfwizard.placement_quantity import format_cpu, format_memory
from gfwizard.redact import redact
from gfwizard.textfit import Column, elide, fit_table, wrap
from gfwizard.textsafe import printable
from gfwizard.status_model import (
    LockRow, NodeRow, Problem, StackRow, StatusSnapshot, WorkloadRow, api_failure, problem_remedy,
)


def since(at: datetime | None, now: datetime) -> str:
    """Age of ``at`` relative to ``now`` (:func:`gfwizard.durations.duration`)."""
    return duration((now - at).total_seconds()) if at is not None else "?"


def clock_time(at: datetime | None) -> str:
    """``HH:MM:SS`` UTC."""
    return at.strftime("%H:%M:%SZ") if at is not None else "-"


def cpu_pair(row: NodeRow) -> str:
    """``requested/allocatable`` cpu."""
    return f"{format_cpu(row.cpu_requested_m)}/{format_cpu(row.cpu_allocatable_m)}"


def memory_pair(row: NodeRow) -> str:
    """``requested/allocatable`` memory."""
    return f"{format_memory(row.memory_requested)}/{format_memory(row.memory_allocatable)}"


def short_taint(taint: str) -> str:
    """A taint without the well-known ``node-role.kubernetes.io/`` / ``node.kubernetes.io/`` prefixes."""
    for prefix in ("node-role.kubernetes.io/", "node.kubernetes.io/"):
        if taint.startswith(prefix):
            return taint[len(prefix):]
    return taint


def node_state(row: NodeRow, short: bool = False) -> str:
    """``Ready``, ``NotReady``, plus ``,SchedulingDisabled`` for a cordoned node (``short``: ``,Cordoned``,
    what ``kubectl cordon`` calls it, for a table with no room for kubectl's own word)."""
    text = "Ready" if row.ready else "NotReady"
    if not row.unschedulable:
        return text
    return text + (",Cordoned" if short else ",SchedulingDisabled")


#: What a workload row adds to its name when the list did not come from the state object.
SOURCE_NOTE = {"defaults": " (expected: state unreadable)", "untracked": " (no state)"}


def workload_ready(w: WorkloadRow, source: str = "state") -> str:
    """``1/1``, ``missing (0/1)``, or ``unknown`` when its kind could not be listed.

    A workload of the documented defaults (``source`` ``defaults``: the state could not be read) that
    is not in the cluster reads ``not found``, never ``missing``: without the state nobody knows
    whether it should exist.
    """
    if not w.known:
        return "unknown"
    if w.found:
        return f"{w.ready}/{w.desired}"
    return "not found" if source in ("defaults", "untracked") else f"missing (0/{w.desired})"


def stack_state(stack: StackRow, now: datetime, short: bool = False) -> str:
    """The state column: ``serial 7, 3m ago`` (``short``: ``serial 7, 3m``) / ``not applied`` / the error."""
    st = stack.state
    if st.error:
        return "unreadable" + (f" ({st.error_status})" if st.error_status else "")
    if stack.source == "untracked":
        return "NO STATE, yet running"
    if not st.exists:
        return "not applied"
    return f"serial {st.serial if st.serial is not None else '?'}, {since(st.last_modified, now)}" + (
        "" if short else " ago")


def last_apply(stack: StackRow, now: datetime, short: bool = False) -> str:
    """The journal column: ``applied 5m ago`` (``short``: ``applied 5m``) / ``-``; an apply that recorded no
    outcome adds what became of its process: ``started 5h ago, run gone (no outcome recorded)`` (``short``:
    ``started 5h, run gone``), or ``started 5h ago on host ci-1`` when it ran elsewhere."""
    a = stack.last_apply
    if a is None:
        return "-"
    text = f"{a.outcome} {since(a.ended_at or a.started_at, now)}" + ("" if short else " ago")
    if a.run_state == "gone":
        text += ", run gone" + ("" if short else " (no outcome recorded)")
    elif a.run_state == "elsewhere":
        text += f" on host {operator_host(a.operator)}"
    return text


def lock_age(lock: LockRow) -> str:
    """The lock's age, flagged when old."""
    return duration(lock.age_seconds) + (" OLD" if lock.old else "")


#: The status app's pane (its key and tab label) that shows each kind of problem.
PROBLEM_PANE = {"api-unreachable": "1 API", "fingerprint-mismatch": "1 API", "node-not-ready": "2 Nodes",
                "workload-below-desired": "3 Stacks", "crash-looping": "3 Stacks", "old-lock": "4 Locks",
                "state-unreachable": "4 Locks", "running-without-state": "3 Stacks", "run-gone": "3 Stacks"}


def problem_brief(problem: Problem) -> str:
    """A few words naming ``problem`` (``old lock dev/gitlab-runners``, ``dev/attic 0/1 ready``)."""
    if problem.kind == "api-unreachable":
        return f"API {api_failure(problem.detail)}"
    if problem.kind == "fingerprint-mismatch":
        return "fingerprint mismatch"
    if problem.kind == "node-not-ready":
        return f"{problem.subject} not Ready"
    if problem.kind in ("workload-below-desired", "crash-looping"):
        stack = problem.subject.split(" ", 1)[0]
        return f"{stack} " + (problem.detail if problem.kind == "workload-below-desired" else "crash-looping")
    if problem.kind == "old-lock":
        return f"old lock {problem.subject}"
    if problem.kind == "running-without-state":
        return f"{problem.subject} runs without state"
    if problem.kind == "run-gone":
        return f"{problem.subject} run gone"
    return "S3 state unreachable"


def _say(text: str) -> str:
    """One piece of the report as it will be printed (commands given this run's ``--config``, secrets
    redacted, control characters escaped), before it is measured and wrapped: a secret split by a
    line break would no longer be found by :func:`redact`, and ``--config`` added afterwards would
    push a line past the width."""
    return printable(redact(with_config(text)))


def _wrap(text: str, width: int | None, indent: str, subsequent: str) -> list[str]:
    return [indent + _say(text)] if width is None else wrap(_say(text), width, indent, subsequent)


def _table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None) -> list[str]:
    # Cells come from the API, the bucket and the state: escaped before they are measured.
    return fit_table(columns, [[_say(c) for c in row] for row in rows], width)


#: The columns of ``status --once``'s tables; ``moves`` says which leave a row that does not fit
#: (lowest first) to be said on the line under it. State, readiness, age and lock id never move.
NODE_COLUMNS = (Column("ROLE"), Column("NODE"), Column("STATUS"), Column("PRESSURE"), Column("TAINTS", 1),
                Column("CPU req/alloc", 3, "CPU"), Column("MEM req/alloc", 3, "MEM"), Column("PODS", 2))
STACK_COLUMNS = (Column("ENV"), Column("STACK"), Column("ROLE", 1), Column("STATE"), Column("LAST APPLY", 4),
                 Column("READY"), Column("WORKLOAD", 3), Column("RESTARTS", 3), Column("CRASHLOOP", 2))
LOCK_COLUMNS = (Column("ENV"), Column("STACK"), Column("AGE"), Column("ID"), Column("OPERATION", 2),
                Column("HOLDER", 1))
EVENT_COLUMNS = (Column("AGE"), Column("NAMESPACE", 3), Column("OBJECT"), Column("REASON"), Column("COUNT", 2),
                 Column("MESSAGE", 1))
#: An event message longer than this is elided (two lines at 80 columns).
EVENT_MESSAGE_MAX = 150


def render_text(snap: StatusSnapshot, width: int | None = None) -> str:
    """The human report of ``gfwizard status --once``, every line at most ``width`` columns (None: as
    wide as its content). A table row that does not fit says its low-priority columns on the line
    under it; a message or remedy wraps onto more lines; nothing that says what is wrong is cut."""
    now = snap.taken_at
    c = snap.cluster
    verdict = "healthy" if snap.healthy else f"UNHEALTHY ({len(snap.problems)} problem(s))"
    if snap.healthy and snap.unreadable:
        verdict += f" as far as could be read ({len(snap.unreadable)} read(s) failed, see 'Could not read')"
    out = _wrap(f"READ-ONLY status of {c.context or 'honey'} at {now:%Y-%m-%d %H:%M:%SZ} — {verdict}", width,
                "", "  ")
    if snap.stale_since is not None:
        out += _wrap(f"STALE since {clock_time(snap.stale_since)}: {snap.stale_reason}", width, "", "  ")
    out += ["", "API"]
    if c.reachable:
        latency = f"{c.latency_ms:.0f} ms" if c.latency_ms is not None else "? ms"
        out += _wrap(f"{c.server}  {c.version}  {latency}  fingerprint: {c.fingerprint}"
                     + ("" if c.server_matches_config else "  (server differs from organization.yaml)"),
                     width, "  ", "    ")
    else:
        out += _wrap(f"{c.server}  {api_failure(c.error)}: {c.error or ''}", width, "  ", "    ")
    if c.kubeconfig_note:
        out += _wrap(f"WARN kubeconfig: {c.kubeconfig_note}", width, "  ", "    ")
    out += ["", "Nodes"]
    if not snap.nodes and snap.notes_for("nodes"):
        out += _wrap("unknown: the nodes could not be read (see 'Could not read')", width, "  ", "    ")
    else:
        out += _table(NODE_COLUMNS, [
            (n.role, n.name, node_state(n), ",".join(n.pressure) or "-", ",".join(n.taints) or "-", cpu_pair(n),
             memory_pair(n), str(n.pods)) for n in snap.nodes], width)
    out += ["", "Stacks"]
    rows: list[tuple[str, ...]] = []
    for s in snap.stacks:
        # The live pane's order: the stack's state and last apply, then each workload's readiness before
        # a name of any length.
        head = (s.env, s.stack, s.role or "-", stack_state(s, now), last_apply(s, now))
        if not s.workloads:
            rows.append((*head, "-", "-", "-", "-"))
        for i, w in enumerate(s.workloads):
            cells = (workload_ready(w, s.source), f"{w.kind}/{w.namespace}/{w.name}{SOURCE_NOTE.get(s.source, '')}",
                     str(w.restarts) if w.pods_known else "?", ",".join(w.crash_looping) or "-")
            rows.append((*(head if i == 0 else ("",) * len(head)), *cells))
    out += _table(STACK_COLUMNS, rows, width)
    out += ["", "State locks"]
    if snap.locks:
        # The live pane's order: age and lock id (what force-unlock takes) before a holder name of any length.
        out += _table(LOCK_COLUMNS, [
            (lk.env, lk.stack, lock_age(lk), lk.id or lk.error, lk.operation or "?", lk.who or "?")
            for lk in snap.locks], width)
    elif snap.notes_for("locks"):
        out += _wrap("unknown: the locks could not be listed (see 'Could not read')", width, "  ", "    ")
    else:
        out.append("  none held")
    out += ["", "Recent warning events"]
    if snap.events:
        out += _table(EVENT_COLUMNS, [
            (since(e.last_seen, now), e.namespace, e.object, e.reason, str(e.count),
             elide(_say(e.message), EVENT_MESSAGE_MAX)) for e in snap.events[:10]], width)
    elif snap.notes_for("events"):
        out += _wrap("unknown: the events could not be read (see 'Could not read')", width, "  ", "    ")
    else:
        out.append("  none")
    if snap.unreadable:
        out += ["", "Could not read"]
        for u in snap.unreadable:
            out += _wrap(f"[{u.pane}] {u.note}: {u.detail}", width, "  ", "    ")
            if u.remedy:
                out += _wrap(f"remedy: {u.remedy}", width, "    ", "      ")
    if snap.problems:
        out += ["", "Problems"]
        for p in snap.problems:
            out += _wrap(f"{p.kind}: {p.subject}: {p.detail}", width, "  ", "    ")
            out += _wrap(f"remedy: {problem_remedy(p, live=False, context=c.context)}", width, "    ", "      ")
    return "\n".join(out)
