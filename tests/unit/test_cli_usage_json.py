"""With ``--json``, a usage error (bad flag, missing option, unknown command) is the documented
``{"error": {message, remedy, exit_code}}`` object on stdout, exit 2, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO, run_cli, tree_digest


@pytest.mark.parametrize("args,message,where", [
    (["status", "--json"], "--json prints one snapshot: use it with --once", "gfwizard status"),
    (["backend", "check", "--json"], "Missing option '--env'.", "gfwizard backend check"),
    (["deploy", "--env", "dev", "--json", "--concurrency", "0"],
     "Invalid value for '--concurrency': 0 is not in the range 1<=x<=8.", "gfwizard deploy"),
    (["nosuch", "--json"], "No such command 'nosuch'.", "gfwizard"),
    (["deploy", "--env", "dev", "--json", "--concurrency"], "Option '--concurrency' requires an argument.",
     "gfwizard deploy"),
    (["backend", "check", "--json", "--env"], "Option '--env' requires an argument.", "gfwizard backend check"),
    # nan passes any range bound (every comparison with it is false) and inf overflows a timer: both refused.
    (["validate", "--json", "--connect-timeout", "nan"],
     "Invalid value for '--connect-timeout': 'nan' is not a finite number.", "gfwizard validate"),
    (["validate", "--json", "--read-timeout", "inf"],
     "Invalid value for '--read-timeout': 'inf' is not a finite number.", "gfwizard validate"),
    (["status", "--once", "--json", "--lock-age-threshold", "NaN"],
     "Invalid value for '--lock-age-threshold': 'NaN' is not a finite number.", "gfwizard status"),
    (["status", "--json", "--refresh", "nan"], "Invalid value for '--refresh': 'nan' is not a finite number.",
     "gfwizard status"),
    (["backend", "check", "--env", "dev", "--json", "--connect-timeout", "1e999"],
     "Invalid value for '--connect-timeout': '1e999' is not a finite number.", "gfwizard backend check"),
    (["backend", "migrate", "--env", "dev", "--stack", "attic", "--yes", "--json", "--timeout", "nan"],
     "Invalid value for '--timeout': 'nan' is not a finite number.", "gfwizard backend migrate"),
    # An empty path ("$UNSET") is '.': it read, audited or filled the current directory.
    (["config", "show", "--json", "--config", ""], "Invalid value for '--config': the path is empty.",
     "gfwizard config show"),
    (["deploy", "--env", "dev", "--yes", "--json", "--config", ""], "Invalid value for '--config': the path is empty.",
     "gfwizard deploy"),
    (["doctor", "--json", "--config", ""], "Invalid value for '--config': the path is empty.", "gfwizard doctor"),
    (["config", "validate", "", "--json"], "Invalid value for '[PATH]': the path is empty.", "gfwizard config validate"),
    (["audit", "", "--json"], "Invalid value for '[PATH]': the path is empty.", "gfwizard audit"),
    (["rehearse", "--workspace", "", "--json"], "Invalid value for '--workspace': the path is empty.",
     "gfwizard rehearse"),
    (["rehearse", "--env-file", "", "--json"], "Invalid value for '--env-file': the path is empty.",
     "gfwizard rehearse"),
])
def test_a_usage_error_with_json_is_the_error_object(tmp_path: Path, args: list[str], message: str,
                                                      where: str) -> None:
    state = tmp_path / "state"
    before = tree_digest(REPO / "config")
    done = run_cli(args, env={"GFW_STATE_DIR": str(state)}, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout) == {"error": {"message": message, "remedy": f"see `{where} --help`",
                                                 "exit_code": 2}}
    assert done.stdout.count("\n") == 1, "the error object is one line (a stream reader gets it whole)"
    assert not state.exists() and list(tmp_path.iterdir()) == []
    assert tree_digest(REPO / "config") == before


def test_without_json_a_usage_error_stays_clicks_usage_text(tmp_path: Path) -> None:
    done = run_cli(["backend", "check"], cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "Usage: gfwizard backend check" in done.stderr and "Missing option '--env'." in done.stderr


@pytest.mark.parametrize("args", [["--json"], ["--json", "status", "--once"]])
def test_json_before_the_command_is_an_error_object_that_says_where_it_goes(tmp_path: Path, args: list[str]) -> None:
    state = tmp_path / "state"
    before = tree_digest(REPO / "config")
    done = run_cli(args, env={"GFW_STATE_DIR": str(state)}, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["message"].startswith("No such option '--json'.") and error["exit_code"] == 2
    assert error["remedy"].startswith("--json is an option of each command: put it after the command")
    assert not state.exists() and list(tmp_path.iterdir()) == []
    assert tree_digest(REPO / "config") == before


def test_another_group_option_error_with_json_names_the_help_only(tmp_path: Path) -> None:
    done = run_cli(["--bogus", "status", "--once", "--json"], cwd=tmp_path)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"error": {"message": "No such option '--bogus'.",
                                                 "remedy": "see `gfwizard --help`", "exit_code": 2}}


def test_an_input_error_of_the_deploy_stream_is_one_line(tmp_path: Path) -> None:
    """``deploy --json`` is one object per line; its input errors are too (the docs promise the only line)."""
    from gfwizard.orgconfig import save_config
    from gfwizard.rehearsal.workspace import org_config

    config = tmp_path / "organization.yaml"  # loopback addresses only: nothing real is ever contacted
    save_config(org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=tmp_path / "kubeconfig",
                           s3_endpoint="http://127.0.0.1:9000", bucket="state"), config)
    done = run_cli(["deploy", "--env", "staging", "--json", "--config", str(config)],
                   env={"GFW_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stdout.splitlines()
    error = json.loads(line)["error"]
    assert error["exit_code"] == 2 and "staging" in error["message"], error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["organization.yaml"]
