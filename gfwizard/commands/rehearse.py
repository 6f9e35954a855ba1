"""``gfwizard rehearse [--serve]``: the embedded honey, S3 endpoint and HTTP state server on loopback.

``--serve`` starts only the services, prints shell ``export`` lines (or, with ``--json``, one JSON
object) and stays up until SIGINT/SIGTERM/SIGHUP. Without ``--serve`` the wizard runs against them.

The printed credentials are random, rehearsal-only values for services on 127.0.0.1 that die with
this process; this command's export output is the one place they are printed unredacted. Every
other output path (messages, errors, logs) goes through :func:`gfwizard.redact.redact`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gfwizard.commands._common import NonEmptyPath, echo, handles_errors, json_option, require_terminal, write
from gfwizard.errors import InputError

if TYPE_CHECKING:
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

#: The order the variables are printed in (any others follow, sorted).
EXPORT_ORDER = (
    "KUBECONFIG", "GFW_CONFIG", "GFW_WORKSPACE", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED", "GFW_HTTP_STATE_URL", "GFW_HTTP_STATE_ADDRESS", "GFW_HTTP_STATE_USERNAME",
    "GFW_HTTP_STATE_PASSWORD", "TF_HTTP_USERNAME", "TF_HTTP_PASSWORD",
)
_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def things_to_try() -> list[str]:
    """Commands an operator can run in a shell that has the exports."""
    return [
        "gfwizard discover                 # the rehearsal kubeconfig and its context 'honey'",
        "gfwizard validate                 # reachability, api_server, fingerprint, roles, RBAC",
        "kubectl get nodes -L gloriousflywheel.io/role",
        "gfwizard backend check --env dev  # bucket, versioning, lock probe on the embedded S3",
        "gfwizard deploy --env dev --plan-only",
        "gfwizard deploy --env dev         # applies tofu/rehearsal/<stack>, then kubectl get deploy -A",
        "gfwizard status --once",
        "kubectl -n attic-dev annotate deployment attic rehearsal.gloriousflywheel.io/fault=crashloop"
        "  # after a deploy: a crash loop for status (fault- undoes it; docs/status-mode.md)",
        "kubectl patch node sting --subresource=status -p '{\"status\":{\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"Unknown\"}]}}'  # sting unreachable (\"True\" undoes it)",
        "tail -f \"$GFW_WORKSPACE/api-requests.log\"  # every request the API answered",
        "TF_HTTP_PASSWORD=\"$GFW_HTTP_STATE_PASSWORD\" gfwizard backend migrate --env dev"
        "  # HTTP -> S3, every stack still on HTTP (start with --legacy-http-state)",
    ]


def export_lines(env: dict[str, str]) -> list[str]:
    """``export NAME=value`` lines, shell-quoted, in :data:`EXPORT_ORDER` then sorted."""
    names = [n for n in EXPORT_ORDER if n in env] + sorted(n for n in env if n not in EXPORT_ORDER)
    return [f"export {name}={shlex.quote(env[name])}" for name in names]


#: The first line of every ``--env-file``: a file that starts with it may be replaced (a rehearsal's leftover).
ENV_FILE_HEADER = "# gfwizard rehearsal (rehearsal-only credentials)\n"


def _check_env_file(env_file: Path | None) -> None:
    if env_file is None:
        return
    try:
        _check_env_file_path(env_file)
    except OSError as exc:  # a name too long for the file system, a directory above it that cannot be searched
        raise InputError(f"--env-file {env_file} cannot be used: {exc.strerror or exc}; nothing was started",
                         remedy="pass another path, e.g. --env-file rehearsal.env") from None


def _check_env_file_path(env_file: Path) -> None:
    if env_file.is_dir():
        raise InputError(f"--env-file {env_file} is a directory", remedy="pass a file path, e.g. --env-file rehearsal.env")
    if env_file.exists() or env_file.is_symlink():
        # The file is replaced now and deleted at shutdown: someone's own file would be lost.
        ours = False
        if env_file.is_file() and not env_file.is_symlink():
            try:
                with env_file.open("rb") as fh:
                    ours = fh.read(len(ENV_FILE_HEADER)) == ENV_FILE_HEADER.encode()
            except OSError:
                pass
        if not ours:
            raise InputError(f"--env-file {env_file} already exists and is not a rehearsal env file; nothing was "
                             "started", remedy="pass a new path (the file is written when the services start and "
                                               "removed when they stop), or move the existing file away first")
    if not env_file.parent.is_dir():
        raise InputError(f"--env-file {env_file}: directory {env_file.parent} does not exist; nothing was started",
                         remedy="create the directory first or choose another path")


def _summary(env: "RehearsalEnvironment") -> dict[str, Any]:
    assert env.api is not None and env.s3 is not None and env.http_state is not None
    return {
        "env": env.env,
        "workspace": str(env.dir),
        "api_server": env.api.url,
        "s3_endpoint": env.s3.endpoint,
        "bucket": env.bucket,
        "http_state_url": env.http_state.url,
        "nodes": env.nodes,
        "pods": env.pods,
        "try": [line.split("  #")[0].strip() for line in things_to_try()],
    }


def _print_services(env: "RehearsalEnvironment", as_json: bool, note: str | None) -> None:
    # Deliberately not redacted: these rehearsal-only credentials are what --serve is for.
    if as_json:
        write(json.dumps(_summary(env), indent=2))
        return
    if note:
        write(f"# {note}")
    write(f"# gfwizard rehearsal: honey at {env.api.url if env.api else '?'}, "
          f"S3 at {env.s3.endpoint if env.s3 else '?'}, workspace {env.dir}")
    for line in export_lines(env.env):
        write(line)
    write("# things to try in a shell with these exports:")
    for line in things_to_try():
        write(f"#   {line}")


class _StopSignals:
    """Catch SIGINT/SIGTERM/SIGHUP from the moment services start until they are stopped, so a
    signal that arrives while starting still leads to a clean shutdown."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, _frame: Any) -> None:
        self.received = signum
        self._event.set()

    def __enter__(self) -> "_StopSignals":
        self._previous = {sig: signal.signal(sig, self._handler) for sig in _STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)

    def wait(self) -> int:
        """Block until one of the signals arrived; return its number."""
        while not self._event.wait(0.5):
            pass
        assert self.received is not None
        return self.received


def _wizard_launcher() -> Any | None:
    """``screens.launch.run_wizard`` when the UI is installed, else None."""
    try:
        from screens.launch import run_wizard
    except ModuleNotFoundError as exc:
        if exc.name in ("screens", "screens.launch"):
            return None
        raise
    return run_wizard


class _EnvFile:
    """The ``--env-file``: written when the services are up, removed when they stop (unless kept)."""

    def __init__(self, path: Path | None, keep: bool) -> None:
        self.path = path
        self.keep = keep
        self._digest: str | None = None

    def write(self, env: "RehearsalEnvironment") -> None:
        from gfwizard.rehearsal.workspace import write_private_file

        if self.path is None:
            return
        text = ENV_FILE_HEADER + "\n".join(export_lines(env.env)) + "\n"
        try:
            write_private_file(self.path, text)
        except OSError as exc:
            raise InputError(f"cannot write --env-file {self.path}: {exc.strerror or exc}",
                             remedy="choose a writable path") from None
        self._digest = hashlib.sha256(text.encode()).hexdigest()

    def remove(self) -> None:
        # Its values die with the services; leave it only when kept or edited by someone since.
        if self.path is None or self.keep or self._digest is None or not self.path.is_file():
            return
        if hashlib.sha256(self.path.read_bytes()).hexdigest() == self._digest:
            self.path.unlink()


def _serve(env: "RehearsalEnvironment", env_file: _EnvFile, as_json: bool, note: str | None,
           signals: _StopSignals) -> None:
    try:
        env_file.write(env)
        _print_services(env, as_json, note)
        echo("rehearsal services running; stop with Ctrl-C (SIGINT) or SIGTERM", err=True)
        signum = signals.wait()
        echo(f"received {signal.Signals(signum).name}; shutting down", err=True)
    finally:
        env_file.remove()


@click.command()
@click.option("--serve", is_flag=True,
              help="Start only the services, print exports, stay up until SIGINT/SIGTERM/SIGHUP.")
@click.option("--nodes", type=click.IntRange(min=1), default=3, show_default=True,
              help="Nodes in the rehearsal honey (honey, bumble, sting, then more bumble/sting).")
@click.option("--pods", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extra pods spread over the nodes (scale rehearsals).")
@click.option("--env-file", type=NonEmptyPath(path_type=Path), default=None,
              help="Also write the export lines to this file, for other shells (mode 0600; removed at shutdown "
                   "unless --keep; an existing file is refused unless an earlier rehearsal wrote it).")
@click.option("--workspace", "workspace", type=NonEmptyPath(file_okay=False, path_type=Path), default=None,
              help="Use this new or empty directory as the workspace (default: a temp directory). Its parent must "
                   "exist; at shutdown a new one is removed, an empty one emptied (unless --keep).")
@click.option("--keep", is_flag=True, help="Keep the workspace (logs, kubeconfig, organization.yaml) at shutdown.")
@click.option("--legacy-http-state", is_flag=True,
              help="Start with dev deployed on the HTTP (GitLab-style) state server, as before the move to S3, "
                   "to rehearse the migration (needs tofu or terraform; exports TF_HTTP_USERNAME/PASSWORD).")
@json_option
@handles_errors
def rehearse(serve: bool, nodes: int, pods: int, env_file: Path | None, workspace: Path | None,
             keep: bool, legacy_http_state: bool, as_json: bool) -> None:
    """The wizard against an embedded rehearsal honey + S3 on 127.0.0.1 (nothing real is touched).

    The wizard needs a terminal (exit 2 without one); --serve does not.
    """
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    _check_env_file(env_file)
    run_wizard = None if serve else _wizard_launcher()
    if run_wizard is not None:  # before anything starts or is written
        require_terminal("the rehearsal wizard",
                         remedy="run `gfwizard rehearse` in a terminal, or start only the services with "
                                "`gfwizard rehearse --serve` and run the commands it prints")
    # The wizard lets the operator pin the fingerprint (with consent); --serve pins it for CLI use.
    env = RehearsalEnvironment(workspace=workspace, nodes=nodes, pods=pods, keep=keep,
                               pin_fingerprint=run_wizard is None)
    written = _EnvFile(env_file, keep)
    if run_wizard is not None:
        with env:
            try:
                _seed(env, legacy_http_state)
                written.write(env)
                code = _run_wizard_in(env, run_wizard)
            finally:
                written.remove()
        _said_stopped(env)
        if code:
            sys.exit(code)
        return
    note = None if serve else "the wizard UI is not installed in this build; serving the rehearsal instead"
    with _StopSignals() as signals:
        with env:
            _seed(env, legacy_http_state)
            _serve(env, written, as_json, note, signals)
    _said_stopped(env)


def _seed(env: "RehearsalEnvironment", legacy_http_state: bool) -> None:
    if not legacy_http_state:
        return
    echo("deploying dev onto the HTTP state server (--legacy-http-state)…", err=True)
    seeded = env.seed_legacy_http_state("dev")
    echo(f"dev is on HTTP state: {', '.join(s.stack for s in seeded)} (workloads running); move it to S3 with the "
         "Backend step's Ctrl+T or `gfwizard backend migrate --env dev`", err=True)


def _run_wizard_in(env: "RehearsalEnvironment", run_wizard: Any) -> int:
    """Run the wizard with the rehearsal's environment; its exit code (non-zero when the UI crashed)."""
    # The wizard's core services (and the tofu it spawns) read the rehearsal's environment.
    saved = dict(os.environ)
    os.environ.update(env.env)
    try:
        return int(run_wizard(rehearsal=env) or 0)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _said_stopped(env: "RehearsalEnvironment") -> None:
    where = f"workspace kept at {env.dir}" if env.keep else "workspace removed"
    echo(f"rehearsal stopped; ports closed, {where}", err=True)
