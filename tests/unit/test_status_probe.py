"""The API probe: bounded by its own total timeout, and an outage dated from the unanswered probe's send."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from gfwizard.status_probe import ClusterProbe
from gfwizard.status_readonly import ReadError

CFG: Any = SimpleNamespace(cluster=SimpleNamespace(api_server="https://honey:6443", context="honey", fingerprint=None))


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _SilentKube:
    """Answers /version until ``silent``; then each probe takes ``hang`` seconds of the fake clock and times out."""

    server = context_server = "https://honey:6443"
    ca_sha256 = None
    kubeconfig_note = ""

    def __init__(self, clock: _Clock, hang: float) -> None:
        self.clock = clock
        self.hang = hang
        self.silent = False
        self.timeouts: list[Any] = []

    def get_json(self, path: str, query: Any = None, timeout: Any = None) -> Any:
        self.timeouts.append(timeout)
        if not self.silent:
            return {"gitVersion": "v1.30.0"} if path == "/version" else {"metadata": {"uid": "u"}}
        self.clock.now += self.hang
        raise ReadError("timeout", f"https://honey:6443 did not answer GET {path} in time ({self.hang:.1f}s)",
                        "check the network path")


def test_an_unanswered_probe_dates_the_outage_from_when_it_was_sent() -> None:
    clock = _Clock(1000.0)
    kube = _SilentKube(clock, hang=3.0)
    probe = ClusterProbe(CFG, kube, clock=clock, timeout=3.0)  # type: ignore[arg-type]
    assert probe.probe().reachable and probe.stale_since is None
    kube.silent = True
    clock.now = 1002.0
    assert not probe.probe().reachable
    assert probe.stale_since == 1002.0  # sent at 1002, given up at 1005
    assert clock.now == 1005.0
    clock.now = 1007.0
    probe.probe()
    assert probe.stale_since == 1002.0  # the first unanswered probe, not the latest
    kube.silent = False
    assert probe.probe().reachable and probe.stale_since is None


def test_the_probe_has_one_total_deadline_not_the_read_timeout_of_other_reads() -> None:
    clock = _Clock(1000.0)
    kube = _SilentKube(clock, hang=0.0)
    ClusterProbe(CFG, kube, clock=clock, timeout=2.5).probe()  # type: ignore[arg-type]
    # A single number: urllib3 bounds connect, TLS and the response headers by it in all, instead of
    # (connect, read) where a kept-alive connection that never answers waits the whole read timeout.
    assert kube.timeouts[0] == 2.5


def test_a_probe_still_in_flight_past_its_timeout_counts_as_unanswered() -> None:
    clock = _Clock(1000.0)
    entered, release = threading.Event(), threading.Event()

    class _Trickling(_SilentKube):
        def get_json(self, path: str, query: Any = None, timeout: Any = None) -> Any:
            entered.set()
            release.wait(5)
            raise ReadError("timeout", "no answer", "check the network path")

    probe = ClusterProbe(CFG, _Trickling(clock, 0.0), clock=clock, timeout=3.0)  # type: ignore[arg-type]
    thread = threading.Thread(target=probe.probe)
    thread.start()
    try:
        assert entered.wait(5)
        assert probe.stale_as_of(1003.0) is None  # within its timeout: not yet
        assert probe.stale_as_of(1003.5) == 1000.0  # past it: stale since it was sent
    finally:
        release.set()
        thread.join(5)
    assert probe.stale_since == 1000.0 and probe.pending_since is None
