"""Who holds a stack's state lock, when a plan or apply fails to acquire it.

The binary's lock diagnostic carries the holder only inside human-readable text, so the holder is
read from the lock object itself: ``<state key>.tflock`` in the bucket, terraform's lock info JSON
(``ID``, ``Who``, ``Operation``, ``Created``, ...). Only GET is used. HTTP state has no such object:
the holder is then unknown and the remedy points at the state server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gfwizard.journal import LockHolder
from gfwizard.tofu_events import Diagnostic

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: (connect, read) seconds for the lock object read.
LOCK_READ_TIMEOUTS: tuple[float, float] = (3.0, 10.0)


def is_lock_error(diagnostics: list[Diagnostic]) -> bool:
    """True when an error diagnostic says the state lock could not be acquired.

    The diagnostic ``summary`` is a fixed string in both terraform and OpenTofu ("Error acquiring the
    state lock"); it is matched as a structured field, the free-text ``detail`` is never parsed.
    """
    return any(d.is_error and "acquiring the state lock" in d.summary.lower() for d in diagnostics)


def read_lock_holder(cfg: "OrgConfig", env: str, stack: str) -> LockHolder | None:
    """The holder of ``stack``'s lock in ``env`` from its S3 lock object; None when there is none
    (released meanwhile), the state is not in S3, or the object cannot be read."""
    if cfg.state.backend != "s3" or cfg.state.s3 is None:
        return None
    from gfwizard.backend_locks import LOCK_SUFFIX, lock_from_json
    from gfwizard.backend_s3 import error_code, s3_client

    key = cfg.state_key(env, stack) + LOCK_SUFFIX
    try:
        client = s3_client(cfg, timeouts=LOCK_READ_TIMEOUTS)
        body = client.get_object(Bucket=cfg.state.s3.bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable lock object means "unknown holder"
        if error_code(exc) not in ("NoSuchKey", "404"):
            return LockHolder(id="", who="", operation="", path=key)
        return None
    info = lock_from_json(body, stack=stack, env=env, key=key)
    return LockHolder(id=info.id, who=info.who, operation=info.operation, created=info.created,
                      version=info.version, path=key)


def lock_remedy(cfg: "OrgConfig", env: str, stack: str, holder: LockHolder | None,
                unlock_command: str | None = None, *, rerun: str | None = None) -> str:
    """What the operator can do about a held lock. ``unlock_command``: the exact ``force-unlock`` command
    line for this stack (binary, data dir, directory), when the caller knows it; ``rerun``: the command to run
    again once it is released (backticked; default ``gfwizard deploy --env ENV --resume``)."""
    if holder is None or not holder.id:
        where = "the state server" if cfg.state.backend == "http" else f"`gfwizard backend locks --env {env}`"
        return (f"wait for the other run to finish and re-run; to see who holds it, check {where}")
    unlock = f"`{unlock_command}`" if unlock_command else f"`tofu force-unlock {holder.id}` in tofu/stacks/{stack}"
    rerun = rerun or f"`gfwizard deploy --env {env} --resume`"
    return (f"wait for {holder.who or 'the holder'} to finish, then re-run {rerun}; "
            f"if that run is gone for good, release the lock with {unlock} (after checking nobody is applying)")
