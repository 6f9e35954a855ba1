"""A file where a deploy (or ``backend render``) keeps its working files — the journal, transcripts, the IaC binary's
data directories, the rendered backend files — is refused before anything runs, naming it and the mv that fixes it.
Before, the run started and died on it with a traceback (``internal error: NotADirectoryError``), and a file named
``journal`` got the remedy to move ``journal/dev.jsonl`` aside, which cannot be done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gfwizard.orgconfig import save_config
from gfwizard.rehearsal.workspace import org_config
from tests.helpers import run_cli, tree_digest

WHAT = {"journal": "the run journals", "transcripts": "the transcripts", "transcripts/dev": "the transcripts",
        "work": "the IaC binary's data directories and saved plans",
        "work/dev/attic": "the IaC binary's data directories and saved plans",
        "backends": "the rendered backend files", "backends/gitlab-runners": "the rendered backend files"}


def _setup(tmp_path: Path, blocker: str) -> tuple[Path, Path, dict[str, str]]:
    config = tmp_path / "organization.yaml"  # loopback addresses only: nothing real is ever contacted
    save_config(org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=tmp_path / "kubeconfig",
                           s3_endpoint="http://127.0.0.1:9", bucket="state",
                           http_address="http://127.0.0.1:9/state/{stack}-{env}", http_username="op"), config)
    workspace = tmp_path / "ws"
    (workspace / blocker).parent.mkdir(parents=True, exist_ok=True)
    (workspace / blocker).write_text("not a directory\n")
    env = {"GFW_WORKSPACE": str(workspace), "GFW_STATE_DIR": str(tmp_path / "state")}
    return config, workspace, env


@pytest.mark.parametrize("blocker", list(WHAT))
def test_deploy_refuses_a_file_where_it_keeps_its_files(tmp_path: Path, blocker: str) -> None:
    config, workspace, env = _setup(tmp_path, blocker)
    before = tree_digest(workspace)
    done = run_cli(["deploy", "--env", "dev", "--plan-only", "--json", "--config", str(config)], env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    error = json.loads(done.stdout.splitlines()[0])["error"]
    path = workspace / blocker
    assert error["message"] == (f"{path} is not a directory, but gfwizard keeps {WHAT[blocker]} there; nothing was "
                                "written or run")
    assert error["remedy"] == f"move it aside (`mv {path} {path}.aside`), then run again: gfwizard creates the directory"
    assert tree_digest(workspace) == before


@pytest.mark.parametrize("blocker", ["backends", "backends/gitlab-runners"])
def test_backend_render_refuses_a_file_where_the_backend_files_go(tmp_path: Path, blocker: str) -> None:
    config, workspace, env = _setup(tmp_path, blocker)
    before = tree_digest(workspace)
    done = run_cli(["backend", "render", "--env", "dev", "--config", str(config)], env=env, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    path = workspace / blocker
    assert (f"error: {path} is not a directory, but gfwizard keeps the rendered backend files there; nothing was "
            "written or run") in done.stderr
    assert tree_digest(workspace) == before


@pytest.mark.parametrize("blocker, what", [("backups", "the backups of the source states"),
                                           ("migrate/dev", "the migrations' scratch directories"),
                                           ("transcripts", "the transcripts")])
def test_backend_migrate_refuses_a_file_where_it_keeps_its_files(tmp_path: Path, blocker: str, what: str) -> None:
    config, workspace, env = _setup(tmp_path, blocker)
    before = tree_digest(workspace)
    done = run_cli(["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes", "--json", "--config",
                    str(config)], env={**env, "TF_HTTP_PASSWORD": "not-used"}, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stdout + done.stderr
    path = workspace / blocker
    error = json.loads(done.stdout)["error"]
    assert error["message"] == f"{path} is not a directory, but gfwizard keeps {what} there; nothing was written or run"
    assert tree_digest(workspace) == before

