"""Text from outside (Events, lock files, logs, server errors) never drives the terminal: every
control character and bidi override is shown escaped, in the CLI's text output and in the TUI."""

from __future__ import annotations

import pytest

from gfwizard.textsafe import printable, printable_lines, printable_log
from tests.status_support import fixed_snapshot

HOSTILE = "ok\x1b[2J\x1b[32mALL HEALTHY\x1b[0m\nfake line\r\u202eevil\x9b31m\x00"


def test_printable_escapes_every_control_character_visibly() -> None:
    assert printable(HOSTILE) == "ok\\x1b[2J\\x1b[32mALL HEALTHY\\x1b[0m\\nfake line\\r\\u202eevil\\x9b31m\\x00"
    assert printable("tab\there\x7f") == "tab\\there\\x7f"


@pytest.mark.parametrize("text", ["plain", "héllo ünïcode — ✓ 日本", ""])
def test_printable_leaves_ordinary_text_alone(text: str) -> None:
    assert printable(text) == text and printable_lines(text) == text


def test_printable_lines_keeps_newlines_and_tabs_only() -> None:
    assert printable_lines("line one\n\tline two\x1b[31m red\r") == "line one\n\tline two\\x1b[31m red\\r"


def test_a_log_line_loses_its_colours_and_keeps_its_words() -> None:
    line = "\x1b[32mINFO\x1b[0m\tstarted \x1b]0;new title\x07done \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\ \x07!"
    assert printable_log(line) == "INFO    started done link \\x07!"


def test_status_text_escapes_event_messages_lock_holders_and_errors() -> None:
    from gfwizard.status_model import EventRow, Unreadable
    from gfwizard.status_text import render_text

    snap = fixed_snapshot()
    events = [EventRow(namespace="attic-dev", object="Pod/attic", reason="BackOff", message=HOSTILE, count=1,
                       last_seen=snap.taken_at)]
    locks = [snap.locks[0].model_copy(update={"who": "eve\x1b[31mRED\x1b[0m\nFAKE LINE: all clear"})]
    unreadable = [Unreadable(pane="events", what="events", status=500, detail="boom\x1b[2J\nforged")]
    text = render_text(snap.model_copy(update={"events": events, "locks": locks, "unreadable": unreadable}))
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "ok\\x1b[2J\\x1b[32mALL HEALTHY" in text and "eve\\x1b[31mRED\\x1b[0m\\nFAKE LINE: all clear" in text
    assert "boom\\x1b[2J\\nforged" in text
    assert not [line for line in text.splitlines() if line.startswith(("fake line", "FAKE LINE", "forged"))]
    assert "old-lock: dev/gitlab-runners: held by eve\\x1b[31mRED" in text  # the problem names the holder too


def test_wizard_error_texts_are_escaped_but_keep_their_lines() -> None:
    from gfwizard.errors import CheckFailure
    from screens.app import describe_error
    from screens.error_modal import ErrorModal

    # Every error dialog (both apps' show_error) shows describe_error's texts through ErrorModal, which escapes.
    error = CheckFailure("the server said:\nboom\x1b[2J", remedy="retry\x1b[31m later")
    shown = ErrorModal("t", *describe_error(error))
    assert (shown.message, shown.remedy) == ("the server said:\nboom\\x1b[2J", "retry\\x1b[31m later")
    assert ErrorModal("t", *describe_error(RuntimeError("x\x1b]0;title\x07"))).message == \
        "RuntimeError: x\\x1b]0;title\\x07"
    modal = ErrorModal("t", "a\x1b[2Jb\nc", "r\x9b")
    assert (modal.message, modal.remedy) == ("a\\x1b[2Jb\nc", "r\\x9b")


def test_wizard_remedies_carry_the_config_the_wizard_was_started_with(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    import gfwizard.commands._common as common
    from screens.error_modal import ErrorModal

    monkeypatch.setattr(common, "_explicit_config", Path("/srv/other/organization.yaml"))
    modal = ErrorModal("t", "run `gfwizard validate` first", "then `gfwizard deploy --env dev --resume`")
    assert modal.message == "run `gfwizard validate --config /srv/other/organization.yaml` first"
    assert modal.remedy == "then `gfwizard deploy --env dev --resume --config /srv/other/organization.yaml`"
    monkeypatch.setattr(common, "_explicit_config", None)
    assert ErrorModal("t", "run `gfwizard validate` first", "").message == "run `gfwizard validate` first"
