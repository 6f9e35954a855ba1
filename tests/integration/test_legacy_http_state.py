"""``rehearse --legacy-http-state``: dev deployed onto the rehearsal's HTTP state server by the real
binary (as an environment not yet moved to S3 looks), its workloads running; the migration then has
real state to move, and a deploy after it finds the stack deployed. The checkout is never written."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gfwizard.errors import InputError
from gfwizard.rehearsal.workspace import RehearsalEnvironment
from tests.helpers import REPO, run_cli, tree_digest

pytestmark = pytest.mark.integration
STACKS = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]


def _state_keys(env: RehearsalEnvironment) -> list[str]:
    listed = env.s3.client().list_objects_v2(Bucket=env.bucket)  # type: ignore[union-attr]
    return sorted(o["Key"] for o in listed.get("Contents", []))


def _status(environ: dict[str, str]) -> dict[str, object]:
    """``status --once --json``: each environment's stack sources, and the problems (kind, subject)."""
    run = run_cli(["status", "--once", "--json"], env=environ)
    assert run.returncode == 1, run.stdout + run.stderr  # unhealthy: some stack runs without state
    doc = json.loads(run.stdout)
    out: dict[str, object] = {env: {s["stack"]: s["source"] for s in doc["stacks"] if s["env"] == env}
                              for env in ("dev", "prod")}
    out["problems"] = [(p["kind"], p["subject"]) for p in doc["problems"]]
    return out


def test_dev_is_deployed_on_http_state_then_migrates_and_deploys_unchanged(tmp_path: Path, iac_bin: str) -> None:
    checkout = tree_digest(REPO / "tofu")
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        assert env.http_state is not None and env.api is not None
        seeded = env.seed_legacy_http_state("dev")
        assert [s.stack for s in seeded] == STACKS and all(s.workloads == 1 for s in seeded)
        for stack in STACKS:
            state = json.loads(env.http_state.current_state(stack, "dev") or b"{}")
            assert state["resources"] and set(state["outputs"]) == {"namespaces", "workloads"}
            assert env.http_state.current_state(stack, "prod") is None
        assert env.api.store.get("deployments", "attic-dev", "attic") is not None  # its workloads run
        assert _state_keys(env) == []  # S3 is untouched: that is what the migration is for
        assert env.env["TF_HTTP_USERNAME"] == env.http_state.username
        assert env.env["TF_HTTP_PASSWORD"] == env.http_state.password
        assert tree_digest(REPO / "tofu") == checkout

        cli_env = {**env.env, "GFW_TOFU_BIN": iac_bin}
        # Status reads S3: before the migration dev runs without state there, which it says (not "not applied").
        before = _status(cli_env)
        assert before["dev"] == {stack: "untracked" for stack in STACKS}, before
        assert before["prod"] == {stack: "none" for stack in STACKS}, before
        assert before["problems"] == [("running-without-state", f"dev/{stack}") for stack in STACKS]
        # A deploy before the migration would create attic again on empty S3 state: a gate stops it first.
        early = run_cli(["deploy", "--env", "dev", "--stack", "attic", "--yes", "--json"], env=cli_env)
        assert early.returncode == 1, early.stdout + early.stderr
        events = [json.loads(line) for line in early.stdout.splitlines()]
        gate = next(e for e in events if e["event"] == "gate_checked")
        migration = next(c for c in gate["checks"] if c["name"] == "state migration")
        assert migration["level"] == "fail" and migration["detail"] == (
            "the state of attic in dev is still only on the GitLab HTTP backend: deploying now would create it "
            "again on empty S3 state and break the migration")
        assert "`gfwizard backend migrate --env dev --stack attic`" in migration["remedy"]
        assert events[-1]["outcome"] == "gate-failed" and _state_keys(env) == []
        migrated = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes"], env=cli_env)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert "state.backend is s3 already: the next deploy uses it" in migrated.stdout, migrated.stdout
        assert "gloriousflywheel/dev/attic.tfstate" in _state_keys(env)
        after = _status(cli_env)
        assert after["dev"] == {**{stack: "untracked" for stack in STACKS}, "attic": "state"}, after
        assert ("running-without-state", "dev/attic") not in after["problems"]
        done = run_cli(["deploy", "--env", "dev", "--stack", "attic", "--yes", "--json"], env=cli_env)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout.splitlines()[-1])
        assert [(s["stack"], s["outcome"]) for s in result["stacks"]] == [("attic", "no-changes")]
        gate = next(json.loads(line) for line in done.stdout.splitlines() if '"gate_checked"' in line)
        assert [c["level"] for c in gate["checks"] if c["name"] == "state migration"] == ["pass"]
    assert tree_digest(REPO / "tofu") == checkout


def test_a_failing_binary_stops_the_seeding_with_its_message_and_writes_no_state(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n[ "$1" = version ] && { echo \'{"terraform_version":"1.11.4"}\'; exit 0; }\n'
                    'echo "Error: boom from the binary" >&2\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        assert env.http_state is not None
        import os

        from gfwizard.rehearsal.legacy_state import seed_legacy_http_state

        with pytest.raises(InputError) as raised:
            seed_legacy_http_state(env, environ={**os.environ, **env.env, "GFW_TOFU_BIN": str(fake)})
        assert raised.value.message == ("seeding the legacy HTTP state of attic: `init` failed: "
                                        "Error: boom from the binary")
        assert raised.value.remedy == "start the rehearsal again, or without --legacy-http-state"
        assert all(env.http_state.current_state(stack, "dev") is None for stack in STACKS)
        assert _state_keys(env) == [] and "TF_HTTP_PASSWORD" not in env.env
