"""``gfwizard backend check|render|locks|migrate`` through the real entry point: output, JSON keys,
exit codes, and bad input (message asserted, nothing written)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from gfwizard.orgconfig import save_config
from gfwizard.rehearsal.httpstate import HttpStateServer
from gfwizard.rehearsal.s3 import RehearsalS3, fresh_bucket_name
from tests.backend_doubles import make_cfg
from tests.helpers import REPO, run_cli, tree_digest

pytestmark = pytest.mark.integration

PASSWORD = "cli-http-state-password"


@pytest.fixture
def http_server() -> Iterator[HttpStateServer]:
    with HttpStateServer("rehearsal", PASSWORD) as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, s3: RehearsalS3, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    return tmp_path


#: The binary the unlock steps name (as $GFW_TOFU_BIN).
BIN = "/opt/iac/tofu"


def _config(ws: Path, s3: RehearsalS3, bucket: str, http: HttpStateServer | None = None) -> Path:
    cfg = make_cfg(s3.endpoint, bucket, http_address=http.address_template if http else None)
    return save_config(cfg, ws / "organization.yaml")


def test_check_json_happy(ws: Path, s3: RehearsalS3, s3_bucket: str) -> None:
    config = _config(ws, s3, s3_bucket)
    done = run_cli(["backend", "check", "--env", "dev", "--json", "--config", str(config)])
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"env", "endpoint", "endpoint_source", "bucket", "key_prefix", "credentials", "checks",
                         "actions", "ok"}
    assert data["ok"] is True and data["actions"] == [] and data["credentials"]["kind"] == "env"
    assert data["endpoint"] == s3.endpoint and data["endpoint_source"] == "state.s3.endpoint"
    assert [c["name"] for c in data["checks"]][-1] == "s3 lock probe"
    assert s3.secret_key not in done.stdout + done.stderr


def test_check_text_missing_bucket_exits_1_and_creates_nothing(ws: Path, s3: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    done = run_cli(["backend", "check", "--env", "dev", "--config", str(config)])
    assert done.returncode == 1
    assert f"FAIL  s3 bucket" in done.stdout and "does not exist" in done.stdout
    want = f"`gfwizard backend check --env dev --create-bucket --config {config}`"
    assert f"remedy: {want}" in done.stdout
    assert bucket not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]


def test_check_create_bucket_shows_what_it_does(ws: Path, s3: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    before = tree_digest(ws)
    refused = run_cli(["backend", "check", "--env", "dev", "--create-bucket", "--enable-versioning", "--json",
                       "--config", str(config)])
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert json.loads(refused.stdout)["error"] == {
        "exit_code": 2,
        "message": "--create-bucket --enable-versioning write to the store; without a terminal to ask on, they need "
                   "--yes (nothing was checked or changed)",
        "remedy": "re-run with --yes: `gfwizard backend check --env dev --create-bucket --enable-versioning --yes "
                  f"--config {config} --json`"}
    assert bucket not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]
    assert tree_digest(ws) == before
    done = run_cli(["backend", "check", "--env", "dev", "--create-bucket", "--enable-versioning", "--yes", "--json",
                    "--config", str(config)])
    assert done.returncode == 0, done.stdout + done.stderr
    action = f"create bucket '{bucket}' at {s3.endpoint} (region us-east-1), with versioning on"
    assert f"will {action}" in done.stderr
    assert json.loads(done.stdout)["actions"] == [action]  # created versioned: nothing left to enable
    assert s3.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_create_bucket_alone_creates_it_versioned(ws: Path, s3: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    done = run_cli(["backend", "check", "--env", "dev", "--create-bucket", "--yes", "--config", str(config)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"will create bucket '{bucket}' at {s3.endpoint} (region us-east-1), with versioning on" in done.stdout
    assert f"PASS  s3 versioning" in done.stdout
    assert s3.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_create_bucket_on_a_store_refusing_versioning_warns_and_keeps_no_bucket(ws: Path, s3: RehearsalS3) -> None:
    from tests.backend_doubles import S3Proxy

    bucket = fresh_bucket_name()
    with S3Proxy(s3.endpoint, fail_when=lambda method, path: method == "PUT" and path.endswith("?versioning"),
                 fail_status=501, fail_error=("NotImplemented", "not implemented (test double)")) as proxy:
        config = save_config(make_cfg(proxy.endpoint, bucket), ws / "organization.yaml")
        before = tree_digest(ws)
        done = run_cli(["backend", "check", "--env", "dev", "--create-bucket", "--yes", "--config", str(config)])
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert f"FAIL s3 bucket bucket '{bucket}' was not kept: versioning could not be enabled on it" in text, text
    assert (f"WARN s3 versioning versioning could not be enabled on the new bucket '{bucket}': the store refused "
            "PutBucketVersioning") in text, text
    assert (f"remedy: use a store that supports bucket versioning; the key needs s3:PutBucketVersioning") in text
    assert "s3 lock probe" not in text and done.stdout.splitlines()[-1] == "some checks failed"
    assert bucket not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]
    assert tree_digest(ws) == before


@pytest.mark.parametrize("flag", ["--create-bucket", "--enable-versioning"])
def test_one_write_flag_without_a_terminal_is_refused_in_one_sentence(ws: Path, s3: RehearsalS3, flag: str) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    before = tree_digest(ws)
    refused = run_cli(["backend", "check", "--env", "dev", flag, "--json", "--config", str(config)])
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert json.loads(refused.stdout)["error"] == {
        "exit_code": 2,
        "message": f"{flag} writes to the store; without a terminal to ask on, it needs --yes (nothing was checked "
                   "or changed)",
        "remedy": f"re-run with --yes: `gfwizard backend check --env dev {flag} --yes --config {config} --json`"}
    assert bucket not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]
    assert tree_digest(ws) == before


def _check_params(words: list[str]) -> dict:
    """What `gfwizard backend check` makes of ``words`` (the arguments after ``gfwizard``), as click parses them."""
    from gfwizard.commands.backend import check

    assert words[:2] == ["backend", "check"], words
    with check.make_context("check", list(words[2:])) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize("given", [
    [],
    ["--connect-timeout", "7.5"],
    ["--read-timeout", "30", "--json"],
    ["--json", "--enable-versioning", "--read-timeout", "0.25", "--connect-timeout", "2"],
], ids=["no-options", "connect-timeout", "read-timeout-json", "every-option"])
def test_the_yes_remedy_run_as_printed_is_the_same_command_plus_yes(ws: Path, s3: RehearsalS3,
                                                                     given: list[str]) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    args = ["backend", "check", "--env", "dev", "--create-bucket", *given, "--config", str(config)]
    before = tree_digest(ws)
    refused = run_cli(args)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    remedy = (json.loads(refused.stdout)["error"]["remedy"] if "--json" in given
              else refused.stderr.splitlines()[-1].removeprefix("remedy: "))
    printed = re.fullmatch(r"re-run with --yes: `gfwizard (.+)`", remedy)
    assert printed is not None, remedy
    words = shlex.split(printed.group(1))
    assert _check_params(words) == {**_check_params(args), "yes": True}
    flags = [w for w in words if w.startswith("--")]
    assert len(flags) == len(set(flags)), words  # each option once: nothing appended twice
    assert bucket not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]
    assert tree_digest(ws) == before
    done = run_cli(words)  # as printed
    assert done.returncode == 0, done.stdout + done.stderr
    assert s3.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    if "--json" in given:
        assert json.loads(done.stdout)["ok"] is True


def test_check_remedies_carry_the_timeouts_given(ws: Path, s3: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    before = tree_digest(ws)
    done = run_cli(["backend", "check", "--env", "dev", "--read-timeout", "30", "--connect-timeout", "7.5", "--json",
                    "--config", str(config)])
    assert done.returncode == 1, done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["s3 bucket"]["remedy"] == ("`gfwizard backend check --env dev --create-bucket --connect-timeout 7.5 "
                                             f"--read-timeout 30.0 --config {config}`")
    assert tree_digest(ws) == before


def test_bad_input_exits_2_and_writes_nothing(ws: Path, s3: RehearsalS3, s3_bucket: str) -> None:
    config = _config(ws, s3, s3_bucket)
    before = tree_digest(ws)
    unknown = run_cli(["backend", "render", "--env", "qa", "--config", str(config)])
    assert unknown.returncode == 2
    assert "unknown environment 'qa' (known: dev)" in unknown.stderr
    as_json = run_cli(["backend", "check", "--env", "qa", "--json", "--config", str(config)])
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["message"] == "unknown environment 'qa' (known: dev)"
    missing = run_cli(["backend", "locks", "--env", "dev", "--config", str(ws / "nope.yaml")])
    assert missing.returncode == 2 and "config file not found" in missing.stderr
    no_env = run_cli(["backend", "check", "--config", str(config)])
    assert no_env.returncode == 2 and "Missing option '--env'" in no_env.stderr
    assert tree_digest(ws) == before


def test_render_into_an_unusable_rehearsal_workspace_exits_2_without_a_traceback(ws: Path, s3: RehearsalS3,
                                                                                  s3_bucket: str) -> None:
    config = _config(ws, s3, s3_bucket)
    blocker = ws / "not-a-dir"
    blocker.write_text("mine\n")
    before = tree_digest(ws)
    done = run_cli(["backend", "render", "--env", "dev", "--config", str(config)], env={"GFW_WORKSPACE": str(blocker)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"error: the rehearsal workspace {blocker} (from $GFW_WORKSPACE) cannot be used: it is a file, not a "
        "directory; nothing was run",
        "remedy: point GFW_WORKSPACE at the running rehearsal's workspace (`gfwizard rehearse --serve` prints its "
        "exports), or unset it"]
    assert tree_digest(ws) == before


def test_render_twice_then_unchanged(ws: Path, s3: RehearsalS3, s3_bucket: str) -> None:
    config = _config(ws, s3, s3_bucket)
    first = run_cli(["backend", "render", "--env", "dev", "--config", str(config)])
    assert first.returncode == 0 and "2 file(s) written, 0 unchanged" in first.stdout
    second = run_cli(["backend", "render", "--env", "dev", "--json", "--config", str(config)])
    files = json.loads(second.stdout)["files"]
    assert [(f["stack"], f["kind"], f["changed"]) for f in files] == [("attic", "s3", False),
                                                                        ("arc-runners", "s3", False)]
    assert files[0]["path"] == str(ws / "ws" / "backends" / "attic" / "dev.s3.tfbackend")


def test_locks_lists_a_lock_object(ws: Path, s3: RehearsalS3, s3_bucket: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_TOFU_BIN", BIN)
    config = _config(ws, s3, s3_bucket)
    lock = {"ID": "5a1b2c3d-0000-4000-8000-000000000001", "Operation": "OperationTypeApply", "Info": "",
            "Who": "alice@laptop", "Version": "1.11.4", "Created": "2025-01-02T03:04:05.123456789Z",
            "Path": f"{s3_bucket}/gloriousflywheel/dev/arc-runners.tfstate"}
    s3.client().put_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/arc-runners.tfstate.tflock",
                           Body=json.dumps(lock).encode())
    text = run_cli(["backend", "locks", "--env", "dev", "--config", str(config)])
    assert text.returncode == 0
    # The listing says what it lists: a bare row read like part of something cut off.
    assert text.stdout.splitlines()[0] == "1 state lock held in 'dev':", text.stdout
    assert "arc-runners" in text.stdout and "OperationTypeApply" in text.stdout and "by alice@laptop" in text.stdout
    assert "since 2025-01-02T03:04:05+00:00" in text.stdout and lock["ID"] in text.stdout
    # The way out is said exactly (it was only in a deploy's remedy and the docs): no deploy initialised this
    # environment's data dir here, so an init with the rendered backend file comes first.
    twin, backend = REPO / "tofu" / "rehearsal" / "arc-runners", ws / "ws" / "backends" / "arc-runners"
    assert (f"if that run is gone for good (check that nobody is applying), release it: `{BIN} -chdir={twin} init "
            f"-reconfigure -backend-config={backend}/dev.s3.tfbackend` (`gfwizard backend render --env dev --config "
            f"{config}` writes that file), then `{BIN} -chdir={twin} force-unlock {lock['ID']}`") in text.stdout, \
        text.stdout
    data_dir = ws / "ws" / "work" / "dev" / "arc-runners" / ".terraform"
    data_dir.mkdir(parents=True)
    (data_dir / "terraform.tfstate").write_text("{}")  # a deploy initialised it
    again = run_cli(["backend", "locks", "--env", "dev", "--config", str(config)])
    assert f"release it: `TF_DATA_DIR={data_dir} {BIN} -chdir={twin} force-unlock {lock['ID']}`" in again.stdout
    data = json.loads(run_cli(["backend", "locks", "--env", "dev", "--json", "--config", str(config)]).stdout)
    (entry,) = data["locks"]
    assert entry["stack"] == "arc-runners" and entry["id"] == lock["ID"] and entry["who"] == "alice@laptop"
    assert entry["created"].startswith("2025-01-02T03:04:05") and entry["age"] > 0


def test_the_unlock_steps_of_a_hostile_lock_id_are_quoted_and_escaped(ws: Path, s3: RehearsalS3, s3_bucket: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_TOFU_BIN", BIN)
    config = _config(ws, s3, s3_bucket)
    hostile = "x; touch /tmp/pwned \x1b[2J"
    lock = {"ID": hostile, "Operation": "OperationTypeApply", "Who": "mallory", "Created": "2025-01-02T03:04:05Z"}
    s3.client().put_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/attic.tfstate.tflock",
                           Body=json.dumps(lock).encode())
    text = run_cli(["backend", "locks", "--env", "dev", "--config", str(config)])
    assert text.returncode == 0 and "\x1b" not in text.stdout
    assert "force-unlock 'x; touch /tmp/pwned \\x1b[2J'`" in text.stdout, text.stdout


def test_render_a_stack_without_a_rehearsal_twin_exits_2_and_writes_nothing(ws: Path, s3: RehearsalS3,
                                                                            s3_bucket: str) -> None:
    config = _config(ws, s3, s3_bucket)
    assert run_cli(["backend", "render", "--env", "dev", "--config", str(config)]).returncode == 0
    grown = ws / "grown.yaml"
    grown.write_text(config.read_text().replace(s3_bucket, fresh_bucket_name())
                     .replace("  - {name: arc-runners", "  - {name: zzz-new}\n  - {name: arc-runners"))
    before = tree_digest(ws)
    twin = Path(__file__).resolve().parents[2] / "tofu" / "rehearsal"
    message = f"stack directory {twin / 'zzz-new'} does not exist; nothing was rendered"
    remedy = (f"a rehearsal deploys the provider-free twins in {twin}: add one for 'zzz-new', or fix stacks: in "
              "organization.yaml")
    text = run_cli(["backend", "render", "--env", "dev", "--config", str(grown)])
    assert text.returncode == 2
    assert text.stderr.splitlines() == [f"error: {message}", f"remedy: {remedy}"]
    done = run_cli(["backend", "render", "--env", "dev", "--json", "--config", str(grown)])
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"error": {"message": message, "remedy": remedy, "exit_code": 2}}
    assert tree_digest(ws) == before
    assert not (ws / "ws" / "backends" / "zzz-new").exists()


def test_migrate_without_yes_and_without_terminal_refuses(ws: Path, s3: RehearsalS3, s3_bucket: str,
                                                          http_server: HttpStateServer) -> None:
    config = _config(ws, s3, s3_bucket, http_server)
    source = json.dumps({"version": 4, "serial": 2, "lineage": "lin-cli", "resources": []}).encode()
    http_server.put_state("attic", "dev", source)
    before = tree_digest(ws)
    done = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--config", str(config)],
                   env={"TF_HTTP_PASSWORD": PASSWORD})
    assert done.returncode == 2
    assert "without a terminal to ask on it needs --yes" in done.stderr
    assert tree_digest(ws) == before
    assert http_server.current_state("attic", "dev") == source and http_server.request_log.entries() == []


@pytest.mark.parametrize("given", [
    ["--stack", "attic", "--timeout", "90"],
    ["--json", "--timeout", "45.5", "--stack", "arc-runners", "--stack", "attic"],
    ["--timeout", "120", "--json"],
], ids=["one-stack-timeout", "two-stacks-json-timeout", "every-stack-json-timeout"])
def test_migrate_yes_remedy_is_the_same_command_plus_yes(ws: Path, s3: RehearsalS3, s3_bucket: str,
                                                          http_server: HttpStateServer, given: list[str]) -> None:
    from gfwizard.commands.backend import migrate

    config = _config(ws, s3, s3_bucket, http_server)
    args = ["--env", "dev", *given, "--config", str(config)]
    before = tree_digest(ws)
    refused = run_cli(["backend", "migrate", *args], env={"TF_HTTP_PASSWORD": PASSWORD})
    assert refused.returncode == 2, refused.stdout + refused.stderr
    remedy = (json.loads(refused.stdout)["error"]["remedy"] if "--json" in given
              else refused.stderr.splitlines()[-1].removeprefix("remedy: "))
    printed = re.fullmatch(r"re-run with --yes: `gfwizard backend migrate (.+)`", remedy)
    assert printed is not None, remedy
    with migrate.make_context("migrate", shlex.split(printed.group(1))) as again, \
            migrate.make_context("migrate", args) as ran:
        assert again.params == {**ran.params, "yes": True}
    assert tree_digest(ws) == before and http_server.request_log.entries() == []


def test_migrate_with_an_unusable_state_dir_exits_2_and_touches_nothing(ws: Path, s3: RehearsalS3, s3_bucket: str,
                                                                        http_server: HttpStateServer) -> None:
    config = _config(ws, s3, s3_bucket, http_server)
    blocker = ws / "state-file"
    blocker.write_text("not a directory\n")
    before = tree_digest(ws)
    done = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes", "--json", "--config", str(config)],
                   env={"GFW_STATE_DIR": str(blocker), "TF_HTTP_PASSWORD": PASSWORD})
    assert done.returncode == 2, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["message"] == (f"the gfwizard state directory {blocker} (from $GFW_STATE_DIR) cannot be used: it is "
                                "a file, not a directory; nothing was run")
    assert error["remedy"].startswith("point GFW_STATE_DIR at a writable directory")
    assert tree_digest(ws) == before and http_server.request_log.entries() == []


def test_migrate_yes_json_end_to_end(iac_bin: str, ws: Path, s3: RehearsalS3, s3_bucket: str,
                                     http_server: HttpStateServer) -> None:
    config = _config(ws, s3, s3_bucket, http_server)
    source = json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 4, "lineage": "lin-cli-2",
                         "outputs": {"hello": {"value": "world", "type": "string"}}, "resources": []},
                        indent=2).encode()
    http_server.put_state("attic", "dev", source)
    done = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes", "--json",
                    "--config", str(config)], env={"TF_HTTP_PASSWORD": PASSWORD, "GFW_TOFU_BIN": iac_bin})
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["outcome"] == "migrated" and report["ok"] is True and report["force_copy"] is True
    assert f"backup of the source state: {report['backup_path']}" in done.stderr
    # The backend files the IaC runs read were missing: each is named before anything is written.
    files = [ws / "ws" / "backends" / "attic" / f"dev.{kind}.tfbackend" for kind in ("http", "s3")]
    announced = [f"will write {path} before the IaC runs (missing or stale; it holds no credential)" for path in files]
    announced.append(f"will back up the source state under {ws / 'ws' / 'backups' / 'dev'} first (the source "
                     "itself is never written)")
    lines = done.stderr.splitlines()
    assert lines[:3] == announced and lines[3].startswith("backup of the source state: "), lines
    assert all(path.is_file() for path in files)
    again = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes", "--json",
                     "--config", str(config)], env={"TF_HTTP_PASSWORD": PASSWORD, "GFW_TOFU_BIN": iac_bin})
    assert again.returncode == 0 and "will write" not in again.stderr  # up to date now: nothing announced
    assert Path(report["backup_path"]).read_bytes() == source
    assert report["source_unchanged"] is True
    assert report["destination_after"]["content_sha256"] == report["source_before"]["content_sha256"]
    assert PASSWORD not in done.stdout + done.stderr
    assert http_server.current_state("attic", "dev") == source


def test_migrate_with_a_missing_cli_config_and_a_fresh_state_dir_says_so_and_runs_clean(
        iac_bin: str, ws: Path, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer) -> None:
    config = _config(ws, s3, s3_bucket, http_server)
    fresh, missing = ws / "fresh-state", ws / "no-such.tfrc"
    note = (f"TF_CLI_CONFIG_FILE={missing}: not a readable file, so every run would warn about it; using gfwizard's "
            f"own CLI configuration {fresh / 'cli-config.tfrc'} (plugin_cache_dir = {fresh / 'plugin-cache'}) "
            "instead. Create the file, or unset the variable, to use your own.")
    env = {"TF_HTTP_PASSWORD": PASSWORD, "GFW_TOFU_BIN": iac_bin, "GFW_STATE_DIR": str(fresh),
           "TF_CLI_CONFIG_FILE": str(missing)}
    for stack, as_json in (("attic", False), ("arc-runners", True)):
        shutil.rmtree(fresh, ignore_errors=True)
        http_server.put_state(stack, "dev", json.dumps({
            "version": 4, "terraform_version": "1.11.4", "serial": 2, "lineage": f"lin-{stack}",
            "outputs": {"hello": {"value": "world", "type": "string"}}, "resources": []}).encode())
        done = run_cli(["backend", "migrate", "--env", "dev", "--stack", stack, "--yes", "--config", str(config),
                        *(["--json"] if as_json else [])], env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"note: {note}" in done.stderr.splitlines()
        transcript = next((ws / "ws" / "transcripts" / "dev").glob(f"migrate-{stack}-*.log")).read_text()
        assert transcript.splitlines()[0] == f"# note: {note}"
        for output in (done.stdout, done.stderr, transcript):
            assert "plugin cache dir" not in output and "problems with the CLI configuration" not in output
        if as_json:
            assert json.loads(done.stdout)["notes"] == [note]
        else:  # the outcome is said once: "migrated http://… → s3://…", not "migrated: migrated http://…"
            assert [line for line in done.stdout.splitlines() if line.startswith("migrated")] == [
                f"migrated {http_server.url}/api/v4/projects/1/terraform/state/attic-dev → "
                f"s3://{s3_bucket}/gloriousflywheel/dev/attic.tfstate; state.backend is s3 already: the next deploy "
                "uses it"], done.stdout
        assert (fresh / "plugin-cache").is_dir()
    assert not missing.exists()  # the operator's own file is never created


def _run_on_pty(args: list[str], answer: bytes, timeout: float = 60) -> tuple[int, str]:
    """Run ``gfwizard ARGS`` with a pseudo-terminal as stdin/stdout, typing ``answer`` at the prompt."""
    import os
    import select
    import subprocess
    import sys
    import time

    from tests.helpers import REPO

    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gfwizard", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=REPO, close_fds=True)
    os.close(slave)
    out = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
                if not answered and b"[y/N]" in out:
                    os.write(master, answer)
                    answered = True
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        os.close(master)
    return code, out.decode(errors="replace")


def test_migrate_on_a_terminal_says_what_it_writes_and_a_no_writes_nothing(ws: Path, s3: RehearsalS3, s3_bucket: str,
                                                                          http_server: HttpStateServer) -> None:
    import os

    config = _config(ws, s3, s3_bucket, http_server)
    source = json.dumps({"version": 4, "serial": 2, "lineage": "lin-pty", "outputs": {"a": {"value": 1}},
                         "resources": []}).encode()
    http_server.put_state("attic", "dev", source)
    before = tree_digest(ws)
    os.environ["TF_HTTP_PASSWORD"] = PASSWORD  # the pty run inherits this process's environment
    try:
        code, out = _run_on_pty(["backend", "migrate", "--env", "dev", "--stack", "attic", "--config", str(config)],
                                b"n\n")
    finally:
        del os.environ["TF_HTTP_PASSWORD"]
    text = " ".join(out.split())  # the pty wraps long lines
    files = [ws / "ws" / "backends" / "attic" / f"dev.{kind}.tfbackend" for kind in ("http", "s3")]
    shown = [f"will write {path} before the IaC runs" for path in files]
    shown.append(f"will back up the source state under {ws / 'ws' / 'backups' / 'dev'} first")
    shown.append("Migrate attic (dev) state from ")
    positions = [text.find(line) for line in shown]
    assert -1 not in positions and positions == sorted(positions), text  # every write named, before the question
    assert code == 1 and "not migrated: declined" in text
    assert tree_digest(ws) == before                                      # nothing written
    # Both sides were read before the question (to know there is something to do); nothing was written.
    assert http_server.current_state("attic", "dev") == source
    assert {e["method"] for e in http_server.request_log.entries()} == {"GET"}
    assert PASSWORD not in out


def test_migrate_again_on_a_terminal_asks_nothing_and_writes_no_backup(iac_bin: str, ws: Path, s3: RehearsalS3,
                                                                       s3_bucket: str, http_server: HttpStateServer,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A stack already in sync: the outcome is known before any question, so none is asked, no backup is written
    (a backup is for a run that will write), and it exits 0."""
    config = _config(ws, s3, s3_bucket, http_server)
    source = json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "lin-again",
                         "outputs": {"hello": {"value": "world", "type": "string"}}, "resources": []}).encode()
    http_server.put_state("attic", "dev", source)
    args = ["backend", "migrate", "--env", "dev", "--stack", "attic", "--config", str(config)]
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)  # the pty run inherits this process's environment
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    first = run_cli([*args, "--yes"])
    assert first.returncode == 0 and "backup of the source state: " in first.stdout, first.stdout + first.stderr
    backups = ws / "ws" / "backups" / "dev"
    assert len(list(backups.iterdir())) == 1
    destination = s3.client().get_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/attic.tfstate")["Body"].read()
    before = tree_digest(ws)
    http_server.request_log.clear()

    code, out = _run_on_pty(args, b"y\n")

    text = " ".join(out.split())
    assert code == 0, text
    assert "[y/N]" not in out and "Migrate attic" not in text, text   # nothing to do: nothing asked
    assert "in-sync: " in text and "already holds the same content; nothing to do" in text
    assert "will back up" not in text and "backup" not in text, text  # no backup announced, none written
    assert len(list(backups.iterdir())) == 1 and tree_digest(ws) == before
    assert s3.client().get_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/attic.tfstate")["Body"].read() == \
        destination
    assert {e["method"] for e in http_server.request_log.entries()} == {"GET"}
    assert PASSWORD not in out


def test_create_bucket_on_a_terminal_asks_and_a_no_creates_nothing(ws: Path, s3: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    config = _config(ws, s3, bucket)
    code, out = _run_on_pty(["backend", "check", "--env", "dev", "--create-bucket", "--config", str(config)], b"n\n")
    assert f"will create bucket '{bucket}'" in out
    assert f"Create bucket '{bucket}' at {s3.endpoint} (region us-east-1), with versioning on? [y/N]" in out
    assert code == 1 and "creating it was declined" in out
    assert bucket not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]


def test_migrate_holds_the_environment_run_lock(iac_bin: str, ws: Path, s3: RehearsalS3, s3_bucket: str,
                                                http_server: HttpStateServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two migrations of a stack (two terminals, or a migrate while a deploy of the environment runs) both ran
    `init -migrate-state` into one destination: the second overwrote the first, and their reports and transcript
    disagreed. A migrate that will write now takes the run lock a deploy takes; a deploy meeting it names it."""
    from gfwizard.errors import CheckFailure
    from gfwizard.stacks_runlock import RunLock

    config = _config(ws, s3, s3_bucket, http_server)
    http_server.put_state("attic", "dev", json.dumps({
        "version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "lin-locked",
        "outputs": {"hello": {"value": "world", "type": "string"}}, "resources": []}).encode())
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    lock_path = ws / "ws" / "journal" / "dev.lock"
    deploying = RunLock(lock_path, "dev")
    deploying.acquire("run-1", "a deploy from the command line")
    try:
        before = tree_digest(ws)
        done = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes", "--config", str(config)])
        assert done.returncode == 1, done.stdout + done.stderr
        assert ("error: another deploy run of dev is running on this machine (a deploy from the command line: run "
                "run-1, pid ") in done.stderr
        assert tree_digest(ws) == before  # no backup, no scratch directory, no transcript
        assert "Contents" not in s3.client().list_objects_v2(Bucket=s3_bucket, Prefix="gloriousflywheel/dev/")
    finally:
        deploying.release()
    migrating = RunLock(lock_path, "dev")
    migrating.acquire("run-2", "`gfwizard backend migrate`", kind="state migration")
    try:
        with pytest.raises(CheckFailure, match=r"^another state migration run of dev is running on this machine "
                                               r"\(`gfwizard backend migrate`: run run-2, pid "):
            RunLock(lock_path, "dev").acquire("run-3", "a deploy from the command line")
    finally:
        migrating.release()
