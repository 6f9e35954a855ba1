"""backend migrate without a server or a real binary: its transcript is private whatever the umask, and the
verdict on the source after the IaC runs (unreadable is a warning, gone is a failure)."""

from __future__ import annotations

import stat
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from gfwizard.backend_migrate import MigrationReport, _run_migration
from gfwizard.layout import Layout
from tests.backend_doubles import make_cfg
from tests.helpers import umask

PASSWORD = "migrate-transcript-canary-Zq81Xw"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    with umask(0):  # the worst an operator's shell can have
        yield


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


# -- re-reading the source after the IaC runs -------------------------------------------------------


class _Unreadable:
    """An S3 client whose destination reads fail (the verdict then rests on the source's re-read)."""

    def get_object(self, **_kw: object) -> object:
        raise RuntimeError("destination unreadable")


def _report(tmp_path: Path) -> MigrationReport:
    from gfwizard.backend_migrate import summarize

    source = b'{"serial": 1, "lineage": "l", "resources": [{"name": "x"}], "outputs": {}}'
    return MigrationReport(stack="attic", env="dev", source="http://127.0.0.1:9/s", destination="s3://b/k",
                           backup_path=tmp_path / "backup", outcome="migrated", detail="",
                           source_before=summarize(source))


def test_a_source_that_cannot_be_re_read_is_a_warning_not_a_crash(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import gfwizard.backend_migrate as backend_migrate
    from gfwizard.errors import CheckFailure

    def down(*_a: object, **_kw: object) -> bytes:
        raise CheckFailure("cannot reach the HTTP state server at http://127.0.0.1:9/s: refused", remedy="x")

    monkeypatch.setattr(backend_migrate, "fetch_http_state", down)
    report = backend_migrate._finish(_report(tmp_path), "http://127.0.0.1:9/s", "u", PASSWORD, _Unreadable(),
                                     "b", "k")
    source_after = next(c for c in report.checks if c.name == "source after")
    assert source_after.level == "warn" and "could not re-read the source: cannot reach" in source_after.detail
    assert report.source_unchanged is None  # unknown: the server being down does not mean the state is gone
    assert not any(c.name == "source untouched" for c in report.checks)


def test_a_source_gone_after_the_migration_fails_the_source_check(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import gfwizard.backend_migrate as backend_migrate

    monkeypatch.setattr(backend_migrate, "fetch_http_state", lambda *_a, **_kw: None)
    report = backend_migrate._finish(_report(tmp_path), "http://127.0.0.1:9/s", "u", PASSWORD, _Unreadable(),
                                     "b", "k")
    untouched = next(c for c in report.checks if c.name == "source untouched")
    assert untouched.level == "fail" and "is gone" in untouched.detail and report.source_unchanged is False
    assert not report.ok
