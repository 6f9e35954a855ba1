"""Benchmark: the deploy screen's log pane (``screens/logpane.py``) under a flood of terraform output.

First a real ``apply -json`` and ``plan -json`` (``$GFW_TOFU_BIN``, else ``tofu``, else
``terraform``) of a throwaway config with N ``terraform_data`` resources is recorded once, in a temp
dir (the built-in provider: nothing is downloaded). Then a producer thread replays 200,000 lines of
that recording into a ``LogPane`` inside a headless Textual app, as fast as it can call
``add_line`` — the way the deploy screen feeds it from the engine thread — spread over the four
stacks. Each replayed line is a fresh string with its resource index renumbered, like a big deploy.

What the pane receives is ``--feed message`` (default: each JSON line's ``@message``, which is what
the engine hands the deploy screen) or ``--feed json`` (the raw JSON lines: longer, the worst case
for redaction).

Measured, after an untimed warm-up flood:

* lines/s ingested: lines accepted by the pane / seconds from the first ``add_line`` until the
  pane has taken them all into its bounded buffers (target >= 50,000);
* key-press latency during the flood: an ``f`` key event (toggle follow) is sent to the app every
  ~20 ms, exactly as the terminal driver sends one; latency is from sending it to the pane's action
  running (target p99 <= 100 ms);
* RSS growth: the process's peak RSS during the flood minus RSS before it (target <= 60 MB).

    .venv/bin/python bench/logpane.py [--lines 200000] [--feed message|json] [--resources 300] [--runs 3]

This is a benchmark, not a test: it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import machine_note  # noqa: E402

STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")
TF_CONFIG = """
resource "terraform_data" "app" {
  count = %d
  input = {
    name     = "runner-${count.index}"
    image    = "ghcr.io/tinyland/arc-runner:2.321.${count.index}"
    replicas = count.index %% 5
    labels   = { "app.kubernetes.io/name" = "runner-${count.index}", "gloriousflywheel.io/role" = "sting" }
  }
}

output "names" {
  value = [for r in terraform_data.app : r.output.name]
}
"""
_INDEX = re.compile(r"\[(\d+)\]")


def iac_binary() -> str:
    """``$GFW_TOFU_BIN``, else tofu, else terraform."""
    found = os.environ.get("GFW_TOFU_BIN") or shutil.which("tofu") or shutil.which("terraform")
    if not found:
        raise SystemExit("needs tofu or terraform on PATH (or $GFW_TOFU_BIN)")
    return found


def record(resources: int) -> list[str]:
    """The JSON lines of a real ``plan -json`` + ``apply -json`` + ``plan -json`` (refresh) run."""
    binary = iac_binary()
    with tempfile.TemporaryDirectory(prefix="gfw-bench-logpane-") as tmp:
        Path(tmp, "main.tf").write_text(TF_CONFIG % resources)
        env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(Path(tmp, ".tf")))

        def run(*args: str) -> list[str]:
            done = subprocess.run([binary, *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise SystemExit(f"{binary} {' '.join(args)} failed: {done.stderr.strip()[:500]}")
            return [line for line in done.stdout.splitlines() if line.startswith("{")]

        run("init", "-input=false", "-no-color")
        lines = run("plan", "-json", "-input=false", "-out=plan.tfplan")
        lines += run("apply", "-json", "-input=false", "plan.tfplan")
        lines += run("plan", "-json", "-input=false", "-refresh=true")
    return lines


def feed_lines(recorded: list[str], feed: str) -> list[str]:
    """What the pane is given for each recorded line."""
    if feed == "json":
        return recorded
    return [str(json.loads(line).get("@message", "")) for line in recorded]


def replay(lines: list[str], total: int) -> Iterator[tuple[str, str]]:
    """``total`` (stack, line) pairs: the recording cycled, each line a fresh string with its resource
    index renumbered per cycle, in blocks of 50 lines per stack (concurrent plans interleave so)."""
    n = len(lines)
    for i in range(total):
        cycle, pos = divmod(i, n)
        line = lines[pos]
        if cycle:
            line = _INDEX.sub(lambda m: f"[{int(m.group(1)) + cycle * 1000}]", line)
        else:
            line = "".join((line, ""))  # a new object, as from a pipe
        yield STACKS[(i // 50) % len(STACKS)], line


def rss_kib() -> int:
    """This process's resident set size, KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def flood(lines: list[str], total: int, idle_seconds: float = 0.0) -> dict[str, Any]:
    """One flood of ``total`` lines into a LogPane in a headless app; the figures."""
    from textual import events
    from textual.app import App, ComposeResult
    from textual.widgets import Footer

    from screens.logpane import LogPane

    pressed: list[float] = []
    original = LogPane.action_toggle_follow

    def timed_toggle(self: LogPane) -> None:
        pressed.append(time.perf_counter())
        original(self)

    LogPane.action_toggle_follow = timed_toggle  # type: ignore[method-assign]

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            yield LogPane(id="log-pane")
            yield Footer()

    app = Bench()
    figures: dict[str, Any] = {}
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.query_one(LogPane)
            pane.query_one("#log").focus()
            await pilot.pause(0.2)
            rss_before = rss_kib()
            rss_peak = [rss_before]
            done = threading.Event()
            idle_latencies = await idle_keys(app, pressed, idle_seconds) if idle_seconds else []
            pressed.clear()
            started = time.perf_counter()

            def produce() -> None:
                add = pane.add_line
                for stack, line in replay(lines, total):
                    add(stack, line)
                done.set()

            producer = threading.Thread(target=produce, name="bench-producer", daemon=True)
            producer.start()
            sent: list[float] = []

            def press_keys() -> None:
                # Its own thread, like the terminal driver's input thread: a busy UI loop cannot delay sending.
                while not stop_keys.is_set():
                    key = events.Key("f", "f")
                    key.set_sender(app)
                    sent.append(time.perf_counter())
                    app.post_message(key)
                    rss_peak[0] = max(rss_peak[0], rss_kib())
                    stop_keys.wait(0.02)

            stop_keys = threading.Event()
            keys = threading.Thread(target=press_keys, name="bench-keys", daemon=True)
            keys.start()
            while pane.ingested < total:
                await asyncio.sleep(0.01)
                if time.perf_counter() - started > 600:
                    raise SystemExit(f"flood not ingested after 600 s ({pane.ingested}/{total})")
            finished = time.perf_counter()
            stop_keys.set()
            keys.join()
            producer.join()
            rss_peak[0] = max(rss_peak[0], rss_kib())
            deadline = time.perf_counter() + 30
            while len(pressed) < len(sent) and time.perf_counter() < deadline:
                await pilot.pause(0.05)
            latencies = [handled - at for at, handled in zip(sent, pressed)]
            if len(pressed) != len(sent):
                raise SystemExit(f"{len(sent)} key presses sent, {len(pressed)} handled")
            figures = {
                "lines": total,
                "seconds": finished - started,
                "lines_per_s": total / (finished - started),
                "produce_done": done.is_set(),
                "presses": len(latencies),
                "latencies": latencies,
                "worst": sorted(((handled - at, at - started) for at, handled in zip(sent, pressed)), reverse=True)[:3],
                "latency_p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
                "latency_p99_ms": percentile(latencies, 99) * 1000 if latencies else float("nan"),
                "latency_max_ms": max(latencies) * 1000 if latencies else float("nan"),
                "rss_growth_mb": (rss_peak[0] - rss_before) / 1024,
                "kept": sum(len(b) for b in pane.buffers.values()),
                "idle_latencies": idle_latencies,
            }
    finally:
        LogPane.action_toggle_follow = original  # type: ignore[method-assign]
    return figures


async def idle_keys(app: Any, pressed: list[float], seconds: float) -> list[float]:
    """Key-press latencies with no flood (the machine's own baseline), sent the same way."""
    from textual import events

    sent: list[float] = []
    pressed.clear()
    end = time.perf_counter() + seconds

    def press_keys() -> None:
        while time.perf_counter() < end:
            key = events.Key("f", "f")
            key.set_sender(app)
            sent.append(time.perf_counter())
            app.post_message(key)
            time.sleep(0.02)

    thread = threading.Thread(target=press_keys, daemon=True)
    thread.start()
    while thread.is_alive() or len(pressed) < len(sent):
        await asyncio.sleep(0.02)
        if time.perf_counter() > end + 10:
            break
    return [handled - at for at, handled in zip(sent, pressed)]


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--feed", choices=("message", "json"), default="message")
    parser.add_argument("--resources", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("GFW_STATE_DIR", tempfile.mkdtemp(prefix="gfw-bench-state-"))

    t0 = time.perf_counter()
    recorded = record(args.resources)
    lines = feed_lines(recorded, args.feed)
    kinds = sorted({json.loads(line).get("type", "?") for line in recorded})
    print(f"recorded {len(recorded)} JSON lines from {Path(iac_binary()).name} in {time.perf_counter() - t0:.1f}s "
          f"(types: {', '.join(kinds)}); feeding {args.feed} lines, mean {statistics.mean(map(len, lines)):.0f} chars")
    print("machine:", machine_note())
    asyncio.run(flood(lines, min(args.lines, 20_000)))  # warm-up: imports, first paints
    results = [asyncio.run(flood(lines, args.lines, idle_seconds=2.0)) for _ in range(args.runs)]
    for i, r in enumerate(results, 1):
        print(f"run {i}: {r['lines']} lines in {r['seconds']:.2f}s = {r['lines_per_s']:,.0f} lines/s; "
              f"{r['presses']} key presses, p50 {r['latency_p50_ms']:.1f} ms, p99 {r['latency_p99_ms']:.1f} ms, "
              f"max {r['latency_max_ms']:.1f} ms; RSS +{r['rss_growth_mb']:.1f} MB; {r['kept']} lines kept")
        if os.environ.get("GFW_BENCH_VERBOSE"):
            print("   worst (latency s, sent at s):", [(round(a, 3), round(b, 3)) for a, b in r["worst"]])
    rate = statistics.median(r["lines_per_s"] for r in results)
    every = [x for r in results for x in r["latencies"]]
    p99 = percentile(every, 99) * 1000
    rss = max(r["rss_growth_mb"] for r in results)
    print(f"median lines/s ingested:  {rate:,.0f} (target >= 50,000)")
    print(f"key-press latency, all {len(every)} presses of all runs: p50 {statistics.median(every) * 1000:.1f} ms, "
          f"p99 {p99:.1f} ms (target <= 100), max {max(every) * 1000:.1f} ms")
    print(f"max RSS growth:           {rss:.1f} MB (target <= 60)")
    idle = [x for r in results for x in r["idle_latencies"]]
    print(f"baseline, same app and keys without a flood ({len(idle)} presses): p50 "
          f"{statistics.median(idle) * 1000:.1f} ms, p99 {percentile(idle, 99) * 1000:.1f} ms, "
          f"max {max(idle) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
