"""How a kubeconfig user authenticates, and when its client certificate expires.

Only the shape of the user entry is read: no exec plugin is ever run, no token or key value ever
leaves this module (the summary carries the kind of auth, the exec command's base name and the
certificate's notAfter, nothing else).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gfwizard.x509_der import first_certificate_der, not_valid_after

#: Exec commands (base names) that are OIDC logins rather than opaque credential plugins.
OIDC_EXEC_COMMANDS = frozenset({"kubelogin", "kubectl-oidc_login", "kubectl-oidc-login", "oidc-login"})


class AuthKind(str, Enum):
    """How a kubeconfig user proves who it is."""

    CERT = "cert"
    TOKEN = "token"
    EXEC = "exec"
    OIDC = "oidc"
    BASIC = "basic"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class UserSummary:
    """What discovery keeps of a kubeconfig user: never a token, key, password or exec argument."""

    auth: AuthKind
    exec_command: str = ""
    cert_expiry: str | None = None
    cert_file: str = ""
    problems: tuple[str, ...] = ()

    def to_cache(self) -> list[Any]:
        """A compact, secret-free form for the on-disk cache."""
        return [self.auth.value, self.exec_command, self.cert_expiry, self.cert_file, list(self.problems)]

    @classmethod
    def from_cache(cls, raw: list[Any]) -> "UserSummary":
        """The inverse of :meth:`to_cache`."""
        return cls(AuthKind(raw[0]), raw[1], raw[2], raw[3], tuple(raw[4]))


def _exec_kind(exec_cfg: dict[str, Any]) -> tuple[AuthKind, str]:
    command = str(exec_cfg.get("command") or "")
    base = os.path.basename(command)
    args = exec_cfg.get("args") or []
    first_arg = str(args[0]) if isinstance(args, list) and args else ""
    if base in OIDC_EXEC_COMMANDS or (base == "kubectl" and first_arg in ("oidc-login", "oidc_login")):
        return AuthKind.OIDC, base
    return AuthKind.EXEC, base


def summarise_user(user: Any, base_dir: str) -> UserSummary:
    """Classify one ``users[].user`` mapping; ``base_dir`` resolves a relative ``client-certificate``."""
    if not isinstance(user, dict):
        return UserSummary(AuthKind.NONE, problems=("user entry is not a mapping",) if user is not None else ())
    problems: list[str] = []
    kind = AuthKind.NONE
    command = ""
    exec_cfg = user.get("exec")
    provider = user.get("auth-provider")
    has_cert = bool(user.get("client-certificate-data") or user.get("client-certificate"))
    if isinstance(exec_cfg, dict):
        kind, command = _exec_kind(exec_cfg)
    elif isinstance(provider, dict):
        name = str(provider.get("name") or "")
        if name == "oidc":
            kind = AuthKind.OIDC
        else:
            kind, command = AuthKind.EXEC, f"auth-provider:{name}"
            problems.append(f"auth-provider {name!r} is not built into kubectl (gcp and azure were removed in 1.26); "
                            "use an exec plugin")
    elif has_cert:
        kind = AuthKind.CERT
    elif user.get("token") or user.get("tokenFile"):
        kind = AuthKind.TOKEN
    elif user.get("username") or user.get("password"):
        kind = AuthKind.BASIC
    if has_cert and not (user.get("client-key-data") or user.get("client-key")):
        problems.append("client certificate without a client key")
    expiry: str | None = None
    cert_file = ""
    data = user.get("client-certificate-data")
    if data:
        expiry, problem = cert_expiry_from_data(str(data))
        if problem:
            problems.append(problem)
    elif user.get("client-certificate"):
        cert_file = os.path.join(base_dir, os.path.expanduser(str(user["client-certificate"])))
    return UserSummary(kind, command, expiry, cert_file, tuple(problems))


def _not_after(raw: bytes) -> dt.datetime:
    return not_valid_after(first_certificate_der(raw) if b"-----BEGIN" in raw else raw)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_expiry_from_data(data: str) -> tuple[str | None, str]:
    """notAfter (ISO 8601 UTC) of a base64 ``client-certificate-data`` value, or ``(None, problem)``."""
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None, "client-certificate-data is not valid base64"
    try:
        return _iso(_not_after(raw)), ""
    except ValueError:
        return None, "client-certificate-data does not hold a readable certificate"


def cert_expiry_from_file(path: str) -> tuple[str | None, str]:
    """notAfter (ISO 8601 UTC) of a ``client-certificate`` file, or ``(None, problem)``."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return None, f"client-certificate file {path}: {exc.strerror or exc}"
    try:
        return _iso(_not_after(raw)), ""
    except ValueError:
        return None, f"client-certificate file {path} does not hold a readable certificate"


def is_expired(expiry: str | None, now: dt.datetime | None = None) -> bool | None:
    """True when an ISO 8601 UTC expiry (``YYYY-MM-DDTHH:MM:SSZ``) lies in the past; None without one."""
    if not expiry:
        return None
    # Both sides use the same fixed-width UTC format, so string order is time order.
    return expiry <= _iso(now or dt.datetime.now(dt.timezone.utc))
