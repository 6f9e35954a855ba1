"""A stand-in ``terraform`` for tests: logs each run, each signal it receives and each exit, and
forwards signals to the real binary. Point ``GFW_TOFU_BIN`` at :attr:`Wrapper.path`."""

from __future__ import annotations

import stat
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


WRAPPER = textwrap.dedent('''\
    #!{python}
    """Stands in for terraform: logs each run and each signal received, forwards signals to the real binary."""
    import os, signal, subprocess, sys

    def note(text):
        with open({log!r}, "a") as fh:
            fh.write(f"{{os.getpid()}} {{text}}\\n")

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    note("run " + command)
    child = subprocess.Popen([{real!r}, *sys.argv[1:]], start_new_session=True)

    def forward(sig, frame):
        note("signal " + signal.Signals(sig).name + " " + command)
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    code = child.wait()
    note(f"exit {{code}} " + command)
    sys.exit(code if code >= 0 else 128 - code)
''')


@dataclass(frozen=True)
class Wrapper:
    """A ``terraform`` wrapper script (point ``GFW_TOFU_BIN`` at :attr:`path`) and its log."""

    path: Path
    log: Path

    def lines(self) -> list[tuple[int, str]]:
        """``(wrapper pid, text)`` per logged line, in order."""
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            pid, _, text = line.partition(" ")
            out.append((int(pid), text))
        return out

    def runs(self, command: str) -> list[int]:
        """Wrapper pids that ran ``command`` (init, plan, show, apply, output...)."""
        return [pid for pid, text in self.lines() if text == f"run {command}"]

    def signals(self, name: str = "SIGINT") -> Counter[int]:
        """How many times each wrapper process received signal ``name``."""
        return Counter(pid for pid, text in self.lines() if text.startswith(f"signal {name} "))

    def exited(self, pid: int) -> int | None:
        """The exit code the real binary of wrapper ``pid`` ended with (None while it runs)."""
        for who, text in self.lines():
            if who == pid and text.startswith("exit "):
                return int(text.split()[1])
        return None


def make_wrapper(directory: Path, real: str) -> Wrapper:
    """Write the wrapper for the real binary ``real`` into ``directory``."""
    log = directory / "tofu-signals.log"
    path = directory / "wrapper-bin" / "terraform"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(WRAPPER.format(python=sys.executable, log=str(log), real=real))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return Wrapper(path, log)
