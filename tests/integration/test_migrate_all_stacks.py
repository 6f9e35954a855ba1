"""``gfwizard backend migrate --env E`` without ``--stack``: every stack still only on the HTTP backend, in
dependency order, after one question; the first stack that does not end well stops the rest. And the
``http state`` row of ``backend check``, which says which stacks are still only on HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from gfwizard.orgconfig import save_config
from gfwizard.rehearsal.httpstate import HttpStateServer
from gfwizard.rehearsal.s3 import RehearsalS3
from gfwizard.rehearsal.workspace import RehearsalEnvironment
from tests.backend_doubles import make_cfg
from tests.helpers import REPO, run_cli, tree_digest
from tests.integration.test_backend_cli import _run_on_pty

pytestmark = pytest.mark.integration

PASSWORD = "migrate-all-http-state-password"
LEGACY = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
FOUR = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")


def _keys(s3: Any, bucket: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def _http_check(environ: dict[str, str]) -> dict[str, Any] | None:
    done = run_cli(["backend", "check", "--env", "dev", "--json"], env=environ)
    assert done.returncode == 0, done.stdout + done.stderr
    return next((c for c in json.loads(done.stdout)["checks"] if c["name"] == "http state"), None)


def test_every_pending_stack_of_the_legacy_http_state_is_migrated_in_order(tmp_path: Path, iac_bin: str) -> None:
    checkout = tree_digest(REPO / "tofu")
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        assert env.http_state is not None
        env.seed_legacy_http_state("dev")
        cli_env = {**env.env, "GFW_TOFU_BIN": iac_bin}
        # backend check used to pass with "0 state file(s)": now it names what is still on HTTP.
        row = _http_check(cli_env)
        assert row is not None and row["level"] == "warn", row
        assert row["detail"] == f"the state of {', '.join(LEGACY)} is still only on the HTTP backend"
        assert "`gfwizard backend migrate --env dev`" in row["remedy"]
        # Without the password it cannot look, and says so (and how to let it look).
        blind = _http_check({**cli_env, "TF_HTTP_PASSWORD": ""})
        assert blind is not None and blind["level"] == "warn"
        assert blind["detail"].startswith("TF_HTTP_PASSWORD is not exported: could not look")
        assert "export TF_HTTP_PASSWORD" in blind["remedy"]
        assert [k for k in _keys(env.s3, env.bucket) if k.endswith(".tfstate")] == []  # the checks read only

        done = run_cli(["backend", "migrate", "--env", "dev", "--yes", "--json"], env=cli_env)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert result["outcome"] == "migrated" and result["ok"] is True and result["stopped"] is None
        assert result["stacks"] == LEGACY and result["done"] == LEGACY and result["not_done"] == []
        assert [(r["stack"], r["outcome"]) for r in result["reports"]] == [(s, "migrated") for s in LEGACY]
        assert done.stderr.splitlines()[0] == f"will migrate: {', '.join(LEGACY)} (in dependency order, one after " \
                                              "the other)"
        # One after the other: each stack's run started after the one before it ended.
        starts = [done.stderr.find(f"== {s} ({i}/4) ==") for i, s in enumerate(LEGACY, 1)]
        assert -1 not in starts and starts == sorted(starts)
        assert [k for k in _keys(env.s3, env.bucket) if k.endswith(".tfstate")] == sorted(
            f"gloriousflywheel/dev/{s}.tfstate" for s in LEGACY)
        assert env.http_state.password not in done.stdout + done.stderr

        row = _http_check(cli_env)
        assert row is not None and row["level"] == "pass", row
        # Nothing pending now: said so, exit 0, nothing written.
        before, objects = tree_digest(tmp_path / "ws"), _keys(env.s3, env.bucket)
        again = run_cli(["backend", "migrate", "--env", "dev", "--yes"], env=cli_env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout == "nothing to migrate: no stack of 'dev' has its state only on the HTTP backend " \
                               "(nothing written)\n"
        assert _keys(env.s3, env.bucket) == objects
        after = tree_digest(tmp_path / "ws")
        assert {k: v for k, v in after.items() if not k.endswith(".log")} == \
               {k: v for k, v in before.items() if not k.endswith(".log")}  # the servers' request logs grow
    assert tree_digest(REPO / "tofu") == checkout


@pytest.fixture
def http_server(s3: RehearsalS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HttpStateServer]:
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    with HttpStateServer("rehearsal", PASSWORD) as server:
        yield server


def _deploy_arc_runners_meanwhile(s3: RehearsalS3, bucket: str) -> None:
    """Someone else's deploy of arc-runners: S3 holds a state of another lineage, which a migration refuses."""
    foreign = json.dumps({"version": 4, "serial": 9, "lineage": "lin-deployed-meanwhile", "resources": [],
                          "outputs": {"other": {"value": 1, "type": "number"}}}).encode()
    s3.client().put_object(Bucket=bucket, Key="gloriousflywheel/dev/arc-runners.tfstate", Body=foreign)


def _seed(server: HttpStateServer, stacks: tuple[str, ...]) -> dict[str, bytes]:
    states = {}
    for stack in stacks:
        states[stack] = json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 3,
                                    "lineage": f"lin-{stack}", "resources": [],
                                    "outputs": {"hello": {"value": stack, "type": "string"}}}).encode()
        server.put_state(stack, "dev", states[stack])
    return states


def test_a_refusal_on_stack_two_stops_before_stack_three(tmp_path: Path, iac_bin: str, s3: RehearsalS3,
                                                         s3_bucket: str, http_server: HttpStateServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import gfwizard.backend as backend
    from gfwizard.commands.backend import backend as group

    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    states = _seed(http_server, FOUR)
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    real = backend.migrate_http_to_s3

    def racing(cfg: Any, env: str, stack: str, *args: Any, **kwargs: Any) -> Any:
        # Someone deploys arc-runners between the lookup and its migration: S3 holds another lineage then.
        if stack == "arc-runners":
            _deploy_arc_runners_meanwhile(s3, s3_bucket)
        return real(cfg, env, stack, *args, **kwargs)

    monkeypatch.setattr(backend, "migrate_http_to_s3", racing)
    done = CliRunner().invoke(group, ["migrate", "--env", "dev", "--yes", "--json", "--config", str(config)])
    assert done.exit_code == 1, done.output
    result = json.loads(done.stdout)
    assert result["stacks"] == list(FOUR) and result["outcome"] == "stopped" and result["ok"] is False
    assert result["done"] == ["attic"] and result["not_done"] == ["arc-runners", "gitlab-runners", "runner-dashboard"]
    assert result["stopped"]["stack"] == "arc-runners" and result["stopped"]["outcome"] == "refused"
    assert "another lineage" in result["stopped"]["detail"]
    assert [r["stack"] for r in result["reports"]] == ["attic", "arc-runners"]
    keys = _keys(s3, s3_bucket)
    assert "gloriousflywheel/dev/attic.tfstate" in keys
    assert "gloriousflywheel/dev/gitlab-runners.tfstate" not in keys  # stack 3 was never started
    assert "gloriousflywheel/dev/runner-dashboard.tfstate" not in keys
    backups = sorted(p.name.split("-dev-")[0] for p in (tmp_path / "ws" / "backups" / "dev").iterdir())
    assert backups == ["attic"]  # arc-runners was refused before its backup: a backup is only for a run that writes
    assert all(http_server.current_state(s, "dev") == states[s] for s in FOUR)  # the sources untouched


def test_after_a_stop_the_command_that_goes_on_repeats_the_given_stacks_and_options(
        tmp_path: Path, iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # It said `gfwizard backend migrate --env dev`: followed, it would migrate runner-dashboard too, which the
    # operator had left out, without the --yes and --timeout given.
    import shlex

    from click.testing import CliRunner

    import gfwizard.backend as backend
    from gfwizard.commands.backend import backend as group

    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "my configs" / "organization.yaml")
    states = _seed(http_server, FOUR)
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    foreign = json.dumps({"version": 4, "serial": 9, "lineage": "lin-deployed-meanwhile", "resources": [],
                          "outputs": {}}).encode()
    real = backend.migrate_http_to_s3

    def racing(cfg: Any, env: str, stack: str, *args: Any, **kwargs: Any) -> Any:
        if stack == "arc-runners":
            s3.client().put_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/arc-runners.tfstate", Body=foreign)
        return real(cfg, env, stack, *args, **kwargs)

    monkeypatch.setattr(backend, "migrate_http_to_s3", racing)
    given = ["--stack", "attic", "--stack", "arc-runners", "--stack", "gitlab-runners"]
    done = CliRunner().invoke(group, ["migrate", "--env", "dev", *given, "--yes", "--timeout", "900",
                                      "--config", str(config)])
    assert done.exit_code == 1, done.output
    go_on = (f"`gfwizard backend migrate --env dev --stack arc-runners --stack gitlab-runners --yes --timeout 900.0 "
             f"--config {shlex.quote(str(config))}`")
    assert f"once it is sorted out, {go_on} goes on with the stacks still pending" in done.stdout, done.stdout
    keys = _keys(s3, s3_bucket)
    assert "gloriousflywheel/dev/gitlab-runners.tfstate" not in keys
    assert "gloriousflywheel/dev/runner-dashboard.tfstate" not in keys
    assert all(http_server.current_state(s, "dev") == states[s] for s in FOUR)


def test_no_at_the_one_question_writes_nothing(tmp_path: Path, s3: RehearsalS3, s3_bucket: str,
                                               http_server: HttpStateServer) -> None:
    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    states = _seed(http_server, ("attic", "gitlab-runners"))
    before = tree_digest(tmp_path)
    os.environ["TF_HTTP_PASSWORD"] = PASSWORD  # the pty run inherits this process's environment
    try:
        code, out = _run_on_pty(["backend", "migrate", "--env", "dev", "--config", str(config)], b"n\n")
    finally:
        del os.environ["TF_HTTP_PASSWORD"]
    text = " ".join(out.split())
    shown = ["will migrate: attic, gitlab-runners (in dependency order", "will write ",
             f"will back up each source state under {tmp_path / 'ws' / 'backups' / 'dev'} first",
             f"Migrate the state of 2 stack(s) (dev) from the HTTP backend to s3://{s3_bucket}/gloriousflywheel/dev/?"]
    positions = [text.find(line) for line in shown]
    assert -1 not in positions and positions == sorted(positions), text
    assert text.count("[y/N]") == 1  # one question for every stack
    assert code == 1 and "not migrated: declined (nothing was written)" in text
    assert tree_digest(tmp_path) == before and _keys(s3, s3_bucket) == []
    # Only the lookup's reads reached the HTTP server.
    assert {e["method"] for e in http_server.request_log.entries()} == {"GET"}
    assert all(http_server.current_state(s, "dev") == states[s] for s in states)
    assert PASSWORD not in out


def test_without_a_terminal_or_the_password_it_refuses_before_reading(tmp_path: Path, s3: RehearsalS3,
                                                                      s3_bucket: str,
                                                                      http_server: HttpStateServer) -> None:
    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    _seed(http_server, FOUR)
    before = tree_digest(tmp_path)
    no_tty = run_cli(["backend", "migrate", "--env", "dev", "--config", str(config)],
                     env={"TF_HTTP_PASSWORD": PASSWORD})
    assert no_tty.returncode == 2
    assert no_tty.stderr.splitlines()[0] == "error: migrate writes state; without a terminal to ask on it needs --yes"
    assert "`gfwizard backend migrate --env dev --yes" in no_tty.stderr
    no_password = run_cli(["backend", "migrate", "--env", "dev", "--yes", "--json", "--config", str(config)],
                          env={"TF_HTTP_PASSWORD": ""})
    assert no_password.returncode == 2
    assert json.loads(no_password.stdout)["error"]["message"].startswith("TF_HTTP_PASSWORD is not set")
    assert tree_digest(tmp_path) == before and _keys(s3, s3_bucket) == []
    assert http_server.request_log.entries() == []


def test_backend_check_without_state_http_has_no_http_row_and_names_unreadable_state(
        tmp_path: Path, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer) -> None:
    plain = save_config(make_cfg(s3.endpoint, s3_bucket), tmp_path / "plain.yaml")
    done = run_cli(["backend", "check", "--env", "dev", "--json", "--config", str(plain)],
                   env={"TF_HTTP_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "http state" not in [c["name"] for c in json.loads(done.stdout)["checks"]]
    with_http = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template),
                            tmp_path / "http.yaml")
    _seed(http_server, ("attic",))
    text = run_cli(["backend", "check", "--env", "dev", "--config", str(with_http)],
                   env={"TF_HTTP_PASSWORD": "wrong"})
    assert text.returncode == 0, text.stdout + text.stderr
    line = next(line for line in text.stdout.splitlines() if "http state" in line)
    assert line.split()[0] == "WARN" and "could not read the HTTP state of attic" in line
    assert "refused the credentials (401)" in line
    assert {e["method"] for e in http_server.request_log.entries()} == {"GET"}  # read-only


@pytest.mark.parametrize("stop", ["refused", "interrupted"])
def test_a_stop_with_given_stacks_says_to_go_on_with_those_stacks_only(
        tmp_path: Path, iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
        monkeypatch: pytest.MonkeyPatch, stop: str) -> None:
    # The hint said `gfwizard backend migrate --env dev`, which migrates every pending stack (runner-dashboard too,
    # which the operator left out), and dropped the operator's --config.
    from click.testing import CliRunner

    import gfwizard.backend as backend
    from gfwizard.commands.backend import backend as group

    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    _seed(http_server, FOUR)
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    real = backend.migrate_http_to_s3

    def stopping(cfg: Any, env: str, stack: str, *args: Any, **kwargs: Any) -> Any:
        if stack == "arc-runners":
            if stop == "interrupted":
                raise KeyboardInterrupt
            _deploy_arc_runners_meanwhile(s3, s3_bucket)
        return real(cfg, env, stack, *args, **kwargs)

    monkeypatch.setattr(backend, "migrate_http_to_s3", stopping)
    args = [*_given(config, "gitlab-runners", "arc-runners", "attic")[1:], "--yes"]
    done = CliRunner().invoke(group, [*args, "--json"] if stop == "interrupted" else args)
    assert done.exit_code == 1, done.output
    # The stacks still to do, in dependency order (attic is done), with the operator's own --yes (and --json: it
    # was dropped, so the command printed to go on was not the one run).
    again = f"`gfwizard backend migrate --env dev --stack arc-runners --stack gitlab-runners --yes --config {config}`"
    if stop == "interrupted":
        result = json.loads(done.stdout)
        assert result["stopped"]["remedy"] == f"re-run {again[:-1]} --json` to go on"
    else:
        lines = done.stdout.splitlines()
        assert lines[-2].startswith("stopped at arc-runners (refused): done: attic; not done: arc-runners, "
                                    "gitlab-runners"), done.stdout
        assert lines[-1] == f"once it is sorted out, {again} goes on with the stacks still pending"
    assert "gloriousflywheel/dev/runner-dashboard.tfstate" not in _keys(s3, s3_bucket)


def test_an_interrupted_json_run_says_to_go_on_with_the_command_as_run(
        tmp_path: Path, iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The command to go on dropped --json: followed, it printed text where the operator's tooling reads JSON.
    from click.testing import CliRunner

    import gfwizard.backend as backend
    from gfwizard.commands.backend import backend as group

    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    states = _seed(http_server, FOUR)
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    real = backend.migrate_http_to_s3

    def interrupted(cfg: Any, env: str, stack: str, *args: Any, **kwargs: Any) -> Any:
        if stack == "arc-runners":
            raise KeyboardInterrupt
        return real(cfg, env, stack, *args, **kwargs)

    monkeypatch.setattr(backend, "migrate_http_to_s3", interrupted)
    done = CliRunner().invoke(group, ["migrate", "--json", "--env", "dev", "--timeout", "900", "--yes",
                                      "--config", str(config)])
    assert done.exit_code == 1, done.output
    result = json.loads(done.stdout)
    assert result["done"] == ["attic"] and result["stopped"]["outcome"] == "interrupted"
    # Every option as given, in the command's order; no --stack was given, so none is added (every stack still
    # on HTTP is what was asked for).
    assert result["stopped"]["remedy"] == (f"re-run `gfwizard backend migrate --env dev --yes --timeout 900.0 "
                                           f"--config {config} --json` to go on")
    assert "gloriousflywheel/dev/arc-runners.tfstate" not in _keys(s3, s3_bucket)
    assert all(http_server.current_state(s, "dev") == states[s] for s in FOUR)  # the sources untouched


def _given(config: Path, *stacks: str) -> list[str]:
    return ["backend", "migrate", "--env", "dev", *(a for s in stacks for a in ("--stack", s)), "--config",
            str(config)]


def test_several_stacks_are_read_first_and_a_refusal_asks_and_writes_nothing(
        tmp_path: Path, iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Several --stack used to ask first and then run attic before arc-runners' refusal: now every given stack is
    # read first, as with one --stack, and a refusal is said before any question, with nothing written.
    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    states = _seed(http_server, ("attic", "arc-runners", "gitlab-runners"))
    _deploy_arc_runners_meanwhile(s3, s3_bucket)
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)  # the runs inherit this process's environment
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    args = _given(config, "gitlab-runners", "arc-runners", "attic")
    before, objects = tree_digest(tmp_path), _keys(s3, s3_bucket)

    code, out = _run_on_pty(args, b"y\n")
    text = " ".join(out.split())
    assert code == 1, text
    assert "[y/N]" not in out and "Migrate the state" not in text, text  # nothing asked
    assert "will migrate" not in text and "will back up" not in text and "will write" not in text, text
    assert "== arc-runners ==" in text and "another lineage" in text
    assert "not migrated: arc-runners (refused); nothing was asked or written" in text
    assert "to migrate the others meanwhile: `gfwizard backend migrate --env dev --stack attic --stack " \
           f"gitlab-runners --config {config}`" in text

    done = run_cli([*args, "--yes", "--json"])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "to migrate the others meanwhile: `gfwizard backend migrate --env dev --stack attic --stack " \
           f"gitlab-runners --yes --config {config} --json`" in " ".join(done.stderr.split())
    result = json.loads(done.stdout)
    assert result["outcome"] == "refused" and result["ok"] is False and result["stopped"] is None
    assert result["stacks"] == ["attic", "arc-runners", "gitlab-runners"]  # dependency order
    assert [(r["stack"], r["outcome"], r["backup_path"]) for r in result["reports"]] == [
        ("arc-runners", "refused", None)]
    assert result["done"] == [] and result["not_done"] == ["attic", "arc-runners", "gitlab-runners"]
    assert "== attic (1/" not in done.stderr  # no stack was run
    for output in (out, done.stdout, done.stderr):
        assert PASSWORD not in output
    assert tree_digest(tmp_path) == before and _keys(s3, s3_bucket) == objects  # no backup, no state written
    assert all(http_server.current_state(s, "dev") == states[s] for s in states)
    assert {e["method"] for e in http_server.request_log.entries()} == {"GET"}


def test_several_stacks_say_what_needs_nothing_and_ask_only_for_the_rest(
        tmp_path: Path, iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    states = _seed(http_server, ("attic", "gitlab-runners"))
    # attic's state is in S3 already, with the same content: nothing to do for it.
    s3.client().put_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/attic.tfstate", Body=states["attic"])
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    args = _given(config, "gitlab-runners", "attic")
    before, objects = tree_digest(tmp_path), _keys(s3, s3_bucket)

    code, out = _run_on_pty(args, b"n\n")
    text = " ".join(out.split())
    shown = ["== attic ==", "in-sync: ", "will migrate: gitlab-runners (in dependency order, one after the other; "
             "nothing to do for attic)", "will write ",
             f"will back up the source state under {tmp_path / 'ws' / 'backups' / 'dev'} first",
             "Migrate the state of 1 stack(s) (dev) from the HTTP backend to "
             f"s3://{s3_bucket}/gloriousflywheel/dev/?"]
    positions = [text.find(line) for line in shown]
    assert -1 not in positions and positions == sorted(positions), text
    assert text.count("[y/N]") == 1 and "attic, gitlab-runners" not in text
    assert code == 1 and "not migrated: declined (nothing was written)" in text
    assert tree_digest(tmp_path) == before and _keys(s3, s3_bucket) == objects

    ran = run_cli([*args, "--yes"])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "== gitlab-runners (1/1) ==" in ran.stdout and "== attic (" not in ran.stdout
    assert ran.stdout.splitlines()[-1] == "done: gitlab-runners (1 stack(s) migrated; nothing to do for attic)"

    # Every given stack needing nothing: said, nothing asked, exit 0.
    before, objects = tree_digest(tmp_path), _keys(s3, s3_bucket)
    code, out = _run_on_pty(args, b"y\n")
    assert code == 0, out
    assert "[y/N]" not in out and "will back up" not in out
    assert "nothing to migrate: S3 holds the state of attic, gitlab-runners already (nothing written)" in out
    done = run_cli([*args, "--yes", "--json"])
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "nothing-pending" and result["ok"] is True
    assert [(r["stack"], r["outcome"]) for r in result["reports"]] == [("attic", "in-sync"),
                                                                         ("gitlab-runners", "in-sync")]
    assert result["done"] == ["attic", "gitlab-runners"] and result["not_done"] == []
    assert tree_digest(tmp_path) == before and _keys(s3, s3_bucket) == objects


def test_several_stacks_with_a_source_to_nothing_name_it_before_any_question(
        tmp_path: Path, iac_bin: str, s3: RehearsalS3, s3_bucket: str, http_server: HttpStateServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = save_config(make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=FOUR),
                         tmp_path / "organization.yaml")
    _seed(http_server, ("attic",))  # runner-dashboard has no HTTP state
    monkeypatch.setenv("TF_HTTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    before = tree_digest(tmp_path)
    done = run_cli([*_given(config, "attic", "runner-dashboard"), "--yes", "--json"])
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["message"].startswith("nothing was migrated: runner-dashboard: there is no state at "), error
    assert "runner-dashboard-dev: nothing to migrate" in error["message"]
    # The command as run (--yes, --json), without the stack it cannot migrate.
    assert error["remedy"].endswith(f"or leave it out: `gfwizard backend migrate --env dev --stack attic --yes "
                                    f"--config {config} --json`"), error
    assert "will migrate" not in done.stderr
    assert tree_digest(tmp_path) == before and _keys(s3, s3_bucket) == []
