"""Atomic writes: old or new content, never torn; unchanged content is not rewritten; leftovers swept."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from gfwizard.atomic import STALE_TEMP_SECONDS, atomic_write, write_if_changed


def test_atomic_write_replaces_content_and_sets_mode(tmp_path: Path) -> None:
    target = tmp_path / "organization.yaml"
    target.write_text("old\n")
    atomic_write(target, "new\n", 0o644)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    atomic_write(target, b"private\n", 0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["organization.yaml"]


def test_write_if_changed_leaves_an_identical_file_alone(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "dev.s3.tfbackend"
    assert write_if_changed(target, "bucket = \"b\"\n") is True
    before = target.stat()
    time.sleep(0.01)
    assert write_if_changed(target, "bucket = \"b\"\n") is False
    after = target.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert write_if_changed(target, "bucket = \"c\"\n") is True
    assert target.read_text() == "bucket = \"c\"\n"


def test_old_leftovers_of_a_killed_writer_are_swept_recent_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "organization.yaml"
    old = tmp_path / ".organization.yaml.abc123.tmp"
    recent = tmp_path / ".organization.yaml.def456.tmp"
    other = tmp_path / ".other.yaml.zzz.tmp"
    for leftover in (old, recent, other):
        leftover.write_text("half a fi")
    stale = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(old, (stale, stale))
    os.utime(other, (stale, stale))
    atomic_write(target, "version: 1\n")
    assert not old.exists()
    assert recent.exists()  # may be another writer's, in progress
    assert other.exists()  # belongs to another target
    assert target.read_text() == "version: 1\n"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "organization.yaml"
    target.write_text("old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    try:
        atomic_write(target, "new\n")
    except OSError as exc:
        assert "No space left" in str(exc)
    else:  # pragma: no cover - the write must fail
        raise AssertionError("atomic_write did not raise")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["organization.yaml"]
