"""The IaC binary: discovery, and an async runner with redacted streaming and a careful cancel.

* :func:`find_binary` — ``$GFW_TOFU_BIN``, else ``tofu``, else ``terraform``; the version comes from
  ``version -json``. :func:`require_lockfile_support` refuses binaries older than 1.10 (the S3
  backend's ``use_lockfile`` needs it).
* :func:`cli_config` — the CLI configuration every run uses: the operator's own file when
  ``TF_CLI_CONFIG_FILE`` / ``TOFU_CLI_CONFIG_FILE`` names one that exists (or neither is set), else
  a small file gfwizard writes under its state dir (``plugin_cache_dir`` only), so a variable
  pointing at a missing file does not put a warning into every run's output.
* :class:`TofuRunner` — runs one command at a time in its own process group (so a terminal's Ctrl-C
  reaches only gfwizard, which decides what to forward). The binary writes to unlinked spool files,
  not pipes (:mod:`gfwizard.tofu_spool`: a killed gfwizard never takes an apply down with it).
  Every stdout/stderr line is redacted, then written to the transcript and handed to the
  callbacks; with ``json_stream=True`` stdout lines are parsed into typed UI events
  (:mod:`gfwizard.tofu_events`). :meth:`TofuRunner.cancel` sends exactly
  one SIGINT to the group and waits; only an explicit ``escalate=True`` sends SIGTERM, then SIGKILL
  after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator, Mapping

from gfwizard.atomic import write_if_changed
from gfwizard.errors import CheckFailure, InputError
from gfwizard.paths import cache_state_dir, private_dir, state_dir
from gfwizard.redact import Redactor, default_redactor
from gfwizard.tofu_events import Diagnostic, UIEvent, event_from_message, redact_obj
from gfwizard.tofu_spool import Spool

BIN_ENV = "GFW_TOFU_BIN"
MIN_LOCKFILE_VERSION: tuple[int, int, int] = (1, 10, 0)
#: Seconds ``version -json`` may take before the binary counts as broken.
VERSION_TIMEOUT = 15.0
#: Seconds between SIGTERM and SIGKILL when a cancel is escalated.
DEFAULT_GRACE_SECONDS = 10.0
#: Seconds between reads of a running binary's output (doubling while it is quiet).
_POLL_MIN = 0.005
_POLL_MAX = 0.05


@dataclass(frozen=True)
class TofuBinary:
    """The IaC binary gfwizard runs."""

    path: str
    name: str
    version: str

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``; pre-release suffixes are ignored, unparsable parts count as 0."""
        match = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", self.version.strip())
        if match is None:
            return 0, 0, 0
        major, minor, patch = (int(g or 0) for g in match.groups())
        return major, minor, patch

    @property
    def supports_use_lockfile(self) -> bool:
        """True when the S3 backend's ``use_lockfile`` is available (>= 1.10)."""
        return self.version_tuple >= MIN_LOCKFILE_VERSION

    def describe(self) -> str:
        """``"terraform 1.11.4 (/usr/local/bin/terraform)"``."""
        return f"{self.name} {self.version} ({self.path})"


_VERSION_CACHE: dict[tuple[str, int, int], TofuBinary] = {}
_DISK_CACHE_NAME = "binaries.json"


def find_binary(environ: Mapping[str, str] | None = None, *, save_cache: bool = True) -> TofuBinary:
    """The binary to run: ``$GFW_TOFU_BIN``, else ``tofu``, else ``terraform`` on PATH.

    Its version is remembered in the state dir (``binaries.json``) unless ``save_cache`` is False
    (a command that promises to write nothing still reads the cache).
    """
    environ = os.environ if environ is None else environ
    configured = environ.get(BIN_ENV, "").strip()
    path_var = environ.get("PATH")
    if configured:
        found = shutil.which(configured, path=path_var)
        if found is None:
            raise InputError(f"{BIN_ENV}={configured!r} is not an executable file",
                             remedy=f"point {BIN_ENV} at the tofu or terraform binary, or unset it")
    else:
        found = shutil.which("tofu", path=path_var) or shutil.which("terraform", path=path_var)
        if found is None:
            raise CheckFailure("neither tofu nor terraform was found on PATH",
                               remedy=f"install OpenTofu or Terraform >= 1.10 on PATH (or set {BIN_ENV} before starting gfwizard)")
    return _probe(found, save_cache=save_cache)


def _probe(path: str, *, save_cache: bool = True) -> TofuBinary:
    """The binary's version from ``version -json``, cached per (path, mtime, size) in memory and on disk."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    cached = _VERSION_CACHE.get(key) or _disk_cache_get(key)
    if cached is not None:
        _VERSION_CACHE[key] = cached
        return cached
    try:
        proc = subprocess.run([path, "version", "-json"], capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, "CHECKPOINT_DISABLE": "1"})
    except subprocess.TimeoutExpired:
        raise CheckFailure(f"{path} version -json did not answer within {VERSION_TIMEOUT:.0f}s",
                           remedy="check that the binary runs on its own (`<binary> version`)") from None
    except OSError as exc:
        raise CheckFailure(f"cannot run {path}: {exc.strerror}",
                           remedy=f"check the binary's permissions, or set {BIN_ENV}") from None
    try:
        doc = json.loads(proc.stdout)
        version = str(doc.get("terraform_version") or doc.get("tofu_version") or "")
    except (ValueError, AttributeError):
        version = ""
    if proc.returncode != 0 or not version:
        raise CheckFailure(f"{path} version -json gave no version (exit {proc.returncode})",
                           remedy="use OpenTofu or Terraform >= 1.10, which support `version -json`")
    name = "tofu" if "tofu" in Path(path).name else "terraform"
    binary = TofuBinary(path=path, name=name, version=version)
    _VERSION_CACHE[key] = binary
    if save_cache:
        _disk_cache_put(key, binary)
    return binary


def _disk_cache_get(key: tuple[str, int, int]) -> TofuBinary | None:
    directory = cache_state_dir(create=False)
    if directory is None:
        return None
    try:
        entry = json.loads((directory / _DISK_CACHE_NAME).read_text(encoding="utf-8")).get(key[0])
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or [entry.get("mtime_ns"), entry.get("size")] != [key[1], key[2]]:
        return None
    return TofuBinary(path=key[0], name=str(entry.get("name", "")), version=str(entry.get("version", "")))


def _disk_cache_put(key: tuple[str, int, int], binary: TofuBinary) -> None:
    directory = cache_state_dir()  # a new state dir is private, as deploy makes it
    if directory is None:
        return
    path = directory / _DISK_CACHE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not isinstance(data, dict):
            data = {}
        data[key[0]] = {"mtime_ns": key[1], "size": key[2], "name": binary.name, "version": binary.version}
        write_if_changed(path, json.dumps(data, sort_keys=True))
    except OSError:
        pass  # a cache that cannot be written only costs the next run one `version -json`


def require_lockfile_support(binary: TofuBinary) -> None:
    """Raise :class:`CheckFailure` when ``binary`` is older than 1.10 (no S3 ``use_lockfile``)."""
    if not binary.supports_use_lockfile:
        need = ".".join(map(str, MIN_LOCKFILE_VERSION[:2]))
        raise CheckFailure(
            f"{binary.name} {binary.version} is too old: S3 state locking (use_lockfile) needs {need} or newer",
            remedy=f"install OpenTofu >= {need} (or Terraform >= {need}), or point {BIN_ENV} at one")


def default_plugin_cache_dir() -> Path:
    """The provider plugin cache shared by every run (under the user state dir)."""
    return state_dir() / "plugin-cache"


#: The variables naming a CLI configuration file (OpenTofu reads the first, Terraform the second).
CLI_CONFIG_VARS = ("TOFU_CLI_CONFIG_FILE", "TF_CLI_CONFIG_FILE")
_OWN_CLI_CONFIG = "cli-config.tfrc"


@dataclass(frozen=True)
class CliConfig:
    """Which CLI configuration the runs use."""

    #: Variables to set on every run (empty when the operator's configuration is used as it is).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Said once to the operator when gfwizard wrote and uses its own file; None otherwise.
    note: str | None = None
    #: gfwizard's own file, when it is used.
    path: Path | None = None


def cli_config(environ: Mapping[str, str], *, plugin_cache_dir: Path, directory: Path | None = None) -> CliConfig:
    """The CLI configuration for runs in ``environ``.

    A ``TF_CLI_CONFIG_FILE`` / ``TOFU_CLI_CONFIG_FILE`` that names a readable file, or no such variable,
    is respected as it is (the binary reads the operator's file, or its default ``~/.terraformrc``).
    One that names a missing or unreadable file would make the binary print "Unable to open CLI
    configuration file" into every run: gfwizard then writes its own file (``plugin_cache_dir`` only,
    under ``directory``, default the state dir; the cache directory is created), points the variable
    at it and says so once (:attr:`CliConfig.note`).
    """
    missing = [(var, environ[var]) for var in CLI_CONFIG_VARS if environ.get(var) and not _readable_file(environ[var])]
    if not missing:
        return CliConfig()
    names = ", ".join(f"{var}={value}" for var, value in missing)
    path = (directory or state_dir()) / _OWN_CLI_CONFIG
    text = ("# Written by gfwizard: the CLI configuration file named in the environment does not exist.\n"
            f"plugin_cache_dir = {_hcl_string(str(plugin_cache_dir))}\n")
    try:
        write_if_changed(path, text)
    except OSError as exc:
        return CliConfig(note=f"{names}: not a readable file, and gfwizard could not write its own CLI configuration "
                              f"{path} ({exc.strerror}): every run will warn about it")
    try:
        # The file names the cache: a binary that cannot open it prints an error into every run.
        plugin_cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the runs still work without a cache; their error then says which directory
    note = (f"{names}: not a readable file, so every run would warn about it; using gfwizard's own CLI configuration "
            f"{path} (plugin_cache_dir = {plugin_cache_dir}) instead. Create the file, or unset the variable, "
            "to use your own.")
    return CliConfig(env={var: str(path) for var, _ in missing}, note=note, path=path)


def _readable_file(value: str) -> bool:
    # Taken as the binary takes it: no ~ expansion, no stripping.
    return os.path.isfile(value) and os.access(value, os.R_OK)


def _hcl_string(value: str) -> str:
    # The CLI configuration is HCL 1: only backslashes and quotes need escaping (no templates).
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def tofu_environment(base: Mapping[str, str], *, data_dir: Path, plugin_cache_dir: Path,
                     cli: CliConfig | None = None) -> dict[str, str]:
    """The environment of every run: non-interactive, no colour, no checkpoint calls, our data dir,
    the shared plugin cache, and ``cli``'s CLI configuration variables."""
    env = {k: v for k, v in base.items() if not k.startswith("TF_CLI_ARGS")}
    env.update({
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "NO_COLOR": "1",
        "TF_DATA_DIR": str(data_dir),
        "TF_PLUGIN_CACHE_DIR": str(plugin_cache_dir),
    })
    if cli is not None:
        env.update(cli.env)
    return env


@dataclass(frozen=True)
class OutputLine:
    """One redacted line of output: ``stream`` is ``stdout`` or ``stderr``."""

    stream: str
    text: str


@dataclass
class RunResult:
    """How one command ended."""

    command: str
    argv: tuple[str, ...]
    returncode: int
    interrupted: bool
    duration: float
    events: list[UIEvent] = field(default_factory=list)
    #: Raw stdout when the run captured it (``capture=True``). It may hold sensitive values in clear
    #: text (``show -json``, ``output -json``): parse it, never print or save it.
    stdout: str = field(default="", repr=False)
    #: The ``outputs`` message of an ``apply -json`` stream (names -> {value, type, sensitive}), raw:
    #: parse it, never print it. Sensitive outputs carry no value there.
    outputs: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when the command exited 0 and was not interrupted."""
        return self.returncode == 0 and not self.interrupted

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic the UI stream reported."""
        return [e for e in self.events if isinstance(e, Diagnostic)]

    @property
    def errors(self) -> list[Diagnostic]:
        """Error diagnostics only."""
        return [d for d in self.diagnostics if d.is_error]


class TofuRunner:
    """Runs the IaC binary for one stack directory, one command at a time."""

    def __init__(self, binary: TofuBinary, *, cwd: Path, data_dir: Path, plugin_cache_dir: Path | None = None,
                 transcript: Path | None = None, environ: Mapping[str, str] | None = None,
                 on_line: Callable[[OutputLine], None] | None = None,
                 on_event: Callable[[UIEvent], None] | None = None,
                 redactor: Redactor | None = None, grace_seconds: float = DEFAULT_GRACE_SECONDS,
                 cli: CliConfig | None = None) -> None:
        self.binary = binary
        self.cwd = cwd
        self.data_dir = data_dir
        self.plugin_cache_dir = plugin_cache_dir or default_plugin_cache_dir()
        self.transcript = transcript
        self._environ = dict(os.environ if environ is None else environ)
        self.on_line = on_line
        self.on_event = on_event
        self._redactor = redactor or default_redactor()
        self.grace_seconds = grace_seconds
        #: The CLI configuration of every run (:func:`cli_config`; worked out on the first run when not given).
        self.cli = cli
        self._proc: asyncio.subprocess.Process | None = None
        self._sigint_sent = False
        self._escalated = False
        self._cancelled = False

    # -- public -----------------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once a cancel was requested: no further command starts."""
        return self._cancelled

    @property
    def running(self) -> bool:
        """True while a command's process is alive."""
        return self._proc is not None and self._proc.returncode is None

    def register_secrets(self, *values: str | None) -> None:
        """Treat ``values`` as secrets in everything this runner shows or saves from now on."""
        self._redactor.register(*values)

    def redact(self, text: str) -> str:
        """Redact ``text`` with this runner's redactor."""
        return self._redactor.redact(text)

    async def run(self, *args: str, json_stream: bool = False, capture: bool = False,
                  timeout: float | None = None) -> RunResult:
        """Run ``<binary> ARGS`` in :attr:`cwd`; return when the process has exited.

        ``json_stream`` parses stdout as the UI stream; ``capture`` keeps stdout in memory instead of
        the transcript (for ``show -json`` / ``output -json``, which hold sensitive values in clear).
        On ``timeout`` the run is interrupted once, then escalated after the grace period.
        """
        command = args[0] if args else ""
        shown = tuple(self.redact(a) for a in args)
        if self._cancelled:
            return RunResult(command, shown, returncode=130, interrupted=True, duration=0.0)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.plugin_cache_dir.mkdir(parents=True, exist_ok=True)
        if self.cli is None:
            self.cli = cli_config(self._environ, plugin_cache_dir=self.plugin_cache_dir)
        env = tofu_environment(self._environ, data_dir=self.data_dir, plugin_cache_dir=self.plugin_cache_dir,
                               cli=self.cli)
        started = time.monotonic()
        result = RunResult(command, shown, returncode=-1, interrupted=False, duration=0.0)
        with self._open_transcript() as transcript, Spool(self.data_dir) as out, Spool(self.data_dir) as err:
            _write(transcript, f"$ {self.binary.name} {' '.join(shown)}  # in {self.cwd}")
            self._proc = await asyncio.create_subprocess_exec(
                self.binary.path, *args, cwd=str(self.cwd), env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=out.write_fd, stderr=err.write_fd, start_new_session=True)
            out.close_writer()
            err.close_writer()
            proc = self._proc
            if self._cancelled:  # cancel arrived while the process was being spawned
                self.interrupt()
            stream = _Stream(self, transcript, result, json_stream, capture)
            pump = asyncio.ensure_future(stream.pump(proc, out, err))
            try:
                await self._wait(proc, timeout)
                await pump
            finally:
                if proc.returncode is None:  # our caller was cancelled: never orphan a lock holder
                    await asyncio.shield(self._stop_orphan(proc))
                if not pump.done():
                    await asyncio.shield(pump)
            if capture:
                _write(transcript, f"[stdout: {len(result.stdout)} characters parsed, not logged: "
                                        "it may hold sensitive values]")
            result.returncode = proc.returncode if proc.returncode is not None else -1
            result.interrupted = (self._sigint_sent or self._escalated) and result.returncode != 0
            result.duration = time.monotonic() - started
            note = " (interrupted)" if result.interrupted else ""
            _write(transcript, f"[exit {result.returncode} after {result.duration:.1f}s{note}]")
        return result

    def interrupt(self) -> bool:
        """Send one SIGINT to the running process group (never a second one). True when sent."""
        self._cancelled = True
        proc = self._proc
        if proc is None or proc.returncode is not None or self._sigint_sent:
            return False
        self._sigint_sent = True
        return _signal_group(proc.pid, signal.SIGINT)

    async def cancel(self, *, escalate: bool = False) -> int | None:
        """Cancel: one SIGINT and wait for the exit; ``escalate`` sends SIGTERM, then SIGKILL after the grace period.

        Returns the exit code (None when nothing was running).
        """
        self._cancelled = True
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        if not escalate:
            self.interrupt()
            return await proc.wait()
        self._escalated = True
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), self.grace_seconds)
        except asyncio.TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            return await proc.wait()

    # -- internals --------------------------------------------------------------------------------

    async def _wait(self, proc: asyncio.subprocess.Process, timeout: float | None) -> None:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            self.interrupt()
            try:
                await asyncio.wait_for(proc.wait(), self.grace_seconds)
            except asyncio.TimeoutError:
                await self.cancel(escalate=True)

    async def _stop_orphan(self, proc: asyncio.subprocess.Process) -> None:
        self.interrupt()
        try:
            await asyncio.wait_for(proc.wait(), self.grace_seconds * 3)
        except asyncio.TimeoutError:
            await self.cancel(escalate=True)

    @contextlib.contextmanager
    def _open_transcript(self) -> Iterator[IO[str] | None]:
        if self.transcript is None:
            yield None
            return
        private_dir(self.transcript.parent)  # also when `backend migrate` of an older version made it 0755
        fd = os.open(self.transcript, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            yield fh


class _Stream:
    """Tails a run's two spools: redacts each line, writes the transcript, calls the callbacks."""

    def __init__(self, runner: TofuRunner, transcript: IO[str] | None, result: RunResult, json_stream: bool,
                 capture: bool) -> None:
        self.runner = runner
        self.transcript = transcript
        self.result = result
        self.json_stream = json_stream
        self.capture = capture
        self._captured: list[bytes] = []

    async def pump(self, proc: asyncio.subprocess.Process, out: Spool, err: Spool) -> None:
        """Read until the process has exited and both spools are drained."""
        delay = _POLL_MIN
        # Polling is for the output of a running process; its exit wakes the pump at once, so a
        # finished command never waits out a quiet poll interval.
        exited_future = asyncio.ensure_future(proc.wait())
        try:
            while True:
                exited = proc.returncode is not None
                got = self.drain(out, err, final=exited)
                if exited:
                    if self.capture:
                        self.result.stdout = b"".join(self._captured).decode("utf-8", "replace")
                    return
                await asyncio.wait((exited_future,), timeout=_POLL_MIN if got else delay)
                delay = _POLL_MIN if got else min(delay * 2, _POLL_MAX)
        finally:
            if not exited_future.done():
                exited_future.cancel()

    def drain(self, out: Spool, err: Spool, final: bool) -> bool:
        """Handle everything written so far; True when there was something."""
        got = False
        for line in err.lines(final):
            got = True
            text = self.runner.redact(line)
            _write(self.transcript, f"[stderr] {text}")
            if self.runner.on_line:
                self.runner.on_line(OutputLine("stderr", text))
        if self.capture:
            data = out.read()
            if data:
                self._captured.append(data)
            return got or bool(data)
        for line in out.lines(final):
            got = True
            self.stdout_line(line)
        return got

    def stdout_line(self, line: str) -> None:
        runner = self.runner
        raw_msg = _ui_message(line) if self.json_stream else None
        if raw_msg is None:
            text = runner.redact(line)
            _write(self.transcript, text)
            if runner.on_line:
                runner.on_line(OutputLine("stdout", text))
            return
        event = event_from_message(raw_msg, runner.redact)
        self.result.events.append(event)
        if raw_msg.get("type") == "outputs" and isinstance(raw_msg.get("outputs"), dict):
            self.result.outputs = dict(raw_msg["outputs"])  # type: ignore[arg-type]
        _write(self.transcript, runner.redact(json.dumps(redact_obj(raw_msg, runner.redact))))
        if runner.on_line and event.message:
            runner.on_line(OutputLine("stdout", event.message))
        if runner.on_event:
            runner.on_event(event)


def _write(transcript: IO[str] | None, text: str) -> None:
    """One line to the transcript, flushed (a crash must not lose what was already shown)."""
    if transcript is not None:
        transcript.write(text + "\n")
        transcript.flush()


def _ui_message(line: str) -> dict[str, object] | None:
    """The decoded UI stream message on ``line``, or None when it is not one."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    return raw if isinstance(raw, dict) and "type" in raw else None


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True
