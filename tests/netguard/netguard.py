"""Test-run network guard: a connection to anything but loopback is refused and recorded.

The suite must only ever talk to services it started on 127.0.0.1 (the rehearsal honey, S3, HTTP
state). The root conftest puts this directory on PYTHONPATH, so every Python process of a test run,
subprocesses of the CLI included, refuses other addresses (honey's real tailnet address from the
example config among them) and writes each attempt to $GFW_NETGUARD_LOG; the session fails when
that file is not empty.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _allowed(sock: socket.socket, address: object) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return True
    host = str(address[0]).split("%")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _record(address: object) -> None:
    path = os.environ.get("GFW_NETGUARD_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {address!r}\n")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _allowed(self, address):
        _record(address)
        raise ConnectionRefusedError(111, f"test network guard: {address!r} is not loopback")
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _allowed(self, address):
        _record(address)
        return 111
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
