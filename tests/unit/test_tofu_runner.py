"""Binary discovery and the runner: redacted streaming, transcript, environment, process group, cancel."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gfwizard.errors import CheckFailure, InputError
from gfwizard.redact import Redactor
from gfwizard.tofu import (
    OutputLine, TofuBinary, TofuRunner, find_binary, require_lockfile_support, tofu_environment,
)
from gfwizard.tofu_events import ChangeSummary, UIEvent

FAKE = textwrap.dedent('''\
    #!{python}
    """A stand-in for terraform: each sub-command exercises one behaviour of the runner."""
    import json, os, signal, sys, time
    log = os.environ.get("FAKE_LOG")

    def note(text):
        if log:
            with open(log, "a") as fh:
                fh.write(text + "\\n")

    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    note("run " + cmd)
    if cmd == "version":
        print(json.dumps({{"terraform_version": os.environ.get("FAKE_VERSION", "1.11.4"), "platform": "x"}}))
    elif cmd == "stream":
        print("plain line with canary-Ab12Cd34")
        print(json.dumps({{"@level": "info", "@message": "summary canary-Ab12Cd34", "type": "change_summary",
                          "changes": {{"add": 1, "change": 0, "remove": 0, "operation": "apply"}}}}))
        print("password: hunter2secret", file=sys.stderr)
    elif cmd == "env":
        keys = ["TF_IN_AUTOMATION", "TF_INPUT", "CHECKPOINT_DISABLE", "NO_COLOR", "TF_DATA_DIR",
                "TF_PLUGIN_CACHE_DIR", "TF_CLI_ARGS", "TF_CLI_ARGS_plan", "KEEP_ME"]
        print(json.dumps({{k: os.environ.get(k) for k in keys}}))
        print(json.dumps({{"pgid_is_pid": os.getpgid(0) == os.getpid()}}))
    elif cmd == "graceful":
        def on_int(sig, frame):
            note("SIGINT")
            time.sleep(0.3)
            note("saved state")
            sys.exit(1)
        signal.signal(signal.SIGINT, on_int)
        note("ready")
        time.sleep(30)
    elif cmd == "stubborn":
        signal.signal(signal.SIGINT, lambda s, f: note("SIGINT"))
        signal.signal(signal.SIGTERM, lambda s, f: note("SIGTERM"))
        note("ready")
        while True:
            time.sleep(0.05)
    elif cmd == "chatty":
        for i in range(20):
            print(f"line {{i}}", flush=True)
            print(f"err {{i}}", file=sys.stderr, flush=True)
            time.sleep(0.05)
        note("finished")
    elif cmd == "big":
        print(json.dumps({{"blob": "x" * 300000}}))
    sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
''')


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin" / "terraform"
    path.parent.mkdir()
    path.write_text(FAKE.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("GFW_TOFU_BIN", str(path))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "fake.log"))
    return path


def fake_log(tmp_path: Path) -> list[str]:
    path = tmp_path / "fake.log"
    return path.read_text().splitlines() if path.exists() else []


async def wait_for(tmp_path: Path, text: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in fake_log(tmp_path):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} never logged: {fake_log(tmp_path)}")
        await asyncio.sleep(0.02)


def runner(binary: TofuBinary, tmp_path: Path, **kw: object) -> TofuRunner:
    return TofuRunner(binary, cwd=tmp_path, data_dir=tmp_path / "data", plugin_cache_dir=tmp_path / "cache",
                      transcript=tmp_path / "t" / "run.log", **kw)  # type: ignore[arg-type]


# -- discovery -----------------------------------------------------------------------------------


def test_find_binary_uses_gfw_tofu_bin_and_reads_the_version(fake_bin: Path) -> None:
    binary = find_binary()
    assert binary.path == str(fake_bin) and binary.name == "terraform" and binary.version == "1.11.4"
    assert binary.supports_use_lockfile and binary.version_tuple == (1, 11, 4)


def test_version_is_cached_on_disk(fake_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gfwizard.tofu as tofu

    find_binary()
    tofu._VERSION_CACHE.clear()
    find_binary()
    assert fake_log(tmp_path).count("run version") == 1


def test_bad_gfw_tofu_bin_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_TOFU_BIN", str(tmp_path / "nope"))
    with pytest.raises(InputError, match="is not an executable file"):
        find_binary()


def test_no_binary_on_path_is_a_check_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckFailure, match="neither tofu nor terraform") as info:
        find_binary()
    assert "GFW_TOFU_BIN" in info.value.remedy


def test_binary_older_than_1_10_is_refused(fake_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VERSION", "1.9.1")
    binary = find_binary()
    assert binary.version == "1.9.1" and not binary.supports_use_lockfile
    with pytest.raises(CheckFailure, match=r"terraform 1\.9\.1 is too old: S3 state locking \(use_lockfile\) needs "
                                           r"1\.10 or newer"):
        require_lockfile_support(binary)


def test_binary_without_a_version_is_a_check_failure(fake_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VERSION", "")
    with pytest.raises(CheckFailure, match="gave no version"):
        find_binary()


@pytest.mark.parametrize(("version", "expected"), [("1.10.0", (1, 10, 0)), ("v1.10.0-rc1", (1, 10, 0)),
                                                   ("1.11", (1, 11, 0)), ("garbage", (0, 0, 0))])
def test_version_tuple(version: str, expected: tuple[int, int, int]) -> None:
    assert TofuBinary("/x", "tofu", version).version_tuple == expected


# -- environment ---------------------------------------------------------------------------------


def test_environment_is_non_interactive_and_drops_tf_cli_args(tmp_path: Path) -> None:
    env = tofu_environment({"TF_CLI_ARGS": "-x", "TF_CLI_ARGS_plan": "-destroy", "KEEP_ME": "1"},
                           data_dir=tmp_path / "d", plugin_cache_dir=tmp_path / "c")
    assert env["TF_IN_AUTOMATION"] == "1" and env["TF_INPUT"] == "0" and env["CHECKPOINT_DISABLE"] == "1"
    assert env["TF_DATA_DIR"] == str(tmp_path / "d") and env["TF_PLUGIN_CACHE_DIR"] == str(tmp_path / "c")
    assert "TF_CLI_ARGS" not in env and "TF_CLI_ARGS_plan" not in env and env["KEEP_ME"] == "1"


async def test_runs_in_its_own_process_group_with_the_environment(fake_bin: Path, tmp_path: Path) -> None:
    r = runner(find_binary(), tmp_path, environ={**os.environ, "KEEP_ME": "yes", "TF_CLI_ARGS_plan": "-destroy"})
    result = await r.run("env")
    assert result.ok
    lines = [json.loads(x) for x in (tmp_path / "t" / "run.log").read_text().splitlines()[1:3]]
    assert lines[0]["TF_DATA_DIR"] == str(tmp_path / "data") and lines[0]["KEEP_ME"] == "yes"
    assert lines[0]["TF_CLI_ARGS_plan"] is None and lines[0]["NO_COLOR"] == "1"
    assert lines[1] == {"pgid_is_pid": True}
    assert (tmp_path / "data").is_dir() and (tmp_path / "cache").is_dir()


# -- streaming -----------------------------------------------------------------------------------


async def test_every_line_is_redacted_before_callback_and_transcript(fake_bin: Path, tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.register("canary-Ab12Cd34")
    seen: list[OutputLine] = []
    events: list[UIEvent] = []
    r = runner(find_binary(), tmp_path, redactor=redactor, on_line=seen.append, on_event=events.append)
    result = await r.run("stream", json_stream=True)
    assert result.ok
    transcript = (tmp_path / "t" / "run.log").read_text()
    everything = transcript + "".join(line.text for line in seen) + repr(events)
    assert "canary-Ab12Cd34" not in everything and "hunter2secret" not in everything
    assert transcript.count("[REDACTED]") >= 3
    assert [type(e) for e in events] == [ChangeSummary] and isinstance(result.events[0], ChangeSummary)
    assert OutputLine("stdout", "summary [REDACTED]") in seen
    assert any(line.stream == "stderr" for line in seen)
    assert oct((tmp_path / "t" / "run.log").stat().st_mode & 0o777) == "0o600"


async def test_capture_keeps_stdout_out_of_the_transcript(fake_bin: Path, tmp_path: Path) -> None:
    r = runner(find_binary(), tmp_path)
    result = await r.run("big", capture=True)
    assert result.ok and len(result.stdout) > 300000
    transcript = (tmp_path / "t" / "run.log").read_text()
    assert "xxxxxxxx" not in transcript and "not logged" in transcript


async def test_failure_exit_code(fake_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = find_binary()
    monkeypatch.setenv("FAKE_EXIT", "3")
    result = await runner(binary, tmp_path).run("stream")
    assert result.returncode == 3 and not result.ok and not result.interrupted


# -- cancel --------------------------------------------------------------------------------------


async def test_cancel_sends_exactly_one_sigint_and_waits(fake_bin: Path, tmp_path: Path) -> None:
    r = runner(find_binary(), tmp_path)
    task = asyncio.create_task(r.run("graceful"))
    await wait_for(tmp_path, "ready")
    assert r.interrupt() is True
    assert r.interrupt() is False  # a second plain cancel never sends another signal
    code = await r.cancel()
    result = await task
    assert code == 1 and result.interrupted and not result.ok
    assert fake_log(tmp_path).count("SIGINT") == 1 and "saved state" in fake_log(tmp_path)
    later = await r.run("stream")  # nothing starts after a cancel
    assert later.interrupted and fake_log(tmp_path).count("run stream") == 0


async def test_escalation_sends_sigterm_then_sigkill(fake_bin: Path, tmp_path: Path) -> None:
    r = runner(find_binary(), tmp_path, grace_seconds=0.5)
    task = asyncio.create_task(r.run("stubborn"))
    await wait_for(tmp_path, "ready")
    r.interrupt()
    await wait_for(tmp_path, "SIGINT")
    code = await r.cancel(escalate=True)
    result = await task
    assert code == -9 and result.interrupted
    assert fake_log(tmp_path).count("SIGINT") == 1 and fake_log(tmp_path).count("SIGTERM") == 1


async def test_timeout_interrupts_once(fake_bin: Path, tmp_path: Path) -> None:
    r = runner(find_binary(), tmp_path, grace_seconds=5)
    result = await r.run("graceful", timeout=1.0)
    assert result.interrupted and fake_log(tmp_path).count("SIGINT") == 1


async def test_a_cancelled_caller_never_orphans_the_process(fake_bin: Path, tmp_path: Path) -> None:
    r = runner(find_binary(), tmp_path)
    task = asyncio.create_task(r.run("graceful"))
    await wait_for(tmp_path, "ready")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake_log(tmp_path).count("SIGINT") == 1 and "saved state" in fake_log(tmp_path)
    assert not r.running


def test_the_binary_outlives_a_killed_gfwizard(fake_bin: Path, tmp_path: Path) -> None:
    """Output goes to spool files, not pipes: killing the reader never kills the binary mid-run."""
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from gfwizard.tofu import TofuRunner, find_binary
        r = TofuRunner(find_binary(), cwd=Path({str(tmp_path)!r}), data_dir=Path({str(tmp_path / "data")!r}),
                       plugin_cache_dir=Path({str(tmp_path / "cache")!r}), transcript=Path({str(tmp_path / "t.log")!r}))
        asyncio.run(r.run("chatty"))
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    deadline = time.monotonic() + 20
    while "run chatty" not in fake_log(tmp_path):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    while "finished" not in fake_log(tmp_path):
        assert time.monotonic() < deadline, fake_log(tmp_path)
        time.sleep(0.05)
    assert [p.name for p in (tmp_path / "data").iterdir()] == [], "a spool file was left with a name"
    transcript = (tmp_path / "t.log").read_text()
    assert "line 0" in transcript and "[stderr] err 0" in transcript


async def test_a_transcripts_directory_others_can_read_is_made_private(fake_bin: Path, tmp_path: Path) -> None:
    # `backend migrate` of an older version created the env's transcripts directory 0755.
    (tmp_path / "t").mkdir(mode=0o755)
    (tmp_path / "t").chmod(0o755)
    result = await runner(find_binary(), tmp_path).run("stream", json_stream=True)
    assert result.ok
    assert stat.S_IMODE((tmp_path / "t").stat().st_mode) == 0o700
