"""Creating the state bucket: the one function ``gfwizard backend check --create-bucket`` and the wizard's
Backend step both use, so every state bucket gfwizard makes is versioned from its first write; and
:func:`enable_bucket_versioning`, the one way versioning is turned on (on a new bucket, or on an existing one with
``--enable-versioning``), which reads it back before calling it on.

A state bucket must be versioned (a torn or wrong state write is rolled back from the version before it).
A bucket this function created but could not version is deleted again (it is empty: it was made a moment
ago), so the store is left as it was and a later ``--create-bucket`` starts over; only when that delete fails
too is an unversioned bucket left behind, and the check says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gfwizard.backend_s3 import error_code, explain
from gfwizard.checks import Check, failed, passed, warned

if TYPE_CHECKING:
    from gfwizard.backend_s3 import S3Target

C_BUCKET = "s3 bucket"
C_VERSIONING = "s3 versioning"

#: What the store must allow for a versioned state bucket (said in every refusal's remedy).
VERSIONING_NEEDS = ("the key needs s3:PutBucketVersioning on the bucket, and the store must support bucket versioning "
                    "(AWS S3, MinIO and RustFS do)")


def create_action(target: "S3Target") -> str:
    """The write :func:`create_state_bucket` does, in words: what the operator is shown (and asked) before it."""
    return f"create bucket {target.bucket!r} at {target.endpoint} (region {target.region}), with versioning on"


def create_state_bucket(client: Any, target: "S3Target", *, env: str,
                        timeouts: tuple[float, float]) -> tuple[Check, Check | None]:
    """Create ``target``'s bucket and enable versioning on it: ``(bucket check, versioning check)``.

    The versioning check is None when the bucket could not be created. When versioning cannot be enabled (the
    store refuses PutBucketVersioning, or accepts it and still reads back unversioned), the bucket is deleted
    again: the bucket check fails (there is no state bucket) and the versioning check is a WARN that says why
    and what the store must allow."""
    bucket = target.bucket
    try:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if target.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
        client.create_bucket(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is explained
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action="create the bucket")
        return failed(C_BUCKET, f"creating bucket {bucket!r} failed: {detail}", remedy), None
    refusal = enable_bucket_versioning(client, target, env=env, timeouts=timeouts)
    if refusal is None:
        return (passed(C_BUCKET, f"bucket {bucket!r} created at {target.endpoint}"),
                passed(C_VERSIONING, f"versioning enabled on {bucket!r} as it was created: every state write is kept"))
    why, remedy = refusal
    again = f"`gfwizard backend check --env {env} --create-bucket`"
    warning = warned(C_VERSIONING, f"versioning could not be enabled on the new bucket {bucket!r}: {why}",
                     remedy=f"{remedy}; {VERSIONING_NEEDS}; then {again}")
    try:
        client.delete_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001 - said in the check; the bucket is then left as it is
        left, _ = explain(exc, target=target, timeouts=timeouts, env=env, action="delete the new bucket")
        return (failed(C_BUCKET, f"bucket {bucket!r} was created, but versioning could not be enabled on it and "
                                 f"deleting it again failed ({left}): it is left without versioning",
                       remedy=f"once the store allows it, `gfwizard backend check --env {env} --enable-versioning`; "
                              f"or delete the empty bucket {bucket!r} and run {again}"), warning)
    return (failed(C_BUCKET, f"bucket {bucket!r} was not kept: versioning could not be enabled on it (see "
                             f"{C_VERSIONING}), and a state bucket must be versioned; the new, empty bucket was "
                             "deleted again, so nothing was left behind",
                   remedy=f"make the store allow versioning (see {C_VERSIONING}), then {again}"), warning)


def enable_bucket_versioning(client: Any, target: "S3Target", *, env: str,
                             timeouts: tuple[float, float]) -> tuple[str, str] | None:
    """Enable versioning on ``target``'s bucket and read it back: None when it is on, else ``(why not, remedy)``.

    A store may refuse PutBucketVersioning, or accept it and still read back unversioned: only the read-back
    says versioning is on."""
    try:
        client.put_bucket_versioning(Bucket=target.bucket, VersioningConfiguration={"Status": "Enabled"})
    except Exception as exc:  # noqa: BLE001
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action="enable versioning")
        code = error_code(exc)
        return f"the store refused PutBucketVersioning ({detail})", (
            "use a store that supports bucket versioning" if code == "NotImplemented" else remedy)
    try:
        status = client.get_bucket_versioning(Bucket=target.bucket).get("Status") or ""
    except Exception as exc:  # noqa: BLE001
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action="read versioning")
        return f"reading it back failed ({detail})", remedy
    if status != "Enabled":
        return (f"the store accepted PutBucketVersioning but the bucket reads {status or 'unversioned'}",
                "use a store that keeps bucket versioning on")
    return None
