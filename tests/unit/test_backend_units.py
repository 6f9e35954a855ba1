"""Pure pieces of the backend service: endpoint resolution, error explanations, lock parsing and the
migration's refusal rules. No network."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from gfwizard.backend_locks import lock_from_json, parse_created
from gfwizard.backend_migrate import _refusal, summarize
from gfwizard.backend_s3 import explain, s3_target
from gfwizard.errors import InputError
from tests.backend_doubles import make_cfg

ENDPOINT = "https://rustfs.honey.ts.net:9000"


def _client_error(code: str, status: int = 403) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetBucketVersioning")


@pytest.fixture
def target():
    return s3_target(make_cfg(ENDPOINT, "gloriousflywheel-state", network="tailnet"), environ={})


def test_endpoint_resolution_names_its_source() -> None:
    cfg = make_cfg(ENDPOINT, "state", network="tailnet")
    assert s3_target(cfg, environ={}).endpoint_source == "state.s3.endpoint"
    same = s3_target(cfg, environ={"AWS_ENDPOINT_URL_S3": ENDPOINT + "/"})
    assert same.endpoint == ENDPOINT and same.endpoint_source == "state.s3.endpoint"
    other = s3_target(cfg, environ={"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"})
    assert other.endpoint == "http://127.0.0.1:9000"
    assert other.endpoint_source == f"AWS_ENDPOINT_URL_S3 (overrides state.s3.endpoint {ENDPOINT})"
    with pytest.raises(InputError, match="is not an http\\(s\\) URL"):
        s3_target(cfg, environ={"AWS_ENDPOINT_URL_S3": "ftp://x"})


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("NoSuchBucket", 404, "bucket 'gloriousflywheel-state' does not exist at " + ENDPOINT),
    ("AccessDenied", 403, "access denied: the credentials are valid but not allowed to read"),
    ("SignatureDoesNotMatch", 403, "signature does not match: the secret access key is wrong"),
    ("InvalidAccessKeyId", 403, f"the access key id is unknown to {ENDPOINT}"),
    ("RequestTimeTooSkewed", 403, "the store refused the request: this machine's clock differs"),
    ("404", 404, "bucket 'gloriousflywheel-state' does not exist"),
    ("SlowDown", 503, f"{ENDPOINT} answered 503 SlowDown: m"),
])
def test_client_errors_get_distinct_plain_messages(target, code: str, status: int, expected: str) -> None:
    detail, remedy = explain(_client_error(code, status), target=target, env="prod")
    assert detail.startswith(expected)
    assert remedy
    if code == "NoSuchBucket":
        assert remedy == "create it: `gfwizard backend check --env prod --create-bucket`"


def test_connection_errors_are_told_apart(target) -> None:
    refused = EndpointConnectionError(endpoint_url=ENDPOINT, error=ConnectionRefusedError(111, "Connection refused"))
    assert explain(refused, target=target)[0] == f"connection refused by {ENDPOINT}: nothing is listening there"
    connect = ConnectTimeoutError(endpoint_url=ENDPOINT, error="timed out")
    assert "did not answer within 3s (endpoint timeout)" in explain(connect, target=target)[0]
    read = ReadTimeoutError(endpoint_url=ENDPOINT, error="timed out")
    assert "accepted the connection but did not answer within 10s" in explain(read, target=target)[0]


def test_a_virtual_hosted_bucket_name_that_does_not_resolve_is_not_blamed_on_the_endpoint() -> None:
    import socket

    virtual = dataclasses.replace(s3_target(make_cfg(ENDPOINT, "state", network="tailnet"), environ={}),
                                  path_style=False)
    dns = EndpointConnectionError(endpoint_url="https://state.rustfs.honey.ts.net:9000/",
                                  error=socket.gaierror(-2, "Name or service not known"))
    detail, remedy = explain(dns, target=virtual)
    assert detail.startswith("the bucket's virtual-hosted address state.rustfs.honey.ts.net does not resolve (DNS)")
    assert "use_path_style: true" in remedy and "*.rustfs.honey.ts.net" in remedy
    # Path-style: the endpoint's own host is the one that did not resolve.
    path_style = dataclasses.replace(virtual, path_style=True)
    plain = EndpointConnectionError(endpoint_url=ENDPOINT + "/state",
                                    error=socket.gaierror(-2, "Name or service not known"))
    assert explain(plain, target=path_style)[0] == f"the host of {ENDPOINT} does not resolve (DNS)"


def test_a_failed_credential_process_is_named_with_its_message_on_one_line_and_redacted() -> None:
    from botocore.exceptions import CredentialRetrievalError

    from gfwizard.backend_s3 import explain_aws_config_error

    failure = CredentialRetrievalError(provider="custom-process", error_msg="vault said no: password=hunter2\n")
    detail, remedy = explain_aws_config_error(failure)
    assert detail == "AWS credentials could not be retrieved from custom-process: vault said no: password=[REDACTED]"
    assert "credential_process" in remedy


def test_an_unreachable_endpoint_that_overrides_the_config_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import gfwizard.backend_checks as checks

    def refused(endpoint: str, timeout: float, read_timeout: float | None = None) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(checks, "probe_endpoint", refused)
    cfg = make_cfg(ENDPOINT, "state", network="tailnet")
    check, _date, _sent = checks._endpoint_check(s3_target(cfg, environ={}), (3.0, 10.0))
    assert check.detail == f"connection refused by {ENDPOINT}: nothing is listening there"
    override = "http://127.0.0.1:9"
    check, _date, _sent = checks._endpoint_check(s3_target(cfg, environ={"AWS_ENDPOINT_URL_S3": override}),
                                                 (3.0, 10.0))
    assert not check.ok
    assert check.detail == (f"connection refused by {override}: nothing is listening there (that endpoint is "
                            f"AWS_ENDPOINT_URL_S3 (overrides state.s3.endpoint {ENDPOINT}))")
    assert check.remedy.startswith(f"unset AWS_ENDPOINT_URL_S3 to use state.s3.endpoint {ENDPOINT}, or point it at "
                                   "the S3 service; check ")


def test_parse_created_handles_nanoseconds_and_garbage() -> None:
    assert parse_created("2025-01-02T03:04:05.123456789Z") == datetime(2025, 1, 2, 3, 4, 5, 123456,
                                                                        tzinfo=timezone.utc)
    assert parse_created("2025-01-02T03:04:05Z") == datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_created("yesterday") is None and parse_created(None) is None


def test_lock_from_json() -> None:
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    body = json.dumps({"ID": "abc", "Operation": "OperationTypePlan", "Who": "bob@ci", "Version": "1.10.0",
                       "Created": "2025-01-02T03:04:05Z", "Info": "note"}).encode()
    lock = lock_from_json(body, stack="attic", env="dev", key="k.tflock", now=created.timestamp() + 90)
    assert (lock.id, lock.who, lock.operation, lock.age, lock.info) == ("abc", "bob@ci", "OperationTypePlan", 90.0,
                                                                        "note")
    assert lock.to_json()["created"] == "2025-01-02T03:04:05+00:00"
    broken = lock_from_json(b"{not json", stack="attic", env="dev", key="k.tflock")
    assert broken.error.startswith("unreadable lock object") and broken.id == ""


def test_lock_from_json_masks_secrets_another_operators_binary_wrote() -> None:
    """Who and Info are free text from whoever took the lock (a CI job's Who may carry its token): masked
    where the lock is read, so no reader (status's panes, the deploy list, the journal) shows them."""
    canary = "CanaryLock7Kq2Zx"
    body = json.dumps({"ID": "4b9f0c1e", "Operation": "OperationTypeApply", "Who": f"ci password={canary}",
                       "Version": "1.10.0", "Created": "2025-01-02T03:04:05Z",
                       "Info": f"job 42 token: {canary}"}).encode()
    lock = lock_from_json(body, stack="attic", env="dev", key="k.tflock", now=0)
    assert canary not in repr(lock)
    assert (lock.id, lock.who, lock.operation, lock.info) == (
        "4b9f0c1e", "ci password=[REDACTED]", "OperationTypeApply", "job 42 token: [REDACTED]")


def _state(serial: int, lineage: str, resources: list | None = None) -> bytes:
    return json.dumps({"version": 4, "serial": serial, "lineage": lineage, "outputs": {},
                       "resources": resources if resources is not None else [{"type": "terraform_data"}]}).encode()


def test_refusal_rules() -> None:
    source = summarize(_state(5, "L"))
    assert _refusal(source, None) == ""
    assert _refusal(source, summarize(_state(9, "other", resources=[]))).startswith(
        "the destination holds state of another lineage (other, serial 9)")
    assert "is higher than the source's" in _refusal(source, summarize(_state(6, "L", resources=[])))
    assert "same serial 5 but different content" in _refusal(source, summarize(_state(5, "L", resources=[])))
    assert _refusal(source, summarize(_state(2, "L", resources=[]))) == ""
    # Same content under a new lineage (what a migration into an empty bucket produces): nothing to do.
    assert _refusal(source, summarize(_state(1, "fresh"))) == "in-sync"


def test_summarize_rejects_non_state() -> None:
    with pytest.raises(InputError, match="the state is not JSON"):
        summarize(b"<html>")
    with pytest.raises(InputError, match="not a JSON object"):
        summarize(b"[1, 2]")


@pytest.mark.parametrize("stacks,message,remedy", [
    (["sting"], "'sting' is a node role (placement.roles), not a stack; stacks placed on it: arc-runners, "
                "gitlab-runners (stacks: attic, arc-runners, gitlab-runners, runner-dashboard)",
     "pass --stack with stack names, e.g. `gfwizard backend migrate --env dev --stack arc-runners --stack "
     "gitlab-runners --yes --config {config}`"),
    (["attic", "atic"], "unknown stack 'atic' (known: attic, arc-runners, gitlab-runners, runner-dashboard)",
     "did you mean 'attic'? pass --stack with one of the stacks in organization.yaml, e.g. `gfwizard backend "
     "migrate --env dev --stack attic --yes --config {config}`"),
], ids=["node-role", "typo"])
def test_backend_migrate_refuses_a_stack_name_as_deploy_does(tmp_path: Path, isolated_home: Path, stacks: list[str],
                                                              message: str, remedy: str) -> None:
    """``--stack sting`` is said to be a node role (with the stacks placed on it), a typo gets a guess: deploy's
    rule and words, with a ``backend migrate`` command line; nothing is contacted, backed up or written."""
    from gfwizard.orgconfig import save_config
    from tests.backend_doubles import make_cfg
    from tests.helpers import run_cli, tree_digest

    from gfwizard.orgconfig import OrgConfig

    cfg = make_cfg("http://127.0.0.1:9", "state", http_address="http://127.0.0.1:9/state/{stack}-{env}",
                   stacks=("attic", "arc-runners", "gitlab-runners", "runner-dashboard"))
    data = cfg.model_dump(mode="json")
    data["placement"] = {"roles": {"bumble": {"node_selector": {"kubernetes.io/hostname": "bumble"}},
                                   "sting": {"node_selector": {"kubernetes.io/hostname": "sting"}}},
                         "stacks": {"attic": "bumble", "arc-runners": "sting", "gitlab-runners": "sting",
                                    "runner-dashboard": "bumble"}}
    config = save_config(OrgConfig.model_validate(data), tmp_path / "organization.yaml")
    before = (tree_digest(tmp_path), tree_digest(isolated_home))
    args = ["backend", "migrate", "--env", "dev", *(a for s in stacks for a in ("--stack", s)), "--yes",
            "--config", str(config)]
    done = run_cli(args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines()[-2:] == [f"error: {message}", f"remedy: {remedy.format(config=config)}"]
    as_json = run_cli([*args, "--json"])
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["message"] == message
    assert (tree_digest(tmp_path), tree_digest(isolated_home)) == before
