"""Kubeconfig credentials other local users can read.

kubectl writes kubeconfigs with mode 0600 but never warns about one that has group or other read bits;
helm does. A context whose user entry holds a static credential inline (``token``, ``client-key-data``,
``password``) in such a file, or names a ``tokenFile`` / ``client-key`` file that is itself readable by
others, hands that credential to every local user who can read it. Only the mode is read (``stat``):
nothing here opens, shows or changes the files.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from typing import Any, Mapping

#: Inline user fields that are the credential itself, and how to name each one (never its value).
_INLINE = (("token", "token"), ("client-key-data", "client key (client-key-data)"), ("password", "password"))
#: User fields that name a file holding the credential, and how to name what is in it.
_FILES = (("tokenFile", "token"), ("client-key", "client key"))
#: Group and other read bits.
_SHARED = stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class ExposedCredential:
    """A file holding a credential of the context's user that others than its owner may read."""

    path: str
    mode: int
    #: The credential, by name, never its value: "token", "client key (client-key-data)", "password".
    credential: str
    #: The user field naming ``path`` ("tokenFile", "client-key"); "" when the credential is inline in ``path``.
    reference: str = ""

    def problem(self, named: str = "") -> str:
        """One sentence naming the file, its mode, who can read it and which credential it holds. ``named``:
        a file the sentence before already named (said again as "that file", to keep a wizard row short)."""
        who = "every local user" if self.mode & stat.S_IROTH else "the file's group"
        if self.reference:
            return f"{self.reference} {self.path} is mode {self.mode:04o}: {who} can read the {self.credential} in it"
        subject = "that file" if self.path == named else self.path
        return f"{subject} is mode {self.mode:04o}: {who} can read the {self.credential} it holds inline"


def _shared_mode(path: str) -> int | None:
    """The permission bits of ``path`` when its group or others may read it (None otherwise, or unreadable)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    return mode if mode & _SHARED else None


def exposed_credentials(user: Mapping[str, Any], *, user_file: str, auth_kind: str) -> tuple[ExposedCredential, ...]:
    """The files of a resolved user entry (paths already absolute) that leak its credential to other local
    users. Exec-plugin and auth-provider (OIDC) users are left out: what they keep in the file is not the
    static credential this warning is about."""
    if auth_kind == "exec" or auth_kind == "oidc" or auth_kind.startswith("auth-provider"):
        return ()
    out: list[ExposedCredential] = []
    inline = [label for key, label in _INLINE if isinstance(user.get(key), str) and user.get(key)]
    if inline and user_file:
        mode = _shared_mode(user_file)
        if mode is not None:
            out.append(ExposedCredential(user_file, mode, " and ".join(inline)))
    for key, label in _FILES:
        path = user.get(key)
        if not path or (key == "client-key" and user.get("client-key-data")):
            continue  # client-key-data wins over client-key: the file is not what is sent
        mode = _shared_mode(str(path))
        if mode is not None:
            out.append(ExposedCredential(str(path), mode, label, reference=key))
    return tuple(out)


def exposure_note(exposed: tuple[ExposedCredential, ...], named: str = "") -> tuple[str, str]:
    """``(detail, remedy)`` for :func:`exposed_credentials` (empty strings when there is none); ``named`` as
    for :meth:`ExposedCredential.problem`."""
    if not exposed:
        return "", ""
    paths = list(dict.fromkeys(e.path for e in exposed))
    # Just the command: the detail says why, and at 80x24 the wizard's detail box has no line to spare.
    return "; ".join(e.problem(named) for e in exposed), f"chmod 600 {' '.join(shlex.quote(p) for p in paths)}"
