"""The one error type for "could not talk to the cluster", with a kind a check can branch on."""

from __future__ import annotations

from typing import Literal

from gfwizard.errors import CheckFailure
from gfwizard.redact import redact

AccessKind = Literal["kubeconfig", "exec", "cert-expired", "unreachable", "timeout", "tls", "unauthorized",
                     "forbidden", "api"]


class ClusterAccessError(CheckFailure):
    """Reading the kubeconfig, getting credentials or calling the API failed.

    ``kind`` says which: ``kubeconfig`` (file/context missing or invalid), ``exec`` (credential plugin
    failed or hung), ``cert-expired``, ``unreachable`` (refused, no route, DNS), ``timeout``, ``tls``,
    ``unauthorized`` (401), ``forbidden`` (403), ``api`` (any other API error). Messages are redacted.
    """

    def __init__(self, kind: AccessKind, message: str, remedy: str, status: int | None = None) -> None:
        super().__init__(redact(message), redact(remedy))
        self.kind: AccessKind = kind
        self.status = status
