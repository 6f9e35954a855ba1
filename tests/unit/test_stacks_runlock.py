"""One deploy of an environment at a time: a second run is refused naming the first, a killed run
never leaves the lock held, and the holder's own run may take it again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gfwizard.errors import CheckFailure
from gfwizard.stacks_runlock import RunLock
from tests.helpers import REPO


def test_a_second_run_is_refused_naming_the_first_until_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "journal" / "dev.lock"
    first, second = RunLock(path, "dev"), RunLock(path, "dev")
    first.acquire("run-1", "the wizard's Deploy step")
    first.acquire("run-1", "the wizard's Deploy step")  # the holder's own run takes it again (plan, then apply)
    assert first.held and path.stat().st_mode & 0o777 == 0o600
    holder = json.loads(path.read_text())
    assert (holder["run_id"], holder["pid"]) == ("run-1", os.getpid())
    with pytest.raises(CheckFailure) as refused:
        second.acquire("run-2")
    assert refused.value.message.startswith(
        f"another deploy run of dev is running on this machine (the wizard's Deploy step: run run-1, pid {os.getpid()} "
        "on ")
    assert refused.value.remedy == ("wait for it to end (or stop it where it runs), then try again; the wizard's "
                                    "Deploy step holds it from its first plan until its apply ends or the step is "
                                    "left")
    assert not second.held and json.loads(path.read_text())["run_id"] == "run-1", "the refused run wrote"
    first.release()
    second.acquire("run-2")
    assert json.loads(path.read_text())["run_id"] == "run-2"
    second.release()
    second.release()  # releasing twice is harmless


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    path = tmp_path / "dev.lock"
    code = ("import sys, time; from pathlib import Path; from gfwizard.stacks_runlock import RunLock; "
            f"lock = RunLock(Path({str(path)!r}), 'dev'); lock.acquire('killed'); print('held', flush=True); "
            "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(CheckFailure, match=r"\(run killed, pid \d+ on "):
            RunLock(path, "dev").acquire("next")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
    deadline = time.monotonic() + 5
    lock = RunLock(path, "dev")
    while True:
        try:
            lock.acquire("next")
            break
        except CheckFailure:
            assert time.monotonic() < deadline, "the lock outlived the killed run"
            time.sleep(0.05)
    assert lock.held
    lock.release()


def test_an_unreadable_holder_record_still_refuses(tmp_path: Path) -> None:
    path = tmp_path / "dev.lock"
    first = RunLock(path, "dev")
    first.acquire("run-1")
    path.write_text("not json")
    with pytest.raises(CheckFailure, match=r"running on this machine \(holder unknown\)"):
        RunLock(path, "dev").acquire("run-2")
    first.release()


def test_a_lock_path_that_is_a_directory_is_said_to_be_unusable(tmp_path: Path) -> None:
    # It was an internal error (IsADirectoryError) with a traceback, before the run said anything.
    path = tmp_path / "dev.lock"
    path.mkdir()
    lock = RunLock(path, "dev")
    with pytest.raises(CheckFailure) as caught:
        lock.acquire("run-1")
    assert caught.value.message == f"the run lock {path} of dev cannot be written: Is a directory; nothing was run"
    assert f"move {path} aside if it is not a file" in caught.value.remedy
    assert not lock.held and path.is_dir() and list(path.iterdir()) == []


def test_a_holder_record_that_cannot_be_written_refuses_and_leaves_the_lock_free(tmp_path: Path) -> None:
    # A full disk (here a file size limit): the holder's record failed to flush with a traceback, and the
    # half-made lock stayed held by a file object nobody closed.
    import resource

    path = tmp_path / "dev.lock"
    lock = RunLock(path, "dev")
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, old[1]))
    try:
        with pytest.raises(CheckFailure) as caught:
            lock.acquire("run-1")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
    assert caught.value.message == f"the run lock {path} of dev cannot be written: File too large; nothing was run"
    assert f"free space on (or fix the permissions of) {tmp_path}" in caught.value.remedy
    assert not lock.held
    again = RunLock(path, "dev")
    again.acquire("run-2")
    assert json.loads(path.read_text())["run_id"] == "run-2"
    again.release()
