"""Saved plan files: private directories, and a sweep of the plans whose process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gfwizard.paths import private_dir
from gfwizard.journal_process import pid_alive
from gfwizard.stacks_plans import UNOWNED_AGE_SECONDS, plan_name, sweep_stale_plans


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_plan_names_carry_the_process_that_made_them() -> None:
    assert plan_name("20261206T220000Z-abc123") == f"20261206T220000Z-abc123-p{os.getpid()}.tfplan"
    assert plan_name("r", pid=42) == "r-p42.tfplan"
    assert pid_alive(os.getpid()) and not pid_alive(_dead_pid()) and not pid_alive(0)


def test_private_dir_tightens_a_directory_that_already_existed(tmp_path: Path) -> None:
    shared = tmp_path / "work" / "dev" / "attic"
    shared.mkdir(parents=True, mode=0o755)
    shared.chmod(0o755)
    (shared / "kept.txt").write_text("x")
    assert private_dir(shared) == shared
    assert shared.stat().st_mode & 0o777 == 0o700
    assert (shared / "kept.txt").read_text() == "x"
    fresh = private_dir(tmp_path / "new" / "dir")
    assert fresh.stat().st_mode & 0o777 == 0o700


def test_the_sweep_removes_only_plans_whose_process_is_gone(tmp_path: Path) -> None:
    mine = tmp_path / plan_name("run-mine")
    alive = tmp_path / plan_name("run-alive", pid=os.getppid())
    dead = tmp_path / plan_name("run-dead", pid=_dead_pid())
    unowned_new = tmp_path / "20261206T220000Z-aaaaaa.tfplan"
    unowned_old = tmp_path / "20261205T220000Z-bbbbbb.tfplan"
    other = tmp_path / "notes.txt"
    for path in (mine, alive, dead, unowned_new, unowned_old, other):
        path.write_text("plan")
    now = unowned_new.stat().st_mtime
    os.utime(unowned_old, (now - UNOWNED_AGE_SECONDS - 5, now - UNOWNED_AGE_SECONDS - 5))

    removed = sweep_stale_plans(tmp_path, keep=mine, now=now)
    assert sorted(removed) == sorted([dead, unowned_old])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, alive, unowned_new, other))

    dead_mine = tmp_path / plan_name("run-x", pid=_dead_pid())
    dead_mine.write_text("plan")
    assert sweep_stale_plans(tmp_path, keep=dead_mine, now=now) == [], "the run's own plan was swept"


def test_a_pid_handed_to_a_newer_process_does_not_keep_a_killed_runs_plan(tmp_path: Path) -> None:
    import time

    from gfwizard.stacks_plans import process_started_at

    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_started_at(newer.pid)
        assert started is not None and abs(started - time.time()) < 30
        reused = tmp_path / plan_name("run-killed", pid=newer.pid)
        reused.write_text("plan of a run killed before this process existed")
        os.utime(reused, (started - 60, started - 60))
        live = tmp_path / plan_name("run-live", pid=newer.pid)
        live.write_text("plan written by this process")
        assert sweep_stale_plans(tmp_path, keep=tmp_path / "none.tfplan") == [reused]
        assert live.exists()
    finally:
        newer.kill()
        newer.wait()
