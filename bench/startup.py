"""Benchmark: time from process start to the first painted wizard screen, against a minimal Textual app.

Both contenders are fresh interpreters running a tiny harness (this file with ``--child``), headless:

* ``wizard``: builds the app with ``screens.launch.build_app`` (the factory the CLI uses) and runs it;
  the first step screen (Preflight) paints;
* ``minimal``: a Textual app with one screen of Header, a Static and Footer.

Each harness hooks the first screen's ``on_mount`` and, right after that screen's first refresh,
prints the monotonic clock and leaves with ``os._exit(0)`` (so neither pays for shutdown or for
work started after the first paint, such as the wizard's preflight worker). The parent notes the
monotonic clock just before spawning; start-to-first-paint is the difference. Runs alternate
(wizard, minimal, minimal, wizard, ...) after one untimed warm-up round each; the report is each
median and the ratio wizard / minimal (target: <= 1.3).

    .venv/bin/python bench/startup.py [--runs 21]

This is a benchmark, not a test: it asserts nothing about timing (it fails if a harness fails).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent


def child(kind: str) -> None:
    """The harness: run ``kind``'s app headless and exit right after its first screen's first paint."""
    sys.path.insert(0, str(REPO))

    def painted() -> None:
        sys.stdout.write(f"{time.monotonic()!r}\n")
        sys.stdout.flush()
        os._exit(0)

    if kind == "wizard":
        from screens.launch import build_app
        from screens.preflight import PreflightScreen

        first_screen: type = PreflightScreen
        app = build_app(config_path=Path(os.environ["GFW_CONFIG"]), repo=REPO)
    else:
        from textual.app import App, ComposeResult
        from textual.screen import Screen
        from textual.widgets import Footer, Header, Static

        class MinimalScreen(Screen[None]):
            def compose(self) -> ComposeResult:
                yield Header()
                yield Static("1 · Hello")
                yield Footer()

            def on_mount(self) -> None:
                pass

        class Minimal(App[None]):
            def on_mount(self) -> None:
                self.push_screen(MinimalScreen())

        first_screen, app = MinimalScreen, Minimal()

    original = first_screen.on_mount

    def on_mount(self) -> None:  # type: ignore[no-untyped-def]
        original(self)
        self.call_after_refresh(painted)

    first_screen.on_mount = on_mount  # type: ignore[method-assign]
    app.run(headless=True, size=(80, 24))
    raise SystemExit("the first screen never painted")


def time_once(kind: str, env: dict[str, str]) -> float:
    """Seconds from spawning the harness to its first paint."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(HERE), "--child", kind], env=env, capture_output=True, text=True,
                          timeout=120, cwd=str(REPO))
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{kind} harness failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return float(done.stdout.strip().splitlines()[-1]) - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--child", choices=("wizard", "minimal"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    sys.path.insert(0, str(HERE.parent))
    from _common import machine_note

    with tempfile.TemporaryDirectory(prefix="gfw-bench-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GFW_", "KUBE", "AWS_"))}
        env.update(HOME=tmp, GFW_CONFIG=str(Path(tmp, "organization.yaml")), GFW_STATE_DIR=str(Path(tmp, "state")),
                   TERM="xterm-256color")
        for kind in ("wizard", "minimal"):
            time_once(kind, env)  # warm-up: page cache, .pyc files
        times: dict[str, list[float]] = {"wizard": [], "minimal": []}
        for i in range(args.runs):
            order = ("wizard", "minimal") if i % 2 == 0 else ("minimal", "wizard")
            for kind in order:
                times[kind].append(time_once(kind, env))
    print("machine:", machine_note())
    for kind, values in times.items():
        print(f"{kind:<8} runs {len(values):>3}  median {statistics.median(values) * 1000:7.1f} ms  "
              f"min {min(values) * 1000:7.1f}  max {max(values) * 1000:7.1f}")
    ratio = statistics.median(times["wizard"]) / statistics.median(times["minimal"])
    print(f"ratio wizard / minimal: {ratio:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
