"""Who holds which state lock, read from the S3 lock objects (``<state key>.tflock``) that the S3
backend's ``use_lockfile`` writes. Read-only: LIST and GET, nothing else."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from gfwizard.backend_s3 import DEFAULT_TIMEOUTS, error_code, explain, s3_client, s3_target
from gfwizard.errors import CheckFailure
from gfwizard.redact import redact

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

LOCK_SUFFIX = ".tflock"


@dataclass(frozen=True)
class LockInfo:
    """One held state lock."""

    stack: str
    env: str
    #: The lock object's key (``<state key>.tflock``).
    key: str
    #: Terraform's lock ID (what ``force-unlock`` takes).
    id: str
    who: str
    #: e.g. ``OperationTypeApply``.
    operation: str
    #: When the lock was taken (UTC), if the lock info said.
    created: datetime | None
    #: Seconds since ``created`` (None when unknown).
    age: float | None
    info: str = ""
    version: str = ""
    #: Set when the lock object could not be read or parsed.
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (``created`` as ISO 8601, ``age`` in seconds)."""
        return {"stack": self.stack, "env": self.env, "key": self.key, "id": self.id, "who": self.who,
                "operation": self.operation, "created": self.created.isoformat() if self.created else None,
                "age": round(self.age, 1) if self.age is not None else None, "info": self.info,
                "version": self.version, "error": self.error}


def parse_created(value: Any) -> datetime | None:
    """Terraform's RFC 3339 timestamp (nanoseconds allowed) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def lock_from_json(data: bytes, *, stack: str, env: str, key: str, now: float | None = None) -> LockInfo:
    """A :class:`LockInfo` from the lock object's body (terraform's lock info JSON). Its text fields are
    redacted here, once: another operator's binary wrote them (``Who``, ``Info``), and each reader shows or
    saves them as they are (status's Locks pane, the deploy list's ``locked by``, the journal)."""
    now = time.time() if now is None else now
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        return LockInfo(stack=stack, env=env, key=key, id="", who="", operation="", created=None, age=None,
                        error=f"unreadable lock object: {exc}")
    created = parse_created(doc.get("Created"))
    return LockInfo(
        stack=stack, env=env, key=key, id=redact(str(doc.get("ID") or "")), who=redact(str(doc.get("Who") or "")),
        operation=redact(str(doc.get("Operation") or "")), created=created,
        age=max(0.0, now - created.timestamp()) if created else None,
        info=redact(str(doc.get("Info") or "")), version=redact(str(doc.get("Version") or "")),
    )


def list_locks(cfg: "OrgConfig", env: str, *, timeouts: tuple[float, float] = DEFAULT_TIMEOUTS) -> list[LockInfo]:
    """Every lock object under ``{key_prefix}/{env}/``, in stack order (unknown stacks last)."""
    cfg.environment(env)
    target = s3_target(cfg)
    client = s3_client(cfg, timeouts=timeouts)
    prefix = f"{target.key_prefix}/{env}/"
    keys: list[str] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=prefix):
            keys += [str(o["Key"]) for o in page.get("Contents", []) or [] if str(o["Key"]).endswith(LOCK_SUFFIX)]
    except Exception as exc:  # noqa: BLE001 - explained for the operator
        detail, remedy = explain(exc, target=target, timeouts=timeouts, env=env, action=f"list {prefix}")
        raise CheckFailure(f"cannot list the locks: {detail}", remedy) from exc
    order = {name: i for i, name in enumerate(cfg.stack_order())}
    locks: list[LockInfo] = []
    for key in keys:
        stack = key[len(prefix):-len(".tfstate" + LOCK_SUFFIX)] if key.endswith(".tfstate" + LOCK_SUFFIX) \
            else key[len(prefix):-len(LOCK_SUFFIX)]
        try:
            body = client.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        except Exception as exc:  # noqa: BLE001 - a lock released between LIST and GET, or unreadable
            if error_code(exc) in ("NoSuchKey", "404"):
                continue
            detail = explain(exc, target=target, timeouts=timeouts, env=env, action=f"read {key}")[0]
            locks.append(LockInfo(stack=stack, env=env, key=key, id="", who="", operation="", created=None,
                                  age=None, error=detail))
            continue
        locks.append(lock_from_json(body, stack=stack, env=env, key=key))
    locks.sort(key=lambda lock: (order.get(lock.stack, len(order)), lock.stack))
    return locks
