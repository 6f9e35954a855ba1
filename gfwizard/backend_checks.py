"""S3 preflight for the state backend: endpoint, clock, credentials, bucket, versioning, the
environment's state prefix, and the lock probe that proves ``use_lockfile`` is safe.

Writes: the lock probe puts (and then deletes) one probe object under the key prefix. Creating the
bucket (versioned: :mod:`gfwizard.backend_bucket`) or enabling versioning happens only when asked
(``create_bucket`` / ``enable_versioning``), and each of those goes through ``confirm`` first when one is given.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlsplit
from typing import TYPE_CHECKING, Any, Callable

from gfwizard.backend_bucket import (
    C_BUCKET,
    C_VERSIONING,
    VERSIONING_NEEDS,
    create_action,
    create_state_bucket,
    enable_bucket_versioning,
)
from gfwizard.backend_endpoint import probe_endpoint
from gfwizard.backend_s3 import (
    DEFAULT_TIMEOUTS,
    ENDPOINT_ENV,
    S3Target,
    credential_source,
    error_code,
    explain,
    explain_os_error,
    http_status,
    s3_client,
    s3_target,
    skew_seconds,
)
from gfwizard.checks import Check, failed, passed, warned
from gfwizard.errors import GfwError

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: Asked before each write the operator requested; returns False to decline.
ConfirmFn = Callable[[str], bool]

MAX_SKEW_SECONDS = 300.0
PROBE_DIR = ".gfwizard-lock-probe"

C_ENDPOINT = "s3 endpoint"
C_SKEW = "s3 clock skew"
C_CREDENTIALS = "s3 credentials"
C_PREFIX = "s3 state prefix"
C_LOCK = "s3 lock probe"


def check_s3(cfg: "OrgConfig", env: str, *, create_bucket: bool = False, enable_versioning: bool = False,
             confirm: ConfirmFn | None = None, probe: bool = True,
             timeouts: tuple[float, float] = DEFAULT_TIMEOUTS) -> list[Check]:
    """Every S3 backend check for ``env``, in order; stops early when later checks cannot mean anything.

    ``create_bucket`` / ``enable_versioning`` do the write when it is needed (after ``confirm``);
    ``probe=False`` skips the lock probe (its one write).
    """
    cfg.environment(env)  # InputError naming the known environments
    target = s3_target(cfg)
    checks: list[Check] = []

    reach = _endpoint_check(target, timeouts)
    checks.append(reach[0])
    if not reach[0].ok:
        return checks
    checks.append(_skew_check(target, reach[1], reach[2]))

    creds, client = _credentials_check(cfg, target, env, timeouts)
    checks.append(creds)
    if not creds.ok:
        return checks

    bucket, versioning = _bucket_check(client, target, env, timeouts, create_bucket, confirm)
    checks.append(bucket)
    if not bucket.ok:
        return checks + ([versioning] if versioning is not None else [])
    checks.append(versioning or _versioning_check(client, target, env, timeouts, enable_versioning, confirm))
    checks.append(_prefix_check(client, target, env, timeouts))
    if probe:
        checks.append(lock_probe(cfg, timeouts=timeouts, _client=client))
    return checks


def probe_location(target: S3Target) -> str:
    """Where the lock probe writes (and deletes) its object: ``<prefix>/.gfwizard-lock-probe/ on <endpoint>``."""
    return f"{target.key_prefix}/{PROBE_DIR}/ on {target.endpoint}"


def _endpoint_check(target: S3Target, timeouts: tuple[float, float]) -> tuple[Check, str | None, float]:
    where = f"{target.endpoint} (from {target.endpoint_source})"
    sent = time.time()
    try:
        answer = probe_endpoint(target.endpoint, timeouts[0], timeouts[1])
    except OSError as exc:
        detail, remedy = explain_os_error(exc, target.endpoint, timeouts)
        if target.overrides_config:
            # The wizard's form and organization.yaml show the configured endpoint, not the one that failed.
            detail += target.override_note
            remedy = (f"unset AWS_ENDPOINT_URL_S3 to use state.s3.endpoint {target.config_endpoint}, or point it at "
                      f"the S3 service; {remedy}")
        return failed(C_ENDPOINT, detail, remedy), None, sent
    received = time.time()
    detail = f"{where} answered HTTP {answer.status}"
    if target.overrides_config:
        return (warned(C_ENDPOINT, detail + "; the rendered backend files use state.s3.endpoint "
                       f"{target.config_endpoint}, so terraform talks to a different endpoint than this check",
                       remedy="unset AWS_ENDPOINT_URL_S3 or make state.s3.endpoint match it"),
                answer.server_date, (sent + received) / 2)
    return passed(C_ENDPOINT, detail), answer.server_date, (sent + received) / 2


def _skew_check(target: S3Target, server_date: str | None, at: float) -> Check:
    if not server_date:
        return warned(C_SKEW, f"{target.endpoint} sent no Date header; the clock skew is unknown",
                      remedy="make sure this machine's clock is NTP-synced")
    try:
        skew = skew_seconds(server_date, at)
    except (TypeError, ValueError):
        return warned(C_SKEW, f"unreadable Date header {server_date!r}; the clock skew is unknown",
                      remedy="make sure this machine's clock is NTP-synced")
    direction = "behind" if skew > 0 else "ahead of"
    detail = f"this machine's clock is {abs(skew):.0f}s {direction} the endpoint's (limit {MAX_SKEW_SECONDS:.0f}s)"
    if abs(skew) >= MAX_SKEW_SECONDS:
        return failed(C_SKEW, detail + "; signed requests and lock timestamps cannot be trusted",
                      remedy="sync the clocks (timedatectl set-ntp true, or chronyc makestep) here and on the store")
    return passed(C_SKEW, detail)


def _credentials_check(cfg: "OrgConfig", target: S3Target, env: str,
                       timeouts: tuple[float, float]) -> tuple[Check, Any]:
    """The credentials check and, when it passed, the client the later checks use."""
    source = credential_source()
    if source.kind == "none":
        return failed(C_CREDENTIALS, f"{source.detail}",
                      remedy=source.remedy or "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or set AWS_PROFILE "
                             "to a profile in ~/.aws/credentials (credentials never go in organization.yaml)"), None
    try:
        client = s3_client(cfg, timeouts=timeouts)
    except GfwError as exc:  # the AWS configuration, read when the client is made
        return failed(C_CREDENTIALS, exc.message, exc.remedy), None
    try:
        answer = client.list_buckets()
    except Exception as exc:  # noqa: BLE001 - every failure is explained below
        if error_code(exc) == "AccessDenied":
            # The signature was accepted; the key is just scoped to its bucket.
            return passed(C_CREDENTIALS, f"{source.detail}: accepted by the store (ListBuckets not permitted, "
                                         "which is fine for a bucket-scoped key)"), client
        if error_code(exc) == "NoSuchBucket":  # ListBuckets names no bucket: the URL put one in
            path = urlsplit(target.endpoint).path
            why = (f"the store took the endpoint's path {path!r} for a bucket name" if path.strip("/") else
                   "something in front of the store routes S3 requests wrongly")
            return failed(C_CREDENTIALS, f"{source.detail}: not verified: {target.endpoint} answered ListBuckets "
                                         f"with NoSuchBucket, so {why}{target.override_note}",
                          f"set state.s3.endpoint (or {ENDPOINT_ENV}) to the S3 API's root URL, without a path "
                          "(e.g. https://rustfs.honey.ts.net:9000); nothing was created"), None
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action="list buckets")
        return failed(C_CREDENTIALS, f"{source.detail}: {detail}", remedy), None
    not_s3 = _not_an_s3_answer(answer)
    if not_s3:
        return failed(C_CREDENTIALS, f"{source.detail}: not verified: {target.endpoint} answered ListBuckets with "
                                     f"{not_s3}, not an S3 API answer{target.override_note}",
                      f"point state.s3.endpoint (or {ENDPOINT_ENV}) at the S3 API, not a web console or a proxy's "
                      "page (RustFS: the S3 API on port 9000, its console on 9001); nothing was created"), None
    return passed(C_CREDENTIALS, f"{source.detail}: accepted by the store"), client


def _not_an_s3_answer(answer: Any) -> str:
    """What a successful ListBuckets answer was when it was not S3's (an HTML page parses as an empty
    listing), else ``""``: S3 answers XML naming the owner."""
    headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    kind = str(headers.get("content-type") or "").split(";")[0].strip().lower()
    if "html" in kind:
        return f"an HTML page ({kind})"
    if "Owner" not in answer and "xml" not in kind:
        return f"a {kind or 'untyped'} document without an owner"
    return ""


def _bucket_check(client: Any, target: S3Target, env: str, timeouts: tuple[float, float],
                  create: bool, confirm: ConfirmFn | None) -> tuple[Check, Check | None]:
    """The bucket check and, when this run created the bucket, the versioning check that creation made."""
    try:
        client.head_bucket(Bucket=target.bucket)
        return passed(C_BUCKET, f"bucket {target.bucket!r} exists"), None
    except Exception as exc:  # noqa: BLE001
        missing = http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchBucket")
        if not missing:
            detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action="read the bucket")
            if http_status(exc) == 403:
                remedy += ("; or the bucket belongs to another account (bucket names are global on AWS): choose "
                           "another state.s3.bucket. Nothing was created")
            return failed(C_BUCKET, detail, remedy), None
    if not create:
        return failed(C_BUCKET, f"bucket {target.bucket!r} does not exist at {target.endpoint} (NoSuchBucket); "
                                "nothing was created",
                      remedy=f"`gfwizard backend check --env {env} --create-bucket`"), None
    if confirm is not None and not confirm(create_action(target)):
        return failed(C_BUCKET, f"bucket {target.bucket!r} does not exist; creating it was declined",
                      remedy=f"`gfwizard backend check --env {env} --create-bucket`, and confirm"), None
    return create_state_bucket(client, target, env=env, timeouts=timeouts)


def _versioning_check(client: Any, target: S3Target, env: str, timeouts: tuple[float, float],
                      enable: bool, confirm: ConfirmFn | None) -> Check:
    try:
        status = client.get_bucket_versioning(Bucket=target.bucket).get("Status") or ""
    except Exception as exc:  # noqa: BLE001
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action="read versioning")
        return failed(C_VERSIONING, detail, remedy)
    if status == "Enabled":
        return passed(C_VERSIONING, f"versioning is enabled on {target.bucket!r}: every state write is kept")
    state = "suspended" if status == "Suspended" else "off (never enabled)"
    off = f"versioning is {state} on {target.bucket!r}: an overwritten or deleted state cannot be recovered"
    if not enable:
        return failed(C_VERSIONING, off, remedy=f"`gfwizard backend check --env {env} --enable-versioning`")
    action = f"enable versioning on bucket {target.bucket!r} at {target.endpoint}"
    if confirm is not None and not confirm(action):
        return failed(C_VERSIONING, off + "; enabling it was declined",
                      remedy=f"`gfwizard backend check --env {env} --enable-versioning`, and confirm")
    refusal = enable_bucket_versioning(client, target, env=env, timeouts=timeouts)
    if refusal is None:
        return passed(C_VERSIONING, f"versioning enabled on {target.bucket!r} now")
    why, remedy = refusal
    return failed(C_VERSIONING, f"versioning could not be enabled on {target.bucket!r}: {why}; an overwritten or "
                                "deleted state cannot be recovered",
                  remedy=f"{remedy}; {VERSIONING_NEEDS}; then `gfwizard backend check --env {env} --enable-versioning`")


def _prefix_check(client: Any, target: S3Target, env: str, timeouts: tuple[float, float]) -> Check:
    prefix = f"{target.key_prefix}/{env}/"
    states = locks = 0
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=prefix):
            for obj in page.get("Contents", []) or []:
                key = str(obj.get("Key", ""))
                states += key.endswith(".tfstate")
                locks += key.endswith(".tflock")
    except Exception as exc:  # noqa: BLE001
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action=f"list {prefix}")
        return failed(C_PREFIX, detail, remedy)
    held = f", {locks} lock(s) held (`gfwizard backend locks --env {env}`)" if locks else ""
    return passed(C_PREFIX, f"s3://{target.bucket}/{prefix}: {states} state file(s){held}")


def lock_probe(cfg: "OrgConfig", *, timeouts: tuple[float, float] = DEFAULT_TIMEOUTS,
               _client: Any = None) -> Check:
    """Prove the store honours ``If-None-Match: *``: put a probe key twice (expect success, then
    412), then delete the probe and all its versions. Only a pass makes ``use_lockfile`` safe."""
    from gfwizard.backend_direct import DirectS3, direct_s3, explain_direct

    target = s3_target(cfg)
    # The deploy gates run this before every apply: without botocore when the credentials allow it.
    client = _client if _client is not None else (direct_s3(target, timeouts=timeouts)
                                                  or s3_client(cfg, timeouts=timeouts))

    def why(exc: BaseException, **kwargs: Any) -> tuple[str, str]:
        if isinstance(client, DirectS3):
            worded = explain_direct(exc, **kwargs)
            if worded is not None:
                return worded
        return explain(exc, **kwargs)

    key = f"{target.key_prefix}/{PROBE_DIR}/{uuid.uuid4().hex}"
    body = json.dumps({"who": "gfwizard lock probe", "created": time.time()}).encode()
    refused = "use_lockfile refused"
    no_lock_remedy = ("use an S3 store that supports conditional writes (PutObject with If-None-Match: *, as AWS S3 "
                      "and current MinIO/RustFS do), then re-run `gfwizard backend check`; do not deploy until "
                      "the lock probe passes")
    created: list[str | None] = []  # the version id each successful put answered (None: unversioned)
    # A put that failed may still have landed (a read timeout, a dropped connection, a retry of one that did):
    # the clean-up runs however the probe ends, and what it could not prove removed is said, naming the key.
    first_failed: tuple[str, str] | None = None
    honoured: bool | None = None
    second = ""
    try:
        try:
            created.append(client.put_object(Bucket=target.bucket, Key=key, Body=body,
                                             IfNoneMatch="*").get("VersionId"))
        except Exception as exc:  # noqa: BLE001
            code, status = error_code(exc), http_status(exc)
            if code in ("NotImplemented", "InvalidArgument") or status == 501:
                first_failed = (f"{refused}: the store rejected a conditional write ({code or status})",
                                no_lock_remedy)
            else:
                detail, remedy = why(exc, target=target, timeouts=timeouts,
                                     action=f"write under {target.key_prefix}/")
                first_failed = (f"the probe write failed: {detail}", remedy)
        if first_failed is None:
            try:
                created.append(client.put_object(Bucket=target.bucket, Key=key, Body=body,
                                                 IfNoneMatch="*").get("VersionId"))
                honoured = False
            except Exception as exc:  # noqa: BLE001
                code, status = error_code(exc), http_status(exc)
                if status in (412, 409) or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                    honoured, second = True, f"{status} {code}".strip()
                else:
                    second = why(exc, target=target, timeouts=timeouts)[0]
    except BaseException:
        # Ctrl-C (or a worker's cancel) mid-probe: a put the store may already have written would stay in
        # the bucket for good. Remove the probe (listing it, since an answer may never have arrived), then
        # let the interrupt go on.
        _delete_all_versions(client, target.bucket, key, created)
        raise
    removed, leftover = _delete_all_versions(client, target.bucket, key, created)
    where = f"s3://{target.bucket}/{key}"
    by_hand = f"delete {where} (all versions) by hand"
    left_behind = f"{where} may be left behind: {leftover}" if leftover else ""
    if first_failed is not None:
        detail, remedy = first_failed
        if leftover:
            return failed(C_LOCK, f"{detail}; the write may have landed all the same, and {left_behind}",
                          f"{remedy}; and {by_hand} if it is there")
        if removed:
            detail += f"; the write had landed all the same: {where} was removed ({removed} version(s))"
        return failed(C_LOCK, detail, remedy)
    if honoured is None:
        return failed(C_LOCK, f"the second probe write failed unexpectedly: {second}"
                      + (f"; {left_behind}" if leftover else ""),
                      "check the store's health and re-run `gfwizard backend check`"
                      + (f"; and {by_hand}" if leftover else ""))
    if not honoured:
        return failed(C_LOCK, f"{refused}: the store ignored If-None-Match: * (a second conditional put of an "
                              "existing key succeeded), so two runs could both take the state lock"
                      + (f"; {left_behind}" if leftover else ""),
                      no_lock_remedy + (f"; and {by_hand}" if leftover else ""))
    detail = f"If-None-Match: * honoured (second put answered {second}); probe {key} and its versions removed"
    if leftover:
        return warned(C_LOCK, f"If-None-Match: * honoured (second put answered {second}), but {left_behind}",
                      remedy=by_hand)
    if not target.use_lockfile:
        return warned(C_LOCK, detail + "; but state.s3.use_lockfile is false, so state writes are not locked",
                      remedy="set state.s3.use_lockfile: true in organization.yaml and re-render the backends")
    return passed(C_LOCK, detail + " — use_lockfile is safe")


def _delete_all_versions(client: Any, bucket: str, key: str,
                         created: list[str | None] | None = None) -> tuple[int, str]:
    """Delete every version and delete marker of ``key``: ``(versions removed, "")`` when nothing is left,
    else ``(versions removed, why)``. Never raises an ``Exception``: a clean-up that fails is said, not raised,
    so it cannot hide what the probe itself found.

    The versions the probe's puts answered with (``created``) are deleted straight away; a listing
    then proves nothing is left, and whatever it still finds (a store that did not say which version
    it wrote, an unversioned bucket, a put whose answer never came) is deleted by what the listing says.
    Listing versions can be slow on a busy bucket: the common case lists once instead of twice.
    """

    def remaining() -> list[dict[str, Any]]:
        listing = client.list_object_versions(Bucket=bucket, Prefix=key)
        versions = [{**i, "marker": False} for i in listing.get("Versions") or []]
        markers = [{**i, "marker": True} for i in listing.get("DeleteMarkers") or []]
        return [i for i in [*versions, *markers] if i.get("Key") == key]

    removed = 0

    def delete(items: list[dict[str, Any]]) -> None:
        nonlocal removed
        for item in items:
            client.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])
            removed += not item["marker"]

    rest: list[dict[str, Any]] = []
    try:
        known = [v for v in created or [] if v]
        for version in known:
            client.delete_object(Bucket=bucket, Key=key, VersionId=version)
            removed += 1
        if not known or len(known) != len(created or []):
            found = remaining()
            delete(found)
            if not found:
                client.delete_object(Bucket=bucket, Key=key)
        rest = remaining()
        # Something the puts did not name, or the delete marker the plain delete above left when a put that
        # never answered never landed either (an interrupted or failed probe): remove it as the listing says.
        if rest:
            delete(rest)
            rest = remaining()
    except Exception as exc:  # noqa: BLE001
        return removed, f"removing the probe object failed ({error_code(exc) or type(exc).__name__})"
    return removed, (f"{len(rest)} probe version(s) could not be removed" if rest else "")
