"""HTTP (transitional, GitLab-compatible) → S3 state migration for one stack in one environment.

The order is what keeps the source safe:

1. pull the source state over the HTTP API (basic auth from ``TF_HTTP_USERNAME``/``TF_HTTP_PASSWORD``,
   never printed or written);
2. read the destination object: nothing to do when it holds the same content (or an earlier version of it
   does); refuse when it holds state with another lineage, a higher serial, or the same serial with other
   content (the source is never written by any step). Only when a run will write — after the overwrite
   question, if any — keep a timestamped backup (mode 0600) of the source under the state dir;
3. in a scratch directory whose ``TF_DATA_DIR`` is first initialised against the HTTP backend, run
   ``init -migrate-state`` with the rendered S3 backend file — ``-force-copy`` only when the
   destination is empty; otherwise terraform's own overwrite question is answered after the
   operator confirmed;
4. read both sides again and compare serial, lineage and content.

``terraform``/``tofu`` copy the state *content*: into an empty destination they write it as a new
snapshot with a fresh lineage. The verdict therefore rests on the content (resources and outputs),
and the report shows both lineages and serials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Sequence

from gfwizard.atomic import write_if_changed
from gfwizard.backend_render import render_http_text, render_s3_text
from gfwizard.backend_s3 import DEFAULT_TIMEOUTS, error_code, explain, object_exists, s3_client, s3_target
from gfwizard.checks import Check, failed, passed, warned
from gfwizard.errors import CheckFailure, GfwError, InputError
from gfwizard.layout import require_work_root
from gfwizard.paths import private_dir
from gfwizard.redact import redact, register_secret

if TYPE_CHECKING:
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.tofu import CliConfig

ConfirmFn = Callable[[str], bool]
#: Seconds to wait after the one SIGINT before the process group is killed.
INTERRUPT_GRACE = 10.0
_CONTENT_KEYS = ("resources", "outputs")


@dataclass(frozen=True)
class StateSummary:
    """What identifies a state snapshot."""

    serial: int | None
    lineage: str | None
    resources: int
    outputs: int
    #: SHA-256 of the raw bytes.
    sha256: str
    #: SHA-256 of the canonical JSON of resources and outputs (what a migration must preserve).
    content_sha256: str


@dataclass
class MigrationReport:
    """The outcome of one migration attempt."""

    stack: str
    env: str
    source: str
    destination: str
    #: The backup of the source state, written only before a run that will write (None when nothing ran).
    backup_path: Path | None
    #: ``migrated``, ``in-sync`` (nothing to do), ``already-migrated`` (S3 was migrated from this source and has
    #: moved on since: nothing to do), ``refused``, ``failed`` or ``interrupted`` (Ctrl-C).
    outcome: str
    detail: str
    remedy: str = ""
    source_before: StateSummary | None = None
    source_after: StateSummary | None = None
    destination_before: StateSummary | None = None
    destination_after: StateSummary | None = None
    source_unchanged: bool | None = None
    force_copy: bool = False
    binary: str = ""
    transcript: Path | None = None
    checks: list[Check] = field(default_factory=list)
    ok: bool = False
    #: Things the operator should know once, e.g. that gfwizard's own CLI configuration was used.
    notes: list[str] = field(default_factory=list)


def summarize(data: bytes) -> StateSummary:
    """Serial, lineage and digests of a state file's bytes (InputError when it is not a state)."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InputError(f"the state is not JSON ({exc})", remedy="inspect the backup file") from exc
    if not isinstance(doc, dict):
        raise InputError("the state is not a JSON object", remedy="inspect the backup file")
    content = json.dumps({k: doc.get(k) for k in _CONTENT_KEYS}, sort_keys=True).encode()
    serial = doc.get("serial")
    lineage = doc.get("lineage")
    return StateSummary(serial=serial if isinstance(serial, int) else None,
                        lineage=lineage if isinstance(lineage, str) else None,
                        resources=len(doc.get("resources") or []), outputs=len(doc.get("outputs") or {}),
                        sha256=hashlib.sha256(data).hexdigest(),
                        content_sha256=hashlib.sha256(content).hexdigest())


def fetch_http_state(address: str, username: str | None, password: str,
                     timeout: float = DEFAULT_TIMEOUTS[1]) -> bytes | None:
    """GET the state at ``address`` (None when there is none). Read-only."""
    request = urllib.request.Request(address, method="GET")
    token = base64.b64encode(f"{username or ''}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - http(s) URL from config
            body = resp.read()
            return body if resp.status == 200 and body.strip() else None
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        if exc.code in (401, 403):
            raise CheckFailure(f"the HTTP state server refused the credentials ({exc.code}) for {address}",
                               remedy="export TF_HTTP_USERNAME (or set state.http.username) and TF_HTTP_PASSWORD "
                                      "with a token that can read the state") from None
        raise CheckFailure(f"the HTTP state server answered {exc.code} for {address}",
                           remedy="check state.http.address and the server") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CheckFailure(f"cannot reach the HTTP state server at {address}: {reason}",
                           remedy="check state.http.address and the network") from None


def write_backup(directory: Path, stack: str, env: str, data: bytes) -> Path:
    """Write ``data`` to a new timestamped file (mode 0600) in ``directory``; never overwrites."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        path = directory / f"{stack}-{env}-{stamp}{'' if n == 0 else f'-{n}'}.http.tfstate"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return path
    raise CheckFailure(f"cannot create a backup file in {directory}", remedy="clean up old backups")


@dataclass(frozen=True)
class HttpStateLookup:
    """What :func:`http_state_lookup` found for one environment."""

    #: The stacks whose state is still only on the HTTP backend, in the order they were looked at.
    pending: list[str] = field(default_factory=list)
    #: Stacks whose HTTP state could not be read, and why (they are not in ``pending``).
    unreadable: dict[str, str] = field(default_factory=dict)
    #: Pending stacks whose S3 object could not be read (counted as pending: the migration reads it and explains).
    s3_unknown: list[str] = field(default_factory=list)
    #: False when nothing could be looked at: no ``state.http``, or no ``TF_HTTP_PASSWORD``.
    looked: bool = False


def http_state_lookup(cfg: "OrgConfig", env: str, environ: "dict[str, str] | None" = None,
                      stacks: "Sequence[str] | None" = None) -> HttpStateLookup:
    """Which stacks of ``env`` (or of ``stacks``) still have their state only on the HTTP backend: their HTTP
    state holds resources or outputs, and S3 has no state object for them yet (read-only: GETs and HEADs).

    Once S3 holds a state object the stack has moved (a migration leaves the HTTP copy untouched, and
    later deploys change only S3), so it no longer counts. Needs ``TF_HTTP_PASSWORD``; without it, or
    without ``state.http``, nothing is looked at (``looked`` is False). An HTTP read that fails puts the stack
    in ``unreadable``; an S3 read that fails counts it as pending (``backend migrate`` on it says why).
    """
    environ = dict(os.environ) if environ is None else environ
    http = cfg.state.http
    password = environ.get("TF_HTTP_PASSWORD", "")
    if http is None or not password:
        return HttpStateLookup()
    register_secret(password)  # ``environ`` may be the wizard's session, not this process's environment
    from gfwizard.backend_direct import state_reader

    username = environ.get("TF_HTTP_USERNAME") or http.username
    client: Any = None
    found = HttpStateLookup(looked=True)
    for stack in (cfg.stack_order() if stacks is None else stacks):
        try:
            data = fetch_http_state(http.address_for(env, stack), username, password)
            source = summarize(data) if data is not None else None
        except GfwError as exc:
            found.unreadable[stack] = exc.message
            continue
        except Exception as exc:  # noqa: BLE001 - a lookup, not an action: `backend migrate` reports the failure
            found.unreadable[stack] = str(exc) or type(exc).__name__
            continue
        if source is None or (source.resources == 0 and source.outputs == 0):
            continue  # nothing there to carry over (migrate refuses such a state too)
        try:
            client = client or state_reader(cfg, environ)
            in_s3 = object_exists(client, s3_target(cfg, environ).bucket, cfg.state_key(env, stack))
        except Exception:  # noqa: BLE001 - unknown destination: the migration itself reads it and explains
            in_s3 = False
            found.s3_unknown.append(stack)
        if not in_s3:
            found.pending.append(stack)
    return found


def pending_migrations(cfg: "OrgConfig", env: str, environ: "dict[str, str] | None" = None,
                       stacks: "Sequence[str] | None" = None) -> list[str]:
    """The stacks of ``env`` (or of ``stacks``) whose state is still only on the HTTP backend (see
    :func:`http_state_lookup`); ``[]`` when nothing could be looked at, and stacks whose HTTP state could not
    be read are left out."""
    return http_state_lookup(cfg, env, environ, stacks).pending


#: The name of the ``backend check`` row that says which stacks are still only on the HTTP backend.
C_HTTP_STATE = "http state"


def http_state_check(cfg: "OrgConfig", env: str, environ: "dict[str, str] | None" = None) -> Check | None:
    """The ``http state`` check of ``backend check`` (read-only): WARN while some stack's state is only on
    the HTTP backend, or when it could not look; PASS when nothing is pending; None without ``state.http``."""
    http = cfg.state.http
    if http is None:
        return None
    environ = dict(os.environ) if environ is None else environ
    found = http_state_lookup(cfg, env, environ)
    if not found.looked:
        return warned(C_HTTP_STATE, "TF_HTTP_PASSWORD is not exported: could not look for stacks whose state is "
                                    f"still only on the HTTP backend ({http.address})",
                      remedy="export TF_HTTP_PASSWORD (the HTTP state server's token; TF_HTTP_USERNAME or "
                             f"state.http.username names the user) and re-run `gfwizard backend check --env {env}`")
    parts: list[str] = []
    if found.pending:
        parts.append(f"the state of {', '.join(found.pending)} is still only on the HTTP backend"
                     + (f" (S3 could not be read for {', '.join(found.s3_unknown)})" if found.s3_unknown else ""))
    parts += [f"could not read the HTTP state of {stack}: {why}" for stack, why in found.unreadable.items()]
    if not parts:
        return passed(C_HTTP_STATE, f"no stack's state is only on the HTTP backend ({len(cfg.stacks)} stack(s) "
                                    "looked at)")
    remedy = (f"migrate it: `gfwizard backend migrate --env {env}` (every pending stack, in dependency order)"
              if found.pending else "")
    if found.unreadable:
        remedy += ("; " if remedy else "") + "check state.http.address, the server and TF_HTTP_PASSWORD, then " \
                  f"re-run `gfwizard backend check --env {env}`"
    return warned(C_HTTP_STATE, "; ".join(parts), remedy=remedy)


def backend_files_to_write(cfg: "OrgConfig", env: str, stack: str, layout: "Layout") -> list[Path]:
    """The partial backend files a migration of ``stack`` renders before its IaC runs because they are missing
    or stale (on a real machine they are the checkout's ``tofu/stacks/<stack>/<env>.{http,s3}.tfbackend``)."""
    from gfwizard.atomic import holds

    wanted = ((layout.backend_file(stack, env, "http"), render_http_text(cfg, env, stack)),
              (layout.backend_file(stack, env, "s3"), render_s3_text(cfg, env, stack)))
    return [path for path, text in wanted if not holds(path, text)]


def _read_destination(client: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise


def find_iac_binary() -> str:
    """The IaC binary: :func:`gfwizard.tofu.find_binary` when available, else ``$GFW_TOFU_BIN``/tofu/terraform."""
    try:
        from gfwizard.tofu import find_binary
    except ImportError:
        found = os.environ.get("GFW_TOFU_BIN") or shutil.which("tofu") or shutil.which("terraform")
        if not found:
            raise CheckFailure("neither tofu nor terraform is installed",
                               remedy="install OpenTofu (or terraform), or set GFW_TOFU_BIN") from None
        return found
    return str(find_binary().path)


class OperatorInterrupt(Exception):
    """The operator pressed Ctrl-C (SIGINT) while the IaC binary ran; it was stopped before this was raised."""

    def __init__(self, tail: list[str]) -> None:
        super().__init__("interrupted by the operator")
        #: The binary's last lines.
        self.tail = tail


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], transcript: IO[str], timeout: float,
         answer: str | None = None, on_line: Callable[[str], None] | None = None) -> tuple[int | None, list[str]]:
    """Run ``cmd`` in its own process group; every line redacted into ``transcript``.

    Returns ``(exit code or None when interrupted, last lines)``. On timeout: one SIGINT, then a kill.
    Ctrl-C (KeyboardInterrupt) while it runs: the same, then :class:`OperatorInterrupt`.
    """
    transcript.write(f"$ {' '.join(cmd)}\n")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE if answer else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    tail: deque[str] = deque(maxlen=40)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = redact(raw.rstrip("\n"))
            tail.append(line)
            transcript.write(line + "\n")
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if answer and proc.stdin is not None:
        try:
            proc.stdin.write(answer)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
        transcript.write(f"# interrupted after {timeout:g}s\n")
        _interrupt(proc)
    except KeyboardInterrupt:
        # The binary runs in its own session, so the terminal's Ctrl-C reached only us: pass it on once and
        # wait, or the binary would go on moving state (and holding the source's lock) after we are gone.
        transcript.write("# interrupted by the operator (SIGINT)\n")
        _interrupt(proc)
        reader.join(timeout=5)
        transcript.flush()
        raise OperatorInterrupt(list(tail)) from None
    reader.join(timeout=5)
    transcript.flush()
    return code, list(tail)


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """One SIGINT to the group and a grace period; then (or on a second Ctrl-C meanwhile) SIGKILL."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=INTERRUPT_GRACE)
    except (ProcessLookupError, subprocess.TimeoutExpired, KeyboardInterrupt):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def _iac_env(data_dir: Path, username: str | None, password: str) -> "tuple[dict[str, str], CliConfig]":
    """The IaC runs' environment, and the CLI configuration it uses (its note says when it is gfwizard's own)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_DATA_DIR", "TF_WORKSPACE", "TF_CLI_ARGS", "TF_CLI_ARGS_init", "TF_INPUT")}
    env.update(TF_DATA_DIR=str(data_dir), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_HTTP_PASSWORD=password)
    if username:
        env["TF_HTTP_USERNAME"] = username
    # A TF_CLI_CONFIG_FILE naming a missing file would put a warning into every line of the transcript.
    from gfwizard.tofu import cli_config, default_plugin_cache_dir

    cli = cli_config(env, plugin_cache_dir=default_plugin_cache_dir())
    env.update(cli.env)
    return env, cli


def backup_dir(layout: "Layout", env: str) -> Path:
    """Where a migration keeps each source state before anything else (the workspace in a rehearsal)."""
    return layout.work_root / "backups" / env


@dataclass
class _Prepared:
    """What the read-only half of a migration found: the report so far and what the run needs."""

    report: MigrationReport
    address: str
    username: str | None
    password: str
    client: Any
    bucket: str
    key: str
    source_bytes: bytes
    #: The outcome is known without running anything (nothing to do, a refusal, an unreadable destination).
    decided: bool


def _prepare(cfg: "OrgConfig", env: str, stack: str, layout: "Layout", binary: str | None) -> _Prepared:
    """Read both sides and decide what a migration would do; writes nothing (see :func:`migrate_http_to_s3`)."""
    cfg.environment(env)
    cfg.stack(stack)
    http = cfg.state.http
    if http is None:
        raise InputError("state.http is not configured: there is no HTTP state to migrate from",
                         remedy="add state.http (address, lock_address, unlock_address, username) to organization.yaml")
    target = s3_target(cfg)
    password = os.environ.get("TF_HTTP_PASSWORD") or ""
    if not password:
        raise InputError("TF_HTTP_PASSWORD is not set: it is the HTTP state server's password/token",
                         remedy="set TF_HTTP_PASSWORD in this shell's environment to the state server's token "
                                "(it is never written to a file or printed)")
    register_secret(password)
    username = os.environ.get("TF_HTTP_USERNAME") or http.username
    address = http.address_for(env, stack)
    key = cfg.state_key(env, stack)
    destination = f"s3://{target.bucket}/{key}"
    iac = binary or find_iac_binary()
    # Before anything is decided: a broken AWS configuration (an unknown AWS_PROFILE, half a key pair) is a
    # CheckFailure with nothing written, not a report the contract cannot carry.
    client = s3_client(cfg)

    source_bytes = fetch_http_state(address, username, password)
    if source_bytes is None:
        raise CheckFailure(f"there is no state at {address}: nothing to migrate (nothing was written)",
                           remedy="check the stack and environment, and state.http.address")
    source = summarize(source_bytes)
    if source.resources == 0 and source.outputs == 0:
        # terraform/tofu treat such a state as empty and copy nothing; there is nothing to carry over.
        raise CheckFailure(f"the state at {address} holds no resources and no outputs: nothing to migrate "
                           "(nothing was written)",
                           remedy="set state.backend: s3; the stack starts from an empty S3 state")
    # The CLI checks this before anything; the wizard's migration comes here directly. Before the first write.
    require_work_root(cfg.cluster.network)
    report = MigrationReport(stack=stack, env=env, source=address, destination=destination, backup_path=None,
                             outcome="failed", detail="", source_before=source, binary=iac)
    prepared = _Prepared(report=report, address=address, username=username, password=password, client=client,
                         bucket=target.bucket, key=key, source_bytes=source_bytes, decided=True)

    try:
        dest_bytes = _read_destination(client, target.bucket, key)
    except Exception as exc:  # noqa: BLE001 - explained for the operator
        report.detail, report.remedy = explain(exc, target=target, env=env, action=f"read {key}")
        return prepared
    dest = summarize(dest_bytes) if dest_bytes is not None else None
    report.destination_before = dest

    refusal = _refusal(source, dest)
    earlier = _migrated_version(client, target.bucket, key, source) if refusal and refusal != "in-sync" else None
    if earlier is not None and dest is not None:
        report.outcome = "already-migrated"
        report.detail = (f"{destination} was migrated from this HTTP state earlier and has moved on since (now serial "
                         f"{dest.serial}): S3 is the live state and the HTTP copy is stale; nothing to do")
        report.checks = [passed("destination history", f"the destination's {earlier} holds exactly this HTTP "
                                      "state's resources and outputs")]
        return prepared
    if refusal == "in-sync":
        report.outcome, report.detail = "in-sync", f"{destination} already holds the same content; nothing to do"
        return prepared
    if refusal:
        report.outcome, report.detail = "refused", refusal
        report.remedy = (f"inspect both states (nothing was written; the source is at {address}): the destination "
                         "may be live state a deploy wrote; only if it is stale, move it aside in the bucket yourself, "
                         "then re-run")
        return prepared
    report.force_copy = dest is None
    prepared.decided = False
    return prepared


def _finish_prepared(prepared: _Prepared) -> MigrationReport:
    return _finish(prepared.report, prepared.address, prepared.username, prepared.password, prepared.client,
                   prepared.bucket, prepared.key)


def outcome_without_run(cfg: "OrgConfig", env: str, stack: str, layout: "Layout", *,
                        binary: str | None = None) -> MigrationReport | None:
    """The report of a migration of ``stack`` whose outcome is known without running anything — ``in-sync``,
    ``already-migrated``, ``refused``, or ``failed`` when the destination cannot be read — else None (a run
    has something to do). Read-only: nothing is backed up or written, so a caller can say it before any question.

    Raises what :func:`migrate_http_to_s3` raises before its reports.
    """
    prepared = _prepare(cfg, env, stack, layout, binary)
    return _finish_prepared(prepared) if prepared.decided else None


def migrate_http_to_s3(cfg: "OrgConfig", env: str, stack: str, layout: "Layout", *,
                       confirm_overwrite: ConfirmFn | None = None, binary: str | None = None,
                       timeout: float = 600.0, on_line: Callable[[str], None] | None = None,
                       on_backup: Callable[[Path], None] | None = None,
                       on_note: Callable[[str], None] | None = None) -> MigrationReport:
    """Migrate ``stack``'s state in ``env`` from ``state.http`` to ``state.s3`` (see the module doc).

    Both sides are read and the outcome decided first: nothing to do (``in-sync``, ``already-migrated``) and
    refusals are reported without a backup (``backup_path`` None), as is an overwrite ``confirm_overwrite``
    declines. Only a run that will write backs the source up first (``on_backup`` hears the path).
    ``on_note`` hears each of the report's ``notes`` (redacted) when it arises, before the IaC runs.

    Raises InputError for bad input and CheckFailure when the source cannot be read or the AWS configuration
    cannot make an S3 client (nothing written then). Once both were read, every outcome — refused or failed
    included — is a report.
    """
    prepared = _prepare(cfg, env, stack, layout, binary)
    report = prepared.report
    if prepared.decided:
        return _finish_prepared(prepared)
    dest = report.destination_before
    if dest is not None:
        source = report.source_before
        assert source is not None
        question = (f"overwrite {report.destination} (serial {dest.serial}) with the HTTP state (serial "
                    f"{source.serial}, same lineage)")
        if confirm_overwrite is None or not confirm_overwrite(question):
            report.outcome = "refused"
            report.detail = (f"{report.destination} holds older state of the same lineage; overwriting it was not "
                             "confirmed")
            report.remedy = "re-run and confirm (or pass --yes)"
            return _finish_prepared(prepared)

    report.backup_path = write_backup(backup_dir(layout, env), stack, env, prepared.source_bytes)
    if on_backup is not None:
        on_backup(report.backup_path)
    _run_migration(report, cfg, env, stack, layout, report.binary, prepared.username, prepared.password, timeout,
                   on_line, on_note)
    report = _finish_prepared(prepared)
    if report.outcome == "migrated" and cfg.state.backend == "s3":
        report.detail = (f"migrated {report.source} → {report.destination}; state.backend is s3 already: the next "
                         "deploy uses it")
    return report


#: How many earlier versions of the destination are read, newest first, looking for the migrated copy.
MAX_VERSIONS_READ = 50


def _migrated_version(client: Any, bucket: str, key: str, source: StateSummary) -> str | None:
    """Which earlier version of the destination holds ``source``'s content (the copy a migration made, later
    deploys having moved S3 on), as ``version <id> (written <time>)``; None when none does or history cannot be read.

    Only the versioned history tells "migrated, then deployed" from "another state was put there": the
    binary gives the migrated copy a fresh lineage, so lineage and serial cannot.
    """
    try:
        listing = client.list_object_versions(Bucket=bucket, Prefix=key)
        versions = [v for v in listing.get("Versions", []) if v.get("Key") == key and not v.get("IsLatest")]
        versions.sort(key=lambda v: v.get("LastModified") or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
        for version in versions[:MAX_VERSIONS_READ]:
            body = client.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
            try:
                if summarize(bytes(body)).content_sha256 == source.content_sha256:
                    when = version.get("LastModified")
                    stamp = when.isoformat(timespec="seconds") if isinstance(when, datetime) else "?"
                    return f"version {version['VersionId']} (written {stamp})"
            except InputError:
                continue
    except Exception:  # noqa: BLE001 - no history to read (versioning off, no ListBucketVersions): refuse as before
        return None
    return None


def _refusal(source: StateSummary, dest: StateSummary | None) -> str:
    """Why the destination must not be overwritten (``in-sync`` when there is nothing to do, ``""`` to go on)."""
    if dest is None:
        return ""
    if dest.content_sha256 == source.content_sha256:
        return "in-sync"
    if dest.lineage != source.lineage:
        return (f"the destination holds state of another lineage ({dest.lineage}, serial {dest.serial}) than the "
                f"source ({source.lineage}, serial {source.serial}); refusing to overwrite it")
    if (dest.serial or 0) > (source.serial or 0):
        return (f"the destination's serial {dest.serial} is higher than the source's {source.serial}: it is newer; "
                "refusing to overwrite it")
    if dest.serial == source.serial:
        return f"source and destination have the same serial {dest.serial} but different content; refusing"
    return ""


def _run_migration(report: MigrationReport, cfg: "OrgConfig", env: str, stack: str, layout: "Layout", iac: str,
                   username: str | None, password: str, timeout: float,
                   on_line: Callable[[str], None] | None, on_note: Callable[[str], None] | None = None) -> None:
    http_file = layout.backend_file(stack, env, "http")
    s3_file = layout.backend_file(stack, env, "s3")
    write_if_changed(http_file, render_http_text(cfg, env, stack))
    write_if_changed(s3_file, render_s3_text(cfg, env, stack))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scratch = layout.work_root / "migrate" / env / f"{stack}-{stamp}-{os.getpid()}"
    scratch.mkdir(parents=True, mode=0o700)
    transcript_path = private_dir(layout.transcripts_dir(env)) / f"migrate-{stack}-{stamp}.log"
    report.transcript = transcript_path
    run_env, cli = _iac_env(scratch / "tfdata", username, password)
    main_tf = scratch / "main.tf"
    started = time.monotonic()
    step = "init against the HTTP backend"
    try:
        with _open_transcript(transcript_path) as transcript:
            if cli.note:
                note = redact(cli.note)
                report.notes.append(note)
                transcript.write(f"# note: {note}\n")
                if on_note is not None:
                    on_note(note)
            main_tf.write_text('terraform {\n  backend "http" {}\n}\n', encoding="utf-8")
            code, tail = _run([iac, "init", "-input=false", "-no-color", f"-backend-config={http_file}"],
                              cwd=scratch, env=run_env, transcript=transcript, timeout=timeout, on_line=on_line)
            if code != 0:
                report.detail = _failure("init against the HTTP backend", code, timeout, tail)
                return
            main_tf.write_text('terraform {\n  backend "s3" {}\n}\n', encoding="utf-8")
            step = "init -migrate-state"
            args = [iac, "init", "-migrate-state", "-no-color", f"-backend-config={s3_file}"]
            args += ["-input=false", "-force-copy"] if report.force_copy else []
            remaining = max(1.0, timeout - (time.monotonic() - started))
            code, tail = _run(args, cwd=scratch, env=run_env, transcript=transcript, timeout=remaining,
                              answer=None if report.force_copy else "yes\n", on_line=on_line)
            if code != 0:
                report.detail = _failure("init -migrate-state", code, remaining, tail)
                return
        report.outcome = "migrated"
    except OperatorInterrupt as exc:
        report.outcome = "interrupted"
        report.detail = (f"interrupted (Ctrl-C) during {step}: the IaC binary was sent one SIGINT and has stopped"
                         + (f"; its last words: {' | '.join(exc.tail[-2:])}" if exc.tail else ""))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _open_transcript(path: Path) -> IO[str]:
    """``path`` truncated for writing, mode 0600 like every run's transcript (it is redacted, but it holds the
    binary's whole output, and the state dir may be readable by other local users)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a same-second transcript left by an older version may be 0644
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "w", encoding="utf-8")


def _failure(step: str, code: int | None, timeout: float, tail: list[str]) -> str:
    """One line: the step, how it ended, and the IaC binary's error (or its last words)."""
    lines = [line.strip(" │╷╵\t") for line in tail]
    lines = [line for line in lines if line]
    first_error = next((i for i, line in enumerate(lines) if line.startswith("Error:")), None)
    shown = lines[first_error:first_error + 6] if first_error is not None else lines[-3:]
    what = f"interrupted after {timeout:.0f}s" if code is None else f"exit code {code}"
    return f"{step} failed ({what}): " + " | ".join(shown)


def _finish(report: MigrationReport, address: str, username: str | None, password: str, client: Any,
            bucket: str, key: str) -> MigrationReport:
    """Re-read both sides, compare, and set ``checks``/``ok``."""
    src = report.source_before
    assert src is not None
    checks: list[Check] = []
    try:
        after = fetch_http_state(address, username, password)
        report.source_after = summarize(after) if after is not None else None
    except (CheckFailure, InputError) as exc:  # unknown, not gone: the server may only be down now
        checks.append(warned("source after", f"could not re-read the source: {exc}",
                             remedy=(f"compare the source with the backup {report.backup_path} by hand"
                                     if report.backup_path else "nothing was written; re-run once the server "
                                     "answers")))
    else:
        if after is None:
            report.source_unchanged = False
            checks.append(failed("source untouched", f"the source state at {address} is gone",
                                 remedy=(f"restore it from the backup {report.backup_path} (POST it to the address)"
                                         if report.backup_path else "gfwizard wrote nothing to it: ask who removed "
                                         "it, and restore it from the server's own history")))
    if report.source_after is not None:
        report.source_unchanged = report.source_after.sha256 == src.sha256
        checks.append(passed("source untouched", f"source state unchanged (serial {src.serial}, lineage {src.lineage})")
                      if report.source_unchanged else
                      failed("source untouched", "the source state changed during the migration (someone wrote "
                             f"to it?): serial {src.serial} → {report.source_after.serial}",
                             remedy=(f"compare with the backup {report.backup_path}; re-run the migration"
                                     if report.backup_path else "re-run the migration")))
    try:
        dest_bytes = _read_destination(client, bucket, key)
        report.destination_after = summarize(dest_bytes) if dest_bytes is not None else None
    except Exception as exc:  # noqa: BLE001
        checks.append(warned("destination after", f"could not re-read the destination ({error_code(exc) or exc})",
                             remedy="re-run `gfwizard backend migrate` to compare"))
    dest = report.destination_after
    if report.outcome == "already-migrated":
        checks.extend(report.checks)  # what showed it: the destination's history
    elif report.outcome in ("migrated", "in-sync"):
        if dest is None or dest.content_sha256 != src.content_sha256:
            report.outcome = "failed"
            report.detail = "the destination does not hold the source's resources and outputs after the migration"
            checks.append(failed("destination content", report.detail,
                                 remedy="the source is untouched" + (f" and backed up at {report.backup_path}"
                                                                      if report.backup_path else "") + "; re-run"))
        else:
            checks.append(passed("destination content",
                                 f"{dest.resources} resource(s) and the outputs match the source"))
            checks.append(passed("lineage", f"source {src.lineage}, destination {dest.lineage}"
                                 + ("" if dest.lineage == src.lineage else
                                    " (the IaC binary starts a new lineage when it migrates into an empty backend)")))
            checks.append(passed("serial", f"source {src.serial}, destination {dest.serial}"))
            if report.outcome == "migrated":
                report.detail = (f"migrated {report.source} → {report.destination}; next: set state.backend: s3 "
                                 "and deploy from the S3 backend")
    if report.outcome == "interrupted":
        copied = dest is not None and dest.content_sha256 == src.content_sha256
        report.detail += ("; the destination already holds the source's resources and outputs"
                          if copied else "; the destination does not hold the source's state")
        report.remedy = (f"the source state is backed up at {report.backup_path}; re-run `gfwizard backend migrate "
                         f"--env {report.env} --stack {report.stack}` to finish (it reports in-sync when the copy "
                         "completed). If it names a lock on the source, release it with `force-unlock <ID>` "
                         "initialised with the stack's <env>.http.tfbackend")
    if report.outcome == "failed" and not report.remedy:
        kept = f" and backed up at {report.backup_path}" if report.backup_path else ""
        report.remedy = (f"the source state is untouched{kept}; fix the error and re-run. An interrupted run can leave the source locked: the next run then names the lock "
                         "ID; release it with `force-unlock <ID>` initialised with the stack's <env>.http.tfbackend")
    if report.outcome in ("refused", "failed", "interrupted") and all(c.ok for c in checks):
        checks.insert(0, failed("migration", report.detail, remedy=report.remedy or "see above"))
    report.checks = checks
    report.ok = report.outcome in ("migrated", "in-sync", "already-migrated") and all(c.ok for c in checks)
    return report
