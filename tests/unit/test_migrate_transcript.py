"""The transcript of a migration's IaC runs: private like every run's transcript, whatever the umask."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from gfwizard.backend_migrate import MigrationReport, _run_migration
from gfwizard.layout import Layout
from tests.backend_doubles import make_cfg

PASSWORD = "migrate-transcript-canary-Zq81Xw"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)  # the worst an operator's shell can have
    try:
        yield
    finally:
        os.umask(old)


def _fake_iac(tmp_path: Path) -> Path:
    script = tmp_path / "fake-iac"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys
        print("Initializing the backend...", " ".join(sys.argv[1:]))
        print("password:", os.environ.get("TF_HTTP_PASSWORD"))
        """))
    script.chmod(0o755)
    return script


def _migrate(tmp_path: Path) -> MigrationReport:
    cfg = make_cfg("http://127.0.0.1:9", "bucket", http_address="http://127.0.0.1:9/state/{stack}-{env}")
    layout = Layout(repo=tmp_path, stacks_root=tmp_path / "stacks", work_root=tmp_path / "ws",
                    backend_root=tmp_path / "ws" / "backends", rehearsal=True)
    report = MigrationReport(stack="attic", env="dev", source="src", destination="dst",
                             backup_path=tmp_path / "backup", outcome="failed", detail="", force_copy=True)
    _run_migration(report, cfg, "dev", "attic", layout, str(_fake_iac(tmp_path)), "rehearsal", PASSWORD,
                   30.0, None)
    return report


def test_the_migration_transcript_is_0600_in_a_0700_directory(tmp_path: Path, permissive_umask: None) -> None:
    report = _migrate(tmp_path)
    assert report.outcome == "migrated", report.detail
    transcript = report.transcript
    assert transcript is not None and "Initializing the backend" in transcript.read_text()
    assert PASSWORD not in transcript.read_text()
    assert stat.S_IMODE(transcript.stat().st_mode) == 0o600
    assert stat.S_IMODE(transcript.parent.stat().st_mode) == 0o700


def test_a_transcripts_directory_others_can_read_is_made_private(tmp_path: Path) -> None:
    shared = tmp_path / "ws" / "transcripts" / "dev"
    shared.mkdir(parents=True)
    shared.chmod(0o755)
    report = _migrate(tmp_path)
    assert report.transcript is not None and report.transcript.parent == shared
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    assert stat.S_IMODE(report.transcript.stat().st_mode) == 0o600
