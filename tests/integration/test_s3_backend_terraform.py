"""Real terraform/tofu with an S3 backend on the rehearsal endpoint: init, apply, lockfile locking
(a concurrent apply is refused with the holder's lock info) and a versioned state object."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from gfwizard.rehearsal.s3 import RehearsalS3

pytestmark = pytest.mark.integration

MAIN_TF = """
terraform {
  backend "s3" {}
}

variable "generation" {
  type = number
}

variable "hold_seconds" {
  type    = number
  default = 0
}

resource "terraform_data" "held" {
  input            = var.generation
  triggers_replace = var.generation

  provisioner "local-exec" {
    command = "sleep ${var.hold_seconds}"
  }
}
"""

STATE_KEY = "gloriousflywheel/dev/lockprobe.tfstate"


def _backend_args(s3: RehearsalS3, bucket: str) -> list[str]:
    settings = {
        "bucket": bucket,
        "key": STATE_KEY,
        "region": s3.region,
        "endpoints": f'{{s3="{s3.endpoint}"}}',
        "use_path_style": "true",
        "use_lockfile": "true",
        "skip_credentials_validation": "true",
        "skip_requesting_account_id": "true",
        "skip_metadata_api_check": "true",
        "skip_region_validation": "true",
    }
    return [f"-backend-config={k}={v}" for k, v in settings.items()]


def _env(s3: RehearsalS3, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TF_DATA_DIR=str(tmp_path / "tfdata"),
        TF_CLI_CONFIG_FILE=str(tmp_path / "empty.tfrc"),
        TF_IN_AUTOMATION="1",
        CHECKPOINT_DISABLE="1",
        AWS_ACCESS_KEY_ID=s3.access_key,
        AWS_SECRET_ACCESS_KEY=s3.secret_key,
        # As in a rehearsal workspace: no AWS config/credentials file is read.
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def _apply(iac_bin: str, generation: int, hold: int = 0) -> list[str]:
    return [iac_bin, "apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=0s",
            "-var", f"generation={generation}", "-var", f"hold_seconds={hold}"]


def test_s3_backend_init_apply_lock_and_versions(iac_bin: str, s3: RehearsalS3, s3_bucket: str,
                                                   tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "main.tf").write_text(MAIN_TF)
    (tmp_path / "empty.tfrc").write_text("")
    env = _env(s3, tmp_path)
    client = s3.client()

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=stack, env=env, capture_output=True, text=True, timeout=120)

    init = run([iac_bin, "init", "-input=false", "-no-color", *_backend_args(s3, s3_bucket)])
    assert init.returncode == 0, init.stdout + init.stderr
    first = run(_apply(iac_bin, 1))
    assert first.returncode == 0, first.stdout + first.stderr

    # Second apply holds the lock while its provisioner sleeps; a third one must be refused.
    s3.request_log.clear()
    holder = subprocess.Popen(_apply(iac_bin, 2, hold=3), cwd=stack, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        lock_info: dict[str, str] | None = None
        while time.monotonic() < deadline and lock_info is None:
            try:
                body = client.get_object(Bucket=s3_bucket, Key=STATE_KEY + ".tflock")["Body"].read()
                lock_info = json.loads(body)
            except client.exceptions.NoSuchKey:
                assert holder.poll() is None, "the holding apply ended before its lock was seen"
                time.sleep(0.1)
        assert lock_info is not None, "the holding apply never wrote its .tflock"

        refused = run(_apply(iac_bin, 3))
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0
        assert "Error acquiring the state lock" in output
        assert f"ID:        {lock_info['ID']}" in output
        assert lock_info["Who"] and f"Who:       {lock_info['Who']}" in output

        holder_out, _ = holder.communicate(timeout=60)
        assert holder.returncode == 0, holder_out
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)

    # The lock was taken with a conditional create (If-None-Match: *) and refused with 412.
    lock_puts = [e for e in s3.request_log.entries()
                 if e["method"] == "PUT" and e["path"].endswith(".tflock")]
    assert [(e["status"], e["conditional"]) for e in lock_puts][:2] == [(200, "If-None-Match: *"),
                                                                         (412, "If-None-Match: *")]
    # The lock is released, the state records the holder's apply, and it is versioned.
    with pytest.raises(client.exceptions.NoSuchKey):
        client.get_object(Bucket=s3_bucket, Key=STATE_KEY + ".tflock")
    state = json.loads(client.get_object(Bucket=s3_bucket, Key=STATE_KEY)["Body"].read())
    resource = state["resources"][0]
    assert resource["type"] == "terraform_data" and resource["instances"][0]["attributes"]["input"]["value"] == 2
    versions = client.list_object_versions(Bucket=s3_bucket, Prefix=STATE_KEY)["Versions"]
    assert len([v for v in versions if v["Key"] == STATE_KEY]) >= 2
