"""Helpers for the fault campaign (no tests here): a ``gfwizard deploy`` process driven from its JSON
event stream, a terraform wrapper that logs every signal it receives, a TCP proxy that can be cut and
restored, S3 state and version inspection, and a canary scanner."""

from __future__ import annotations

import json
import os
import queue
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from tests.helpers import REPO
from tests.tofu_wrapper import Wrapper, make_wrapper  # noqa: F401  (the campaign's tests import them from here)

PREFIX = "gloriousflywheel"
#: The resource the rehearsal twins sleep in when ``apply_delay_seconds`` > 0.
DELAY_ADDRESS = "terraform_data.apply_delay[0]"

# --------------------------------------------------------------------------------------------------
# a throwaway checkout (terraform writes errored.tfstate into the stack directory: never the real one)


def repo_copy(directory: Path) -> Path:
    """A copy of the checkout's ``tofu/`` tree (point ``GFW_REPO`` at it)."""
    root = directory / "checkout"
    shutil.copytree(REPO / "tofu", root / "tofu",
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan", "*.tfbackend"))
    return root


# --------------------------------------------------------------------------------------------------
# gfwizard deploy as a subprocess, read event by event


#: Every deploy process a test started (stopped at teardown if a failing test left one running).
STARTED: list["DeployProcess"] = []


class DeployProcess:
    """``gfwizard deploy ... --json`` in its own session; stdout JSON events are read on a thread."""

    def __init__(self, args: Iterable[str], env: Mapping[str, str], cwd: Path = REPO) -> None:
        self.args = ["deploy", *args]
        self.proc = subprocess.Popen([sys.executable, "-m", "gfwizard", *self.args], cwd=str(cwd), env=dict(env),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        STARTED.append(self)
        self.events: list[dict[str, Any]] = []
        self.stdout_lines: list[str] = []
        self._queue: "queue.Queue[dict[str, Any] | None]" = queue.Queue()
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._reader.start()
        self._err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            self._queue.put(event)
        self._queue.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def pid(self) -> int:
        """The gfwizard process id."""
        return self.proc.pid

    @property
    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return "".join(self._stderr)

    @property
    def stdout(self) -> str:
        """Everything written to stdout so far."""
        return "".join(self.stdout_lines)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 120) -> dict[str, Any]:
        """The first event (from now on) matching ``predicate``; fails naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                event = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if event is None:
                raise AssertionError(f"gfwizard exited ({self.proc.poll()}) before {what}; "
                                     f"events {[e['event'] for e in self.events]}; stderr {self.stderr[-2000:]}")
            if predicate(event):
                return event
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; stderr {self.stderr[-2000:]}")

    def wait_applying(self, address: str = DELAY_ADDRESS, stack: str | None = None, timeout: float = 120) -> None:
        """Until the binary reports it started applying ``address`` (of ``stack`` when given)."""
        self.wait_for(lambda e: e["event"] == "resource_applying" and e.get("address") == address
                      and (stack is None or e.get("stack") == stack), f"the apply of {address}", timeout)

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the gfwizard process only (not its group)."""
        os.kill(self.proc.pid, sig)

    def finish(self, timeout: float = 180) -> int:
        """Wait for the exit; returns the exit code (the readers are drained)."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        self._err_reader.join(timeout=10)
        return code

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Events of one kind."""
        return [e for e in self.events if e["event"] == kind]

    @property
    def result(self) -> dict[str, Any]:
        """The final ``result`` event."""
        results = self.of("result")
        assert results, f"no result event; stderr {self.stderr[-2000:]}"
        return results[-1]


def run_deploy(args: Iterable[str], env: Mapping[str, str], timeout: float = 240) -> DeployProcess:
    """Run ``gfwizard deploy ARGS`` to completion."""
    proc = DeployProcess(args, env)
    proc.finish(timeout)
    return proc


def outcomes(result: Mapping[str, Any]) -> dict[str, str]:
    """stack -> outcome of a ``result`` event."""
    return {row["stack"]: row["outcome"] for row in result["stacks"]}


# --------------------------------------------------------------------------------------------------
# S3: state objects, their versions, locks


def state_key(env: str, stack: str) -> str:
    """The state object key of ``stack`` in ``env``."""
    return f"{PREFIX}/{env}/{stack}.tfstate"


def lock_objects(client: Any, bucket: str) -> list[str]:
    """Keys of every ``.tflock`` object in ``bucket``."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", []) or [] if o["Key"].endswith(".tflock")]
    return keys


def state_versions(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """Every version of ``key``, oldest first: ``{version_id, latest, delete_marker, doc}`` (doc decoded,
    None when the body is not JSON: a corrupted state object). S3 lists versions newest first."""
    listed: list[tuple[dict[str, Any], bool]] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        listed += [(v, False) for v in page.get("Versions", []) or [] if v["Key"] == key]
        listed += [(m, True) for m in page.get("DeleteMarkers", []) or [] if m["Key"] == key]
    listed.sort(key=lambda item: item[0]["LastModified"], reverse=True)  # stable: keeps S3's order on ties
    out: list[dict[str, Any]] = []
    for item, marker in reversed(listed):
        doc = None
        if not marker:
            body = client.get_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])["Body"].read()
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
        out.append({"version_id": item["VersionId"], "latest": item["IsLatest"], "delete_marker": marker,
                     "doc": doc})
    if out:
        assert out[-1]["latest"], "version order: the newest listed version is not the latest"
    return out


def current_state(client: Any, bucket: str, env: str, stack: str) -> dict[str, Any] | None:
    """The decoded current state object of ``stack`` (None when there is none)."""
    try:
        body = client.get_object(Bucket=bucket, Key=state_key(env, stack))["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def assert_history_sound(versions: list[dict[str, Any]]) -> None:
    """Every version is a readable state document, none was deleted, and the serial never goes back
    within one lineage (no state object lost or rolled back)."""
    assert versions, "no state object at all"
    assert not [v for v in versions if v["delete_marker"]], "a state object was deleted"
    assert all(v["doc"] is not None for v in versions), "a state version is not a readable JSON document"
    lineages = {v["doc"]["lineage"] for v in versions}
    assert len(lineages) == 1, f"the state lineage changed: {lineages}"
    serials = [v["doc"]["serial"] for v in versions]
    assert serials == sorted(serials), f"the state serial went backwards: {serials}"


def resource_names(doc: Mapping[str, Any] | None) -> set[str]:
    """``type.name`` of every resource in a state document."""
    return {f"{r['type']}.{r['name']}" for r in (doc or {}).get("resources", [])}


def normalised_state(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a state document holds, minus what differs between equal runs (ids, serial, lineage,
    versions, timestamps): resources by address with their attributes and status, and the outputs."""
    if doc is None:
        return {}
    resources: dict[str, Any] = {}
    for res in doc.get("resources", []):
        for inst in res.get("instances", []):
            key = inst.get("index_key")
            address = "".join([f"{res['module']}." if res.get("module") else "",
                               "data." if res["mode"] == "data" else "", f"{res['type']}.{res['name']}",
                               f"[{json.dumps(key)}]" if key is not None else ""])
            attrs = {k: v for k, v in (inst.get("attributes") or {}).items() if k != "id"}
            resources[address] = {"attributes": attrs, "status": inst.get("status", ""),
                                  "dependencies": sorted(inst.get("dependencies", []))}
    outputs = {name: out.get("value") for name, out in (doc.get("outputs") or {}).items()}
    return {"resources": resources, "outputs": outputs}


# --------------------------------------------------------------------------------------------------
# a TCP proxy that can be cut (connection refused, open connections reset) and restored on the same port


class CuttableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` (``http://host:port``) byte for byte.

    :meth:`cut` closes the listener and every open connection: new connections are refused, like
    an endpoint that died. :meth:`restore` listens on the same port again.
    """

    def __init__(self, upstream: str) -> None:
        host_port = upstream.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.rpartition(":")
        self.upstream = (host, int(port))
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self.port = 0
        self.cuts = 0
        self._listen()

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        """True while the proxy accepts connections."""
        return self._listener is not None

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            while True:
                for key, _ in sel.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
                with self._lock:
                    if a not in self._conns:
                        return
        except (OSError, ValueError):
            return
        finally:
            sel.close()
            with self._lock:
                self._conns.discard(a)
                self._conns.discard(b)
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = list(self._conns), set()
        self.cuts += 1
        if listener is not None:
            listener.close()
        for conn in conns:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            except OSError:
                pass

    def restore(self) -> None:
        """Listen on the same port again."""
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        """Stop for good."""
        self.cut()


# --------------------------------------------------------------------------------------------------
# canaries


def files_under(*roots: Path) -> list[Path]:
    """Every regular file below ``roots`` (missing roots are skipped)."""
    out: list[Path] = []
    for root in roots:
        if root.is_file():
            out.append(root)
        elif root.is_dir():
            out += [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    return out


def canary_hits(canaries: Mapping[str, str], files: Iterable[Path], texts: Mapping[str, str]) -> list[str]:
    """``"<canary name> in <where>"`` for every canary value found in a file's bytes or a captured text."""
    hits: list[str] = []
    blobs: list[tuple[str, bytes]] = [(f"output {name}", text.encode()) for name, text in texts.items()]
    for path in files:
        try:
            blobs.append((str(path), path.read_bytes()))
        except OSError:
            continue
    for where, blob in blobs:
        for name, value in canaries.items():
            if value.encode() in blob:
                hits.append(f"{name} in {where}")
    return hits


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 60, every: float = 0.1) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def stop_leftovers() -> None:
    """Stop deploys a failed test left running: one SIGINT (gfwizard then stops terraform gracefully,
    saving state and releasing the lock), SIGKILL only if that does not end it within 60 s."""
    while STARTED:
        proc = STARTED.pop().proc
        if proc.poll() is not None:
            continue
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Env:
    """The environment of a gfwizard subprocess: the test's environment plus overrides."""

    base: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def with_(self, **extra: str) -> dict[str, str]:
        """A copy with ``extra`` set (values ``""`` remove a variable)."""
        env = dict(self.base)
        for key, value in extra.items():
            if value == "":
                env.pop(key, None)
            else:
                env[key] = value
        return env


def journal_entries(workspace: Path, env: str = "dev") -> list[dict[str, Any]]:
    """The run journal of ``env`` in a rehearsal workspace (JSON lines)."""
    path = workspace / "journal" / f"{env}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
