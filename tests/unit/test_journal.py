"""The run journal: append-only JSON lines, redacted, robust to torn lines, folded into runs."""

from __future__ import annotations

import json
import resource
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gfwizard.errors import InputError
from gfwizard.journal import (
    JOURNAL_SCHEMA, Journal, JournalEntry, JournalWriteError, LockHolder, new_run_id, operator_id,
)
from gfwizard.redact import register_secret
from gfwizard.tofu_summary import PlanSummary

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def entry(run: str, stack: str, action: str, outcome: str, **kw: object) -> JournalEntry:
    return JournalEntry(run_id=run, env="dev", stack=stack, action=action, outcome=outcome,  # type: ignore[arg-type]
                        started_at=T0, **kw)  # type: ignore[arg-type]


def test_append_and_read_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j" / "dev.jsonl")
    summary = PlanSummary(add=2, creates=["a", "b"])
    lock = LockHolder(id="abc-123", who="alice@host", operation="OperationTypeApply", created=T0)
    journal.append(entry("r1", "attic", "plan", "planned", plan_hash="sha256:1", summary=summary))
    journal.append(entry("r1", "attic", "apply", "locked", lock=lock, lock_id="abc-123", ended_at=T0))
    read = journal.entries()
    assert [e.outcome for e in read] == ["planned", "locked"]
    assert read[0].summary == summary and read[1].lock == lock and read[1].lock_id == "abc-123"
    assert oct((tmp_path / "j" / "dev.jsonl").stat().st_mode & 0o777) == "0o600"
    assert all(json.loads(line) for line in (tmp_path / "j" / "dev.jsonl").read_text().splitlines())


def test_entries_are_redacted_on_write(tmp_path: Path) -> None:
    register_secret("journal-canary-93jd8")
    journal = Journal(tmp_path / "dev.jsonl")
    journal.append(entry("r1", "attic", "apply", "failed", error="apply failed: journal-canary-93jd8 token: xyz987abc"))
    text = (tmp_path / "dev.jsonl").read_text()
    assert "journal-canary-93jd8" not in text and "xyz987abc" not in text
    assert "[REDACTED]" in journal.entries()[0].error  # type: ignore[operator]


def test_torn_and_foreign_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    journal.append(entry("r1", "attic", "plan", "planned"))
    with path.open("a") as fh:
        fh.write('{"run_id": "r1", "stack": "at\n')  # gfwizard killed mid-write
        fh.write("not json at all\n\n")
    journal.append(entry("r1", "attic", "apply", "applied"))
    assert [e.outcome for e in journal.entries()] == ["planned", "applied"]
    assert journal.unreadable_lines == [2, 3]


def test_an_append_after_a_torn_last_line_keeps_the_new_entry_whole(tmp_path: Path) -> None:
    # A crash mid-write leaves a last line without its newline; the next run's first entry was glued onto it
    # and lost with it (one unreadable line where there were two records).
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    journal.append(entry("r1", "attic", "plan", "planned"))
    with path.open("a") as fh:
        fh.write('{"run_id": "r1", "stack": "attic", "act')
    journal.append(entry("r2", "attic", "apply", "applied"))
    fresh = Journal(path)
    assert [(e.run_id, e.outcome) for e in fresh.entries()] == [("r1", "planned"), ("r2", "applied")]
    assert fresh.unreadable_lines == [2]
    assert path.read_text().splitlines()[1] == '{"run_id": "r1", "stack": "attic", "act'


def test_a_write_that_fails_midway_leaves_no_half_line_and_says_why(tmp_path: Path) -> None:
    # A file size limit (or a full disk) lets os.write write part of the line: a half record was left
    # behind silently, and the next line glued onto it.
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    journal.append(entry("r1", "attic", "plan", "planned"))
    before = path.read_bytes()
    limit = len(before) + 100
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        with pytest.raises(JournalWriteError) as caught:
            journal.append(entry("r2", "attic", "apply", "applied", error="x" * 500))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
    assert caught.value.message == f"the run journal {path} cannot be written: File too large; the entry was not " \
                                   "recorded"
    assert f"free space on (or fix the permissions of) {tmp_path}" in caught.value.remedy
    assert path.read_bytes() == before
    journal.append(entry("r3", "attic", "apply", "applied"))
    assert [e.run_id for e in Journal(path).entries()] == ["r1", "r3"]


def test_a_journal_that_is_a_directory_is_not_written_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.mkdir()
    with pytest.raises(JournalWriteError, match=r"cannot be written: Is a directory; the entry was not recorded"):
        Journal(path).append(entry("r1", "attic", "plan", "planned"))
    assert path.is_dir() and list(path.iterdir()) == []


def test_missing_journal_is_empty(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "none.jsonl")
    assert journal.entries() == [] and journal.runs() == [] and journal.last_run() is None
    assert journal.last_deploy("attic") is None


def test_runs_fold_to_the_last_entry_per_stack_and_action(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "dev.jsonl")
    for e in [entry("r1", "attic", "plan", "planned"), entry("r1", "attic", "apply", "started"),
              entry("r1", "attic", "apply", "applied"), entry("r1", "arc", "plan", "planned"),
              entry("r1", "arc", "apply", "started"),
              entry("r2", "attic", "skip", "skipped"), entry("r2", "arc", "apply", "failed")]:
        journal.append(e)
    first, second = journal.runs()
    assert first.outcome("attic") == "applied" and first.outcome("arc") == "started"
    assert [e.stack for e in first.unfinished] == ["arc"] and first.resumable
    assert second.outcome("attic") == "skipped" and second.resumable
    assert journal.last_run() is not None and journal.last_run().run_id == "r2"  # type: ignore[union-attr]
    last = journal.last_deploy("attic")
    assert last is not None and last.outcome == "skipped"


def test_completed_run_is_not_resumable(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "dev.jsonl")
    journal.append(entry("r1", "attic", "plan", "planned"))
    journal.append(entry("r1", "attic", "apply", "no-changes"))
    run = journal.last_run()
    assert run is not None and not run.resumable and run.unfinished == []


def test_resume_continues_the_last_run_that_set_out_to_deploy(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "dev.jsonl")
    journal.append(entry("r1", "attic", "apply", "applied"))
    journal.append(entry("r1", "arc-runners", "apply", "failed", selection=("attic", "arc-runners")))
    journal.append(entry("r2", "attic", "plan", "planned", plan_only=True))  # a preview
    journal.append(entry("r3", "attic", "plan", "planned"))  # its apply was declined
    journal.append(entry("r3", "arc-runners", "plan", "planned"))
    assert journal.last_run().run_id == "r3"  # type: ignore[union-attr]
    attempt = journal.last_attempt()
    assert attempt is not None and attempt.run_id == "r1" and attempt.resumable
    assert attempt.selection == ("attic", "arc-runners")
    journal.append(entry("r4", "gitlab-runners", "plan", "locked"))  # stopped at a lock while planning
    assert journal.last_attempt().run_id == "r4"  # type: ignore[union-attr]
    journal.append(entry("r5", "gitlab-runners", "plan", "failed", plan_only=True))  # a failed preview
    assert journal.last_attempt().run_id == "r4"  # type: ignore[union-attr]
    assert Journal(tmp_path / "none.jsonl").last_attempt() is None


def test_lock_age() -> None:
    lock = LockHolder(id="x", created=T0)
    assert lock.age_seconds(T0 + timedelta(minutes=5)) == 300.0
    assert LockHolder(id="x").age_seconds() is None


def test_run_ids_sort_by_time_and_operator_names_the_host() -> None:
    a = new_run_id()
    assert len(a) == len("20250101T120000Z-1a2b3c") and a[8] == "T"
    assert "@" in operator_id()


def _full_read(path: Path) -> list[JournalEntry]:
    """The oracle: every readable line of the file parsed from scratch."""
    return _full_read_numbered(path)[0]


def _full_read_numbered(path: Path, complete_only: bool = False) -> tuple[list[JournalEntry], list[int]]:
    """The oracle, with the line numbers of the unreadable lines (``complete_only``: ending in a newline)."""
    entries: list[JournalEntry] = []
    unreadable: list[int] = []
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entries.append(JournalEntry.model_validate_json(line))
        except ValueError:
            if not (complete_only and number == len(lines)):
                unreadable.append(number)
    return entries, unreadable


def test_incremental_reads_equal_a_full_read_after_every_kind_of_write(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    writes = [
        lambda: journal.append(entry("r1", "attic", "plan", "planned")),
        lambda: Journal(path).append(entry("r1", "attic", "apply", "started")),  # another writer
        lambda: path.open("a").write('{"run_id": "r1", "sta'),  # a write in progress (no newline yet)
        lambda: path.open("a").write('ck": "x"}\n'),  # ... finished: one unreadable line
        lambda: journal.append(entry("r1", "attic", "apply", "applied")),
        lambda: path.open("a").write("\n\nnot json\n"),
        lambda: journal.append(entry("r2", "arc-runners", "plan", "planned")),
    ]
    for i, write in enumerate(writes):
        write()
        got = journal.entries()
        assert got == _full_read(path), f"after write {i}"
        assert journal.unreadable_lines == _full_read_numbered(path, complete_only=True)[1], f"after write {i}"
    assert [e.outcome for e in journal.entries()] == ["planned", "started", "applied", "planned"]
    assert journal.unreadable_lines == [3, 7]
    assert journal.last_run().run_id == "r2"  # type: ignore[union-attr]


def test_a_journal_replaced_truncated_or_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    for stack in ("attic", "arc-runners", "gitlab-runners"):
        journal.append(entry("r1", stack, "plan", "planned"))
    assert len(journal.entries()) == 3

    other = tmp_path / "other.jsonl"  # replaced by another file (a restore from backup)
    Journal(other).append(entry("r9", "attic", "apply", "applied"))
    other.replace(path)
    assert [(e.run_id, e.outcome) for e in journal.entries()] == [("r9", "applied")]

    with path.open("w"):  # truncated
        pass
    assert journal.entries() == [] and journal.unreadable_lines == []

    for stack in ("attic", "arc-runners"):
        journal.append(entry("r2", stack, "plan", "planned"))
    assert len(journal.entries()) == 2
    # Rewritten in place (same inode), longer than before: a hand edit, say.
    lines = path.read_text().splitlines()
    rewritten = [line.replace('"r2"', '"r3"') for line in lines] + [lines[0].replace('"r2"', '"r3"')]
    with path.open("r+") as fh:
        fh.write("\n".join(rewritten) + "\n")
    assert [e.run_id for e in journal.entries()] == ["r3", "r3", "r3"]
    assert journal.entries() == _full_read(path)


def test_a_long_history_is_parsed_once_per_process(tmp_path: Path, monkeypatch: object) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    lines = [entry(f"r{i:03d}", "attic", "apply", "applied").model_dump_json() for i in range(300)]
    path.write_text("\n".join(lines) + "\n")
    parsed: list[str] = []
    real = JournalEntry.model_validate_json

    def counting(data: str, **kw: object) -> JournalEntry:
        parsed.append(data)
        return real(data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(JournalEntry, "model_validate_json", counting)  # type: ignore[attr-defined]
    assert journal.last_run().run_id == "r299"  # type: ignore[union-attr]
    assert len(parsed) == 300
    journal.last_run()
    journal.last_deploy("attic")
    assert len(parsed) == 300  # nothing new: nothing parsed again
    journal.append(entry("r300", "attic", "apply", "failed"))
    assert journal.last_deploy("attic").outcome == "failed"  # type: ignore[union-attr]
    assert len(parsed) == 301  # only the appended line


def test_readers_in_several_threads_share_one_journal_safely(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    lines = [entry(f"r{i:03d}", "attic", "apply", "applied").model_dump_json() for i in range(400)]
    path.write_text("\n".join(lines) + "\n")
    seen: list[int] = []
    start = threading.Barrier(4)

    def read() -> None:
        start.wait()
        for _ in range(5):
            seen.append(len(journal.entries()))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    assert seen == [400] * 20  # never a half-parsed or doubled list
    assert journal.entries() == _full_read(path)


def test_last_known_deploy_passes_over_applies_that_changed_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "dev.jsonl")
    journal.append(entry("r1", "attic", "apply", "started"))
    journal.append(entry("r1", "attic", "apply", "applied"))
    journal.append(entry("r2", "attic", "apply", "gate-failed"))
    journal.append(entry("r3", "attic", "apply", "started"))
    journal.append(entry("r3", "attic", "apply", "locked"))
    journal.append(entry("r4", "attic", "plan", "failed"))
    assert journal.last_deploy("attic").outcome == "locked"  # type: ignore[union-attr]
    known = journal.last_known_deploy("attic")
    assert known is not None and (known.run_id, known.outcome) == ("r1", "applied")
    # A failed apply may have changed something: it is what is known.
    journal.append(entry("r5", "attic", "apply", "started"))
    journal.append(entry("r5", "attic", "apply", "failed"))
    journal.append(entry("r6", "attic", "apply", "gate-failed"))
    assert (journal.last_known_deploy("attic").run_id, journal.last_known_deploy("attic").outcome) == (  # type: ignore[union-attr]
        "r5", "failed")
    assert journal.last_known_deploy("arc-runners") is None


def test_a_journal_that_cannot_be_read_is_an_input_error_naming_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.mkdir()
    with pytest.raises(InputError) as caught:
        Journal(path).require_readable()
    assert caught.value.message == f"the run journal {path} cannot be read: Is a directory; nothing was run"
    assert f"`mv {path} {path}.aside`" in caught.value.remedy
    assert path.is_dir() and list(path.iterdir()) == []
    Journal(tmp_path / "missing.jsonl").require_readable()  # a missing journal is an empty one
    assert not (tmp_path / "missing.jsonl").exists()


def test_a_torn_last_line_is_counted_only_when_nobody_writes(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    journal.append(entry("r1", "attic", "plan", "planned"))
    with path.open("a") as fh:
        fh.write('{"run_id": "r1", "stack": "attic", "act')
    assert [e.outcome for e in journal.entries()] == ["planned"]
    assert journal.unreadable_note() == ""  # maybe still being written (a reader beside a run)
    assert journal.unreadable_note(settled=True) == f"journal {path}: 1 unreadable line skipped (line 2)"
    whole = entry("r1", "attic", "apply", "applied").model_dump_json()
    path.write_text(path.read_text().splitlines()[0] + "\n" + whole)  # a last line that reads is not torn
    assert [e.outcome for e in journal.entries()] == ["planned", "applied"]
    assert journal.partial_line is None and journal.unreadable_note(settled=True) == ""


def _newer_line(**changes: object) -> str:
    data = json.loads(entry("r2", "attic", "apply", "applied").model_dump_json(exclude_none=True))
    data.update(changes)
    return json.dumps(data) + "\n"


def test_lines_carry_their_schema_and_a_field_this_gfwizard_does_not_know_is_ignored(tmp_path: Path) -> None:
    """Forward compatible: a newer gfwizard may add an optional field without a new schema."""
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    journal.append(entry("r1", "attic", "plan", "planned"))
    assert json.loads(path.read_text())["schema_version"] == JOURNAL_SCHEMA
    with path.open("a") as fh:
        fh.write(_newer_line(reviewer="bob"))
    assert [e.outcome for e in journal.entries()] == ["planned", "applied"]
    assert journal.unreadable_note() == ""


def test_a_line_of_a_newer_schema_is_skipped_and_says_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    journal.append(entry("r1", "attic", "plan", "planned"))
    newer = JOURNAL_SCHEMA + 1
    with path.open("a") as fh:
        fh.write("not json at all\n")
        # An outcome this gfwizard does not know, and a line that validates but means something else now.
        fh.write(_newer_line(schema_version=newer, outcome="rolled-back"))
        fh.write(_newer_line(schema_version=newer))
    before = path.read_bytes()
    assert [e.outcome for e in journal.entries()] == ["planned"]
    assert journal.unreadable_lines == [2, 3, 4] and journal.newer_skipped()
    assert journal.unreadable_note() == (
        f"journal {path}: 3 unreadable lines skipped (lines 2, 3, 4); lines 3, 4 written by a newer gfwizard "
        f"(schema {newer}, this one reads {JOURNAL_SCHEMA}): upgrade gfwizard to read them")
    assert path.read_bytes() == before


def test_a_torn_line_is_not_taken_for_a_newer_one(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    journal = Journal(path)
    path.write_text('{"schema_version": 1, "outcome": "nonsense"}\n{"schema_version": true}\n[2]\n')
    assert journal.entries() == [] and not journal.newer_skipped()
    assert "newer" not in journal.unreadable_note()
