"""The one error type for "could not talk to the cluster", with a kind a check can branch on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from gfwizard.errors import CheckFailure
from gfwizard.redact import redact

if TYPE_CHECKING:
    from gfwizard.cluster_kubeconfig import ContextTarget

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


#: What a TLS failure is blamed on when nothing more specific is known.
CA_REMEDY = ("the server's certificate does not match the kubeconfig's certificate-authority: get honey's current "
             "kubeconfig (or you are talking to another server)")
#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH_CODES = (62, 64)


def _is_name_mismatch(exc: BaseException) -> bool:
    """True when ``exc`` (an ``ssl`` error, or urllib3's wrapping of one) says the certificate is valid, but not
    for the name that was checked."""
    import ssl

    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        if isinstance(item, ssl.SSLCertVerificationError) and item.verify_code in _NAME_MISMATCH_CODES:
            return True
        todo.extend([*item.args, item.__cause__, item.__context__])
    text = str(exc).lower()
    return "hostname mismatch" in text or "ip address mismatch" in text


def tls_error(target: "ContextTarget", exc: BaseException) -> ClusterAccessError:
    """The ``tls`` error for a failed handshake with ``target``'s server. When the certificate is valid but
    not for the name checked, that name is blamed, not the CA: the cluster entry's ``tls-server-name`` when it
    sets one, else the address in its server URL."""
    server = target.server
    if not _is_name_mismatch(exc):
        return ClusterAccessError("tls", f"TLS with {server} failed: {exc}", CA_REMEDY)
    where = target.cluster_where
    if target.tls_server_name:
        return ClusterAccessError(
            "tls", f"TLS with {server} failed: the server's certificate is not valid for {target.tls_server_name!r}, "
                   f"the tls-server-name of cluster {target.cluster_name!r} in {where} ({exc})",
            f"set tls-server-name of cluster {target.cluster_name!r} in {where} to a name in honey's API server "
            "certificate, or remove it so the certificate is checked against the server address (the CA is not "
            "what failed)")
    from urllib.parse import urlsplit

    host = urlsplit(server).hostname or server
    return ClusterAccessError(
        "tls", f"TLS with {server} failed: the server's certificate is not valid for {host}, the address in the "
               f"server URL of cluster {target.cluster_name!r} ({exc})",
        f"use an address the API server's certificate was issued for in the server URL of cluster "
        f"{target.cluster_name!r} in {where} (k3s: add this one with --tls-san and restart it), or set "
        "tls-server-name there to a name the certificate holds (the CA is not what failed)")
