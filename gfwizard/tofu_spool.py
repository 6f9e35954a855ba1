"""Where the IaC binary writes its output: an unlinked temp file that gfwizard tails.

A pipe would tie the binary's life to gfwizard's: if gfwizard is killed, the pipe breaks and the
binary dies of SIGPIPE at its next line of output (Go programs exit on a broken stdout even with
SIGPIPE ignored), in the middle of an apply, with state unsaved and the lock left behind. A file
cannot break: the binary keeps writing, finishes, saves state and releases the lock on its own.

The file is unlinked before the binary starts, so its raw (not yet redacted) output never exists
under a name anyone could find or a later scan could read, and the space is freed with the last
descriptor. gfwizard redacts every line it reads before showing or saving it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

_CHUNK = 1 << 16


class Spool:
    """One output stream of one child process."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".gfw-spool-", dir=directory)
        try:
            #: The descriptor to hand to the child (append-only, so its writes never race our reads).
            self.write_fd: int | None = os.open(name, os.O_WRONLY | os.O_APPEND)
        except OSError:
            os.close(fd)
            raise
        finally:
            os.unlink(name)
        self._read_fd: int | None = fd
        self._partial = b""

    def close_writer(self) -> None:
        """Close our copy of the write end (after the child has inherited it)."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def read(self) -> bytes:
        """Everything written since the last read."""
        if self._read_fd is None:
            return b""
        chunks: list[bytes] = []
        while True:
            chunk = os.read(self._read_fd, _CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def lines(self, final: bool = False) -> list[str]:
        """Complete lines written since the last call; ``final`` also returns an unterminated last line."""
        parts = (self._partial + self.read()).split(b"\n")
        self._partial = parts.pop()
        if final and self._partial:
            parts.append(self._partial)
            self._partial = b""
        return [p.decode("utf-8", "replace").rstrip("\r") for p in parts]

    def close(self) -> None:
        """Close both descriptors (the file's space is freed once the child has closed its copy)."""
        self.close_writer()
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
