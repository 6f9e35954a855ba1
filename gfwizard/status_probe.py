"""The API pane's reading: ``GET /version`` (reachable, version, round trip) and the kube-system UID
compared with the fingerprint pinned in organization.yaml. Read-only, through :class:`ReadOnlyKube`.

A probe gets ``timeout`` seconds in all (connect, TLS, headers) rather than the (connect, read) pair
of other reads, so an API that accepts connections but never answers is found out within that
bound, and the outage is dated from when the first unanswered probe was sent."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from gfwizard.status_model import ClusterStatus
from gfwizard.status_readonly import ReadError, ReadOnlyKube

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig


def _normalise_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


class ClusterProbe:
    """``GET /version`` (reachability, version, round trip) and the kube-system UID (fingerprint)."""

    def __init__(self, cfg: "OrgConfig", kube: ReadOnlyKube | None, kube_error: str = "",
                 clock: Callable[[], float] = time.time, timeout: float = 3.0) -> None:
        self.cfg = cfg
        self.kube = kube
        self.kube_error = kube_error
        self.clock = clock
        self.uid: str | None = None
        self.uid_error: ReadError | None = None
        self.timeout = timeout
        #: Wall-clock time the first unanswered probe since the last answer was sent, or None.
        self.stale_since: float | None = None
        #: Wall-clock time the probe in flight was sent, or None.
        self.pending_since: float | None = None
        self.status = ClusterStatus(server=cfg.cluster.api_server, context=cfg.cluster.context,
                                    kubeconfig_note=kube.kubeconfig_note if kube is not None else "",
                                    error=kube_error)

    def probe(self) -> ClusterStatus:
        """Probe once; returns (and keeps) the new :class:`ClusterStatus`."""
        cfg = self.cfg
        if self.kube is None:
            self.status = ClusterStatus(server=cfg.cluster.api_server, context=cfg.cluster.context,
                                        reachable=False, error=self.kube_error)
            return self.status
        sent = self.clock()
        self.pending_since = sent
        started = time.monotonic()
        try:
            info = self.kube.get_json("/version", timeout=self.timeout)
            latency = (time.monotonic() - started) * 1000
        except ReadError as exc:
            if self.stale_since is None:
                self.stale_since = sent
            self.uid = None  # read it again after the outage: the cluster behind the address may differ
            self.status = self.status.model_copy(update={"reachable": False, "error": exc.message,
                                                         "latency_ms": None})
            return self.status
        finally:
            self.pending_since = None
        self.stale_since = None
        if self.uid is None:
            try:
                ns = self.kube.get_json("/api/v1/namespaces/kube-system")
                self.uid = str((ns.get("metadata") or {}).get("uid") or "") or None
                self.uid_error = None
            except ReadError as exc:
                self.uid_error = exc
        state, detail = self._fingerprint()
        server = self.kube.context_server or self.kube.server
        self.status = ClusterStatus(
            server=server, context=cfg.cluster.context, reachable=True,
            version=str((info or {}).get("gitVersion") or ""), latency_ms=round(latency, 1),
            fingerprint=state, fingerprint_detail=detail,
            server_matches_config=_normalise_url(server) == _normalise_url(cfg.cluster.api_server),
            kubeconfig_note=self.kube.kubeconfig_note, error="")
        return self.status

    def stale_as_of(self, now: float) -> float | None:
        """Since when the API has been unanswered at wall-clock ``now``: the failed probe's send time, or
        that of a probe still in flight past its timeout (a server trickling bytes keeps the socket's
        per-read timeout from firing)."""
        if self.stale_since is not None:
            return self.stale_since
        pending = self.pending_since
        if pending is not None and now - pending > self.timeout:
            return pending
        return None

    def _fingerprint(self) -> tuple[Any, str]:
        pinned = self.cfg.cluster.fingerprint
        ca = self.kube.ca_sha256 if self.kube is not None else None
        if pinned is None:
            return "unpinned", "no fingerprint pinned in organization.yaml (`gfwizard validate --pin`)"
        if self.uid is None or ca is None:
            why = (f"kube-system namespace unreadable ({self.uid_error.message})" if self.uid_error is not None
                   else "the kubeconfig has no CA certificate" if ca is None else "kube-system UID unknown")
            return "unknown", why
        differs = [what for what, want, got in (("kube-system UID", pinned.kube_system_uid, self.uid),
                                                ("CA sha256", pinned.ca_sha256, ca)) if want.lower() != got.lower()]
        if differs:
            return "mismatch", (f"{' and '.join(differs)} differ: pinned {pinned.kube_system_uid} / "
                                f"{pinned.ca_sha256[:16]}…, actual {self.uid} / {ca[:16]}…")
        return "match", f"kube-system UID {self.uid}, CA sha256 {ca[:16]}…"
