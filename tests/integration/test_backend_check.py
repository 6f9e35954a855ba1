"""``check_s3`` / ``lock_probe`` against the rehearsal S3 endpoint (real moto on loopback) and test
doubles of the endpoint for what moto cannot do (skewed clock, ignored If-None-Match, real auth)."""

from __future__ import annotations

import re
import time

import pytest

from gfwizard.backend import (C_BUCKET, C_CREDENTIALS, C_ENDPOINT, C_LOCK, C_PREFIX, C_SKEW, C_VERSIONING, check_s3,
                              create_state_bucket, credential_source, lock_probe, s3_target)
from gfwizard.checks import Level
from gfwizard.errors import InputError
from gfwizard.rehearsal.s3 import RehearsalS3, fresh_bucket_name
from tests.backend_doubles import AuthS3, Blackhole, S3Proxy, free_port_endpoint, make_cfg

pytestmark = pytest.mark.integration


@pytest.fixture
def aws_env(s3: RehearsalS3, monkeypatch: pytest.MonkeyPatch) -> RehearsalS3:
    """The rehearsal S3 credentials in the environment (and no endpoint override)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    return s3


def _by_name(checks: list) -> dict:
    return {c.name: c for c in checks}


def _probe_objects(s3: RehearsalS3, bucket: str) -> list:
    listing = s3.client().list_object_versions(Bucket=bucket, Prefix="gloriousflywheel/.gfwizard-lock-probe/")
    return [*(listing.get("Versions") or []), *(listing.get("DeleteMarkers") or [])]


def test_happy_check_passes_and_removes_the_probe(aws_env: RehearsalS3, s3_bucket: str) -> None:
    s3 = aws_env
    s3.request_log.clear()
    checks = check_s3(make_cfg(s3.endpoint, s3_bucket), "dev")
    names = [c.name for c in checks]
    assert names == [C_ENDPOINT, C_SKEW, C_CREDENTIALS, C_BUCKET, C_VERSIONING, C_PREFIX, C_LOCK]
    assert all(c.level is Level.PASS for c in checks), [(c.name, c.detail) for c in checks]
    assert "use_lockfile is safe" in _by_name(checks)[C_LOCK].detail
    assert "environment" in _by_name(checks)[C_CREDENTIALS].detail
    # The probe really was two conditional puts (201/200 then 412), and nothing is left behind.
    conditional = [e for e in s3.request_log.entries() if e["conditional"] == "If-None-Match: *"]
    assert [e["status"] for e in conditional] == [200, 412]
    assert _probe_objects(s3, s3_bucket) == []
    # No secret leaks into any message.
    assert all(s3.secret_key not in c.detail + c.remedy for c in checks)


def test_probe_cleans_every_version_on_an_unversioned_bucket_too(aws_env: RehearsalS3) -> None:
    bucket = aws_env.create_bucket(versioning=False)
    check = lock_probe(make_cfg(aws_env.endpoint, bucket))
    assert check.level is Level.PASS
    assert _probe_objects(aws_env, bucket) == []


def test_wrong_endpoint_says_connection_refused(aws_env: RehearsalS3) -> None:
    endpoint = free_port_endpoint()
    started = time.monotonic()
    checks = check_s3(make_cfg(endpoint, "gfw-state"), "dev")
    assert time.monotonic() - started < 4
    assert [c.name for c in checks] == [C_ENDPOINT]
    (check,) = checks
    assert check.level is Level.FAIL
    assert f"connection refused by {endpoint}" in check.detail
    assert "state.s3.endpoint" in check.remedy


def test_blackholed_endpoint_times_out_within_the_timeout(aws_env: RehearsalS3) -> None:
    with Blackhole() as hole:
        started = time.monotonic()
        checks = check_s3(make_cfg(hole.endpoint, "gfw-state"), "dev", timeouts=(1.0, 1.0))
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 1.0
    assert checks[0].level is Level.FAIL
    assert "did not answer within 1s (endpoint timeout)" in checks[0].detail


def test_missing_bucket_fails_with_remedy_and_creates_nothing(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    checks = check_s3(make_cfg(aws_env.endpoint, bucket), "dev")
    bucket_check = _by_name(checks)[C_BUCKET]
    assert bucket_check.level is Level.FAIL
    assert f"bucket {bucket!r} does not exist" in bucket_check.detail and "NoSuchBucket" in bucket_check.detail
    assert "--create-bucket" in bucket_check.remedy
    assert checks[-1].name == C_BUCKET  # no versioning check, no probe write
    names = [b["Name"] for b in aws_env.client().list_buckets()["Buckets"]]
    assert bucket not in names


@pytest.mark.parametrize("enable_versioning", [True, False], ids=["wizard-create-and-version", "cli-create-only"])
def test_create_bucket_asks_once_then_creates_it_versioned(aws_env: RehearsalS3, enable_versioning: bool) -> None:
    """The wizard asks for both writes, `backend check --create-bucket` for the bucket only: either way the
    one question names versioning, and the new bucket has it from the start."""
    bucket = fresh_bucket_name()
    asked: list[str] = []
    checks = check_s3(make_cfg(aws_env.endpoint, bucket), "dev", create_bucket=True,
                      enable_versioning=enable_versioning, confirm=lambda action: asked.append(action) or True)
    assert asked == [f"create bucket {bucket!r} at {aws_env.endpoint} (region us-east-1), with versioning on"]
    assert all(c.level is Level.PASS for c in checks), [(c.name, c.detail) for c in checks]
    assert _by_name(checks)[C_BUCKET].detail == f"bucket {bucket!r} created at {aws_env.endpoint}"
    assert "versioning enabled" in _by_name(checks)[C_VERSIONING].detail
    assert aws_env.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_create_state_bucket_itself_enables_versioning(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    cfg = make_cfg(aws_env.endpoint, bucket)
    made, versioning = create_state_bucket(aws_env.client(), s3_target(cfg), env="dev", timeouts=(3.0, 10.0))
    assert made.level is Level.PASS and versioning is not None and versioning.level is Level.PASS
    assert aws_env.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def _refusing_versioning(method: str, path: str) -> bool:
    return method == "PUT" and path.endswith("?versioning")


def test_refused_versioning_warns_and_deletes_the_new_bucket_again(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    with S3Proxy(aws_env.endpoint, fail_when=_refusing_versioning, fail_status=501,
                 fail_error=("NotImplemented", "versioning is not implemented (test double)")) as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, bucket), "dev", create_bucket=True, confirm=lambda _what: True)
        sent = [(method, path.split("?")[0] + ("?versioning" if path.endswith("?versioning") else ""))
                for method, path, _headers in proxy.seen if method != "HEAD" and path != "/"]
    assert [c.name for c in checks][-2:] == [C_BUCKET, C_VERSIONING]  # no prefix listing, no probe write
    made, versioning = checks[-2], checks[-1]
    assert made.level is Level.FAIL
    assert made.detail == (f"bucket {bucket!r} was not kept: versioning could not be enabled on it (see s3 "
                           "versioning), and a state bucket must be versioned; the new, empty bucket was deleted "
                           "again, so nothing was left behind")
    assert made.remedy == ("make the store allow versioning (see s3 versioning), then "
                           "`gfwizard backend check --env dev --create-bucket`")
    assert versioning.level is Level.WARN
    assert versioning.detail.startswith(f"versioning could not be enabled on the new bucket {bucket!r}: the store "
                                        "refused PutBucketVersioning (")
    assert "NotImplemented" in versioning.detail
    assert versioning.remedy == ("use a store that supports bucket versioning; the key needs s3:PutBucketVersioning on "
                                 "the bucket, and the store must support bucket versioning (AWS S3, MinIO and RustFS "
                                 "do); then `gfwizard backend check --env dev --create-bucket`")
    assert sent == [("PUT", f"/{bucket}"), ("PUT", f"/{bucket}?versioning"), ("DELETE", f"/{bucket}")]
    assert bucket not in [b["Name"] for b in aws_env.client().list_buckets()["Buckets"]]


def test_refused_versioning_and_a_failed_delete_say_the_bucket_is_left_unversioned(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()

    def refused(method: str, path: str) -> bool:
        return _refusing_versioning(method, path) or (method == "DELETE" and path == f"/{bucket}")

    with S3Proxy(aws_env.endpoint, fail_when=refused) as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, bucket), "dev", create_bucket=True, confirm=lambda _what: True)
    made, versioning = checks[-2], checks[-1]
    assert made.level is Level.FAIL and versioning.level is Level.WARN
    assert made.detail.startswith(f"bucket {bucket!r} was created, but versioning could not be enabled on it and "
                                  "deleting it again failed (access denied")
    assert made.detail.endswith("): it is left without versioning")
    assert made.remedy == ("once the store allows it, `gfwizard backend check --env dev --enable-versioning`; or "
                           f"delete the empty bucket {bucket!r} and run "
                           "`gfwizard backend check --env dev --create-bucket`")
    assert "access denied" in versioning.detail and "s3:PutBucketVersioning" in versioning.remedy
    assert bucket in [b["Name"] for b in aws_env.client().list_buckets()["Buckets"]]
    assert "Status" not in aws_env.client().get_bucket_versioning(Bucket=bucket)


def test_declined_create_creates_nothing(aws_env: RehearsalS3) -> None:
    bucket = fresh_bucket_name()
    checks = check_s3(make_cfg(aws_env.endpoint, bucket), "dev", create_bucket=True, confirm=lambda action: False)
    assert "declined" in _by_name(checks)[C_BUCKET].detail
    assert bucket not in [b["Name"] for b in aws_env.client().list_buckets()["Buckets"]]


def test_versioning_off_fails_and_is_left_off(aws_env: RehearsalS3) -> None:
    bucket = aws_env.create_bucket(versioning=False)
    checks = check_s3(make_cfg(aws_env.endpoint, bucket), "dev")
    versioning = _by_name(checks)[C_VERSIONING]
    assert versioning.level is Level.FAIL
    assert "versioning is off (never enabled)" in versioning.detail
    assert versioning.remedy == "`gfwizard backend check --env dev --enable-versioning`"
    assert "Status" not in aws_env.client().get_bucket_versioning(Bucket=bucket)
    # The other checks still ran: the probe is independent of versioning.
    assert _by_name(checks)[C_LOCK].level is Level.PASS


def test_enable_versioning_on_an_existing_bucket_turns_it_on(aws_env: RehearsalS3) -> None:
    bucket = aws_env.create_bucket(versioning=False)
    checks = check_s3(make_cfg(aws_env.endpoint, bucket), "dev", enable_versioning=True, confirm=lambda _what: True,
                      probe=False)
    versioning = _by_name(checks)[C_VERSIONING]
    assert versioning.level is Level.PASS and versioning.detail == f"versioning enabled on {bucket!r} now"
    assert aws_env.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


_VERSIONING_REMEDY = ("the key needs s3:PutBucketVersioning on the bucket, and the store must support bucket "
                      "versioning (AWS S3, MinIO and RustFS do); then `gfwizard backend check --env dev "
                      "--enable-versioning`")


@pytest.mark.parametrize("store, why, remedy", [
    (dict(accept_when=_refusing_versioning),
     "the store accepted PutBucketVersioning but the bucket reads unversioned",
     "use a store that keeps bucket versioning on"),
    (dict(fail_when=_refusing_versioning, fail_status=501,
          fail_error=("NotImplemented", "versioning is not implemented (test double)")),
     "the store refused PutBucketVersioning (", "use a store that supports bucket versioning"),
], ids=["accepted-not-kept", "not-implemented"])
def test_enable_versioning_on_an_existing_bucket_reads_it_back(aws_env: RehearsalS3, store: dict, why: str,
                                                               remedy: str) -> None:
    """`--enable-versioning` on a bucket that is there goes through the same enable-and-read-back as a new bucket:
    a store that refuses PutBucketVersioning, or accepts it and keeps none, is a failed check, not a pass."""
    bucket = aws_env.create_bucket(versioning=False)
    with S3Proxy(aws_env.endpoint, **store) as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, bucket), "dev", enable_versioning=True,
                          confirm=lambda _what: True, probe=False)
        writes = [(method, path) for method, path, _headers in proxy.seen if method in ("PUT", "POST", "DELETE")]
    versioning = _by_name(checks)[C_VERSIONING]
    assert versioning.level is Level.FAIL
    assert versioning.detail.startswith(f"versioning could not be enabled on {bucket!r}: {why}"), versioning.detail
    assert versioning.detail.endswith("; an overwritten or deleted state cannot be recovered"), versioning.detail
    assert versioning.remedy == f"{remedy}; {_VERSIONING_REMEDY}"
    assert writes == [("PUT", f"/{bucket}?versioning")]  # the one write asked for, nothing else
    assert "Status" not in aws_env.client().get_bucket_versioning(Bucket=bucket)
    assert [c.name for c in checks][-2:] == [C_VERSIONING, C_PREFIX]  # the read-only checks after it still ran


def test_clock_skew_from_the_endpoint_date_header_fails(aws_env: RehearsalS3, s3_bucket: str) -> None:
    with S3Proxy(aws_env.endpoint, date_offset=-3600) as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, s3_bucket), "dev")
    skew = _by_name(checks)[C_SKEW]
    assert skew.level is Level.FAIL
    seconds = re.search(r"clock is (\d+)s ahead of the endpoint's", skew.detail)
    assert seconds is not None and 3595 <= int(seconds.group(1)) <= 3605, skew.detail
    assert "sync the clocks" in skew.remedy


def test_small_skew_passes(aws_env: RehearsalS3, s3_bucket: str) -> None:
    with S3Proxy(aws_env.endpoint, date_offset=120) as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, s3_bucket), "dev")
    assert _by_name(checks)[C_SKEW].level is Level.PASS
    assert "behind the endpoint's" in _by_name(checks)[C_SKEW].detail


def test_store_ignoring_if_none_match_refuses_use_lockfile(aws_env: RehearsalS3, s3_bucket: str) -> None:
    with S3Proxy(aws_env.endpoint, strip_if_none_match=True) as proxy:
        checks = check_s3(make_cfg(proxy.endpoint, s3_bucket), "dev")
    probe = _by_name(checks)[C_LOCK]
    assert probe.level is Level.FAIL
    assert probe.detail.startswith("use_lockfile refused: the store ignored If-None-Match: *")
    assert "conditional writes" in probe.remedy and "do not deploy" in probe.remedy
    # The probe and both of its versions are gone even so.
    assert _probe_objects(aws_env, s3_bucket) == []


def test_use_lockfile_off_in_config_is_a_warning(aws_env: RehearsalS3, s3_bucket: str) -> None:
    check = lock_probe(make_cfg(aws_env.endpoint, s3_bucket, use_lockfile=False))
    assert check.level is Level.WARN
    assert "use_lockfile is false" in check.detail
    assert "use_lockfile: true" in check.remedy


def test_no_credentials_fails_before_any_bucket_call(s3: RehearsalS3, s3_bucket: str) -> None:
    assert credential_source().kind == "none"
    s3.request_log.clear()
    checks = check_s3(make_cfg(s3.endpoint, s3_bucket), "dev")
    creds = _by_name(checks)[C_CREDENTIALS]
    assert creds.level is Level.FAIL and "no AWS credentials" in creds.detail
    assert "AWS_ACCESS_KEY_ID" in creds.remedy
    assert checks[-1].name == C_CREDENTIALS
    assert [e["method"] for e in s3.request_log.entries()] == ["HEAD"]


def test_profile_credentials_are_named_not_shown(s3: RehearsalS3, s3_bucket: str, isolated_home,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    creds = isolated_home / ".aws" / "credentials"
    creds.parent.mkdir(parents=True)
    creds.write_text(f"[rustfs]\naws_access_key_id = {s3.access_key}\naws_secret_access_key = {s3.secret_key}\n")
    monkeypatch.setenv("AWS_PROFILE", "rustfs")
    source = credential_source()
    assert source.kind == "profile" and "'rustfs'" in source.detail
    checks = check_s3(make_cfg(s3.endpoint, s3_bucket), "dev", probe=False)
    assert all(c.ok for c in checks)
    assert all(s3.secret_key not in c.detail and s3.access_key not in c.detail for c in checks)


@pytest.fixture(scope="module")
def auth_s3() -> AuthS3:
    with AuthS3() as store:
        store.client().create_bucket(Bucket="gfw-auth-state")
        store.client().put_bucket_versioning(Bucket="gfw-auth-state", VersioningConfiguration={"Status": "Enabled"})
        yield store


def test_authenticated_store_passes_with_the_right_key(auth_s3: AuthS3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auth_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auth_s3.secret_key)
    checks = check_s3(make_cfg(auth_s3.endpoint, "gfw-auth-state"), "dev")
    assert all(c.level is Level.PASS for c in checks), [(c.name, c.detail) for c in checks]


def test_wrong_secret_says_signature_does_not_match(auth_s3: AuthS3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auth_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "definitely-not-the-secret-key")
    checks = check_s3(make_cfg(auth_s3.endpoint, "gfw-auth-state"), "dev")
    creds = checks[-1]
    assert creds.name == C_CREDENTIALS and creds.level is Level.FAIL
    assert "signature does not match: the secret access key is wrong" in creds.detail
    assert "definitely-not-the-secret-key" not in creds.detail + creds.remedy


def test_unknown_key_says_invalid_access_key_id(auth_s3: AuthS3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "GFWUNKNOWNKEY0000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "whatever-secret-value")
    checks = check_s3(make_cfg(auth_s3.endpoint, "gfw-auth-state"), "dev")
    assert checks[-1].name == C_CREDENTIALS
    assert f"the access key id is unknown to {auth_s3.endpoint}" in checks[-1].detail


def test_key_without_permission_says_access_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    with AuthS3(allow=False) as store:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", store.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", store.secret_key)
        checks = check_s3(make_cfg(store.endpoint, "gfw-denied-state"), "dev")
    by = _by_name(checks)
    assert by[C_CREDENTIALS].level is Level.PASS and "ListBuckets not permitted" in by[C_CREDENTIALS].detail
    assert by[C_BUCKET].level is Level.FAIL
    assert by[C_BUCKET].detail.startswith("access denied: the credentials are valid but not allowed")


def test_endpoint_override_is_named_and_warned(aws_env: RehearsalS3, s3_bucket: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    configured = free_port_endpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws_env.endpoint)
    cfg = make_cfg(configured, s3_bucket)
    target = s3_target(cfg)
    assert target.endpoint == aws_env.endpoint
    assert target.endpoint_source == f"AWS_ENDPOINT_URL_S3 (overrides state.s3.endpoint {configured})"
    endpoint = check_s3(cfg, "dev", probe=False)[0]
    assert endpoint.level is Level.WARN and configured in endpoint.detail


def test_unknown_env_and_missing_s3_section_are_input_errors(aws_env: RehearsalS3, s3_bucket: str) -> None:
    cfg = make_cfg(aws_env.endpoint, s3_bucket)
    with pytest.raises(InputError, match=r"unknown environment 'staging' \(known: dev\)"):
        check_s3(cfg, "staging")
    http_only = cfg.model_copy(update={"state": cfg.state.model_copy(update={"s3": None})})
    with pytest.raises(InputError, match="no state.s3 section"):
        check_s3(http_only, "dev")


def test_rehearsal_store_refuses_a_stale_access_key(aws_env: RehearsalS3, s3_bucket: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "GFWSTALEKEY00000")
    aws_env.request_log.clear()
    checks = check_s3(make_cfg(aws_env.endpoint, s3_bucket), "dev", create_bucket=True, enable_versioning=True,
                      confirm=lambda _what: True)
    assert [c.name for c in checks] == [C_ENDPOINT, C_SKEW, C_CREDENTIALS]
    assert _by_name(checks)[C_ENDPOINT].detail.endswith("answered HTTP 403")  # unsigned, as a real store answers
    creds = _by_name(checks)[C_CREDENTIALS]
    assert creds.level is Level.FAIL
    assert f"the access key id is unknown to {aws_env.endpoint}" in creds.detail
    assert aws_env.secret_key not in creds.detail + creds.remedy
    assert {e["method"] for e in aws_env.request_log.entries()} <= {"HEAD", "GET"}
    assert _probe_objects(aws_env, s3_bucket) == []


class _InterruptedStore:
    """The probe's client, with Ctrl-C (KeyboardInterrupt) arriving at put number ``at`` (1 or 2): before
    the request is sent (``sent=False``) or after the store wrote it but before its answer came back."""

    def __init__(self, client: object, *, at: int, sent: bool) -> None:
        self._client, self._at, self._sent, self.puts = client, at, sent, 0

    def put_object(self, **kwargs: object) -> dict:
        self.puts += 1
        if self.puts == self._at:
            if self._sent:
                try:
                    self._client.put_object(**kwargs)  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - the second put's 412: the interrupt is what matters
                    pass
            raise KeyboardInterrupt
        return self._client.put_object(**kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


@pytest.mark.parametrize("kind", ["direct", "botocore"])
@pytest.mark.parametrize(("at", "sent"), [(1, False), (1, True), (2, False), (2, True)],
                         ids=["before-first-put", "first-put-unanswered", "between-puts", "second-put-unanswered"])
def test_interrupted_probe_leaves_nothing_behind_and_the_interrupt_goes_on(
        aws_env: RehearsalS3, s3_bucket: str, kind: str, at: int, sent: bool) -> None:
    from gfwizard.backend_direct import direct_s3
    from gfwizard.backend_s3 import s3_client

    cfg = make_cfg(aws_env.endpoint, s3_bucket)
    client = direct_s3(s3_target(cfg)) if kind == "direct" else s3_client(cfg)
    assert client is not None
    store = _InterruptedStore(client, at=at, sent=sent)
    with pytest.raises(KeyboardInterrupt):
        lock_probe(cfg, _client=store)
    assert store.puts == at
    # Neither the probe object nor a version or a delete marker of it is left under the probe prefix.
    assert _probe_objects(aws_env, s3_bucket) == []


def _probe_client(kind: str, cfg: object) -> object:
    from gfwizard.backend_direct import direct_s3
    from gfwizard.backend_s3 import s3_client

    client = direct_s3(s3_target(cfg)) if kind == "direct" else s3_client(cfg)  # type: ignore[arg-type]
    assert client is not None
    return client


def _read_timeout(kind: str) -> Exception:
    """What each client raises when the store took the request but its answer did not come in time."""
    if kind == "direct":
        from gfwizard.backend_direct import DirectS3Timeout

        return DirectS3Timeout(connecting=False)
    from botocore.exceptions import ReadTimeoutError

    return ReadTimeoutError(endpoint_url="http://store.example")


class _LostAnswer:
    """The probe's client, with put number ``at`` failing with ``error`` after the store wrote it
    (``lands=False``: before it was sent); ``cleanup_fails``: listing and deleting fail with ``error`` too."""

    def __init__(self, client: object, error: Exception, *, at: int = 1, lands: bool = True,
                 cleanup_fails: bool = False) -> None:
        self._client, self._error, self._at, self._lands = client, error, at, lands
        self._cleanup_fails, self.puts = cleanup_fails, 0

    def put_object(self, **kwargs: object) -> dict:
        self.puts += 1
        if self.puts == self._at:
            if self._lands:
                self._client.put_object(**kwargs)  # type: ignore[attr-defined]
            raise self._error
        return self._client.put_object(**kwargs)  # type: ignore[attr-defined]

    def list_object_versions(self, **kwargs: object) -> dict:
        if self._cleanup_fails:
            raise self._error
        return self._client.list_object_versions(**kwargs)  # type: ignore[attr-defined]

    def delete_object(self, **kwargs: object) -> dict:
        if self._cleanup_fails:
            raise self._error
        return self._client.delete_object(**kwargs)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["direct", "botocore"])
def test_a_first_put_that_landed_but_timed_out_is_removed_and_said(aws_env: RehearsalS3, s3_bucket: str,
                                                                   kind: str) -> None:
    cfg = make_cfg(aws_env.endpoint, s3_bucket)
    store = _LostAnswer(_probe_client(kind, cfg), _read_timeout(kind))
    check = lock_probe(cfg, _client=store)
    assert store.puts == 1
    assert check.level is Level.FAIL
    assert check.detail.startswith("the probe write failed: ") and "did not answer within" in check.detail
    assert re.search(r"; the write had landed all the same: s3://" + re.escape(s3_bucket)
                     + r"/gloriousflywheel/\.gfwizard-lock-probe/[0-9a-f]{32} was removed \(1 version\(s\)\)$",
                     check.detail), check.detail
    assert "by hand" not in check.remedy  # nothing is left to delete
    assert _probe_objects(aws_env, s3_bucket) == []


@pytest.mark.parametrize("kind", ["direct", "botocore"])
def test_a_first_put_whose_connection_dropped_after_the_write_is_removed(aws_env: RehearsalS3, s3_bucket: str,
                                                                         kind: str) -> None:
    # The store wrote the probe, then the connection dropped: the client's retry of the same conditional put
    # gets 412 (the key is there now), and the probe fails; before, the probe object stayed in the bucket.
    puts: list[str] = []

    def first_put(method: str, path: str) -> bool:
        if method == "PUT":
            puts.append(path)
        return method == "PUT" and len(puts) == 1

    with S3Proxy(aws_env.endpoint, drop_answer_when=first_put) as proxy:
        check = lock_probe(make_cfg(proxy.endpoint, s3_bucket), _client=_probe_client(
            kind, make_cfg(proxy.endpoint, s3_bucket)))
    assert len(puts) == 2 and puts[0] == puts[1], puts  # the put and the client's retry of it
    assert check.level is Level.FAIL and check.detail.startswith("the probe write failed: "), check.detail
    assert ("; the write had landed all the same: s3://" + s3_bucket + "/gloriousflywheel/.gfwizard-lock-probe/"
            in check.detail), check.detail
    assert _probe_objects(aws_env, s3_bucket) == []


@pytest.mark.parametrize("kind", ["direct", "botocore"])
def test_a_failed_clean_up_keeps_the_put_failure_and_names_the_key(aws_env: RehearsalS3, s3_bucket: str,
                                                                   kind: str) -> None:
    cfg = make_cfg(aws_env.endpoint, s3_bucket)
    store = _LostAnswer(_probe_client(kind, cfg), _read_timeout(kind), cleanup_fails=True)
    check = lock_probe(cfg, _client=store)
    assert check.level is Level.FAIL
    (left,) = [o["Key"] for o in _probe_objects(aws_env, s3_bucket)]  # the write did land, and is still there
    assert check.detail.startswith("the probe write failed: ") and "did not answer within" in check.detail
    assert check.detail.endswith(f"; the write may have landed all the same, and s3://{s3_bucket}/{left} may be "
                                 f"left behind: removing the probe object failed ({type(store._error).__name__})")
    # The put failure's remedy first, then the key.
    assert check.remedy.endswith(f"; and delete s3://{s3_bucket}/{left} (all versions) by hand if it is there")
    assert not check.remedy.startswith("; and")


@pytest.mark.parametrize("kind", ["direct", "botocore"])
def test_a_second_put_that_failed_then_a_failed_clean_up_names_the_key(aws_env: RehearsalS3, s3_bucket: str,
                                                                       kind: str) -> None:
    cfg = make_cfg(aws_env.endpoint, s3_bucket)
    store = _LostAnswer(_probe_client(kind, cfg), _read_timeout(kind), at=2, lands=False, cleanup_fails=True)
    check = lock_probe(cfg, _client=store)
    assert check.level is Level.FAIL
    (left,) = [o["Key"] for o in _probe_objects(aws_env, s3_bucket)]  # the first put's object
    assert check.detail.startswith("the second probe write failed unexpectedly: ")
    assert check.detail.endswith(f"; s3://{s3_bucket}/{left} may be left behind: removing the probe object "
                                 f"failed ({type(store._error).__name__})"), check.detail
    assert check.remedy.endswith(f"; and delete s3://{s3_bucket}/{left} (all versions) by hand")
