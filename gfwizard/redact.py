"""One redaction function for every output path: logs, transcripts, journals, errors, JSON.

Known secret shapes are matched by pattern; values that are only known at run time (the AWS
secret key in the environment, a token read from a kubeconfig, a sensitive tfvar) are registered
with :func:`register_secret` and replaced wherever they appear.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from typing import Iterable, Mapping

MASK = "[REDACTED]"

#: Environment variables whose values are secrets whenever they are set.
SECRET_ENV_VARS: tuple[str, ...] = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "TF_HTTP_PASSWORD",
    "GFW_HTTP_STATE_PASSWORD",
    "GITLAB_TOKEN",
    "GITLAB_PAT",
    "GL_TOKEN",
    "CI_JOB_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "KUBE_TOKEN",
)

#: Words that make a variable, flag or field name a secret's name (``VAULT_TOKEN``, ``--client-secret``).
SECRET_NAME_WORDS: tuple[str, ...] = ("token", "password", "passwd", "secret", "key", "credential")


def is_secret_name(name: str) -> bool:
    """Whether ``name`` (an environment variable, a command-line flag, a field) names a secret."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_NAME_WORDS)


_KEYVAL_NAMES = (
    r"client-key-data|client_key_data|token|id-token|id_token|refresh-token|refresh_token|password|passwd|"
    r"secret|secret[_-]?access[_-]?key|aws_secret_access_key|aws_session_token|session[_-]?token|"
    r"tf_http_password|private[_-]?key|api[_-]?key|access[_-]?token|client[_-]?secret|registration[_-]?token"
)

#: A field (a JSON or YAML key) whose name ends with one of :data:`_KEYVAL_NAMES` as a whole word, as the text
#: redactor finds it before a ``:`` or ``=``.
_SECRET_KEY = re.compile(r"\b(?:" + _KEYVAL_NAMES + r")\Z", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)  # a pure test of names that repeat in every document
def is_secret_key(key: str) -> bool:
    """Whether the field named ``key`` holds a secret whatever its value looks like: exactly the names whose
    ``name: value`` :meth:`Redactor.redact` masks in text (``password``, ``client-secret``,
    ``AWS_SECRET_ACCESS_KEY``; not ``password_file`` or an S3 object's ``key``)."""
    return _SECRET_KEY.search(key) is not None


_GITLAB_PREFIXES = ("glpat", "gldt", "glrt", "glptt", "glcbt", "glft", "glsoat", "glimt", "gloas")

#: (pattern, replacement, triggers): a pattern runs only when one of its lower-case trigger substrings
#: is in the text, so ordinary log lines (the vast majority) cost a few substring tests, not regex scans.
_PATTERNS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    # Authorization headers of any scheme, and bare bearer tokens.
    (re.compile(r"(?i)(authorization\s*[:=]\s*\"?)(bearer|basic|token|aws4-hmac-sha256)?\s*[^\s\",]+(?:[^\"\n]*)"),
     r"\1" + MASK, ("authorization",)),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1" + MASK, ("bearer",)),
    # GitLab tokens (personal, deploy, runner, trigger, CI job) and GitHub tokens.
    (re.compile(r"\b(?:" + "|".join(_GITLAB_PREFIXES) + r")-[A-Za-z0-9_\-]{16,}"), MASK,
     tuple(f"{p}-" for p in _GITLAB_PREFIXES)),
    (re.compile(r"\bGR1348941[A-Za-z0-9_\-]{16,}"), MASK, ("gr1348941",)),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"), MASK, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}"), MASK, ("github_pat_",)),
    # AWS access key ids.
    (re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b"), MASK, ("akia", "asia", "aroa", "aida")),
    # Passwords in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]+:)([^\s@/]+)(@)"), r"\1" + MASK + r"\3", ("://",)),
    # PEM private keys.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"), MASK,
     ("private key",)),
    # JSON Web Tokens (service-account, OIDC id and exec-plugin tokens) wherever they stand: a JOSE header
    # and a payload both start with base64url '{"' (eyJ).
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"), MASK, ("eyj",)),
)


# A secret's name followed by its value after a space, as in prose ("invalid token 3f9a...", "login with
# password Xy7..."): masked only when the value is credential-shaped (see credential_shaped), so ordinary
# words ("token expired", "the token file /x is missing") stay readable. ``key: value`` forms are _KEYVAL's.
_SPACED = re.compile(r"(?i:\b(?:token|password|passwd|secret)s?)[ \t]+[\"'`]?([A-Za-z0-9+/=_.~\-]{20,})")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]{32,}")
_BOOTSTRAP_TOKEN = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")


def credential_shaped(value: str) -> bool:
    """Whether a bare word looks like a generated credential rather than prose, a path or a version: 32+
    hex digits, a Kubernetes bootstrap token, or 20+ characters mixing upper case, lower case and digits
    (base64, base64url, JWT). Paths (leading ``/``, ``.`` or ``~``) never are."""
    if value[0] in "/.~":
        return False
    if _HEX_TOKEN.fullmatch(value) or _BOOTSTRAP_TOKEN.fullmatch(value):
        return True
    return (len(value) >= 20 and any(c.isdigit() for c in value) and any(c.islower() for c in value)
            and any(c.isupper() for c in value))


def _spaced_spans(text: str) -> list[tuple[int, int]]:
    return [m.span(1) for m in _SPACED.finditer(text) if credential_shaped(m.group(1))]


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(MASK)
        last = end
    out.append(text[last:])
    return "".join(out)


# key: value / key=value / "key": "value" for secret-named keys (YAML, env, JSON, HCL). Matched on the
# lower-cased text without re.IGNORECASE (ten times faster), then masked by position in the original.
_KEYVAL_HINT = re.compile(r"(?:token|passw|secret|key|data)[\w-]*[\"']?\s*(?:[:=])")
_KEYVAL = re.compile(
    r"(\b(?:" + _KEYVAL_NAMES + r")\b\"?\s*(?:[:=]|=>)\s*)(?!\[redacted\])(\"[^\"]*\"|'[^']*'|[^\s,;}\]]+)"
)
_KEYVAL_ANYCASE = re.compile(_KEYVAL.pattern, re.IGNORECASE)


def _value_span(match: re.Match[str]) -> tuple[int, int]:
    # A quoted value keeps its quotes (``"password": "[REDACTED]"``): JSON, YAML and HCL stay well-formed,
    # so a redacted ``-json`` line or ``--json`` document still parses.
    start, end = match.span(2)
    if end - start >= 2 and match.group(2)[0] in "\"'":
        return start + 1, end - 1
    return start, end


def _redact_keyvals(text: str, lowered: str) -> str:
    if len(lowered) != len(text):  # a few non-ASCII characters change length when lower-cased
        matches = list(_KEYVAL_ANYCASE.finditer(text))
    else:
        matches = list(_KEYVAL.finditer(lowered))
    spans = [span for span in map(_value_span, matches) if span[1] > span[0]]  # "" hides nothing
    return _mask_spans(text, spans) if spans else text


def secret_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every value in ``text`` that :meth:`Redactor.redact` masks by pattern (known
    token shapes and secret-named keys; registered run-time values aside), in order.

    The audit uses this to find credential literals committed to a checkout; a span may still be a
    placeholder such as ``${{ secrets.X }}`` (the caller judges that).
    """
    spans: list[tuple[int, int]] = []
    for pattern, repl, _ in _PATTERNS:
        for m in pattern.finditer(text):
            # a replacement that keeps \\1 (and \\3) keeps those groups: the secret lies between them
            start = m.end(1) if repl.startswith("\\1") else m.start()
            end = m.start(3) if repl.endswith("\\3") else m.end()
            if end > start:
                spans.append((start, end))
    spans += _spaced_spans(text)
    keyval = _KEYVAL if len(text.lower()) == len(text) else _KEYVAL_ANYCASE
    for m in keyval.finditer(text.lower() if keyval is _KEYVAL else text):
        spans.append(m.span(2))
    return sorted(set(spans))


class Redactor:
    """Replaces secrets in text. Thread-safe; registered values apply to every later call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._registered: re.Pattern[str] | None = None

    def register(self, *values: str | None) -> None:
        """Treat each value as a secret from now on (short values are ignored: too many false hits)."""
        added = False
        with self._lock:
            for value in values:
                if value and len(value) >= 6 and value not in self._values:
                    self._values.add(value)
                    added = True
            if added:
                ordered = sorted(self._values, key=len, reverse=True)
                self._registered = re.compile("|".join(re.escape(v) for v in ordered))

    def register_env(self, env: Mapping[str, str] | None = None) -> None:
        """Register the values of the well-known secret environment variables."""
        env = os.environ if env is None else env
        self.register(*(env.get(name) for name in SECRET_ENV_VARS))

    def clear(self) -> None:
        """Forget every registered value (tests use this)."""
        with self._lock:
            self._values.clear()
            self._registered = None

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret replaced by ``[REDACTED]``."""
        if not text:
            return text
        registered = self._registered
        if registered is not None:
            text = registered.sub(MASK, text)
        lowered = text.lower()
        for pattern, repl, triggers in _PATTERNS:
            for trigger in triggers:  # a plain loop: any() over a generator costs more than the tests
                if trigger in lowered:
                    text = pattern.sub(repl, text)
                    lowered = text.lower()
                    break
        if "token" in lowered or "passw" in lowered or "secret" in lowered:  # _SPACED's words, without a generator
            spans = _spaced_spans(text)
            if spans:
                text = _mask_spans(text, spans)
                lowered = text.lower()
        if _KEYVAL_HINT.search(lowered):
            text = _redact_keyvals(text, lowered)
        return text

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        """Redact each line."""
        return [self.redact(line) for line in lines]


_default = Redactor()
_default.register_env()


def redact(text: str) -> str:
    """Redact ``text`` with the process-wide redactor."""
    return _default.redact(text)


def register_secret(*values: str | None) -> None:
    """Register run-time secrets with the process-wide redactor."""
    _default.register(*values)


def register_env_secrets(env: Mapping[str, str] | None = None) -> None:
    """Register the secret environment variables of ``env`` (default: this process)."""
    _default.register_env(env)


def default_redactor() -> Redactor:
    """The process-wide redactor."""
    return _default
