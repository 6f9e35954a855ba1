"""Which stacks still have HTTP state to move: those whose S3 object does not hold the same content.
A stack migrated already (its HTTP copy stays) is not offered again; the lookup writes nothing."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from gfwizard.backend_migrate import pending_migrations
from gfwizard.rehearsal.httpstate import HttpStateServer
from gfwizard.rehearsal.s3 import RehearsalS3
from tests.backend_doubles import make_cfg

PASSWORD = "http-state-password-for-the-lookup"
STACKS = ("attic", "arc-runners", "gitlab-runners")


@pytest.fixture
def http_server(s3: RehearsalS3, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpStateServer]:
    """The HTTP state server; the S3 credentials in the environment (botocore reads them from there)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with HttpStateServer("rehearsal", PASSWORD) as server:
        yield server


def _state(lineage: str, serial: int, resources: int) -> bytes:
    return json.dumps({"version": 4, "serial": serial, "lineage": lineage, "outputs": {},
                       "resources": [{"mode": "managed", "type": "terraform_data", "name": f"r{i}", "instances": []}
                                     for i in range(resources)]}).encode()


def _objects(s3: RehearsalS3, bucket: str) -> dict[str, str]:
    listed = s3.client().list_objects_v2(Bucket=bucket)
    return {o["Key"]: o["ETag"] for o in listed.get("Contents", [])}


def test_only_stacks_with_http_state_and_no_s3_state_are_pending(s3: RehearsalS3, s3_bucket: str,
                                                                 http_server: HttpStateServer) -> None:
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=STACKS)
    environ = {"TF_HTTP_PASSWORD": PASSWORD}
    migrated = _state("lin-a", 4, resources=2)
    http_server.put_state("attic", "dev", migrated)
    http_server.put_state("arc-runners", "dev", _state("lin-b", 2, resources=1))
    http_server.put_state("gitlab-runners", "dev", _state("lin-c", 1, resources=0))  # empty: nothing to carry
    # attic was migrated, then deployed from S3: S3 holds other content now, and is what counts.
    client = s3.client()
    client.put_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/attic.tfstate", Body=_state("lin-new", 3, 5))
    before = _objects(s3, s3_bucket)
    http_server.request_log.clear()

    assert pending_migrations(cfg, "dev", environ) == ["arc-runners"]
    assert pending_migrations(cfg, "dev", environ, stacks=["attic"]) == []  # only what is asked about is read
    assert pending_migrations(cfg, "prod", environ) == []  # no HTTP state in prod
    client.put_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/arc-runners.tfstate", Body=_state("lin-b", 2, 1))
    assert pending_migrations(cfg, "dev", environ) == []
    client.delete_object(Bucket=s3_bucket, Key="gloriousflywheel/dev/arc-runners.tfstate")
    # Read-only on both sides: GETs only on the HTTP server, the S3 objects and HTTP states as they were.
    assert {e["method"] for e in http_server.request_log.entries()} == {"GET"}
    assert set(_objects(s3, s3_bucket)) == set(before)
    assert http_server.current_state("attic", "dev") == migrated


def test_without_the_password_or_http_state_nothing_is_looked_at(s3: RehearsalS3, s3_bucket: str,
                                                                 http_server: HttpStateServer) -> None:
    http_server.put_state("attic", "dev", _state("lin-a", 4, resources=2))
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=STACKS)
    http_server.request_log.clear()
    assert pending_migrations(cfg, "dev", {}) == []
    assert http_server.request_log.entries() == []
    no_http = make_cfg(s3.endpoint, s3_bucket, stacks=STACKS)
    assert pending_migrations(no_http, "dev", {"TF_HTTP_PASSWORD": PASSWORD}) == []
    # A wrong password: every HTTP read is refused, so no stack is offered (migrate would say why).
    assert pending_migrations(cfg, "dev", {"TF_HTTP_PASSWORD": "wrong"}) == []


def test_the_password_it_was_given_is_redacted_from_then_on(s3: RehearsalS3, s3_bucket: str,
                                                              http_server: HttpStateServer) -> None:
    # The wizard passes its session's environment, which this process's redactor never saw at import.
    from gfwizard.redact import redact

    canary = "SessionOnlyCanary7Qx2Zp"  # no token shape: only its registration can hide it
    cfg = make_cfg(s3.endpoint, s3_bucket, http_address=http_server.address_template, stacks=STACKS)
    assert pending_migrations(cfg, "dev", {"TF_HTTP_PASSWORD": canary}, stacks=[]) == []
    assert canary not in redact(f"the state server answered 401 for {canary}")
