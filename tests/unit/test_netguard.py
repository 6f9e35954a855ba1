"""The test-run network guard refuses non-loopback connections, in-process and in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def test_in_process_connections_to_other_addresses_are_refused_and_recorded(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "guard.log"
    monkeypatch.setenv("GFW_NETGUARD_LOG", str(log))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConnectionRefusedError, match="not loopback"):
            sock.connect(("100.113.89.12", 6443))
    assert "100.113.89.12" in log.read_text()


def test_loopback_stays_reachable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_subprocesses_get_the_guard(tmp_path: Path) -> None:
    log = tmp_path / "guard.log"
    code = ("import socket\ns = socket.socket()\ntry:\n    s.connect(('10.0.0.1', 80))\n"
            "except ConnectionRefusedError as e:\n    print('refused', e)\n")
    env = dict(os.environ, GFW_NETGUARD_LOG=str(log))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert "refused" in out.stdout and "not loopback" in out.stdout
    assert "10.0.0.1" in log.read_text()
