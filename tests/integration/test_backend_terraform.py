"""The rendered S3 backend file really works with real terraform/tofu against the rehearsal S3, and
``list_locks`` shows the lock a running apply holds (read-only)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from gfwizard.backend import list_locks, render_backends
from gfwizard.layout import layout_for
from gfwizard.rehearsal.s3 import RehearsalS3
from tests.backend_doubles import free_port_endpoint, make_cfg

pytestmark = pytest.mark.integration

MAIN_TF = """
terraform {
  backend "s3" {}
}

variable "hold_seconds" {
  type    = number
  default = 0
}

resource "terraform_data" "marker" {
  input = "gfwizard"

  provisioner "local-exec" {
    command = "sleep ${var.hold_seconds}"
  }
}
"""


def _iac_env(s3: RehearsalS3, tmp_path: Path, data_dir: str = "tfdata") -> dict[str, str]:
    (tmp_path / "empty.tfrc").write_text("")
    env = dict(os.environ)
    env.update(TF_DATA_DIR=str(tmp_path / data_dir), TF_CLI_CONFIG_FILE=str(tmp_path / "empty.tfrc"),
               TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1",
               AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key,
               # Points nowhere: proves the backend file's endpoint is the one terraform uses.
               AWS_ENDPOINT_URL_S3=free_port_endpoint())
    return env


def _stack(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.tf").write_text(MAIN_TF)
    return code


def _run(iac_bin: str, args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([iac_bin, *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_rendered_backend_file_inits_and_applies(iac_bin: str, s3: RehearsalS3, s3_bucket: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    cfg = make_cfg(s3.endpoint, s3_bucket)
    files = render_backends(cfg, "dev", layout_for("loopback"))
    attic = next(f.path for f in files if f.stack == "attic")
    code = _stack(tmp_path)
    env = _iac_env(s3, tmp_path)
    init = _run(iac_bin, ["init", "-input=false", f"-backend-config={attic}"], code, env)
    assert init.returncode == 0, init.stdout + init.stderr
    apply = _run(iac_bin, ["apply", "-auto-approve", "-input=false"], code, env)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    body = s3.client().get_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/attic.tfstate")["Body"].read()
    state = json.loads(body)
    assert [r["type"] for r in state["resources"]] == ["terraform_data"]
    # use_lockfile released its lock object after the apply.
    assert list_locks(cfg, "dev") == []


def test_list_locks_shows_a_held_lock_read_only(iac_bin: str, s3: RehearsalS3, s3_bucket: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    cfg = make_cfg(s3.endpoint, s3_bucket)
    attic = next(f.path for f in render_backends(cfg, "dev", layout_for("loopback")) if f.stack == "attic")
    code = _stack(tmp_path)
    env = _iac_env(s3, tmp_path)
    assert _run(iac_bin, ["init", "-input=false", f"-backend-config={attic}"], code, env).returncode == 0
    apply = subprocess.Popen([iac_bin, "apply", "-auto-approve", "-input=false", "-no-color", "-var",
                              "hold_seconds=3"], cwd=code, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        held = []
        deadline = time.monotonic() + 30
        while not held and time.monotonic() < deadline and apply.poll() is None:
            time.sleep(0.3)
            s3.request_log.clear()
            held = list_locks(cfg, "dev")
            methods = {e["method"] for e in s3.request_log.entries()}
            assert methods <= {"GET", "HEAD"}, methods
        assert len(held) == 1, apply.stdout.read() if apply.poll() is not None and apply.stdout else held
        lock = held[0]
        assert (lock.stack, lock.env) == ("attic", "dev")
        assert lock.key == "gloriousflywheel/dev/attic.tfstate.tflock"
        assert lock.operation == "OperationTypeApply"
        assert lock.id and "@" in lock.who and not lock.error
        assert lock.created is not None and lock.age is not None and 0 <= lock.age < 30
    finally:
        out, _ = apply.communicate(timeout=60)
    assert apply.returncode == 0, out
    assert list_locks(cfg, "dev") == []
