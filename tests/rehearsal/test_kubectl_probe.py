"""Asking kubectl its version (the wizard's preflight, doctor) contacts no cluster: ``kubectl version
--client`` would still ask the ambient kubeconfig's server, before any context was chosen."""

from __future__ import annotations

import shutil
from typing import Any

import pytest


@pytest.fixture
def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        pytest.skip("needs kubectl on PATH")
    return found


def test_the_kubectl_version_checks_send_no_request(rehearsal_workspace: Any, kubectl: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.commands.doctor import _kubectl_version
    from gfwizard.preflight import kubectl_check

    ws = rehearsal_workspace
    monkeypatch.setenv("KUBECONFIG", str(ws.kubeconfig_path))  # an ambient kubeconfig that reaches honey
    ws.api.request_log.clear()
    preflight, doctor = kubectl_check(), _kubectl_version(kubectl)
    assert preflight.ok and doctor.ok and "unknown" not in preflight.detail + doctor.detail
    assert ws.api.request_log.entries() == []
