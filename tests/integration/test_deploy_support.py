"""Helpers for the deploy integration tests (no tests here): running ``gfwizard deploy``, reading its
JSON events, the S3 state objects, the rehearsal API, and a wrapper binary that logs every
invocation and every signal it receives (and forwards the signal to the real terraform)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from tests import tofu_wrapper
from tests.helpers import REPO, run_cli

ORDER = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
PREFIX = "gloriousflywheel"

def make_wrapper(tmp_path: Path, real: str) -> tuple[Path, Path]:
    """A ``terraform`` wrapper script and its log file (see :mod:`tests.tofu_wrapper`)."""
    wrapper = tofu_wrapper.make_wrapper(tmp_path, real)
    return wrapper.path, wrapper.log


def wrapper_log(log: Path) -> list[tuple[int, str]]:
    """``(pid, text)`` per logged line."""
    return tofu_wrapper.Wrapper(log, log).lines()


def signals_per_process(log: Path, name: str = "SIGINT") -> Counter[int]:
    """How many times each wrapper process received ``name``."""
    return tofu_wrapper.Wrapper(log, log).signals(name)


def deploy(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``gfwizard deploy ARGS`` in a fresh interpreter, stdin a pipe (never a terminal)."""
    return run_cli(["deploy", *args], env=env, input=stdin, timeout=180)


def events(proc: subprocess.CompletedProcess[str] | str) -> list[dict[str, Any]]:
    """The JSON events of a ``--json`` run, in order."""
    text = proc if isinstance(proc, str) else proc.stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def of(evs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Events of one kind."""
    return [e for e in evs if e["event"] == kind]


def objects(ws: Any) -> dict[str, str]:
    """Current objects in the workspace bucket: key -> ETag."""
    client = ws.s3.client()
    out: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=ws.bucket):
        out.update({o["Key"]: o["ETag"] for o in page.get("Contents", []) or []})
    return out


def state_keys(ws: Any, env: str = "dev") -> set[str]:
    """Stacks that have a state object in ``env``."""
    prefix = f"{PREFIX}/{env}/"
    return {k[len(prefix):-len(".tfstate")] for k in objects(ws) if k.startswith(prefix) and k.endswith(".tfstate")}


def state(ws: Any, stack: str, env: str = "dev") -> dict[str, Any]:
    """The decoded state object of a stack."""
    body = ws.s3.client().get_object(Bucket=ws.bucket, Key=f"{PREFIX}/{env}/{stack}.tfstate")["Body"].read()
    return json.loads(body)


def api_get(api: Any, path: str) -> tuple[int, dict[str, Any]]:
    """GET a path of the rehearsal API as admin: (status, body)."""
    ctx = ssl.create_default_context(cadata=api.ca_pem.decode())
    req = urllib.request.Request(api.url + path, headers={"Authorization": f"Bearer {api.admin_token}"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def journal(ws: Any, env: str = "dev") -> list[dict[str, Any]]:
    """The journal lines of ``env``."""
    path = ws.dir / "journal" / f"{env}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def repo_copy(tmp_path: Path) -> Path:
    """A throwaway checkout holding only ``tofu/rehearsal`` (point ``GFW_REPO`` at it to edit twins)."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "tofu" / "rehearsal", root / "tofu" / "rehearsal")
    (root / "tofu" / "stacks").mkdir(parents=True)
    return root


def non_get_api_requests(api: Any) -> list[dict[str, Any]]:
    """Requests to the rehearsal API that could write."""
    return [e for e in api.request_log.entries() if e["method"] != "GET"]
