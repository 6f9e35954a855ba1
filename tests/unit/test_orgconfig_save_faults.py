"""Saving organization.yaml over what an operator really has: CRLF, a BOM, a read-only file, a symlink
loop, a full disk, a second writer. Each bad case names the problem and a remedy, and leaves the file,
its .bak and the directory exactly as they were."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from gfwizard import orgconfig_write
from gfwizard.errors import InputError
from gfwizard.orgconfig import load_config, load_config_text, render_config, save_config
from gfwizard.orgconfig_write import ConfigChangedError, backup_path, read_existing
from tests.unit.test_orgconfig import example_text

UID = "6f1c2b3a-1111-2222-3333-444455556666"
SHA = "ab" * 32
OLD_BACKUP = b"# the backup of an earlier write\n"


def pinned():  # type: ignore[no-untyped-def]
    return load_config_text(example_text()).with_fingerprint(UID, SHA)


def listing(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under ``root``: mode and bytes (a symlink: its target), so renames and modes count too."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for entry in sorted(root.rglob("*")):
        info = entry.lstat()
        content: bytes | str = (os.readlink(entry) if entry.is_symlink() else
                                "dir" if entry.is_dir() else entry.read_bytes())
        out[entry.relative_to(root).as_posix()] = (info.st_mode, content)
    return out


def config_with_backup(tmp_path: Path, text: bytes | None = None) -> Path:
    path = tmp_path / "organization.yaml"
    path.write_bytes(example_text().encode() if text is None else text)
    backup_path(path).write_bytes(OLD_BACKUP)
    return path


@pytest.mark.parametrize("bom", [False, True], ids=["lf", "bom"])
def test_a_crlf_file_is_rewritten_with_crlf_on_every_line(tmp_path: Path, bom: bool) -> None:
    original = ("\ufeff" if bom else "") + example_text().replace("\n", "\r\n")
    path = tmp_path / "organization.yaml"
    path.write_bytes(original.encode("utf-8"))
    shown = render_config(pinned(), read_existing(path))  # what the diff is made of
    save_config(pinned(), path)
    written = path.read_bytes()
    assert written == shown.encode("utf-8")
    assert written.count(b"\n") == written.count(b"\r\n"), "mixed line endings"
    assert written.startswith(b"\xef\xbb\xbf") is bom
    assert backup_path(path).read_bytes() == original.encode("utf-8")
    assert load_config(path) == pinned()
    # Only the pinned lines differ: the line ending style is not a change.
    added = set(written.decode().splitlines()) - set(original.splitlines())
    assert added == {"  fingerprint:", f"    kube_system_uid: {UID}", f"    ca_sha256: {SHA}"}


def test_read_existing_keeps_crlf(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_bytes(b"version: 1\r\n")
    assert read_existing(path) == "version: 1\r\n"
    assert read_existing(tmp_path / "absent.yaml") is None


def test_a_failed_rename_leaves_the_file_and_the_old_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_with_backup(tmp_path)
    before = listing(tmp_path)
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        if Path(dst) == path:
            raise OSError(1, "Operation not permitted")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(InputError, match=f"cannot write {path}: Operation not permitted; nothing was written") as info:
        save_config(pinned(), path)
    assert "check the permissions" in info.value.remedy
    assert listing(tmp_path)[backup_path(path).name] == before[backup_path(path).name]
    assert set(listing(tmp_path)) == set(before), "a temp file was left behind"


def test_a_full_disk_leaves_the_file_and_the_old_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_with_backup(tmp_path)
    before = listing(tmp_path)
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:  # the data of the new file does not fit
        if os.fstat(fd).st_size == len(render_config(pinned(), example_text()).encode()):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(InputError, match="No space left on device; nothing was written") as info:
        save_config(pinned(), path)
    assert f"df -h {tmp_path}" in info.value.remedy
    assert listing(tmp_path) == before


def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    path = config_with_backup(tmp_path)
    path.chmod(0o444)
    before = listing(tmp_path)
    with pytest.raises(InputError, match=r"is read-only \(mode 0444\); nothing was written") as info:
        save_config(pinned(), path)
    assert f"chmod u+w {path}" in info.value.remedy
    assert listing(tmp_path) == before
    save_config(load_config(path), path)  # nothing to change: no error, nothing written
    assert listing(tmp_path) == before


def test_a_symlink_loop_is_named_with_a_remedy(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.symlink_to(tmp_path / "organization.yaml")
    before = listing(tmp_path)
    with pytest.raises(InputError, match="symlink that loops") as info:
        save_config(pinned(), path)
    assert f"ls -l {path}" in info.value.remedy
    with pytest.raises(InputError, match="cannot read config file .*symbolic links"):
        load_config(path)
    assert listing(tmp_path) == before


def test_a_backup_path_that_is_a_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text())
    backup_path(path).mkdir()
    before = listing(tmp_path)
    with pytest.raises(InputError, match=f"as {backup_path(path)}: that is a directory; nothing was written"):
        save_config(pinned(), path)
    assert listing(tmp_path) == before


def test_a_directory_in_place_of_the_parent_is_named(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("a file, not a directory\n")
    before = listing(tmp_path)
    with pytest.raises(InputError, match="a file stands where its directory should be"):
        save_config(pinned(), tmp_path / "config" / "organization.yaml")
    assert listing(tmp_path) == before


def test_a_file_changed_since_it_was_shown_is_not_overwritten(tmp_path: Path) -> None:
    path = config_with_backup(tmp_path)
    shown = read_existing(path)
    path.write_text(example_text().replace("full_name: Tinyland", "full_name: Edited Elsewhere"))
    before = listing(tmp_path)
    with pytest.raises(ConfigChangedError, match="changed on disk after it was read") as info:
        save_config(pinned(), path, expected=shown)
    assert "diff against it" in info.value.remedy
    assert listing(tmp_path) == before
    with pytest.raises(ConfigChangedError):  # a file created since "there was none" counts too
        save_config(pinned(), path, expected=None)
    assert listing(tmp_path) == before


def test_a_second_writer_waits_for_the_first_then_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = config_with_backup(tmp_path)
    before = listing(tmp_path)
    monkeypatch.setattr(orgconfig_write, "LOCK_WAIT_SECONDS", 0.2)
    holder = os.open(tmp_path, os.O_RDONLY)  # another gfwizard in the middle of its write
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another gfwizard has been writing") as info:
            save_config(pinned(), path)
        assert "then write again" in info.value.remedy
        assert listing(tmp_path) == before
    finally:
        os.close(holder)
    save_config(pinned(), path)  # the lock is gone: the write goes through
    assert load_config(path) == pinned()


def test_a_huge_file_is_refused_unread_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    path.write_text(example_text() + ("# " + "x" * 98 + "\n") * 20_000)  # 2 MB of comments
    before = listing(tmp_path)
    with pytest.raises(InputError, match=r"is 19\d\d KiB: an organization config is a few KiB") as info:
        load_config(path)
    assert "--config" in info.value.remedy
    with pytest.raises(InputError, match="an organization config is a few KiB"):
        save_config(pinned(), path)
    assert listing(tmp_path) == before


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "organization.yaml"
    os.mkfifo(path)
    with pytest.raises(InputError, match="not a regular file"):
        load_config(path)
    with pytest.raises(InputError, match="not a regular file"):
        save_config(pinned(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["organization.yaml"]
