"""The rehearsal S3 endpoint, exercised with boto3 over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from gfwizard.redact import redact
from gfwizard.rehearsal.s3 import RehearsalS3, fresh_bucket_name


def _status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def test_if_none_match_star_refuses_an_existing_key(s3: RehearsalS3, s3_bucket: str) -> None:
    client = s3.client()
    client.put_object(Bucket=s3_bucket, Key="state.tflock", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket=s3_bucket, Key="state.tflock", Body=b"second", IfNoneMatch="*")
    assert _status(err.value) == 412
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket=s3_bucket, Key="state.tflock")["Body"].read() == b"first"
    # A plain put (no condition) still overwrites.
    client.put_object(Bucket=s3_bucket, Key="state.tflock", Body=b"third")
    assert client.get_object(Bucket=s3_bucket, Key="state.tflock")["Body"].read() == b"third"
    # After a delete the conditional create succeeds again.
    client.delete_object(Bucket=s3_bucket, Key="state.tflock")
    client.put_object(Bucket=s3_bucket, Key="state.tflock", Body=b"fourth", IfNoneMatch="*")


def test_if_match_requires_the_current_etag(s3: RehearsalS3, s3_bucket: str) -> None:
    client = s3.client()
    etag = client.put_object(Bucket=s3_bucket, Key="k", Body=b"v1")["ETag"]
    with pytest.raises(ClientError) as err:
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"v2", IfMatch='"0000"')
    assert _status(err.value) == 412
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"v2", IfMatch=etag)
    assert client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"v2"


def test_concurrent_conditional_creates_have_exactly_one_winner(s3: RehearsalS3, s3_bucket: str) -> None:
    clients = [s3.client() for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    outcomes: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            clients[i].put_object(Bucket=s3_bucket, Key="race.tflock", Body=str(i).encode(), IfNoneMatch="*")
            code = 200
        except ClientError as exc:
            code = _status(exc)
        with lock:
            outcomes.append(code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(outcomes) == [200] + [412] * (len(clients) - 1)


def test_create_bucket_versioning(s3: RehearsalS3) -> None:
    client = s3.client()
    versioned = s3.create_bucket()
    plain = s3.create_bucket(fresh_bucket_name("plain"), versioning=False)
    assert client.get_bucket_versioning(Bucket=versioned).get("Status") == "Enabled"
    assert client.get_bucket_versioning(Bucket=plain).get("Status") is None
    client.put_object(Bucket=versioned, Key="s.tfstate", Body=b"1")
    client.put_object(Bucket=versioned, Key="s.tfstate", Body=b"2")
    versions = client.list_object_versions(Bucket=versioned, Prefix="s.tfstate")["Versions"]
    assert len(versions) == 2


def test_fresh_bucket_names_are_valid_and_distinct() -> None:
    names = {fresh_bucket_name() for _ in range(50)}
    assert len(names) == 50
    assert all(3 <= len(n) <= 63 and n == n.lower() for n in names)


def test_request_log_in_memory_and_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "s3-requests.log"
    with RehearsalS3(log_path=log) as server:
        client = server.client()
        bucket = server.create_bucket()
        client.put_object(Bucket=bucket, Key="a/b.tfstate.tflock", Body=b"x", IfNoneMatch="*")
        with pytest.raises(ClientError):
            client.put_object(Bucket=bucket, Key="a/b.tfstate.tflock", Body=b"y", IfNoneMatch="*")
        client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a/b.tfstate.tflock"})
        entries = server.request_log.entries()
        secret = server.secret_key
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == entries
    puts = [e for e in entries if e["method"] == "PUT" and e["path"] == f"/{bucket}/a/b.tfstate.tflock"]
    assert [(e["status"], e["conditional"]) for e in puts] == [(200, "If-None-Match: *"), (412, "If-None-Match: *")]
    assert {"time", "method", "path", "status", "conditional"} == set(entries[0])
    assert entries[0]["method"] == "PUT" and entries[0]["path"] == f"/{bucket}"
    assert secret not in log.read_text()
    assert "?" not in log.read_text()


def test_request_log_clear(s3: RehearsalS3, s3_bucket: str) -> None:
    s3.request_log.clear()
    assert s3.request_log.entries() == []
    s3.client().head_bucket(Bucket=s3_bucket)
    assert [(e["method"], e["path"], e["status"]) for e in s3.request_log.entries()] == [("HEAD", f"/{s3_bucket}", 200)]


def test_stop_frees_the_port_and_is_idempotent() -> None:
    server = RehearsalS3().start()
    host, port = server.host, server.port
    assert server.endpoint == f"http://127.0.0.1:{port}" and port > 0
    assert _port_open(host, port)
    server.stop()
    assert not _port_open(host, port)
    server.stop()
    assert not server.running


def test_credentials_are_random_and_redacted() -> None:
    a, b = RehearsalS3(), RehearsalS3()
    assert a.secret_key != b.secret_key and a.access_key != b.access_key
    assert a.region == "us-east-1"
    env = a.env()
    assert set(env) >= {"AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"}
    assert a.secret_key not in redact(f"oops {a.secret_key} and {a.access_key}")
    assert a.access_key not in redact(f"oops {a.access_key}")


def test_client_before_start_is_refused() -> None:
    from gfwizard.errors import CheckFailure

    with pytest.raises(CheckFailure, match="not running"):
        RehearsalS3().client()


def _client_with_key(s3: RehearsalS3, access_key: str) -> object:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=s3.endpoint, region_name=s3.region, aws_access_key_id=access_key,
                        aws_secret_access_key=s3.secret_key,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def _raw(s3: RehearsalS3, method: str, path: str) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection(s3.host, s3.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_another_access_key_is_refused_and_writes_nothing(s3: RehearsalS3, s3_bucket: str) -> None:
    s3.client().put_object(Bucket=s3_bucket, Key="dev/attic.tfstate", Body=b"kept")
    stale = _client_with_key(s3, "GFWSTALEKEY00000")
    s3.request_log.clear()
    with pytest.raises(ClientError) as err:
        stale.put_object(Bucket=s3_bucket, Key="dev/attic.tfstate", Body=b"overwritten")  # type: ignore[attr-defined]
    assert _status(err.value) == 403
    assert err.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert "does not exist in our records" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        stale.delete_object(Bucket=s3_bucket, Key="dev/attic.tfstate")  # type: ignore[attr-defined]
    assert err.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert [(e["method"], e["status"]) for e in s3.request_log.entries()] == [("PUT", 403), ("DELETE", 403)]
    assert s3.client().get_object(Bucket=s3_bucket, Key="dev/attic.tfstate")["Body"].read() == b"kept"


def test_unsigned_requests_are_denied_as_s3_denies_them(s3: RehearsalS3, s3_bucket: str) -> None:
    status, body = _raw(s3, "GET", f"/{s3_bucket}")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert _raw(s3, "HEAD", "/") == (403, b"")
    assert _raw(s3, "PUT", f"/{s3_bucket}/unsigned")[0] == 403
    assert s3.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


def test_presigned_urls_carry_the_key_in_the_query(s3: RehearsalS3, s3_bucket: str) -> None:
    import urllib.error
    import urllib.request

    s3.client().put_object(Bucket=s3_bucket, Key="k", Body=b"body")
    ours = s3.client().generate_presigned_url("get_object", Params={"Bucket": s3_bucket, "Key": "k"})
    with urllib.request.urlopen(ours, timeout=10) as resp:
        assert resp.read() == b"body"
    stale = _client_with_key(s3, "GFWSTALEKEY00000").generate_presigned_url(  # type: ignore[attr-defined]
        "get_object", Params={"Bucket": s3_bucket, "Key": "k"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(stale, timeout=10)
    assert err.value.code == 403 and b"InvalidAccessKeyId" in err.value.read()


def test_accept_any_key_leaves_authentication_to_moto() -> None:
    with RehearsalS3(accept_any_key=True) as server:
        bucket = fresh_bucket_name()
        _client_with_key(server, "GFWANYKEY0000000").create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        assert bucket in [b["Name"] for b in server.client().list_buckets()["Buckets"]]


@pytest.mark.parametrize(("environ", "key"), [
    ({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID1/20261208/us-east-1/s3/aws4_request, "
                            "SignedHeaders=host, Signature=abc"}, "AKID1"),
    ({"HTTP_AUTHORIZATION": "AWS AKID2:c2lnbmF0dXJl"}, "AKID2"),
    ({"QUERY_STRING": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID3%2F20261208%2Fus-east-1%2Fs3"}, "AKID3"),
    ({"QUERY_STRING": "AWSAccessKeyId=AKID4&Signature=x&Expires=1"}, "AKID4"),
    ({"QUERY_STRING": "versions&prefix=a"}, None),
    ({}, None),
], ids=["sigv4-header", "sigv2-header", "sigv4-presigned", "sigv2-presigned", "unsigned-query", "unsigned"])
def test_request_access_key(environ: dict, key: str | None) -> None:
    from gfwizard.rehearsal.s3 import request_access_key

    assert request_access_key(environ) == key


def test_errors_are_answered_whatever_aws_profile_the_process_has(tmp_path: Path) -> None:
    # In a fresh process (moto caches the lookup): with AWS_PROFILE naming no profile, moto's first error answer
    # built a botocore Session that raised ProfileNotFound, and NoSuchKey came back as a 500.
    import os
    import subprocess
    import sys

    code = ("from gfwizard.rehearsal.s3 import RehearsalS3\nfrom botocore.exceptions import ClientError\n"
            "with RehearsalS3() as s3:\n    bucket = s3.create_bucket()\n"
            "    try:\n        s3.client().get_object(Bucket=bucket, Key='missing')\n"
            "    except ClientError as exc:\n        print(exc.response['Error']['Code'], "
            "exc.response['ResponseMetadata']['HTTPStatusCode'])\n")
    env = {**os.environ, "AWS_PROFILE": "no-such-profile", "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["NoSuchKey", "404"], proc.stdout + proc.stderr
    assert os.environ.get("AWS_PROFILE") != "no-such-profile"
