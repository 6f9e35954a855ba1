"""Text from outside (API objects and errors, S3 lock files, state, logs) made safe for a terminal.

An Event message, a lock's ``Who`` or a pod's log line is written by whoever can create an Event,
write to the bucket or run a pod. Printed as it is, an escape sequence in it clears the screen,
recolours a verdict or moves the cursor, and a newline forges a line of the report. Every control
character (C0, DEL, C1) and every bidirectional override is therefore shown as an escape instead
(``\\x1b``, ``\\n``, ``\\u202e``): visible, unambiguous, inert.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, and the bidi embeddings/overrides/isolates ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The same, except newline and tab (for text that is meant to have several lines).
_UNSAFE_INLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
#: ANSI escape sequences as programs write them to logs: CSI (colours, cursor), OSC (titles, links).
_ANSI = re.compile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line with every control character and bidi override escaped (for a table cell,
    a status line, a field)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def printable_lines(text: str) -> str:
    """``text`` with its newlines and tabs kept and every other control character escaped (for a
    message or report that is meant to span lines)."""
    return _UNSAFE_INLINE.sub(_escape, text) if _UNSAFE_INLINE.search(text) else text


def printable_log(line: str) -> str:
    """One line of a program's log: its colour and cursor sequences dropped (they are decoration, and
    kept they would drive the terminal), tabs expanded, every other control character escaped."""
    return printable(_ANSI.sub("", line).expandtabs())
