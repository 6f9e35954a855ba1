"""Secrets in the free text status shows from outside, against the rehearsal services: a lock holder's Who and
Info (written by another operator's binary), an S3 error whose message quotes the request's credential (a
store or a proxy in front of it may echo one), and a container's termination and waiting messages. A canary in
each never reaches any pane, the workload screen, ``status --once`` or ``status --once --json``; where the
field is shown, ``[REDACTED]`` stands in its place."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import timedelta
from typing import Any

from screens.status_app import StatusApp, build_status_app
from screens.status_banner import ReadOnlyBanner
from screens.status_pane import StatusPane
from screens.status_table import DiffTable, cell_text
from tests.functional.test_status_app import FAST, _assert_nothing_written, _digests, _until
from tests.helpers import run_cli
from tests.status_support import put_lock, seed_deploy, twin_outputs

#: The lock object whose read the store refuses, quoting the credential.
REFUSED_LOCK = "runner-dashboard.tfstate.tflock"


def _screen_text(app: StatusApp) -> str:
    """Everything the screen shows now, plus every cell of every table and the notes (a cell wider than its
    column is cut on screen, and the whole of it must be clean too)."""
    parts = [strip.text for strip in app.screen._compositor.render_strips()]
    for table in app.screen.query(DiffTable):
        parts += [cell_text(c) for cells in table.shown.values() for c in cells]
    parts += [str(getattr(pane, "_notes_text", "")) for pane in app.query(StatusPane)]
    parts += [str(getattr(banner, "_text", "")) for banner in app.screen.query(ReadOnlyBanner)]
    return "\n".join(parts)


def _hurt_pod(ws: Any, namespace: str, canary: str) -> None:
    """The workload's pod, crash-looping: its last termination message, its waiting message and a condition's
    message quote a token (the kubelet copies a container's termination log into its status)."""
    stored = ws.api.store.all("pods", namespace)[0]
    pod = json.loads(stored.raw)
    status = pod["status"]
    for cs in status.get("containerStatuses") or []:
        cs["state"] = {"waiting": {"reason": "CrashLoopBackOff",
                                   "message": f"back-off restarting failed container: token={canary}"}}
        cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error",
                                          "message": f"vault: login failed with token {canary}"}}
    status["conditions"] = [*(status.get("conditions") or []),
                            {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                             "message": f"containers with unready status: [main] password={canary}"}]
    ws.api.store.put("pods", pod)


async def test_secrets_from_lock_files_s3_errors_and_pod_statuses_never_reach_the_screen_or_json(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    from tests.backend_doubles import S3Proxy

    ws = rehearsal_workspace
    canary = "CanaryStatus" + secrets.token_hex(6)
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"))
    _hurt_pod(ws, "attic-dev", canary)
    put_lock(ws, "dev", "gitlab-runners", age=timedelta(hours=2), who=f"ci-runner password={canary}",
             info=f"pipeline 42 token={canary}")
    put_lock(ws, "dev", "runner-dashboard", age=timedelta(minutes=1))
    store_down = threading.Event()
    proxy = S3Proxy(ws.s3.endpoint, fail_status=400, fail_error=("InvalidToken", f"refused X-Amz-Security-Token={canary}"),
                    fail_when=lambda _method, path: store_down.is_set() or REFUSED_LOCK in path).__enter__()
    env = {**ws.env, "AWS_ENDPOINT_URL_S3": proxy.endpoint}
    ws.api.request_log.clear()
    ws.s3.request_log.clear()
    before = _digests(ws)
    shown: dict[str, str] = {}
    try:
        # `status --once`, as text and as JSON: the JSON is still JSON, and says [REDACTED] where the canary was.
        once = run_cli(["status", "--once", "--env", "dev"], env={**env, "COLUMNS": "250"})
        shown["status --once"] = once.stdout + once.stderr
        done = run_cli(["status", "--once", "--json", "--env", "dev"], env=env)
        shown["status --once --json"] = done.stdout + done.stderr
        doc = json.loads(done.stdout)
        locks = {lock["stack"]: lock for lock in doc["locks"]}
        assert locks["gitlab-runners"]["who"] == "ci-runner password=[REDACTED]", locks
        assert "X-Amz-Security-Token=[REDACTED]" in locks["runner-dashboard"]["error"], locks

        app = build_status_app(ws.config_path, env, options=FAST, tick_seconds=0.2)
        async with app.run_test(size=(220, 50)) as pilot:
            locks_table = app.query_one("#locks-table", DiffTable)
            await _until(pilot, lambda: len(locks_table.shown) == 2, what="both locks")
            cells = " ".join(cell_text(c) for row in locks_table.shown.values() for c in row)
            assert "ci-runner password=[REDACTED]" in cells and "X-Amz-Security-Token=[REDACTED]" in cells, cells
            for key in ("1", "2", "3", "4", "5"):
                await pilot.press(key)
                await pilot.pause()
                shown[f"pane {key}"] = _screen_text(app)
            await pilot.press("3")
            stacks = app.query_one("#stacks-table", DiffTable)
            stacks.move_cursor(row=list(stacks.shown).index(next(k for k in stacks.shown if k.endswith("/attic"))))
            await pilot.press("enter")
            await _until(pilot, lambda: app.screen.__class__.__name__ == "WorkloadScreen", what="workload screen")
            pods = app.screen.query_one("#pods-table", DiffTable)
            await _until(pilot, lambda: "CrashLoopBackOff" in str(pods.shown), what="the crash-looping pod")
            shown["workload screen"] = _screen_text(app)
            await pilot.press("escape")
            await _until(pilot, lambda: app.screen.__class__.__name__ != "WorkloadScreen", what="back")

            # The store goes down, answering every read with the same message: the API pane's stale row quotes it.
            proxy.fail_status = 503
            store_down.set()
            await pilot.press("1")
            await _until(pilot, lambda: "stale" in app.query_one("#cluster-table", DiffTable).shown,
                         what="the stale row")
            # A value wider than the pane is wrapped over rows keyed stale+1, stale+2…: read the row whole.
            cluster = app.query_one("#cluster-table", DiffTable).shown
            stale = " ".join(cell_text(cluster[k][1]) for k in cluster if k == "stale" or k.startswith("stale+"))
            assert "X-Amz-Security-Token=[REDACTED]" in stale, stale
            shown["pane 1, store down"] = _screen_text(app)
            await pilot.press("q")
    finally:
        proxy.__exit__()

    hits = [where for where, text in shown.items() if canary in text]
    assert hits == [], hits
    _assert_nothing_written(ws, before)
