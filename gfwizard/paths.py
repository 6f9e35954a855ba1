"""Where things live: the repo checkout, the organization config, the user state directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

CONFIG_ENV = "GFW_CONFIG"
STATE_DIR_ENV = "GFW_STATE_DIR"
REPO_ENV = "GFW_REPO"


def repo_root(start: Path | None = None) -> Path:
    """The GloriousFlywheel checkout: ``$GFW_REPO``, else the nearest parent holding ``tofu/stacks``,
    else the checkout gfwizard itself runs from (an editable install).

    Falls back to the current directory when none looks like a checkout.
    """
    if os.environ.get(REPO_ENV):
        return Path(os.environ[REPO_ENV]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "tofu" / "stacks").is_dir():
            return candidate
    own = Path(__file__).resolve().parent.parent
    if (own / "tofu" / "stacks").is_dir():
        return own
    return here


#: The config paths this process took from ``$GFW_CONFIG`` (not from ``--config``): a message about one names it.
_from_env: set[Path] = set()


def default_config_path() -> Path:
    """``$GFW_CONFIG``, else ``config/organization.yaml`` under the repo root."""
    if os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV]).expanduser()
        _from_env.add(path)
        return path
    return repo_root() / "config" / "organization.yaml"


def config_from_env(path: Path) -> bool:
    """Whether ``path`` is the config path ``$GFW_CONFIG`` gave (so a message about it names ``GFW_CONFIG``)."""
    return path in _from_env


def state_dir() -> Path:
    """The user state directory for journals and transcripts (``$GFW_STATE_DIR`` or XDG)."""
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gfwizard"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) and make ``path`` itself 0700, also when it existed before."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def foreign_dir_problem(path: Path) -> str:
    """Why another local user controls the directory ``path`` (``""`` when only this user does): it belongs
    to someone else, or others may write to it. Whoever controls it can read what is written there with
    the umask's mode and plant links or files (a provider binary in the plugin cache, a journal that is a
    link to one of this user's files) for gfwizard to follow."""
    st = path.stat()
    if st.st_uid != os.geteuid():
        return f"it belongs to another user (uid {st.st_uid}), who could read and plant files in it"
    if st.st_mode & 0o002:
        return (f"every local user may write to it (mode {st.st_mode & 0o7777:04o}) and so plant files or links "
                "in it")
    if st.st_mode & 0o020 and st.st_gid != os.getegid():
        return (f"group {st.st_gid} may write to it (mode {st.st_mode & 0o7777:04o}) and so plant files or links "
                "in it")
    return ""


def own_dir_problem(path: Path) -> str:
    """Create ``path`` when it is missing (0700, whatever the umask; missing parents get the umask's mode)
    and say why it cannot be used as a writable directory of this user's own: a file in the way, no
    permission, another user controls it (:func:`foreign_dir_problem`); ``""`` when it can."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)  # a new one holds journals and transcripts: private
        problem = "" if os.access(path, os.W_OK | os.X_OK) else "not writable"
        return problem or foreign_dir_problem(path)
    except FileExistsError:
        return "it is a file, not a directory"
    except OSError as exc:  # a file further up ("Not a directory"), no permission, a read-only file system
        return exc.strerror or str(exc)


def require_dir(path: Path, what: str, source: str, remedy: str) -> Path:
    """``path`` as a writable directory of this user's own, created (0700) when missing; an :class:`InputError`
    naming ``what`` it is, where it came from (``source``) and why it cannot be used (:func:`own_dir_problem`),
    so a command that needs it stops before it runs or writes anything."""
    from gfwizard.errors import InputError

    problem = own_dir_problem(path)
    if problem:
        raise InputError(f"{what} {path} (from {source}) cannot be used: {problem}; nothing was run", remedy)
    return path


def require_state_dir() -> Path:
    """:func:`state_dir` as a writable directory (see :func:`require_dir`)."""
    source = (f"${STATE_DIR_ENV}" if os.environ.get(STATE_DIR_ENV) else
              "$XDG_STATE_HOME" if os.environ.get("XDG_STATE_HOME") else "the default")
    return require_dir(state_dir(), "the gfwizard state directory", source,
                       f"point {STATE_DIR_ENV} at a writable directory of your own (plans, transcripts, journals and "
                       "the provider cache go there), or unset it to use ~/.local/state/gfwizard")


def cache_state_dir(create: bool = True) -> Path | None:
    """:func:`state_dir` for a cache kept in it: created as :func:`require_state_dir` creates it (0700) when
    ``create`` (to write), only when it already exists otherwise (to read); None when it is missing or cannot be
    used (:func:`own_dir_problem`: another user could have planted the cache or would read it). A cache only
    saves time, so it is then neither read nor written instead of stopping the command."""
    path = state_dir()
    try:
        if not create and not path.is_dir():
            return None
    except OSError:  # a name too long for the file system, a directory above it that cannot be searched
        return None
    return None if own_dir_problem(path) else path


def expand(path: str | Path) -> Path:
    """Expand ``~`` and environment variables in a user-supplied path."""
    return Path(os.path.expandvars(os.path.expanduser(str(path))))


def special_kind(mode: int) -> str:
    """What a file of ``mode`` that is neither a regular file nor a directory is: ``"a FIFO (named pipe)"``,
    ``"a character device"``, ``"a block device"``, ``"a socket"`` or ``"a special file"``."""
    return ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file")
