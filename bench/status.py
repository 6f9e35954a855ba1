"""Benchmark: ``gfwizard status`` on a big cluster (rehearsal honey with 300 nodes / 15,000 pods).

1. **Snapshot time**: ``gfwizard status --once --json`` against ``kubectl get nodes -o json`` plus
   ``kubectl get pods -A -o json`` (one contender: both commands in a row), alternating, same server.
   status reads more than the peer (nodes, pods, three workload kinds, Warning events, the API probe,
   the S3 state objects and locks of both environments) and still has to finish first: target ratio <= 1.0.
2. **Peak RSS** of the live status app holding that cluster (listed, watching): target <= 250 MB.
3. **Idle CPU** of the status app at a 2 s refresh while a trickle of pod updates arrives
   (``--updates`` per second, through the API server's watch): target <= 15 % of one core.

The app runs in a pseudo-terminal (120x40) exactly as an operator starts it; RSS is the child's
VmHWM, CPU its utime+stime over the measuring window, both from /proc.

    .venv/bin/python bench/status.py [--runs 5] [--nodes 300] [--pods 15000] [--idle 30] [--updates 2]

This is a benchmark, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import REPO, Contender, Series, machine_note, report, run_timed, venv_console  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def _alternate(contenders: list[Contender], runs: int) -> list[Series]:
    """Like ``_common.alternate`` but accepting exit 1 (status reports "unhealthy" with 1, not a crash)."""
    for c in contenders:
        run_timed(c, check=False)
    series = [Series(c) for c in contenders]
    for i in range(runs):
        for s in (series if i % 2 == 0 else list(reversed(series))):
            result = run_timed(s.contender, check=False)
            if result.returncode not in (0, 1):
                raise RuntimeError(f"{s.contender.name} exited {result.returncode}")
            s.runs.append(result)
    return series


def _validate(env: dict[str, str], nodes: int, pods: int) -> None:
    """Both contenders do the whole job: status reports every node (and requests summed over every
    pod), kubectl lists every pod. A status exit code 1 means "unhealthy", never a crash, here."""
    import json

    done = subprocess.run([venv_console("gfwizard"), "status", "--once", "--json"], env=env, capture_output=True,
                          text=True, timeout=300, cwd=str(REPO))
    doc = json.loads(done.stdout)
    seen = sum(n["pods"] for n in doc["nodes"])
    if done.returncode not in (0, 1) or len(doc["nodes"]) != nodes or seen < pods * 0.99:
        raise RuntimeError(f"status did not see the whole cluster: {len(doc['nodes'])} nodes, {seen} pods "
                           f"(rc {done.returncode}): {done.stderr[-500:]}")
    # Counted by name, not parsed here: this process must stay small, or every child forked from it
    # would inherit its peak RSS in ru_maxrss.
    out = subprocess.run(["kubectl", "get", "pods", "-A", "-o", "name"], env=env, capture_output=True, timeout=300)
    listed = len(out.stdout.splitlines())
    if listed != pods:
        raise RuntimeError(f"kubectl listed {listed} pods, expected {pods}")
    print(f"checked: status saw {len(doc['nodes'])} nodes and {seen} scheduled pods "
          f"(healthy={doc['healthy']}); kubectl listed {listed} pods")


def _proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


class PtyApp:
    """The status app in a pseudo-terminal, its output drained so it never blocks."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 120, rows: int = 40) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=str(REPO),
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.bytes_out = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.bytes_out += len(data)

    def quit(self) -> None:
        try:
            os.write(self.master, b"q")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


def _trickle(api: Any, per_second: float, stop: threading.Event, counter: list[int]) -> None:
    """Bump the restart count of load pods, ``per_second`` pods a second, through the store (watch events)."""
    pods = [s.obj for s in api.store.all("pods", "load")][:500]
    while not stop.wait(1.0 / per_second):
        index = counter[0] % len(pods)
        obj = copy.deepcopy(pods[index])
        for cs in obj.get("status", {}).get("containerStatuses", []):
            cs["restartCount"] = int(cs.get("restartCount", 0)) + 1
        api.store.put("pods", obj)
        pods[index] = obj
        counter[0] += 1


def _wait_listed(api: Any, started: float, timeout: float = 180) -> float:
    """Seconds from ``started`` until the app watches pods (its list is complete), from the request log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in api.request_log.entries():
            if e["path"] == "/api/v1/pods" and "watch=true" in e["query"] and e["time"] >= started:
                return float(e["time"] - started)
        time.sleep(0.2)
    raise RuntimeError("the status app never started watching pods")


def serve(nodes: int, pods: int) -> int:
    """The rehearsal services, in their own process so that the timed children are not forked from a
    process holding 15,000 pods (a forked child inherits its parent's RSS in ``ru_maxrss``).

    Prints one JSON line (the env, build time, counts), then obeys stdin lines: ``trickle RATE``,
    ``stop`` (prints the number of updates), ``watched SINCE`` (prints seconds from SINCE until the
    first pods watch request, waiting for it), ``quit``.
    """
    import json

    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    t0 = time.perf_counter()
    with RehearsalEnvironment(nodes=nodes, pods=pods) as rehearsal:
        api = rehearsal.api
        assert api is not None
        print(json.dumps({"env": rehearsal.env, "built": time.perf_counter() - t0,
                          "nodes": api.store.count("nodes"), "pods": api.store.count("pods")}), flush=True)
        stop = threading.Event()
        counter = [0]
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            if cmd == "trickle":
                stop.clear()
                threading.Thread(target=_trickle, args=(api, float(arg), stop, counter), daemon=True).start()
                print("ok", flush=True)
            elif cmd == "stop":
                stop.set()
                print(counter[0], flush=True)
            elif cmd == "watched":
                print(_wait_listed(api, float(arg)), flush=True)
            elif cmd == "quit":
                break
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per contender (default 5)")
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--pods", type=int, default=15000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement (default 30)")
    parser.add_argument("--updates", type=float, default=2.0, help="pod updates per second while idle (default 2)")
    parser.add_argument("--serve", nargs=2, type=int, metavar=("NODES", "PODS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(*args.serve)

    import json

    print(f"machine: {machine_note()}")
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.nodes), str(args.pods)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO))
    assert server.stdin is not None and server.stdout is not None

    def ask(command: str) -> str:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(command + "\n")
        server.stdin.flush()
        return server.stdout.readline().strip()

    try:
        hello = json.loads(server.stdout.readline())
        print(f"rehearsal honey: {hello['nodes']} nodes, {hello['pods']} pods (built in {hello['built']:.1f}s, "
              "in its own process)")
        env = {**os.environ, **hello["env"]}
        kubectl = "kubectl get nodes -o json >/dev/null && kubectl get pods -A -o json >/dev/null"
        contenders = [
            Contender("gfwizard status --once --json", [venv_console("gfwizard"), "status", "--once", "--json"],
                      env=env, cwd=REPO),
            Contender("kubectl get nodes + get pods -A", ["sh", "-c", kubectl], env=env, cwd=REPO),
        ]
        _validate(env, hello["nodes"], hello["pods"])
        series = _alternate(contenders, args.runs)
        print()
        print(report(series, baseline="kubectl get nodes + get pods -A"))
        ratio = series[0].median / series[1].median
        print(f"snapshot: status {series[0].median:.2f}s vs kubectl {series[1].median:.2f}s "
              f"-> ratio {ratio:.2f} (target <= 1.0)")

        # The live app: peak RSS holding the cluster, then idle CPU with a trickle of updates.
        started = time.time()
        app = PtyApp([venv_console("gfwizard"), "status", "--refresh", "2"], {**env, "TERM": "xterm-256color"})
        try:
            listed = float(ask(f"watched {started}"))
            time.sleep(5)  # first snapshot rendered, steady state
            cpu0, w0, out0 = _cpu_seconds(app.proc.pid), time.monotonic(), app.bytes_out
            ask(f"trickle {args.updates}")
            time.sleep(args.idle)
            cpu1, w1, out1 = _cpu_seconds(app.proc.pid), time.monotonic(), app.bytes_out
            updates = int(ask("stop"))
            rss_kib = _proc_status(app.proc.pid, "VmHWM")
            alive = app.proc.poll() is None
        finally:
            app.quit()
        cpu_pct = 100 * (cpu1 - cpu0) / (w1 - w0)
        print(f"live app: pods listed and watched after {listed:.1f}s; peak RSS {rss_kib / 1024:.1f} MiB "
              f"(target <= 250 MB); idle CPU {cpu_pct:.1f}% of one core over {w1 - w0:.0f}s at a 2 s refresh "
              f"with {updates} pod updates (target <= 15%; it drew {(out1 - out0) / 1024:.0f} KiB to the terminal "
              f"meanwhile); still running at the end: {alive}")
    finally:
        try:
            ask("quit")
        except (OSError, ValueError):
            pass
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
