"""The state bucket, read-only, for status mode: :class:`ReadOnlyState` (GET/HEAD/LIST only, enforced by
botocore event hooks before anything is sent) and :class:`StateReader` (state objects, locks and the
journal of the shown environments, polled by the live view and read once by ``status --once``).

Nothing here imports the backend's writers (render, migrate, lock probe) or the deploy engine.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from gfwizard.errors import GfwError
from gfwizard.journal_process import unfinished_runs
from gfwizard.layout import layout_for
from gfwizard.redact import redact
from gfwizard.status_assemble import last_applies
from gfwizard.status_expected import expected_workloads
from gfwizard.status_model import Unreadable
from gfwizard.status_readonly import ReadError, ReadErrorKind, ReadOnlyViolation, path_of

if TYPE_CHECKING:
    from pathlib import Path

    from gfwizard.backend_locks import LockInfo
    from gfwizard.journal import Journal, JournalEntry
    from gfwizard.journal_process import RunState
    from gfwizard.orgconfig import OrgConfig

#: S3 operations the state reader may call: reads only.
S3_READ_OPERATIONS: frozenset[str] = frozenset({
    "GetObject", "HeadObject", "ListObjectsV2", "ListObjects", "HeadBucket", "GetBucketVersioning",
    "GetBucketLocation", "ListObjectVersions",
})
_S3_READ_METHODS = frozenset({"GET", "HEAD"})

@dataclass(frozen=True)
class StateObject:
    """What status shows about one state object. Holds nothing from the state but these fields."""

    key: str
    exists: bool
    last_modified: datetime | None = None
    size: int | None = None
    serial: int | None = None
    lineage: str = ""
    terraform_version: str = ""
    #: The ``workloads`` output (namespace, kind, name, replicas) when the state has one.
    workloads: tuple[tuple[str, str, str, int], ...] | None = None
    error: str = ""
    error_status: int | None = None
    #: The store did not answer (refused, timed out, 5xx), as opposed to refusing this reader.
    unreachable: bool = False


def _summarise_state(body: bytes) -> tuple[int | None, str, str, tuple[tuple[str, str, str, int], ...] | None]:
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("not a state document")
    outputs = doc.get("outputs") or {}
    workloads_out = outputs.get("workloads") if isinstance(outputs, dict) else None
    workloads: tuple[tuple[str, str, str, int], ...] | None = None
    if isinstance(workloads_out, dict) and isinstance(workloads_out.get("value"), list):
        rows = []
        for item in workloads_out["value"]:
            if isinstance(item, dict) and item.get("name"):
                rows.append((str(item.get("namespace") or ""), str(item.get("kind") or "Deployment"),
                             str(item["name"]), int(float(item.get("replicas", 1) or 0))))
        workloads = tuple(rows)
    serial = doc.get("serial")
    return (int(serial) if isinstance(serial, (int, float)) else None, str(doc.get("lineage") or ""),
            str(doc.get("terraform_version") or ""), workloads)


class ReadOnlyState:
    """The state bucket, read-only: GET, HEAD and LIST; anything else raises before it is sent.

    Credentials come from ``environ`` (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``) when given,
    else from the process environment or profile; never from instance metadata.
    """

    def __init__(self, cfg: "OrgConfig", *, environ: Mapping[str, str] | None = None,
                 timeouts: tuple[float, float] = (3.0, 10.0)) -> None:
        from gfwizard.backend_s3 import s3_target

        self.cfg = cfg
        self.environ = dict(os.environ if environ is None else environ)
        self.timeouts = timeouts
        self.target = s3_target(cfg, self.environ)
        self._client = self._build_client()
        self._cache: dict[str, tuple[str, StateObject]] = {}

    def _build_client(self) -> Any:
        import botocore.session
        from botocore.config import Config

        session = botocore.session.Session()
        resolver = session.get_component("credential_provider")
        for name in ("container-role", "iam-role"):
            try:
                resolver.remove(name)
            except Exception:  # noqa: BLE001 - absent in some botocore versions
                pass
        config = Config(
            connect_timeout=self.timeouts[0], read_timeout=self.timeouts[1],
            retries={"max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path" if self.target.path_style else "virtual"},
            signature_version="s3v4",
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        key_id = self.environ.get("AWS_ACCESS_KEY_ID")
        secret = self.environ.get("AWS_SECRET_ACCESS_KEY")
        creds: dict[str, Any] = {}
        if key_id and secret:
            creds = {"aws_access_key_id": key_id, "aws_secret_access_key": secret,
                     "aws_session_token": self.environ.get("AWS_SESSION_TOKEN")}
        client = session.create_client("s3", region_name=self.target.region, endpoint_url=self.target.endpoint,
                                       config=config, **creds)
        client.meta.events.register("before-call.s3", _refuse_non_read_operation)
        client.meta.events.register("before-send.s3", _refuse_non_read_method)
        return client

    @property
    def client(self) -> Any:
        """The guarded botocore client (a write through it raises :class:`ReadOnlyViolation` before I/O)."""
        return self._client

    def _explained(self, exc: BaseException, action: str) -> tuple[str, str]:
        """``(detail, remedy)`` of why ``action`` failed, the detail redacted: the store's own error message is
        quoted (a proxy or an S3-compatible server may echo a credential in it), and the panes show this text as
        it is. Names ``AWS_ENDPOINT_URL_S3`` when the store that did not answer is the one it sets instead of
        organization.yaml's ``state.s3.endpoint`` (which is what the operator would go and check)."""
        from gfwizard.backend_s3 import explain

        detail, remedy = explain(exc, target=self.target, timeouts=self.timeouts, action=action)
        return redact(detail + self.target.override_note if _store_down(exc) else detail), remedy

    def state_key(self, env: str, stack: str) -> str:
        """The state object's key for ``env`` and ``stack``."""
        return self.cfg.state_key(env, stack)

    def state(self, env: str, stack: str) -> StateObject:
        """The state object of ``env``/``stack``: HEAD-like metadata plus serial, lineage and the
        ``workloads`` output, read with a conditional GET (unchanged objects are not downloaded again)."""
        from botocore.exceptions import BotoCoreError, ClientError

        from gfwizard.backend_s3 import error_code, http_status

        key = self.state_key(env, stack)
        cached = self._cache.get(key)
        params: dict[str, Any] = {"Bucket": self.target.bucket, "Key": key}
        if cached is not None:
            params["IfNoneMatch"] = cached[0]
        try:
            resp = self._client.get_object(**params)
            body = resp["Body"].read()
        except ClientError as exc:
            status = http_status(exc)
            if status == 304 and cached is not None:
                return cached[1]
            code = error_code(exc)
            if code == "NoSuchKey" or (status == 404 and code in ("", "404")):
                self._cache.pop(key, None)
                return StateObject(key=key, exists=False)
            return StateObject(key=key, exists=False, error=self._explained(exc, f"read {key}")[0],
                               error_status=status, unreachable=_store_down(exc))
        except (BotoCoreError, OSError) as exc:
            return StateObject(key=key, exists=False, error=self._explained(exc, f"read {key}")[0],
                               unreachable=_store_down(exc))
        modified = resp.get("LastModified")
        try:
            serial, lineage, tf_version, workloads = _summarise_state(body)
            result = StateObject(key=key, exists=True, last_modified=modified, size=len(body), serial=serial,
                                 lineage=lineage, terraform_version=tf_version, workloads=workloads)
        except (ValueError, TypeError):
            result = StateObject(key=key, exists=True, last_modified=modified, size=len(body),
                                 error="the state object is not a readable state document")
        del body
        etag = str(resp.get("ETag") or "")
        if etag:
            self._cache[key] = (etag, result)
        return result

    def locks(self, env: str, now: float | None = None) -> list["LockInfo"]:
        """Every ``.tflock`` object under ``{key_prefix}/{env}/`` (LIST, then GET each).

        Raises :class:`ReadError` when the bucket cannot be listed.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        from gfwizard.backend_locks import LOCK_SUFFIX, LockInfo, lock_from_json
        from gfwizard.backend_s3 import error_code, http_status

        prefix = f"{self.target.key_prefix}/{env}/"
        keys: list[str] = []
        try:
            token: str | None = None
            while True:
                params: dict[str, Any] = {"Bucket": self.target.bucket, "Prefix": prefix}
                if token:
                    params["ContinuationToken"] = token
                page = self._client.list_objects_v2(**params)
                keys += [str(o["Key"]) for o in page.get("Contents") or [] if str(o["Key"]).endswith(LOCK_SUFFIX)]
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated") or not token:
                    break
        except (ClientError, BotoCoreError, OSError) as exc:
            detail, remedy = self._explained(exc, f"list {prefix}")
            status = http_status(exc)
            kind: ReadErrorKind = "forbidden" if status == 403 else "unreachable" if _store_down(exc) else "api"
            raise ReadError(kind, f"cannot list the locks under {prefix}: {detail}", remedy, status) from None
        out: list[LockInfo] = []
        for key in keys:
            rest = key[len(prefix):-len(LOCK_SUFFIX)]
            stack = rest[:-len(".tfstate")] if rest.endswith(".tfstate") else rest
            try:
                body = self._client.get_object(Bucket=self.target.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    continue  # released between LIST and GET
                out.append(LockInfo(stack=stack, env=env, key=key, id="", who="", operation="", created=None,
                                    age=None, error=self._explained(exc, f"read {key}")[0]))
                continue
            except (BotoCoreError, OSError) as exc:
                out.append(LockInfo(stack=stack, env=env, key=key, id="", who="", operation="", created=None,
                                    age=None, error=self._explained(exc, f"read {key}")[0]))
                continue
            out.append(lock_from_json(body, stack=stack, env=env, key=key, now=now))
        return out


def _refuse_non_read_operation(model: Any = None, **_: Any) -> None:
    name = getattr(model, "name", "")
    method = str(getattr(model, "http", {}).get("method", "")).upper()
    if name not in S3_READ_OPERATIONS or method not in _S3_READ_METHODS:
        raise ReadOnlyViolation(method or "?", f"s3:{name}")


def _refuse_non_read_method(request: Any = None, **_: Any) -> None:
    method = str(getattr(request, "method", "")).upper()
    if method not in _S3_READ_METHODS:
        raise ReadOnlyViolation(method, path_of(str(getattr(request, "url", ""))))


class StateReader:
    """The state objects, locks and journal of ``envs`` (S3 GET/HEAD/LIST and file reads only)."""

    def __init__(self, cfg: "OrgConfig", envs: Sequence[str], *, environ: Mapping[str, str],
                 timeouts: tuple[float, float], clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.envs = list(envs)
        self.environ = dict(environ)
        self.clock = clock
        self.states: dict[tuple[str, str], StateObject] = {}
        self.locks: list["LockInfo"] = []
        self.applies: dict[tuple[str, str], "JournalEntry"] = {}
        #: Whether the process of each last apply that recorded no outcome still runs (read at every poll).
        self.run_states: dict[tuple[str, str], "RunState"] = {}
        self.unreadable: list[Unreadable] = []
        self.stale_since: float | None = None
        self.stale_reason = ""
        self._journal_stamp: dict[str, tuple[int, int]] = {}
        self._journal_cache: dict[str, dict[tuple[str, str], "JournalEntry"]] = {}
        #: Env -> whether a skipped journal line was written by a newer gfwizard.
        self._journal_newer: dict[str, bool] = {}
        #: One reader per env: each re-read parses only what was appended since the last one.
        self._journal_readers: dict[str, "Journal"] = {}
        #: Per environment: the note on the journal lines the last read skipped ("" when none).
        self._journal_skipped: dict[str, str] = {}
        self.reader: ReadOnlyState | None = None
        #: Why no state can be read at all (a setting, not a failed request), and what to do about it.
        self.setup_error = ""
        self.setup_remedy = ""
        self._expected: dict[tuple[str, str], Any] | None = None
        if cfg.state.backend != "s3":
            self.setup_error = (f"organization.yaml sets state.backend: {cfg.state.backend} (the transitional "
                                "backend); status reads the state from S3 only")
            self.setup_remedy = ("move the state of every stack still on HTTP to S3 with `gfwizard backend migrate "
                                 "--env <env>` (state.s3 configured), then set state.backend: s3")
            return
        if cfg.state.s3 is None:
            self.setup_error = "organization.yaml has no state.s3 section; status reads the state from S3 only"
            self.setup_remedy = "add state.s3 (endpoint, bucket, region, key_prefix) or run `gfwizard config init`"
            return
        try:
            self.reader = ReadOnlyState(cfg, environ=self.environ, timeouts=timeouts)
        except GfwError as exc:
            self.setup_error, self.setup_remedy = exc.message, exc.remedy or ""

    @property
    def expected(self) -> dict[tuple[str, str], Any]:
        """What each stack's workloads would be, in every environment of the config (from the checkout's
        tfvars, parsed once and only when some state is unreadable or missing; ``{}`` otherwise): shown
        where the state cannot be read, and looked for where there is no state."""
        if all(state.exists and not state.error for state in self.states.values()):
            return {}
        if self._expected is None:
            self._expected = expected_workloads(self.cfg, list(self.cfg.environments),
                                                layout_for(self.cfg.cluster.network, environ=self.environ))
        return self._expected

    def signature(self) -> tuple[Any, ...]:
        """What the snapshot shows of this reader (lock ages excluded: they are computed when shown)."""
        return (tuple(sorted((k, v.exists, v.serial, v.last_modified, v.error) for k, v in self.states.items())),
                tuple((lk.key, lk.id, lk.created, lk.error) for lk in self.locks),
                tuple(sorted((k, e.run_id, e.outcome) for k, e in self.applies.items())),
                tuple(sorted(self.run_states.items())),
                tuple(self.unreadable), self.stale_since)

    def poll(self) -> None:
        """Read everything once (errors become notes, never exceptions)."""
        unreadable: list[Unreadable] = []
        failing: list[str] = []
        if self.reader is None:
            unreadable.append(Unreadable(pane="stacks", what="state objects", detail=self.setup_error,
                                         remedy=self.setup_remedy))
            unreadable.append(Unreadable(pane="locks", what="state locks", detail=self.setup_error,
                                         remedy=self.setup_remedy))
            # Every stack's state is unreadable (so its expected workloads are shown), not "not applied".
            self.states = {(env, stack): StateObject(key=self.cfg.state_key(env, stack), exists=False,
                                                     error=self.setup_error)
                           for env in self.envs for stack in self.cfg.stack_order()}
        else:
            states: dict[tuple[str, str], StateObject] = {}
            # The first read the store never answered (refused, timed out): the others of this poll are not
            # tried, so a hung store costs one timeout, not one per object (status --once stays quick).
            no_answer = ""
            for env in self.envs:
                for stack in self.cfg.stack_order():
                    if no_answer:
                        obj = StateObject(key=self.cfg.state_key(env, stack), exists=False, error=no_answer,
                                          unreachable=True)
                    else:
                        obj = self.reader.state(env, stack)
                        if obj.unreachable and obj.error_status is None:
                            no_answer = f"not tried, an earlier read got no answer: {obj.error}"
                    if obj.error:
                        unreadable.append(Unreadable(pane="stacks", what=f"state {obj.key}",
                                                     status=obj.error_status, detail=obj.error,
                                                     outage=obj.unreachable))
                        if obj.error_status is None or obj.unreachable:
                            failing.append(obj.error)
                            # While the store is down the last object read stays (the pane is marked
                            # stale): an outage says nothing about what was applied.
                            last = self.states.get((env, stack))
                            if last is not None and not last.error:
                                obj = last
                    states[(env, stack)] = obj
            self.states = states
            locks: list["LockInfo"] = []
            for env in self.envs:
                try:
                    if no_answer:
                        raise ReadError("unreachable", f"cannot list the locks of {env}: {no_answer}", "")
                    locks += self.reader.locks(env, now=self.clock())
                except ReadError as exc:
                    unreadable.append(Unreadable(pane="locks", what=f"locks of {env}", status=exc.status,
                                                 detail=exc.message, outage=exc.kind == "unreachable"))
                    if exc.status is None or exc.kind == "unreachable":
                        failing.append(exc.message)
                        if exc.status is None and exc.kind == "unreachable" and not no_answer:
                            no_answer = f"not tried, an earlier read got no answer: {exc.message}"
                    locks += [lock for lock in self.locks if lock.env == env]  # keep the last known
            order = {name: i for i, name in enumerate(self.cfg.stack_order())}
            self.locks = sorted(locks, key=lambda lk: (self.envs.index(lk.env) if lk.env in self.envs else 99,
                                                       order.get(lk.stack, 99), lk.stack))
        self.applies = self._journals(unreadable)
        self.run_states = unfinished_runs(self.applies)
        self.unreadable = unreadable
        if failing:
            self.stale_reason = "S3: " + failing[0]
            if self.stale_since is None:
                self.stale_since = self.clock()
        else:
            self.stale_since = None
            self.stale_reason = ""

    def _journals(self, unreadable: list[Unreadable]) -> dict[tuple[str, str], "JournalEntry"]:
        from gfwizard.journal import Journal
        from gfwizard.layout import layout_for

        layout = layout_for(self.cfg.cluster.network, environ=self.environ)
        out: dict[tuple[str, str], "JournalEntry"] = {}
        for env in self.envs:
            path = layout.journal_file(env)
            try:
                st = path.stat()
            except FileNotFoundError:
                self._journal_cache.pop(env, None)
                self._journal_skipped.pop(env, None)
                self._journal_newer.pop(env, None)
                continue
            except OSError as exc:
                unreadable.append(_journal_unreadable(path, exc))
                continue
            stamp = (st.st_mtime_ns, st.st_size)
            if self._journal_stamp.get(env) != stamp:
                try:
                    journal = self._journal_readers.setdefault(env, Journal(path))
                    self._journal_cache[env] = last_applies(journal.entries(), env)
                    self._journal_skipped[env] = journal.skipped_note()
                    self._journal_newer[env] = journal.newer_skipped()
                    self._journal_stamp[env] = stamp
                except OSError as exc:
                    unreadable.append(_journal_unreadable(path, exc))
                    continue
            skipped = self._journal_skipped.get(env, "")
            if skipped:
                # The Last apply column knows only the readable lines: say so rather than show less silently.
                remedy = (f"Last apply may miss what those lines recorded (a line torn by a crash, or edited by "
                          f"hand); look at them in {path} — gfwizard never rewrites the journal")
                if self._journal_newer.get(env):
                    remedy = ("upgrade gfwizard to read the lines a newer one wrote; until then " + remedy[0].lower()
                              + remedy[1:])
                unreadable.append(Unreadable(pane="stacks", what=f"journal {path}", detail=skipped, remedy=remedy))
            out.update(self._journal_cache.get(env, {}))
        return out


def _journal_unreadable(path: Path, exc: OSError) -> Unreadable:
    """A journal that cannot be read (a directory in its place, no permission): why, and the remedy a deploy
    of the environment gives for it (status itself never moves anything)."""
    return Unreadable(pane="stacks", what=f"journal {path}", detail=exc.strerror or str(exc),
                      remedy=f"fix its permissions, or move it aside (`mv {path} {path}.aside`): the next deploy "
                             "then starts a new journal; until then Last apply is unknown and a deploy of this "
                             "environment refuses to start")


def _store_down(exc: BaseException) -> bool:
    """True when the store never answered (connection refused or reset, timeout, TLS failure) or answered
    with a 5xx, as opposed to refusing this reader (403, no credentials, a bad parameter)."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    from gfwizard.backend_s3 import http_status

    return isinstance(exc, (BotoConnectionError, HTTPClientError, OSError)) or (http_status(exc) or 0) >= 500
