"""``gfwizard rehearse --serve`` as a real process: exports, real clients, signals, cleanup."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.helpers import REPO, run_cli, tree_digest

REQUIRED = ("KUBECONFIG", "GFW_CONFIG", "GFW_WORKSPACE", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_REGION")


class Served:
    """A running ``gfwizard rehearse`` process whose stdout is read line by line in a thread."""

    def __init__(self, args: list[str], python: list[str] | None = None) -> None:
        command = [sys.executable, *(python or ["-m", "gfwizard"]), "rehearse", *args]
        self.proc = subprocess.Popen(command, cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_until(self, done: Callable[[str], bool], timeout: float = 30) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"process ended early: {got} {self.proc.stderr.read() if self.proc.stderr else ''}")
            got.append(line)
            if done(line):
                return got

    def stop(self, sig: int, timeout: float = 60) -> tuple[int, str]:
        """Send ``sig`` and wait for the exit; ``timeout`` only catches a hang (a loaded CI host is slow)."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


@pytest.fixture
def served_processes() -> Iterator[list[Served]]:
    procs: list[Served] = []
    yield procs
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(timeout=10)


def _exports(lines: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0]
    return env


def _port_open(url: str) -> bool:
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def test_serve_exports_work_with_real_clients_and_sigterm_cleans_up(
        tmp_path: Path, served_processes: list[Served], monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "rehearsal.env"
    served = Served(["--serve", "--env-file", str(env_file)])
    served_processes.append(served)
    lines = served.read_until(lambda line: line.startswith("# things to try"))
    lines += served.read_until(lambda line: "gfwizard status" in line)
    exports = _exports(lines)
    assert set(REQUIRED) <= set(exports)
    assert any("gfwizard validate" in line for line in lines)
    assert any("kubectl get nodes" in line for line in lines)

    # The env file holds exactly the export lines, readable only by the owner.
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert _exports(env_file.read_text().splitlines()) == exports

    # kubectl with the exported KUBECONFIG sees honey, bumble and sting.
    kubectl = subprocess.run(["kubectl", "get", "nodes", "-o", "name", "--request-timeout=10s"],
                             env={**os.environ, "KUBECONFIG": exports["KUBECONFIG"], "HOME": str(tmp_path)},
                             capture_output=True, text=True, timeout=30)
    assert kubectl.returncode == 0, kubectl.stderr
    assert {"node/honey", "node/bumble", "node/sting"} <= set(kubectl.stdout.split())

    # boto3 configured only by the exported environment finds the bucket of the exported config.
    import boto3
    import yaml

    for key, value in exports.items():
        monkeypatch.setenv(key, value)
    bucket = yaml.safe_load(Path(exports["GFW_CONFIG"]).read_text())["state"]["s3"]["bucket"]
    boto3.session.Session().client("s3").head_bucket(Bucket=bucket)

    workspace = Path(exports["GFW_WORKSPACE"])
    api_url = yaml.safe_load(Path(exports["KUBECONFIG"]).read_text())["clusters"][0]["cluster"]["server"]
    assert workspace.is_dir() and _port_open(api_url) and _port_open(exports["AWS_ENDPOINT_URL_S3"])

    code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "rehearsal stopped" in stderr
    assert exports["AWS_SECRET_ACCESS_KEY"] not in stderr
    assert not _port_open(api_url) and not _port_open(exports["AWS_ENDPOINT_URL_S3"])
    assert not workspace.exists()
    assert not env_file.exists()


def test_serve_json_sigint_keep(tmp_path: Path, served_processes: list[Served]) -> None:
    workspace = tmp_path / "ws"
    served = Served(["--serve", "--json", "--keep", "--workspace", str(workspace), "--nodes", "5"])
    served_processes.append(served)
    doc = json.loads("\n".join(served.read_until(lambda line: line == "}")))
    assert set(REQUIRED) <= set(doc["env"])
    assert doc["workspace"] == str(workspace.resolve()) and doc["nodes"] == 5
    assert any(t.startswith("gfwizard validate") for t in doc["try"])
    assert doc["env"]["GFW_WORKSPACE"] == doc["workspace"]
    code, stderr = served.stop(signal.SIGINT)
    assert code == 0, stderr
    assert f"workspace kept at {workspace.resolve()}" in stderr
    assert not _port_open(doc["api_server"]) and not _port_open(doc["s3_endpoint"])
    assert (workspace / "organization.yaml").is_file() and (workspace / "kubeconfig-honey.yaml").is_file()
    assert doc["env"]["AWS_SECRET_ACCESS_KEY"] not in "".join(
        p.read_text(errors="replace") for p in workspace.rglob("*") if p.is_file())


def test_serve_help_names_every_signal_that_stops_it() -> None:
    helptext = "".join(run_cli(["rehearse", "--help"]).stdout.split())  # click wraps lines
    assert "stayupuntilSIGINT/SIGTERM/SIGHUP." in helptext


@pytest.mark.parametrize("option", ["--env-file", "--workspace"])
def test_a_path_too_long_for_the_file_system_is_refused_not_a_bug(tmp_path: Path, option: str) -> None:
    # Path.is_dir()/exists() raise for ENAMETOOLONG (and EACCES on a directory above): a traceback before.
    long = tmp_path / ("a" * 300)
    before = tree_digest(tmp_path)
    result = run_cli(["rehearse", "--serve", option, str(long)], timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    what = f"--env-file {long}" if option == "--env-file" else f"rehearsal workspace {long}"
    assert f"error: {what} cannot be used: File name too long; nothing was started" in result.stderr
    assert "rehearsal services running" not in result.stderr + result.stdout
    assert tree_digest(tmp_path) == before


def test_env_file_in_missing_directory_is_refused(tmp_path: Path) -> None:
    before = tree_digest(tmp_path)
    result = run_cli(["rehearse", "--serve", "--env-file", str(tmp_path / "missing" / "r.env")], timeout=60)
    assert result.returncode == 2
    assert "does not exist; nothing was started" in result.stderr
    assert tree_digest(tmp_path) == before


def test_non_empty_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    before = tree_digest(tmp_path)
    result = run_cli(["rehearse", "--serve", "--json", "--workspace", str(tmp_path)], timeout=60)
    assert result.returncode == 2
    assert "is not empty; nothing was written" in json.loads(result.stdout)["error"]["message"]
    assert tree_digest(tmp_path) == before


def test_a_workspace_that_cannot_be_created_is_refused_without_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("mine\n")
    before = tree_digest(tmp_path)
    result = run_cli(["rehearse", "--serve", "--workspace", str(blocker / "ws")], timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: cannot create rehearsal workspace {blocker / 'ws'}: Not a directory; nothing was started",
        "remedy: pass a new or empty directory in a writable place, or omit --workspace for a temp directory"]
    assert result.stdout == "" and tree_digest(tmp_path) == before


@pytest.mark.parametrize("as_json", [False, True])
def test_a_workspace_whose_parent_does_not_exist_is_refused_and_nothing_is_created(tmp_path: Path,
                                                                                  as_json: bool) -> None:
    # Only the workspace is removed at shutdown: parents created for it would be left behind, so none are.
    target = tmp_path / "a" / "b" / "ws"
    before = tree_digest(tmp_path)
    result = run_cli(["rehearse", "--serve", *(["--json"] if as_json else []), "--workspace", str(target)],
                     timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    message = f"rehearsal workspace {target}: directory {target.parent} does not exist; nothing was started"
    remedy = ("create the directory first, pass a workspace in an existing directory, or omit --workspace for a temp "
              "directory")
    if as_json:
        assert json.loads(result.stdout)["error"] == {"message": message, "remedy": remedy, "exit_code": 2}
    else:
        assert result.stderr.splitlines() == [f"error: {message}", f"remedy: {remedy}"] and result.stdout == ""
    assert tree_digest(tmp_path) == before and not (tmp_path / "a").exists()


def test_bad_node_count_is_a_usage_error() -> None:
    result = run_cli(["rehearse", "--serve", "--nodes", "0"], timeout=60)
    assert result.returncode == 2 and "--nodes" in result.stderr


def test_without_serve_and_without_the_ui_it_serves_and_says_so(served_processes: list[Served]) -> None:
    # The UI package is made unimportable, as in a build without screens/.
    no_ui = ["-c", "import sys; sys.modules['screens.launch'] = None; from gfwizard.cli import cli; "
                   "cli(prog_name='gfwizard')"]
    served = Served([], python=no_ui)
    served_processes.append(served)
    lines = served.read_until(lambda line: line.startswith("# things to try"))
    assert lines[0] == "# the wizard UI is not installed in this build; serving the rehearsal instead"
    exports = _exports(lines)
    assert set(REQUIRED) <= set(exports)
    code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert not Path(exports["GFW_WORKSPACE"]).exists()


def test_without_serve_the_wizard_runs_against_a_live_rehearsal(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gfwizard.commands import _common
    from gfwizard.commands import rehearse as command

    seen: dict[str, object] = {}

    def fake_wizard(*, rehearsal: object) -> None:
        seen["env_file"] = env_file.read_text()
        seen["kubeconfig"] = os.environ.get("KUBECONFIG")
        seen["env"] = dict(rehearsal.env)  # type: ignore[attr-defined]
        seen["api_up"] = _port_open(rehearsal.api.url)  # type: ignore[attr-defined]
        seen["urls"] = [rehearsal.api.url, rehearsal.s3.endpoint]  # type: ignore[attr-defined]

    monkeypatch.setattr(command, "_wizard_launcher", lambda: fake_wizard)
    monkeypatch.setattr(_common, "has_terminal", lambda: True)
    before = os.environ.get("KUBECONFIG")
    env_file = tmp_path / "r.env"
    result = CliRunner().invoke(command.rehearse, ["--env-file", str(env_file)])
    assert result.exit_code == 0, result.output
    assert seen["api_up"] is True
    assert seen["kubeconfig"] == seen["env"]["KUBECONFIG"]  # type: ignore[index]
    assert os.environ.get("KUBECONFIG") == before
    assert _exports(str(seen["env_file"]).splitlines()) == seen["env"]
    assert not env_file.exists()
    assert not any(_port_open(u) for u in seen["urls"])  # type: ignore[union-attr]
    assert not Path(seen["env"]["GFW_WORKSPACE"]).exists()  # type: ignore[index]


def test_a_wizard_that_crashed_makes_rehearse_exit_non_zero_after_cleaning_up(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gfwizard.commands import rehearse as command

    seen: dict[str, str] = {}

    def crashed_wizard(*, rehearsal: object) -> int:
        seen["workspace"] = rehearsal.env["GFW_WORKSPACE"]  # type: ignore[attr-defined]
        return 1

    monkeypatch.setattr(command, "_wizard_launcher", lambda: crashed_wizard)
    monkeypatch.setattr(command, "require_terminal", lambda *args, **kwargs: None)  # the fake wizard needs none
    result = CliRunner().invoke(command.rehearse, ["--env-file", str(tmp_path / "r.env")])
    assert result.exit_code == 1, result.output
    assert "rehearsal stopped" in result.output
    assert not Path(seen["workspace"]).exists() and not (tmp_path / "r.env").exists()


@pytest.mark.parametrize("kind", ["own file", "symlink", "directory"])
def test_an_env_file_that_is_not_a_rehearsal_one_is_refused_and_kept(tmp_path: Path, kind: str) -> None:
    # The env file is replaced at start and deleted at shutdown: an existing file of the operator's was lost.
    env_file = tmp_path / "precious.env"
    if kind == "directory":
        env_file.mkdir()
        (env_file / "inside").write_text("mine\n")
    elif kind == "symlink":
        (tmp_path / "target.env").write_text("export MINE=1\n")
        env_file.symlink_to(tmp_path / "target.env")
    else:
        env_file.write_text("export PRECIOUS=1\n# my own settings\n")
    before = tree_digest(tmp_path)
    result = run_cli(["rehearse", "--serve", "--env-file", str(env_file), "--workspace", str(tmp_path / "ws")],
                     timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    if kind == "directory":
        assert f"error: --env-file {env_file} is a directory" in result.stderr
        assert "remedy: pass a file path, e.g. --env-file rehearsal.env" in result.stderr
    else:
        assert (f"error: --env-file {env_file} already exists and is not a rehearsal env file; nothing was started"
                in result.stderr), result.stderr
        assert ("remedy: pass a new path (the file is written when the services start and removed when they stop), "
                "or move the existing file away first") in result.stderr
    assert result.stdout == "" and not (tmp_path / "ws").exists()
    assert tree_digest(tmp_path) == before and (env_file.is_symlink() or kind != "symlink")


def test_a_leftover_rehearsal_env_file_is_replaced_and_removed(served_processes: list[Served], tmp_path: Path) -> None:
    env_file = tmp_path / "rehearsal.env"
    env_file.write_text("# gfwizard rehearsal (rehearsal-only credentials)\nexport KUBECONFIG=/gone/kubeconfig\n")
    served = Served(["--serve", "--env-file", str(env_file)])
    served_processes.append(served)
    exports = _exports(served.read_until(lambda line: line.startswith("# things to try")))
    assert _exports(env_file.read_text().splitlines()) == exports
    code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert not env_file.exists()
