"""HTTP → S3 state migration end to end with real terraform/tofu: state created on the rehearsal
HTTP (GitLab-compatible) server by a real apply, migrated with ``init -migrate-state``, compared;
plus every refusal and failure mode, each proving the source was left untouched."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import gfwizard.backend_migrate as backend_migrate
from gfwizard.backend import migrate_http_to_s3, render_backends
from gfwizard.errors import CheckFailure, InputError
from gfwizard.layout import Layout, layout_for
from gfwizard.rehearsal.httpstate import HttpStateServer
from gfwizard.rehearsal.s3 import RehearsalS3
from tests.backend_doubles import S3Proxy, make_cfg
from tests.helpers import tree_digest

pytestmark = pytest.mark.integration

PASSWORD = "http-state-password-for-migration"
KEY = "gloriousflywheel/dev/attic.tfstate"
RESOURCE_TF = """
resource "terraform_data" "marker" {
  input = "migrated"
}
"""


@pytest.fixture
def http_server() -> Iterator[HttpStateServer]:
    with HttpStateServer("rehearsal", PASSWORD) as server:
        yield server


@pytest.fixture
def setup(tmp_path: Path, s3: RehearsalS3, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Workspace, AWS credentials and the HTTP password in the environment."""
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    (tmp_path / "empty.tfrc").write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "empty.tfrc"))
    return tmp_path


def _iac(iac_bin: str, args: list[str], cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_DATA_DIR=str(data_dir), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    return subprocess.run([iac_bin, *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _apply_on_http(iac_bin: str, cfg, layout: Layout, work: Path) -> bytes:
    """Create real state on the HTTP server: ``terraform apply`` with the rendered http backend file."""
    render_backends(cfg, "dev", layout)
    code = work / "http-code"
    code.mkdir()
    (code / "main.tf").write_text('terraform {\n  backend "http" {}\n}\n' + RESOURCE_TF)
    http_file = layout.backend_file("attic", "dev", "http")
    for args in (["init", "-input=false", f"-backend-config={http_file}"], ["apply", "-auto-approve", "-input=false"]):
        done = _iac(iac_bin, args, code, work / "http-data")
        assert done.returncode == 0, done.stdout + done.stderr


def _state(server: HttpStateServer) -> bytes:
    data = server.current_state("attic", "dev")
    assert data is not None
    return data


def _resources(data: bytes) -> list:
    return json.loads(data)["resources"]


def _dest(s3: RehearsalS3, bucket: str) -> bytes | None:
    from botocore.exceptions import ClientError

    try:
        return s3.client().get_object(Bucket=bucket, Key=KEY)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise


def _backups(setup: Path) -> list[Path]:
    return sorted((setup / "ws" / "backups" / "dev").glob("attic-dev-*.http.tfstate"))


def test_migration_end_to_end(iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
                              setup: Path) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    layout = layout_for("loopback")
    _apply_on_http(iac_bin, cfg, layout, setup)
    source = _state(http_server)
    versions_before = len(http_server.versions("attic", "dev"))

    report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=120)

    assert report.outcome == "migrated" and report.ok, (report.detail, report.checks)
    assert report.force_copy is True  # the destination was empty
    # Backup: the exact source bytes, private.
    assert report.backup_path.read_bytes() == source
    assert stat.S_IMODE(report.backup_path.stat().st_mode) == 0o600
    # Source untouched and unlocked; destination holds the same resources.
    assert _state(http_server) == source and len(http_server.versions("attic", "dev")) == versions_before
    assert http_server.lock_info("attic", "dev") is None
    dest = _dest(s3, s3_bucket)
    assert dest is not None and _resources(dest) == _resources(source)
    assert report.source_unchanged is True
    assert {c.name for c in report.checks} >= {"source untouched", "destination content", "lineage", "serial"}
    assert report.destination_after.lineage == json.loads(dest)["lineage"]
    # The password went nowhere: not in the transcript, not in the backup dir, no scratch dir left.
    assert report.transcript is not None and PASSWORD not in report.transcript.read_text()
    assert "-force-copy" in report.transcript.read_text()
    assert not list((setup / "ws" / "migrate" / "dev").iterdir())

    # The destination now serves the state: a plan against S3 sees nothing to change.
    code = setup / "s3-code"
    code.mkdir()
    (code / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n' + RESOURCE_TF)
    s3_file = layout.backend_file("attic", "dev", "s3")
    assert _iac(iac_bin, ["init", "-input=false", f"-backend-config={s3_file}"], code, setup / "s3-data").returncode == 0
    plan = _iac(iac_bin, ["plan", "-input=false", "-detailed-exitcode", "-lock=false"], code, setup / "s3-data")
    assert plan.returncode == 0, plan.stdout + plan.stderr

    # Running it again changes nothing: already in sync, no IaC run, and no second backup (nothing to write).
    again = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=120)
    assert again.outcome == "in-sync" and again.ok and again.transcript is None
    assert _dest(s3, s3_bucket) == dest
    assert again.backup_path is None and _backups(setup) == [report.backup_path]


def test_destination_with_other_lineage_is_refused(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                   http_server: HttpStateServer, setup: Path) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    layout = layout_for("loopback")
    _apply_on_http(iac_bin, cfg, layout, setup)
    source = _state(http_server)
    other = json.dumps({"version": 4, "serial": 1, "lineage": "someone-elses-lineage", "terraform_version": "1.11.4",
                        "outputs": {}, "resources": [{"mode": "managed", "type": "terraform_data", "name": "other",
                                                       "provider": "x", "instances": []}]}).encode()
    s3.client().put_object(Bucket=s3_bucket, Key=KEY, Body=other)

    report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin)

    assert report.outcome == "refused" and not report.ok
    assert "holds state of another lineage (someone-elses-lineage, serial 1)" in report.detail
    assert "refusing to overwrite it" in report.detail
    assert _state(http_server) == source                     # source untouched
    assert _dest(s3, s3_bucket) == other                     # destination untouched
    assert report.backup_path is None and _backups(setup) == []  # refused before any backup: nothing written
    assert "nothing was written" in report.remedy and "backed up" not in report.remedy
    assert report.transcript is None                         # the IaC binary never ran


def test_migrate_again_after_a_deploy_says_already_migrated(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                            http_server: HttpStateServer, setup: Path) -> None:
    """Migrated, then deployed from S3 (new content, higher serial): a second migrate is harmless and says so —
    not a refusal whose remedy would have the operator move the live state aside."""
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    layout = layout_for("loopback")
    _apply_on_http(iac_bin, cfg, layout, setup)
    source = _state(http_server)
    assert migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=120).outcome == "migrated"
    # A deploy from S3 changes the state: the resource's input changes.
    code = setup / "s3-code"
    code.mkdir()
    (code / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n' + RESOURCE_TF.replace('"migrated"', '"v2"'))
    s3_file = layout.backend_file("attic", "dev", "s3")
    for args in (["init", "-input=false", f"-backend-config={s3_file}"], ["apply", "-auto-approve", "-input=false"]):
        done = _iac(iac_bin, args, code, setup / "s3-data")
        assert done.returncode == 0, done.stdout + done.stderr
    live = _dest(s3, s3_bucket)
    assert live is not None and json.loads(live)["serial"] > json.loads(source)["serial"]

    again = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=120)

    assert again.outcome == "already-migrated" and again.ok, (again.detail, again.checks)
    assert "was migrated from this HTTP state earlier and has moved on since" in again.detail
    assert "S3 is the live state" in again.detail and not again.remedy
    assert [c.name for c in again.checks] == ["source untouched", "destination history"]
    assert again.transcript is None                          # the IaC binary never ran
    assert again.backup_path is None and len(_backups(setup)) == 1  # only the first (real) run backed up
    assert _dest(s3, s3_bucket) == live and _state(http_server) == source


def _seed_same_lineage(s3: RehearsalS3, bucket: str, source: bytes, serial: int) -> bytes:
    doc = json.loads(source)
    doc["serial"] = serial
    doc["resources"] = []
    body = json.dumps(doc).encode()
    s3.client().put_object(Bucket=bucket, Key=KEY, Body=body)
    return body


def test_destination_with_higher_serial_is_refused(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                   http_server: HttpStateServer, setup: Path) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    layout = layout_for("loopback")
    _apply_on_http(iac_bin, cfg, layout, setup)
    source = _state(http_server)
    seeded = _seed_same_lineage(s3, s3_bucket, source, serial=json.loads(source)["serial"] + 5)
    report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin)
    assert report.outcome == "refused"
    assert "is higher than the source's" in report.detail
    assert _dest(s3, s3_bucket) == seeded and _state(http_server) == source


def test_older_destination_of_same_lineage_needs_confirmation(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                              http_server: HttpStateServer, setup: Path) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    layout = layout_for("loopback")
    _apply_on_http(iac_bin, cfg, layout, setup)
    source = _state(http_server)
    seeded = _seed_same_lineage(s3, s3_bucket, source, serial=0)

    declined = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, confirm_overwrite=lambda q: False)
    assert declined.outcome == "refused" and "not confirmed" in declined.detail
    assert _dest(s3, s3_bucket) == seeded
    assert declined.backup_path is None and _backups(setup) == []  # declined: nothing written, no backup either

    asked: list[str] = []
    report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=120,
                                confirm_overwrite=lambda q: asked.append(q) or True)
    assert asked and "serial 0" in asked[0]
    assert report.outcome == "migrated" and report.ok, report.detail
    assert report.force_copy is False
    assert "-force-copy" not in report.transcript.read_text()
    assert _resources(_dest(s3, s3_bucket)) == _resources(source)
    assert report.destination_after.lineage == json.loads(source)["lineage"]
    assert _state(http_server) == source


def test_destination_failing_mid_migration_leaves_source_untouched(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                                   http_server: HttpStateServer, setup: Path) -> None:
    layout = layout_for("loopback")
    with S3Proxy(s3.endpoint, fail_when=lambda method, path: method == "PUT" and path.split("?")[0].endswith(".tfstate")) as proxy:
        cfg = make_cfg(proxy.endpoint, s3_bucket, http_address=http_server.address_template)
        _apply_on_http(iac_bin, cfg, layout, setup)
        source = _state(http_server)
        report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=120)
    assert report.outcome == "failed" and not report.ok
    assert report.detail.startswith("init -migrate-state failed (exit code 1)")
    assert "AccessDenied" in report.detail or "403" in report.detail
    assert "source state is untouched and backed up at" in report.remedy
    assert _state(http_server) == source and report.source_unchanged is True
    assert http_server.lock_info("attic", "dev") is None     # terraform released the source lock
    assert report.backup_path.read_bytes() == source
    assert _dest(s3, s3_bucket) is None


def test_interrupted_migration_leaves_source_untouched(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                       http_server: HttpStateServer, setup: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_migrate, "INTERRUPT_GRACE", 1.0)
    layout = layout_for("loopback")
    with S3Proxy(s3.endpoint, hold_when=lambda method, path: method == "PUT" and path.split("?")[0].endswith(".tfstate")) as proxy:
        cfg = make_cfg(proxy.endpoint, s3_bucket, http_address=http_server.address_template)
        _apply_on_http(iac_bin, cfg, layout, setup)
        source = _state(http_server)
        report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=4)
        assert proxy.held.is_set()  # the kill happened while the state upload was in flight
    assert report.outcome == "failed"
    assert "interrupted after" in report.detail
    assert _state(http_server) == source and report.source_unchanged is True
    assert report.backup_path.read_bytes() == source
    assert _dest(s3, s3_bucket) is None
    assert "force-unlock" in report.remedy


def test_ctrl_c_mid_migration_stops_the_binary_and_reports(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                           http_server: HttpStateServer, setup: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The binary runs in its own session, so the terminal's Ctrl-C reaches only gfwizard: it must be passed on
    and waited for (no binary left moving state after the command is gone), and the outcome reported."""
    import signal
    import threading

    monkeypatch.setattr(backend_migrate, "INTERRUPT_GRACE", 1.0)
    # Ctrl-C raises KeyboardInterrupt, as in the `gfwizard` process: an earlier test in this worker may have left
    # another SIGINT handler installed (then the signal below did nothing, and the held PUT timed out).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(backend_migrate.subprocess, "Popen", recording_popen)
    layout = layout_for("loopback")
    with S3Proxy(s3.endpoint, hold_when=lambda method, path: method == "PUT" and path.split("?")[0].endswith(".tfstate")) as proxy:
        cfg = make_cfg(proxy.endpoint, s3_bucket, http_address=http_server.address_template)
        _apply_on_http(iac_bin, cfg, layout, setup)
        source = _state(http_server)
        ctrl_c = threading.Thread(target=lambda: proxy.held.wait(60) and os.kill(os.getpid(), signal.SIGINT))
        ctrl_c.start()
        try:
            report = migrate_http_to_s3(cfg, "dev", "attic", layout, binary=iac_bin, timeout=60)
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C escaped the migration: the binary was left running, nothing was reported")
        finally:
            ctrl_c.join()
            signal.signal(signal.SIGINT, previous)
        assert proxy.held.is_set()
    assert started and all(proc.poll() is not None for proc in started)  # no binary left running
    assert report.outcome == "interrupted" and not report.ok
    assert report.detail.startswith("interrupted (Ctrl-C) during init -migrate-state")
    assert "the destination does not hold the source's state" in report.detail
    assert str(report.backup_path) in report.remedy and "--stack attic" in report.remedy
    assert _state(http_server) == source and report.source_unchanged is True
    assert report.backup_path.read_bytes() == source
    assert _dest(s3, s3_bucket) is None
    assert report.transcript is not None and "interrupted by the operator" in report.transcript.read_text()
    assert not list((setup / "ws" / "migrate" / "dev").iterdir())


# -- bad input: message asserted, nothing written ------------------------------------------------


def _seed_source(server: HttpStateServer, *, resource: bool = False) -> bytes:
    """A source state on the HTTP server (with one resource: a state worth migrating)."""
    resources = [{"mode": "managed", "type": "terraform_data", "name": "seeded", "provider": "x", "instances": []}]
    data = json.dumps({"version": 4, "serial": 3, "lineage": "lin-seeded", "terraform_version": "1.11.4",
                       "resources": resources if resource else [], "outputs": {}}).encode()
    server.put_state("attic", "dev", data)
    return data


def test_missing_password_is_input_error_and_writes_nothing(s3: RehearsalS3, s3_bucket: str,
                                                            http_server: HttpStateServer, setup: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_HTTP_PASSWORD")
    source = _seed_source(http_server)
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(InputError, match="TF_HTTP_PASSWORD is not set") as raised:
        migrate_http_to_s3(cfg, "dev", "attic", layout_for("loopback"), binary="terraform")
    # The remedy survives redaction as written (a `NAME=...` placeholder would read `[REDACTED]`).
    from gfwizard.redact import redact

    assert redact(raised.value.remedy) == raised.value.remedy and "TF_HTTP_PASSWORD" in raised.value.remedy
    assert tree_digest(setup) == before
    assert _state(http_server) == source and http_server.request_log.entries() == []


def test_wrong_password_fails_before_any_write(s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
                                               setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_HTTP_PASSWORD", "not-the-password")
    source = _seed_source(http_server)
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(CheckFailure, match=r"refused the credentials \(401\)") as err:
        migrate_http_to_s3(cfg, "dev", "attic", layout_for("loopback"), binary="terraform")
    assert "not-the-password" not in err.value.message + err.value.remedy
    assert tree_digest(setup) == before and _state(http_server) == source


def test_no_source_state_writes_nothing(s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
                                        setup: Path) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(CheckFailure, match="nothing to migrate"):
        migrate_http_to_s3(cfg, "dev", "attic", layout_for("loopback"), binary="terraform")
    assert tree_digest(setup) == before and _dest(s3, s3_bucket) is None


def test_unknown_stack_and_missing_http_section(s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
                                                setup: Path) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(InputError, match=r"unknown stack 'nope' \(known: attic, arc-runners\)"):
        migrate_http_to_s3(cfg, "dev", "nope", layout_for("loopback"), binary="terraform")
    with pytest.raises(InputError, match="state.http is not configured"):
        migrate_http_to_s3(make_cfg(s3.endpoint, s3_bucket), "dev", "attic", layout_for("loopback"),
                           binary="terraform")
    assert tree_digest(setup) == before and http_server.request_log.entries() == []


def test_empty_source_state_is_not_migrated(s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
                                            setup: Path) -> None:
    source = _seed_source(http_server)  # no resources, no outputs: terraform would copy nothing
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(CheckFailure, match="holds no resources and no outputs: nothing to migrate") as err:
        migrate_http_to_s3(cfg, "dev", "attic", layout_for("loopback"), binary="terraform")
    assert "state.backend: s3" in err.value.remedy
    assert tree_digest(setup) == before and _state(http_server) == source and _dest(s3, s3_bucket) is None


def test_a_state_dir_others_may_write_to_is_refused_before_the_backup(s3: RehearsalS3, s3_bucket: str,
                                                                       http_server: HttpStateServer, setup: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The wizard's migration calls the core directly: a world-writable state dir (the IaC binary's provider
    cache and CLI configuration go there) stops it as it stops `gfwizard backend migrate`, before the backup
    or any write to the bucket."""
    shared = setup / "shared-state"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("GFW_STATE_DIR", str(shared))
    source = _seed_source(http_server, resource=True)
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(InputError) as raised:
        migrate_http_to_s3(cfg, "dev", "attic", layout_for("loopback"), binary="terraform")
    assert raised.value.message == (f"the gfwizard state directory {shared} (from $GFW_STATE_DIR) cannot be used: "
                                    "every local user may write to it (mode 0777) and so plant files or links in "
                                    "it; nothing was run")
    assert tree_digest(setup) == before and list(shared.iterdir()) == [] and _backups(setup) == []
    assert _state(http_server) == source and _dest(s3, s3_bucket) is None


def test_an_unknown_aws_profile_fails_before_the_backup(s3: RehearsalS3, s3_bucket: str,
                                                        http_server: HttpStateServer, setup: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "rustfs-typo")
    source = _seed_source(http_server, resource=True)
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template)
    before = tree_digest(setup)
    with pytest.raises(CheckFailure, match=r"AWS profile 'rustfs-typo' \(AWS_PROFILE\) is not defined") as raised:
        migrate_http_to_s3(cfg, "dev", "attic", layout_for("loopback"), binary="terraform")
    assert "set AWS_PROFILE to a profile that exists" in raised.value.remedy
    assert tree_digest(setup) == before and _backups(setup) == []
    assert _state(http_server) == source and _dest(s3, s3_bucket) is None
