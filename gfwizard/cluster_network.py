"""Network policy of the API server address, and the server-URL comparison.

``tailnet``: the host is a Tailscale address (100.64.0.0/10, fd7a:115c:a1e0::/48) or a ``*.ts.net``
name. ``private``: RFC 1918 / ULA addresses, or tailnet. ``loopback``: 127.0.0.0/8 / ::1 only — the
embedded rehearsal honey. A public address always fails: honey's API is never reached over the
internet. Names other than ``*.ts.net`` and ``localhost`` are resolved (with a deadline) and every
address they resolve to must pass.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Literal
from urllib.parse import urlsplit

from gfwizard.checks import Check, failed, passed

AddressClass = Literal["loopback", "tailnet", "private", "public"]

TAILNET_NETWORKS = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("fd7a:115c:a1e0::/48"))
PRIVATE_NETWORKS = (
    ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("fc00::/7"),
)
NAME = "network"


def classify_address(address: str) -> AddressClass:
    """loopback, tailnet, private (RFC 1918 / ULA) or public, for one IP address literal."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_loopback:
        return "loopback"
    if any(ip in net for net in TAILNET_NETWORKS if net.version == ip.version):
        return "tailnet"
    if any(ip in net for net in PRIVATE_NETWORKS if net.version == ip.version):
        return "private"
    return "public"


def _resolve(host: str, timeout: float) -> list[str]:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["addrs"] = sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name="gfwizard-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"resolving {host} took longer than {timeout:g}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["addrs"]  # type: ignore[return-value]


def host_classes(host: str, timeout: float) -> dict[str, AddressClass]:
    """Each address ``host`` stands for, classified. ``*.ts.net`` and ``localhost`` are not resolved."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost":
        return {host: "loopback"}
    if lowered.endswith(".ts.net"):
        return {host: "tailnet"}
    try:
        return {host: classify_address(host)}
    except ValueError:
        pass
    return {addr: classify_address(addr) for addr in _resolve(host, timeout)}


#: How to change the API server or the network when there is no organization.yaml yet: the wizard drafts one
#: with honey's and asks neither (only ``config init --plain`` does), so no field of a file can be corrected.
NEW_CONFIG_REMEDY = ("there is no organization.yaml yet to correct, so write it first with `gfwizard config init "
                     "--plain` (it asks the API server and the network), then start the wizard again "
                     "(`gfwizard wizard`)")


def network_check(server: str, network: str, timeout: float = 3.0, *, new_config: bool = False) -> Check:
    """Does the API server address fit ``cluster.network``? ``new_config``: no organization.yaml exists yet
    (see :data:`NEW_CONFIG_REMEDY`)."""
    host = urlsplit(server).hostname or ""
    if not host:
        return failed(NAME, f"server {server!r} has no host", "fix the server URL of the context's cluster")
    try:
        classes = host_classes(host, timeout)
    except (OSError, TimeoutError) as exc:
        return failed(NAME, f"cannot resolve {host}: {exc}",
                      "use the API's IP address or a *.ts.net name (MagicDNS) in the kubeconfig")
    kinds = set(classes.values())
    shown = ", ".join(f"{a} ({c})" for a, c in classes.items())
    if "public" in kinds:
        return failed(NAME, f"{host} is a public address ({shown}): honey's API is private and never reached over "
                            "the internet", "use honey's tailnet address (tailscale ip -4 honey) or its LAN address")
    if network == "loopback":
        if kinds == {"loopback"}:
            return passed(NAME, f"{host} is loopback: the rehearsal honey")
        return failed(NAME, f"cluster.network is 'loopback' (rehearsal) but {host} is not loopback ({shown})",
                      "loopback is only for the embedded rehearsal; set cluster.network to tailnet or private")
    if "loopback" in kinds:
        return failed(NAME, f"{host} is a loopback address, allowed only in rehearsal (cluster.network: loopback)",
                      "point the context at honey's tailnet address, or use `gfwizard rehearse` for a rehearsal")
    if network == "tailnet":
        if kinds == {"tailnet"}:
            return passed(NAME, f"{host} is on the tailnet ({shown})")
        return failed(NAME, f"{host} is not on the tailnet ({shown}); cluster.network is 'tailnet' "
                            "(100.64.0.0/10 or a *.ts.net name)",
                      "use honey's tailnet address in the kubeconfig, or " + (
                          f"if honey is reached over the LAN: {NEW_CONFIG_REMEDY}" if new_config else
                          "set cluster.network: private if honey is reached over the LAN"))
    return passed(NAME, f"{host} is private ({shown})")


def normalise_server(url: str) -> str:
    """Scheme and host lower-cased, the default port made explicit, no trailing slash."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return url.strip().rstrip("/")
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}:{port}{parts.path.rstrip('/')}"


def other_context_remedy(context: str, configured: str) -> str:
    """The remedy of a failing check of a context that is not the configured one: validate that one."""
    return f"validate the configured context {configured!r} (--context {configured}); {context!r} is not honey"


def server_check(server: str, expected: str, context: str, kubeconfig: str,
                 configured_context: str | None = None, *, new_config: bool = False) -> Check:
    """The context's server must be the configured ``cluster.api_server`` (``new_config``: honey's default
    in the wizard's draft, no organization.yaml existing yet)."""
    if normalise_server(server) == normalise_server(expected):
        return passed("server", f"context {context!r} points at {server}, the configured api_server")
    if configured_context is not None and context != configured_context:
        # Another context altogether (a legacy one, say): repointing it would be the wrong fix.
        return failed("server", f"context {context!r} points at {server}, not at honey's api_server {expected}",
                      other_context_remedy(context, configured_context))
    return failed("server", f"context {context!r} points at {server}, but cluster.api_server is {expected}: "
                            "a context with the right name that reaches another server",
                  f"use a kubeconfig whose {context!r} context points at {expected} (fix the cluster's server in "
                  f"{kubeconfig}), or " + (f"if honey is reached at {server}: {NEW_CONFIG_REMEDY}" if new_config else
                                           "correct cluster.api_server in organization.yaml if honey's address "
                                           "changed"))


def same_cluster_server_remedy(server: str, expected: str, context: str, configured_context: str, *,
                               new_config: bool = False) -> str:
    """The ``server`` remedy when the fingerprint proves the context reaches honey, at another address."""
    other = f"use the context that names it (--context {configured_context})" if context != configured_context else \
        "point the context's cluster at it"
    change = (f"if that is how honey is to be reached: {NEW_CONFIG_REMEDY}" if new_config else
              f"set cluster.api_server to {server} if that is how honey is to be reached")
    return (f"the fingerprint matches, so {context!r} reaches honey, but at {server}, not at cluster.api_server "
            f"{expected}: {other}, or {change}")


def wrong_context_remedy(context: str, context_file: str, server: str, expected: str, merged: bool,
                         network_remedy: str) -> str:
    """The ``network`` remedy when the context also points away from ``cluster.api_server``: the context
    (or the kubeconfig that defines it) is the likely cause, the network setting only second."""
    order = (f"; with several kubeconfig files the first to define {context!r} wins, so reorder KUBECONFIG or "
             "drop that file" if merged else "")
    return (f"likely the context: {context!r} in {context_file} points at {server}, not at cluster.api_server "
            f"{expected}; fix its server there or use the kubeconfig that names {expected}{order}. "
            f"If the context is right: {network_remedy}")


def reach_hint(server: str) -> str:
    """What to check on the way to ``server``, by the kind of address it names (no name lookup)."""
    host = (urlsplit(server).hostname or "").lower().rstrip(".")
    if host == "localhost":
        kind: str = "loopback"
    elif host.endswith(".ts.net"):
        kind = "tailnet"
    else:
        try:
            kind = classify_address(host)
        except ValueError:
            kind = "name"
    if kind == "loopback":
        return "is the rehearsal still running? `gfwizard rehearse --serve` starts one"
    if kind == "tailnet":
        return "tailscale status"
    if kind == "private":
        return "the LAN route to honey"
    return "tailscale status, or the LAN route to honey"
