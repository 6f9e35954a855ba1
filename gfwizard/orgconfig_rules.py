"""The rules of ``organization.yaml`` that are not plain types: names, URLs, node roles, legacy
contexts and credentials. Plain functions, so the model, the loader and the wizard's form (and
``config init --plain``) all validate answers the same way."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

from gfwizard.textfit import elide

#: Node roles inside honey that are always known, even when ``placement.roles`` does not list them.
WELL_KNOWN_ROLES: frozenset[str] = frozenset({"bumble", "sting"})

#: Contexts of the Civo era: compatibility only, never a deploy target.
WELL_KNOWN_LEGACY: frozenset[str] = frozenset({"tinyland-civo-dev"})

#: Where credentials come from instead of this file (said in every credential error).
CREDENTIALS_HINT = (
    "credentials come from the AWS environment/profile or kubeconfig (HTTP state: TF_HTTP_PASSWORD), "
    "never this file"
)

# Used with fullmatch only: "$" also matches before a final newline, so "dev\n" would pass as a name.
#: Shared by the validators (fullmatch) and the JSON Schema patterns (anchored there).
SLUG_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
BUCKET_PATTERN = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
#: What S3 reserves besides the characters (AWS refuses these names; a bucket created elsewhere under one of
#: them could not move to AWS): an IP address, and the prefixes and suffixes of access points and aliases.
BUCKET_RESERVED = (r"(?!\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$)(?!xn--)(?!sthree-)(?!amzn-s3-demo-)"
                   r"(?!.*(?:-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$)")
_SLUG = re.compile(SLUG_PATTERN)
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_BUCKET = re.compile(BUCKET_PATTERN)
_BUCKET_RESERVED = re.compile(BUCKET_RESERVED)
# Its "$" only widens a refusal (the kubeconfig classifier's twin pattern has the same one).
_GITLAB_AGENT = re.compile(r"^[^\s:]+/[^\s:]+:[^\s:]+$")

_SECRET_KEY_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "credential", "privatekey", "apikey",
    "accesskey", "clientkey", "sessionkey",
)
_SECRET_KEY_EXACT = frozenset({"pwd", "pat", "auth"})

_HEADER_VALUE = "an Authorization header value"
_AWS_SECRET = "an AWS secret access key"
#: An AWS secret access key's shape: 40 characters of [A-Za-z0-9/+], standing alone, with an upper-case letter,
#: a lower-case letter and a digit among them (a hex digest has no capitals, a name no '/' run this long).
AWS_SECRET_ACCESS_KEY_PATTERN = (r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
                                 r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
#: What to do about an AWS secret access key found in the file (said with the problem: it may have leaked).
AWS_SECRET_REMEDY = ("remove it; if the file was shared (committed, pushed, sent), rotate the key; credentials come "
                     "from the AWS environment/profile (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)")

_SECRET_VALUES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:glpat|gldt|glrt|glptt|glcbt|glft|glsoat|glimt|gloas)-[A-Za-z0-9_\-]{16,}"), "a GitLab token"),
    (re.compile(r"\bGR1348941[A-Za-z0-9_\-]{16,}"), "a GitLab runner token"),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{40,}"), "a GitHub token"),
    (re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:[^\s@/]+@"), "a URL with a password"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\."), "a JSON Web Token (JWT)"),
    (re.compile(r"(?i)^\s*(?:bearer|basic)\s+\S{8,}"), _HEADER_VALUE),
    (re.compile(AWS_SECRET_ACCESS_KEY_PATTERN), _AWS_SECRET),
)


#: How much of an offending value a message quotes: a pasted page would fill the screen, and the start and
#: end are what the operator recognises.
SHOWN_VALUE_CHARS = 60
#: A URL's part is its meaning (a state address names the project), so more of it is quoted.
URL_SHOWN_CHARS = 100


def shown_value(value: str, limit: int = SHOWN_VALUE_CHARS) -> str:
    """``value`` quoted for a message: whole when short, else cut in the middle to ``limit`` characters and
    followed by its length (``'aaaa…zzzz' (300 characters)``)."""
    if len(value) <= limit:
        return repr(value)
    return f"{elide(value, limit, middle=True)!r} ({len(value)} characters)"


def shown_url_value(value: str) -> str:
    """A URL quoted for a message: :func:`shown_url`, cut to :data:`URL_SHOWN_CHARS` when longer."""
    return shown_value(shown_url(value), URL_SHOWN_CHARS)


def check_slug(value: str, what: str) -> str:
    """``value`` if it is a lowercase DNS-label name (a-z, 0-9, '-'), else ValueError naming ``what``."""
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{what} {shown_value(value)} must be a lowercase name of letters, digits and '-' (1-63 characters, "
            "starting and ending with a letter or digit)"
        )
    return value


def check_api_server(value: str) -> str:
    """``value`` if it is an ``https://host[:port]`` URL, else ValueError."""
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError(f"api_server must start with https:// (got {shown_url_value(value)}); the Kubernetes API "
                         "is TLS only")
    _check_url_parts(value, parts, "api_server", shown_url(value))
    return value


def check_http_url(value: str, what: str, shown: str | None = None) -> str:
    """``value`` if it is an ``http://`` or ``https://`` URL without credentials, else ValueError; messages
    show ``shown`` (default ``value``) without its query or fragment (see :func:`shown_url`)."""
    shown = shown_url(value if shown is None else shown)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{what} must be an http:// or https:// URL (got {shown_value(shown, URL_SHOWN_CHARS)})")
    _check_url_parts(value, parts, what, shown)
    return value


def shown_url(value: str) -> str:
    """``value`` as a message may show it: a query or fragment (which may hold a token) becomes ``?…`` / ``#…``,
    and user information before the host (``user:password@``, or a token as the user name) becomes ``…@``."""
    cut = min((i for i in (value.find("?"), value.find("#")) if i >= 0), default=-1)
    shown = value if cut < 0 else value[:cut + 1] + "…"
    scheme_end = shown.find("://")
    start = scheme_end + 3 if scheme_end >= 0 else 0
    authority_end = min((i for i in (shown.find("/", start), shown.find("?", start)) if i >= 0), default=len(shown))
    at = shown.rfind("@", start, authority_end)
    return shown if at < 0 else shown[:start] + "…" + shown[at:]


def _check_url_parts(value: str, parts: Any, what: str, shown: str) -> None:
    got = shown_value(shown, URL_SHOWN_CHARS)  # the URL as the messages quote it (password out, long ones cut)
    if parts.password is not None:
        raise ValueError(secret_value_reason(value) or f"{what} must not carry a password; {CREDENTIALS_HINT}")
    if parts.username is not None:
        raise ValueError(f"{what} must not carry a user name (user@host); {CREDENTIALS_HINT}")
    if not parts.hostname:
        raise ValueError(f"{what} has no host (got {got})")
    if _has_space_or_control(value):
        raise ValueError(f"{what} must not contain spaces or control characters (got {got})")
    if not re.fullmatch(r"[A-Za-z0-9._\-]+|\[[0-9A-Fa-f:.]+\]", parts.netloc.rsplit(":", 1)[0]
                        if not parts.netloc.startswith("[") else parts.netloc.split("]")[0] + "]"):
        raise ValueError(f"{what} has an invalid host {shown_value(parts.hostname or '')} (letters, digits, '.' "
                         f"and '-', or an IP address; got {got})")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"{what} has an invalid port (got {got})") from None
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not have a query or fragment (got {got}); remove it")


def ip_kind(host: str) -> str | None:
    """``loopback``, ``tailnet``, ``private`` or ``public`` for an IP literal (the validate network check's
    classes); None for a name (it would need DNS, which validating a file never does)."""
    from gfwizard.cluster_network import classify_address

    try:
        return classify_address(host.strip("[]"))
    except ValueError:
        return None


def url_host(value: str) -> str:
    """The host of a URL ('' when there is none)."""
    try:
        return urlsplit(value).hostname or ""
    except ValueError:
        return ""


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def public_api_server_reason(api_server: str, network: str) -> str | None:
    """Why ``api_server`` cannot be honey's API because its host is a public IP address (None when it is not
    one); ``network`` is the configured ``cluster.network``, named in the message."""
    return _public_host_reason(api_server, "honey's API", network)


def public_endpoint_reason(endpoint: str, network: str) -> str | None:
    """Why ``state.s3.endpoint`` cannot be the state store (RustFS on honey) because its host is a public IP
    address (None when it is not one); the same rule as :func:`public_api_server_reason`."""
    return _public_host_reason(endpoint, "the state store (RustFS on honey)", network)


def _public_host_reason(url: str, what: str, network: str) -> str | None:
    # Only IP literals are judged: a name would need DNS, which validating a file never does.
    host = url_host(url)
    if ip_kind(host) != "public":
        return None
    return (f"{host} is a public address: {what} is private ({network}) and never reached over the "
            "internet; use its tailnet or LAN address")


def loopback_network_reason(api_server: str, network: str) -> str | None:
    """Why ``network`` does not fit ``api_server`` (None when it does): ``loopback`` is only for the rehearsal,
    whose API server is a loopback address."""
    host = url_host(api_server)
    if network != "loopback" or is_loopback_host(host):
        return None
    return f"'loopback' is the rehearsal network, but api_server's host {shown_value(host)} is not a loopback address"


def check_bucket(value: str) -> str:
    """``value`` if it is a valid S3 bucket name, else ValueError."""
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ValueError(f"bucket {shown_value(value)} is not a valid S3 bucket name (3-63 characters: lowercase "
                         "letters, digits, '.' and '-', starting and ending with a letter or digit): "
                         f"{_bucket_fault(value)}")
    if not _BUCKET_RESERVED.match(value):
        raise ValueError(f"bucket {shown_value(value)} is not a valid S3 bucket name (S3 reserves names shaped "
                         "like an IP address, starting xn--, sthree- or amzn-s3-demo-, or ending -s3alias, --ol-s3, "
                         ".mrap, --x-s3 or --table-s3)")
    return value


def _bucket_fault(value: str) -> str:
    """Which bucket rule ``value`` breaks, said so the operator knows what to change ('a..bc' keeps to the
    allowed characters, so naming them alone leaves the mistake unsaid)."""
    if not 3 <= len(value) <= 63:
        return f"it has {len(value)} character{'s' if len(value) != 1 else ''}"
    bad = [ch for ch in value if not re.fullmatch(r"[a-z0-9.-]", ch)]
    if bad and all("A" <= ch <= "Z" for ch in bad):
        return f"capital letters are not allowed: write {shown_value(value.lower())}"
    if bad:
        return f"{next(ch for ch in bad if not 'A' <= ch <= 'Z')!r} is not allowed"
    if ".." in value:
        return "two '.' in a row are not allowed"
    edge, end = (value[0], "starts") if not value[0].isalnum() else (value[-1], "ends")
    return f"it {end} with {edge!r}"


def _has_space_or_control(value: str) -> bool:
    return any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value)


def check_region(value: str) -> str:
    """``value`` if it looks like a region name (lowercase letters, digits and '-', e.g. ``us-east-1``), else
    ValueError. RustFS accepts any region, so this is kept permissive; it refuses URLs, spaces and capitals."""
    if not _REGION.fullmatch(value):
        raise ValueError(f"region {shown_value(value)} must be a region name of lowercase letters, digits and '-' "
                         "(1-63 characters, e.g. us-east-1), not a URL")
    return value


def check_key_prefix(value: str) -> str:
    """``value`` if it is a usable state key prefix, else ValueError."""
    if not value or value.startswith("/") or value.endswith("/") or "//" in value or _has_space_or_control(value):
        raise ValueError(
            f"key_prefix {shown_value(value)} must be non-empty, without spaces or control characters, and not start "
            "or end with '/' (state keys are {key_prefix}/{env}/{stack}.tfstate)"
        )
    return value


def check_context(value: str) -> str:
    """``value`` if it can name a kubeconfig context, else ValueError: not blank, no space or tab at either end
    (a pasted ``honey `` names no context, and the quotes that show it are easy to miss), no control character."""
    if not value.strip():
        raise ValueError("context must not be empty")
    _check_untrimmed(value, "context")
    return value


def check_kubeconfig_path(value: str) -> str:
    """``value`` if it can be the kubeconfig file's path (empty: the ambient KUBECONFIG), else ValueError: no space
    or tab at either end (`` ~/x.yaml`` is no file in the home directory), no control character."""
    if value:
        _check_untrimmed(value, "kubeconfig")
    return value


def _check_untrimmed(value: str, what: str) -> None:
    if value != value.strip():
        raise ValueError(f"{what} {shown_value(value)} starts or ends with a space: remove it "
                         f"({shown_value(value.strip())} is meant, most likely)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{what} {shown_value(value)} holds a control character")


def check_tfvars(value: str) -> str:
    """``value`` if it is a relative ``*.tfvars`` / ``*.tfvars.json`` path inside the stack dir, else ValueError."""
    path = PurePosixPath(value)
    if (not value.endswith((".tfvars", ".tfvars.json")) or path.is_absolute() or ".." in path.parts
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in value)):
        raise ValueError(
            f"tfvars {shown_value(value)} must be a relative *.tfvars or *.tfvars.json file inside the stack directory"
        )
    return value


def check_http_address(value: str, what: str) -> str:
    """An HTTP state address: a URL whose only placeholders are ``{stack}`` and ``{env}``."""
    placeholders = set(re.findall(r"\{([^{}]*)\}", value))
    unknown = sorted(placeholders - {"stack", "env"})
    if unknown:
        raise ValueError(f"{what} may only use the placeholders {{stack}} and {{env}} (found {{{unknown[0]}}})")
    missing = [name for name in ("stack", "env") if name not in placeholders]
    if missing:
        raise ValueError(f"{what} must contain {{stack}} and {{env}} (missing {{{missing[0]}}}): without them "
                         "stacks or environments would share one state")
    check_http_url(value.replace("{stack}", "stack").replace("{env}", "env"), what, shown=value)
    return value


def kubeconfig_stem(path: str) -> str:
    """The cluster-ish name a kubeconfig file name suggests: ``kubeconfig-bumble.yaml`` -> ``bumble``."""
    stem = PurePosixPath(path.replace("\\", "/")).name
    for suffix in (".yaml", ".yml", ".conf", ".config"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for prefix in ("kubeconfig-", "kubeconfig_", "kubeconfig."):
        if stem.startswith(prefix):
            return stem[len(prefix):]
    return stem


def is_legacy_name(name: str, legacy: Iterable[str]) -> bool:
    """True when ``name`` is a legacy (Civo-era) context or cluster name."""
    return name in WELL_KNOWN_LEGACY or name in set(legacy) or "civo" in name.lower()


def is_gitlab_agent_context(name: str) -> bool:
    """True for GitLab-agent shaped contexts (``group/project:agent``)."""
    return bool(_GITLAB_AGENT.match(name))


def role_pattern(roles: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that finds one of ``roles`` as a whole word of a lower-cased name (None without roles)."""
    names = sorted({r.lower() for r in roles if r}, key=len, reverse=True)
    if not names:
        return None
    # A role counts as a whole word: "bumble", "Bumble ", "bumble-admin", "admin@bumble"; not "bumblebee".
    return re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(n) for n in names) + r")(?![a-z0-9])")


def role_in(name: str, pattern: re.Pattern[str] | None) -> str:
    """The node role ``name`` is named after (see :func:`role_pattern`), or ''."""
    if not name or pattern is None:
        return ""
    found = pattern.search(name.lower())
    return found.group(1) if found else ""


def misuse(name: str, what: str, roles: Iterable[str], legacy: Iterable[str]) -> str | None:
    """Why ``name`` cannot be the ``what`` (a cluster, a context), or None when it may.

    Node roles are found the way the kubeconfig classifier finds them (whole word, any case), so a
    name this accepts is never refused later as a node role by ``gfwizard validate``.
    """
    role = role_in(name, role_pattern(WELL_KNOWN_ROLES | set(roles)))
    if role:
        called = "is a node role" if name.strip().lower() == role else f"is named after node role {role!r}"
        return (
            f"{shown_value(name)} {called}, not a cluster: honey is the one cluster, node roles are placement "
            f"inputs (placement.roles) and never a {what}"
        )
    if is_legacy_name(name, legacy):
        return f"{shown_value(name)} is a legacy context (legacy compatibility only): never a {what} to deploy to"
    if is_gitlab_agent_context(name):
        return f"{shown_value(name)} is a GitLab-agent context (legacy compatibility only): never a {what} to deploy to"
    return None


def secret_key_reason(key: str) -> str | None:
    """A message when a mapping key names a credential, else None.

    The message names the key itself: it is shown under the path of the mapping that holds the key (see
    :func:`gfwizard.orgconfig_yaml.shown_loc`), since ``state.http.password: ...`` reads as a secret
    assignment to the output redactor, which would mask the message's first word.
    """
    compact = re.sub(r"[^a-z0-9]", "", key.lower())
    if compact in _SECRET_KEY_EXACT or any(word in compact for word in _SECRET_KEY_WORDS):
        return f"key {shown_value(key)} looks like a credential field: {CREDENTIALS_HINT}; remove it"
    return None


def secret_value_reason(value: str) -> str | None:
    """A message when a string value looks like a credential, else None (the value is never echoed)."""
    label = _secret_label(value, prose=False)
    if label == _AWS_SECRET:
        return f"value looks like {_AWS_SECRET}: credentials never go in organization.yaml; {AWS_SECRET_REMEDY}"
    return None if label is None else f"value looks like a credential ({label}): {CREDENTIALS_HINT}"


def secret_comment_reason(comment: str) -> str | None:
    """A message when a YAML comment looks like it holds a credential, else None (the comment is never echoed).

    The same detection as :func:`secret_value_reason`, except the Authorization-header shape: a comment
    is prose, and "Basic settings" is not a credential.
    """
    label = _secret_label(comment, prose=True)
    if label is None:
        return None
    return f"comment looks like a credential ({label}): comments are committed with the file; {CREDENTIALS_HINT}; remove it"


def _secret_label(text: str, *, prose: bool) -> str | None:
    for pattern, label in _SECRET_VALUES:
        if not (prose and label == _HEADER_VALUE) and pattern.search(text):
            return label
    from gfwizard.redact import redact

    return "it matches a secret pattern" if redact(text) != text else None


def secret_findings(data: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], bool, str]]:
    """Every credential-looking key or value in plain data: ``(loc, at_key, message)``."""
    if isinstance(data, dict):
        for key, value in data.items():
            reason = secret_key_reason(str(key))
            if reason is not None:
                yield (*loc, key), True, reason
                continue
            yield from secret_findings(value, (*loc, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from secret_findings(item, (*loc, index))
    elif isinstance(data, str):
        reason = secret_value_reason(data)
        if reason is not None:
            yield loc, False, reason


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle as a closed path (``[a, b, a]``), or None. Nodes visited in dict order."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
