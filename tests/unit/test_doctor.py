"""``gfwizard doctor``: tools, config, cluster and backend in one non-interactive run; exit 1 on any
fail, 2 on bad input; it never creates a bucket or pins anything, and its one write (the lock probe)
leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

from gfwizard.orgconfig import load_config
from gfwizard.rehearsal.s3 import fresh_bucket_name
from tests.helpers import run_cli, tree_digest


def _doctor(*args: str) -> tuple[int, dict]:
    done = run_cli(["doctor", "--json", *args])
    return done.returncode, json.loads(done.stdout)


def _section(data: dict, section: str) -> list[dict]:
    return [c for c in data["checks"] if c["section"] == section]


def test_without_a_config_fails_with_remedy_and_skips_the_rest(isolated_home: Path) -> None:
    code, data = _doctor()
    assert code == 1 and data["ok"] is False
    (config,) = _section(data, "config")
    assert config["level"] == "fail" and "config file not found" in config["detail"]
    assert "gfwizard config init" in config["remedy"]
    assert [c["detail"] for c in _section(data, "cluster")] == ["skipped: the config could not be loaded"]
    tools = {c["name"]: c for c in _section(data, "tools")}
    assert tools["iac binary"]["level"] in ("pass", "fail")
    assert "kubectl" in tools and "gfwizard" in tools
    assert "lock probe" in data["writes"]
    text = run_cli(["doctor"])
    assert text.returncode == 1
    assert "FAIL  config" in text.stdout and "remedy: create it with `gfwizard config init`" in text.stdout
    # Unlike validate's, doctor's skipped rows keep their remedy: nothing above them says what to fix.
    assert "WARN  cluster" in text.stdout and "remedy: fix the config first" in text.stdout
    assert "note: doctor writes nothing except the S3 lock probe" in text.stdout


def test_doctor_leaves_the_state_dir_alone(isolated_home: Path) -> None:
    import os

    state = Path(os.environ["GFW_STATE_DIR"])
    before = tree_digest(isolated_home)
    code, data = _doctor()
    assert code == 1 and data["writes"] == ("doctor writes nothing except the S3 lock probe: one object under "
                                            "<key_prefix>/.gfwizard-lock-probe/, deleted again with its versions")
    assert not (state / "binaries.json").exists()  # not even the binary-version cache
    assert tree_digest(isolated_home) == before


def test_explicit_missing_config_is_bad_input(tmp_path: Path) -> None:
    done = run_cli(["doctor", "--config", str(tmp_path / "missing.yaml")])
    assert done.returncode == 2
    assert f"--config {tmp_path / 'missing.yaml'}: no such file" in done.stderr
    assert not (tmp_path / "missing.yaml").exists()


def test_a_config_path_too_long_for_the_file_system_is_bad_input_not_a_bug(tmp_path: Path) -> None:
    # Path.exists() raises for ENAMETOOLONG (and EACCES on a directory above): doctor printed a traceback and
    # "internal error: OSError ... this is a gfwizard bug".
    config = tmp_path / ("a" * 300) / "organization.yaml"
    before = tree_digest(tmp_path)
    for args, stream in (([], "stderr"), (["--json"], "stdout")):
        done = run_cli(["doctor", "--config", str(config), *args])
        assert done.returncode == 2 and "Traceback" not in done.stderr and "internal error" not in done.stdout + done.stderr
        said = getattr(done, stream)
        assert f"--config {config} cannot be read: File name too long" in said
        assert "pass the organization.yaml file itself" in said
    assert json.loads(done.stdout)["error"]["exit_code"] == 2
    assert tree_digest(tmp_path) == before


def test_invalid_config_lists_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "organization.yaml"
    bad.write_text("version: 1\norganization: {name: tinyland}\n")
    before = tree_digest(tmp_path)
    code, data = _doctor("--config", str(bad))
    assert code == 1
    (config,) = _section(data, "config")
    assert config["level"] == "fail" and "problem(s)" in config["detail"] and str(bad) in config["detail"]
    assert tree_digest(tmp_path) == before


def test_rehearsal_doctor_runs_every_section(iac_bin: str, rehearsal_workspace) -> None:
    ws = rehearsal_workspace
    config_before = ws.config_path.read_bytes()
    code, data = _doctor()
    failures = [c for c in data["checks"] if c["level"] == "fail"]
    assert code == (1 if failures else 0) and data["ok"] is (not failures)
    backend = {c["name"]: c for c in _section(data, "backend")}
    assert all(c["level"] == "pass" for c in backend.values()), backend
    assert "use_lockfile is safe" in backend["s3 lock probe"]["detail"]
    assert "s3 state prefix [prod]" in backend  # every environment's prefix, the probe once
    assert len([n for n in backend if n.startswith("s3 lock probe")]) == 1
    assert {c["name"] for c in _section(data, "cluster")} >= {"server", "fingerprint", "reachable"}
    assert "terraform" in {c["name"]: c for c in _section(data, "tools")}["iac binary"]["detail"]
    listing = ws.s3.client().list_object_versions(Bucket=ws.bucket, Prefix="gloriousflywheel/.gfwizard-lock-probe/")
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
    assert ws.config_path.read_bytes() == config_before  # nothing pinned or rewritten
    assert ws.s3.secret_key not in json.dumps(data)


def test_prod_without_require_confirmation_is_a_config_warning(rehearsal_workspace) -> None:
    ws = rehearsal_workspace
    text = ws.config_path.read_text()
    typed = "prod: {cluster: honey, tfvars: prod.tfvars, require_confirmation: true}"
    assert typed in text
    ws.config_path.write_text(text.replace(typed, "prod: {cluster: honey, tfvars: prod.tfvars}"))
    before = ws.config_path.read_bytes()
    code, data = _doctor()
    config = {c["name"]: c for c in _section(data, "config")}
    assert config["config"]["level"] == "pass"
    warning = config["confirmation [prod]"]
    assert warning["level"] == "warn" and "does not set require_confirmation" in warning["detail"]
    assert warning["remedy"].startswith(f"add the line `require_confirmation: true` under `prod:` in the environments "
                                        f"section of {ws.config_path}")
    assert ws.config_path.read_bytes() == before
    text_run = run_cli(["doctor"])
    assert "WARN  confirmation [prod]" in text_run.stdout, text_run.stdout


def test_doctor_backend_section_never_creates_a_missing_bucket(rehearsal_workspace) -> None:
    from gfwizard.commands.doctor import backend_checks

    ws = rehearsal_workspace
    cfg = load_config(ws.config_path)
    bucket = fresh_bucket_name()
    missing = cfg.model_copy(update={"state": cfg.state.model_copy(
        update={"s3": cfg.state.s3.model_copy(update={"bucket": bucket})})})
    checks = {c.name: c for c in backend_checks(missing)}
    assert checks["s3 bucket"].level.value == "fail" and "--create-bucket" in checks["s3 bucket"].remedy
    assert checks["s3 bucket [prod]"].level.value == "fail"  # the other environment reports the failure too
    assert "s3 lock probe" not in checks
    assert bucket not in [b["Name"] for b in ws.s3.client().list_buckets()["Buckets"]]


def test_the_text_report_lines_every_detail_up_across_sections(capsys) -> None:  # type: ignore[no-untyped-def]
    """A name longer than the usual column (every environment's ``s3 state prefix [prod]``) widens the
    column for the whole report instead of pushing its own detail out of line."""
    from gfwizard.checks import failed, passed
    from gfwizard.commands.doctor import SectionCheck, _print

    results = [SectionCheck("tools", passed("iac binary", "terraform 1.11.4")),
               SectionCheck("backend", passed("s3 state prefix [prod]", "s3://state/gloriousflywheel/prod/: 0")),
               SectionCheck("backend", failed("s3 bucket", "state does not exist", remedy="create it"))]
    _print(results, ok=False)
    lines = capsys.readouterr().out.splitlines()
    starts = {line.index(detail) for line in lines
              for detail in ("terraform 1.11.4", "s3://state/", "state does not exist", "remedy: create it")
              if detail in line}
    assert starts == {len("  PASS  s3 state prefix [prod] ")}, lines
