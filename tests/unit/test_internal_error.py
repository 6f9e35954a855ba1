"""An exception no command handles (a bug) never prints a credential gfwizard knows: its traceback is
redacted on stderr, ``--json`` still gets the documented error object on stdout, and the exit is 1."""

from __future__ import annotations

import json
import secrets
import sys

import pytest

from gfwizard.redact import MASK, register_secret


def _crashing_audit(canary: str) -> object:
    def crash(path: object) -> None:
        raise ValueError(f"Invalid header value b'Bearer {canary}\\n'")

    return crash


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_bug_is_a_redacted_error_exit_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                          as_json: bool) -> None:
    import gfwizard.audit
    from gfwizard.cli import main

    canary = f"CanaryBearer{secrets.token_hex(8)}"
    register_secret(canary)
    monkeypatch.setattr(gfwizard.audit, "audit", _crashing_audit(canary))
    monkeypatch.setattr(sys, "argv", ["gfwizard", "audit", *(["--json"] if as_json else [])])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 1
    out, err = capsys.readouterr()
    assert canary not in out + err
    assert "Traceback (most recent call last):" in err and f"Bearer {MASK}" in err
    message = f"internal error: ValueError: Invalid header value b'Bearer {MASK}\\n'"
    remedy = "this is a gfwizard bug: report it with the traceback above (credentials in it are masked)"
    if as_json:
        assert json.loads(out) == {"error": {"message": message, "remedy": remedy, "exit_code": 1}}
    else:
        assert out == ""
        assert err.splitlines()[-2:] == [f"error: {message}", f"remedy: {remedy}"]
