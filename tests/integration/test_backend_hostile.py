"""``check_s3`` and the backend commands against endpoints and AWS configurations operators really get
wrong: each one fails with what is wrong and what to do, raises nothing, shows no secret, and writes
nothing to the store (asserted through the double's request log or the bucket listing)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gfwizard.backend import C_BUCKET, C_CREDENTIALS, C_ENDPOINT, C_LOCK, check_s3
from gfwizard.checks import Level
from gfwizard.orgconfig import save_config
from gfwizard.rehearsal.s3 import RehearsalS3, fresh_bucket_name
from tests.backend_doubles import RawServer, S3Proxy, html_page, make_cfg
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

SECRET = "h18-secret-access-key-value-0123456789"
TOKEN = "h18SessionTokenValueThatMustNeverBeShown0123456789"


def _bucket_names(s3: RehearsalS3) -> set[str]:
    return {b["Name"] for b in s3.client().list_buckets()["Buckets"]}


def _writes(s3: RehearsalS3) -> list[dict]:
    return [e for e in s3.request_log.entries() if e["method"] in ("PUT", "POST", "DELETE")]


# ----- the AWS configuration itself is broken ------------------------------------------------------

def _half_env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "GFWH18HALFSETKEY0000")


def _unknown_profile(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("AWS_PROFILE", "rustfs-typo")


def _half_profile(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    (home / ".aws").mkdir(exist_ok=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = GFWH18HALFSETKEY0000\n")


def _unparsable_file(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    (home / ".aws").mkdir(exist_ok=True)
    (home / ".aws" / "credentials").write_text(f"[default\naws_secret_access_key = {SECRET}\n")


BROKEN_AWS = {
    "key id without secret": (_half_env, "incomplete AWS credentials in the environment: AWS_SECRET_ACCESS_KEY is "
                              "missing", "set AWS_SECRET_ACCESS_KEY as well"),
    "unknown AWS_PROFILE": (_unknown_profile, "AWS profile 'rustfs-typo' (AWS_PROFILE) is not defined",
                            "set AWS_PROFILE to a profile that exists"),
    "profile with half a key": (_half_profile, "aws_secret_access_key is missing",
                                "set aws_secret_access_key as well"),
    "unparsable credentials file": (_unparsable_file, "cannot be parsed", "fix its INI syntax"),
}


@pytest.mark.parametrize("case", list(BROKEN_AWS))
def test_a_broken_aws_configuration_fails_the_credentials_check_without_a_traceback(
        case: str, s3: RehearsalS3, s3_bucket: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup, detail, remedy = BROKEN_AWS[case]
    setup(monkeypatch, isolated_home)
    s3.request_log.clear()
    checks = check_s3(make_cfg(s3.endpoint, s3_bucket), "dev", create_bucket=True, confirm=lambda _what: True)
    creds = checks[-1]
    assert creds.name == C_CREDENTIALS and creds.level is Level.FAIL, [(c.name, c.detail) for c in checks]
    assert detail in creds.detail and remedy in creds.remedy
    assert SECRET not in creds.detail + creds.remedy
    assert [e["method"] for e in s3.request_log.entries()] == ["HEAD"]  # the endpoint probe only


@pytest.mark.parametrize("case", ["key id without secret", "unknown AWS_PROFILE"])
def test_backend_locks_with_a_broken_aws_configuration_says_what_to_fix(
        case: str, s3: RehearsalS3, s3_bucket: str, tmp_path: Path, isolated_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    setup, detail, remedy = BROKEN_AWS[case]
    setup(monkeypatch, isolated_home)
    config = save_config(make_cfg(s3.endpoint, s3_bucket), tmp_path / "organization.yaml")
    result = run_cli(["backend", "locks", "--env", "dev", "--config", str(config)])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert detail in output and f"remedy: {remedy}" in output
    assert "Traceback" not in output and "internal error" not in output


# ----- the endpoint is not an S3 API ----------------------------------------------------------------

@pytest.fixture
def aws_env(s3: RehearsalS3, monkeypatch: pytest.MonkeyPatch) -> RehearsalS3:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    return s3


def test_a_port_that_speaks_another_protocol_is_named(aws_env: RehearsalS3) -> None:
    with RawServer(lambda _req: b"SSH-2.0-OpenSSH_9.6\r\n") as ssh:
        checks = check_s3(make_cfg(ssh.endpoint, "gfw-state"), "dev")
    (endpoint,) = checks
    assert endpoint.name == C_ENDPOINT and endpoint.level is Level.FAIL
    assert "answered, but not with HTTP ('SSH-2.0-OpenSSH_9.6')" in endpoint.detail
    assert "check the port and scheme in state.s3.endpoint" in endpoint.remedy


def test_a_connection_reset_suggests_the_scheme(aws_env: RehearsalS3) -> None:
    with RawServer(reset=True) as resetting:
        checks = check_s3(make_cfg(resetting.endpoint, "gfw-state"), "dev")
    (endpoint,) = checks
    assert endpoint.level is Level.FAIL and "accepted the connection, then reset it" in endpoint.detail
    assert "use https://" in endpoint.remedy


def test_an_html_page_is_not_taken_for_an_s3_api_and_no_bucket_is_offered(aws_env: RehearsalS3) -> None:
    with RawServer(html_page) as console:
        checks = check_s3(make_cfg(console.endpoint, "gfw-state"), "dev", create_bucket=True,
                          enable_versioning=True, confirm=lambda _what: True)
    creds = checks[-1]
    assert creds.name == C_CREDENTIALS and creds.level is Level.FAIL, [(c.name, c.detail) for c in checks]
    assert "answered ListBuckets with an HTML page (text/html), not an S3 API answer" in creds.detail
    assert "not a web console" in creds.remedy
    assert [r.split(b" ", 2)[:2] for r in console.requests] == [[b"HEAD", b"/"], [b"GET", b"/"]]


def test_an_endpoint_with_a_path_is_not_told_to_create_the_bucket(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    aws_env.request_log.clear()
    before = _bucket_names(aws_env)
    checks = check_s3(make_cfg(aws_env.endpoint + "/s3", bucket), "dev", create_bucket=True,
                      confirm=lambda _what: True)
    creds = checks[-1]
    assert creds.name == C_CREDENTIALS and creds.level is Level.FAIL
    assert "the store took the endpoint's path '/s3' for a bucket name" in creds.detail
    assert "without a path" in creds.remedy and "--create-bucket" not in creds.remedy
    assert _bucket_names(aws_env) == before and _writes(aws_env) == []


# ----- TLS with a private CA ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_ca() -> object:
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


def test_the_endpoint_check_trusts_aws_ca_bundle_as_the_s3_calls_do(aws_env: RehearsalS3, s3_bucket: str,
                                                                    private_ca, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "honey-ca.pem"
    private_ca.cert_pem.write_to_path(str(bundle))
    with S3Proxy(aws_env.endpoint, tls_cert=private_ca.issue_cert("127.0.0.1")) as tls:
        untrusted = check_s3(make_cfg(tls.endpoint, s3_bucket), "dev", probe=False)
        monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
        trusted = check_s3(make_cfg(tls.endpoint, s3_bucket), "dev")
    assert untrusted[-1].name == C_ENDPOINT and "CERTIFICATE_VERIFY_FAILED" in untrusted[-1].detail
    assert "AWS_CA_BUNDLE" in untrusted[-1].remedy
    assert all(c.level is Level.PASS for c in trusted), [(c.name, c.detail) for c in trusted]


@pytest.mark.parametrize("content, reason", [(None, "no such file"), ("not a certificate\n", "holds no PEM certificate")])
def test_an_unusable_aws_ca_bundle_is_named(aws_env: RehearsalS3, s3_bucket: str, private_ca, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, content: str | None, reason: str) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_text(content)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    with S3Proxy(aws_env.endpoint, tls_cert=private_ca.issue_cert("127.0.0.1")) as tls:
        checks = check_s3(make_cfg(tls.endpoint, s3_bucket), "dev")
    (endpoint,) = checks
    assert endpoint.detail == f"AWS_CA_BUNDLE {bundle} cannot be used: {reason}"
    assert "point AWS_CA_BUNDLE at the PEM file" in endpoint.remedy


def test_another_ca_in_aws_ca_bundle_is_named_as_the_wrong_one(aws_env: RehearsalS3, s3_bucket: str, private_ca,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(other))
    with S3Proxy(aws_env.endpoint, tls_cert=private_ca.issue_cert("127.0.0.1")) as tls:
        (endpoint,) = check_s3(make_cfg(tls.endpoint, s3_bucket), "dev")
    assert f"AWS_CA_BUNDLE ({other}) does not hold the CA that signed this certificate" in endpoint.remedy


# ----- the store answers, with an error ---------------------------------------------------------------

@pytest.mark.parametrize("code, detail", [("ExpiredToken", "has expired"),
                                          ("InvalidToken", "does not belong to this access key")])
def test_an_expired_or_foreign_session_token_is_named(aws_env: RehearsalS3, s3_bucket: str,
                                                      monkeypatch: pytest.MonkeyPatch, code: str, detail: str) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    with S3Proxy(aws_env.endpoint, fail_status=400, fail_error=(code, f"token {TOKEN} refused"),
                 fail_when=lambda method, path: path != "/" or method != "HEAD") as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, s3_bucket), "dev")
    creds = checks[-1]
    assert creds.name == C_CREDENTIALS and creds.level is Level.FAIL
    assert f"the session token" in creds.detail and detail in creds.detail
    assert "AWS_SESSION_TOKEN" in creds.remedy
    assert TOKEN not in creds.detail + creds.remedy


def test_a_bucket_of_another_account_is_not_created_and_says_so(aws_env: RehearsalS3, s3_bucket: str) -> None:
    with S3Proxy(aws_env.endpoint, fail_when=lambda method, path: method == "HEAD" and path != "/") as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, s3_bucket), "dev", create_bucket=True,
                          enable_versioning=True, confirm=lambda _what: True)
    bucket = checks[-1]
    assert bucket.name == C_BUCKET and bucket.level is Level.FAIL
    assert "belongs to another account" in bucket.remedy and "Nothing was created" in bucket.remedy
    assert [m for m, _path, _h in proxy.seen if m in ("PUT", "POST", "DELETE")] == []


def test_an_object_lock_bucket_with_default_retention_is_named(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    client = aws_env.client()
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    checks = check_s3(make_cfg(aws_env.endpoint, bucket), "dev")
    probe = checks[-1]
    assert probe.name == C_LOCK and probe.level is Level.FAIL
    assert f"bucket {bucket!r} has Object Lock with a default retention" in probe.detail
    assert "without Object Lock default retention" in probe.remedy
    assert not client.list_object_versions(Bucket=bucket).get("Versions")


def test_a_slow_endpoint_is_given_the_read_timeout_and_named(aws_env: RehearsalS3) -> None:
    with RawServer(lambda _req: time.sleep(3) or b"") as slow:
        started = time.monotonic()
        checks = check_s3(make_cfg(slow.endpoint, "gfw-state"), "dev", timeouts=(5.0, 0.5))
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    (endpoint,) = checks
    assert "accepted the connection but did not answer within 0.5s (endpoint timeout)" in endpoint.detail


@pytest.mark.parametrize("bucket, reason", [("192.168.1.10", "shaped like an IP address"), ("xn--state", "xn--")])
def test_a_bucket_name_s3_reserves_is_refused_before_anything_is_sent(aws_env: RehearsalS3, s3_bucket: str,
                                                                       tmp_path: Path, bucket: str,
                                                                       reason: str) -> None:
    config = save_config(make_cfg(aws_env.endpoint, s3_bucket), tmp_path / "organization.yaml")
    config.write_text(config.read_text().replace(f"bucket: {s3_bucket}", f"bucket: {bucket}"))
    before = config.read_bytes()
    aws_env.request_log.clear()
    result = run_cli(["backend", "check", "--env", "dev", "--create-bucket", "--yes", "--config", str(config)])
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"bucket {bucket!r} is not a valid S3 bucket name" in output and reason in output
    assert "remedy:" in output and "Traceback" not in output
    assert aws_env.request_log.entries() == [] and bucket not in _bucket_names(aws_env)
    assert config.read_bytes() == before
