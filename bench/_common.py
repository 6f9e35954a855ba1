"""Shared helpers for the benchmarks in ``bench/``: timed child processes, alternating runs,
medians, peak RSS and a one-line note about the machine.

Every benchmark here compares gfwizard against a peer measured in the same run: the contenders
are run alternately (A B, B A, A B, ...) so that drift in machine load hits both alike, and the
report is the median of each plus the ratio ``gfwizard / peer`` (lower is better, <= 1.0 is the
usual target).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


@dataclass(frozen=True)
class Contender:
    """One command to time: a name for the report, its argv and its environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None


@dataclass(frozen=True)
class RunResult:
    """One timed run: wall seconds, the child's peak RSS in KiB, its exit code."""

    seconds: float
    peak_rss_kib: int
    returncode: int


@dataclass
class Series:
    """All runs of one contender."""

    contender: Contender
    runs: list[RunResult] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        """Wall times in seconds, in run order."""
        return [r.seconds for r in self.runs]

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return median(self.times)

    @property
    def peak_rss_kib(self) -> int:
        """The largest peak RSS seen over all runs, KiB."""
        return max((r.peak_rss_kib for r in self.runs), default=0)


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (raises ValueError when empty)."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def run_timed(contender: Contender, check: bool = True, timeout: float = 600) -> RunResult:
    """Run the contender once with stdout/stderr discarded; time it and read the child's peak RSS.

    Peak RSS comes from ``wait4``'s rusage for this child alone (Linux reports KiB). When
    ``check`` is true a non-zero exit raises, so a broken contender never produces a figure.
    """
    env = dict(os.environ) if contender.env is None else dict(contender.env)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(contender.argv), env=env, cwd=str(contender.cwd) if contender.cwd else None,
            stdout=subprocess.DEVNULL, stderr=err,
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, rusage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if check and proc.returncode != 0:
        raise RuntimeError(f"{contender.name} exited {proc.returncode}: {stderr.strip()[:500]}")
    return RunResult(seconds=elapsed, peak_rss_kib=int(rusage.ru_maxrss), returncode=proc.returncode)


def alternate(contenders: Sequence[Contender], runs: int, warmup: int = 1) -> list[Series]:
    """Run every contender ``runs`` times, alternating, after ``warmup`` untimed rounds.

    The order flips every round (A B, B A, ...) so neither contender always runs right after the
    other one warmed the page cache.
    """
    for _ in range(warmup):
        for c in contenders:
            run_timed(c)
    series = [Series(c) for c in contenders]
    for i in range(runs):
        order = series if i % 2 == 0 else list(reversed(series))
        for s in order:
            s.runs.append(run_timed(s.contender))
    return series


def ensure_bytecode() -> str:
    """Compile gfwizard's own modules to bytecode, as installing a package does, and say so.

    An editable install leaves that to the first import, and with ``PYTHONDONTWRITEBYTECODE`` set
    (as on this machine) every run would compile every module again: a cost no installed copy has.
    """
    import compileall

    ok = all([compileall.compile_dir(str(REPO / package), quiet=2) for package in ("gfwizard", "screens")])
    return "bytecode: gfwizard and screens compiled" + ("" if ok else " (some modules failed to compile)")


def machine_note() -> str:
    """CPU model, core count, memory, OS, Python and the current load average, on one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) // 1024 // 1024} GiB RAM"
                break
    except (OSError, ValueError, IndexError):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load avg %.2f %.2f %.2f" % os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} CPUs{mem}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}{load}"
    )


def report(series: Sequence[Series], baseline: str) -> str:
    """A small text table: median, min, max and peak RSS per contender, then each ratio to ``baseline``."""
    base = next(s for s in series if s.contender.name == baseline)
    lines = [f"{'contender':<34} {'runs':>4} {'median s':>9} {'min s':>8} {'max s':>8} {'peak RSS MiB':>13}"]
    for s in series:
        lines.append(
            f"{s.contender.name:<34} {len(s.runs):>4} {s.median:>9.3f} {min(s.times):>8.3f} "
            f"{max(s.times):>8.3f} {s.peak_rss_kib / 1024:>13.1f}"
        )
    for s in series:
        if s is not base:
            lines.append(f"ratio {s.contender.name} / {baseline}: {s.median / base.median:.2f}")
    return "\n".join(lines)


def venv_console(name: str) -> str:
    """The path of a console script in the project's venv (falls back to the current interpreter's bin)."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    return str(Path(sys.executable).parent / name)
