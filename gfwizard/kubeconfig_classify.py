"""What a kubeconfig context is, in terms of the deployment decision: the target (honey), a legacy
Civo context, a GitLab-agent context, a node role misused as a context, or something else.

The hint comes from ``organization.yaml`` when one is readable. Only the few keys needed are read,
with the C YAML loader, so discovery never pays for the pydantic config model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from gfwizard.orgconfig_rules import role_in, role_pattern

DEFAULT_CONTEXT = "honey"
DEFAULT_API_SERVER = "https://100.113.89.12:6443"
DEFAULT_LEGACY = ("tinyland-civo-dev",)
DEFAULT_ROLES = ("bumble", "sting")

_AGENT_NAME = re.compile(r"^[^\s/:]+(?:/[^\s/:]+)+:[^\s/:]+$")


class Classification(str, Enum):
    """Where a context stands against the deployment decision."""

    TARGET = "target"
    LEGACY_CIVO = "legacy-civo"
    GITLAB_AGENT = "gitlab-agent"
    NODE_ROLE_MISUSE = "node-role-misuse"
    OTHER = "other"


@dataclass(frozen=True)
class TargetHint:
    """What the configured target looks like (defaults: honey's context and API server)."""

    context: str = DEFAULT_CONTEXT
    api_server: str = DEFAULT_API_SERVER
    legacy_contexts: tuple[str, ...] = DEFAULT_LEGACY
    roles: tuple[str, ...] = DEFAULT_ROLES
    #: ``cluster.kubeconfig`` from the config: one more candidate file ("" = none).
    kubeconfig: str = ""
    #: Where the hint came from: "defaults" or the config file's path.
    source: str = "defaults"
    _server_key: str = field(default="", init=False, repr=False, compare=False)
    _roles_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_server_key", server_key(self.api_server))
        object.__setattr__(self, "_roles_re", role_pattern(self.roles))


def split_server(server: str) -> tuple[str, str, str]:
    """``(scheme, host[:port], path)`` of a server URL, lower-cased except the path, no userinfo.

    Plain string splitting: ``urlsplit`` for every one of thousands of contexts showed up in profiles.
    """
    scheme, sep, rest = server.strip().partition("://")
    if not sep:
        return "", "", server.strip()
    netloc, slash, path = rest.partition("/")
    netloc = netloc.rsplit("@", 1)[-1].lower()
    return scheme.lower(), netloc, (slash + path).rstrip("/")


def _hostname(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc[1:].partition("]")[0]
    return netloc.rpartition(":")[0] if ":" in netloc else netloc


def server_key(server: str) -> str:
    """A server URL normalised for comparison: lower-case scheme and host, no trailing slash."""
    if not server:
        return ""
    scheme, netloc, path = split_server(server)
    return f"{scheme}://{netloc}{path}" if scheme else path


def _gitlab_server(host: str, path: str) -> bool:
    return host == "kas.gitlab.com" or host.startswith("kas.") or "/-/kubernetes-agent" in path or path.startswith("/k8s-proxy")


def _civo_server(host: str) -> bool:
    return host == "civo.com" or host.endswith(".civo.com")


def classify(context: str, cluster: str, server: str, hint: TargetHint) -> tuple[Classification, str]:
    """The classification of one context and the reason, first rule that matches wins:

    1. legacy-civo: context or cluster listed in ``legacy_contexts``;
    2. node-role-misuse: context or cluster named after a node role (whole word: ``bumble``,
       ``admin@bumble``; not ``bumblebee``) — even when it points at honey's API;
    3. target: the context name is the target context;
    4. gitlab-agent: the name is shaped ``group/project:agent`` (even when it points at honey's API);
    5. target: the server is the target API server (scheme and host compared case-insensitively);
    6. legacy-civo: "civo" in the context or cluster name, or a server on ``*.civo.com``;
    7. gitlab-agent: the server is a KAS proxy (``kas.*``, ``/-/kubernetes-agent``, ``/k8s-proxy``);
    8. other.
    """
    if context in hint.legacy_contexts or cluster in hint.legacy_contexts:
        return Classification.LEGACY_CIVO, "listed in cluster.legacy_contexts"
    role = role_in(context, hint._roles_re) or role_in(cluster, hint._roles_re)
    if role:
        return Classification.NODE_ROLE_MISUSE, f"named after node role {role!r}: a node inside honey, not a cluster"
    if context == hint.context:
        return Classification.TARGET, f"context name is the target context {hint.context!r}"
    if _AGENT_NAME.match(context):
        return Classification.GITLAB_AGENT, "name shaped like a GitLab agent context (group/project:agent)"
    scheme, netloc, path = split_server(server) if server else ("", "", "")
    if scheme and hint._server_key == f"{scheme}://{netloc}{path}":
        return Classification.TARGET, f"server is the target API server {hint.api_server}"
    if "civo" in context.lower() or "civo" in cluster.lower():
        return Classification.LEGACY_CIVO, "Civo-era name"
    host = _hostname(netloc)
    if _civo_server(host):
        return Classification.LEGACY_CIVO, "server is on civo.com"
    if _gitlab_server(host, path):
        return Classification.GITLAB_AGENT, "server is a GitLab agent (KAS) proxy"
    return Classification.OTHER, ""


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def load_target_hint(path: Path, *, named: bool = False) -> tuple[TargetHint, str]:
    """The hint read from ``organization.yaml`` at ``path``, and a warning ("" when none).

    A missing file gives the defaults, silently unless the operator ``named`` the path (then it is
    a typo worth a warning); an unreadable or malformed one gives the defaults and says why. Values
    of the wrong type are ignored one by one.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, "rb") as fh:
            doc = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    except FileNotFoundError:
        return TargetHint(), f"{path} does not exist; classifying with the defaults" if named else ""
    except OSError as exc:
        return TargetHint(), f"could not read {path} ({exc.strerror or exc}); classifying with the defaults"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return TargetHint(), f"{path} is not valid YAML{where}; classifying with the defaults"
    if not isinstance(doc, dict):
        return TargetHint(), f"{path} is not a mapping; classifying with the defaults"
    cluster = doc.get("cluster") if isinstance(doc.get("cluster"), dict) else {}
    placement = doc.get("placement") if isinstance(doc.get("placement"), dict) else {}
    roles_map = placement.get("roles") if isinstance(placement.get("roles"), dict) else None
    kwargs: dict[str, Any] = {"source": str(path)}
    if isinstance(cluster.get("context"), str) and cluster["context"]:
        kwargs["context"] = cluster["context"]
    if isinstance(cluster.get("api_server"), str) and cluster["api_server"]:
        kwargs["api_server"] = cluster["api_server"]
    legacy = _str_list(cluster.get("legacy_contexts"))
    if legacy is not None:
        kwargs["legacy_contexts"] = legacy
    if isinstance(cluster.get("kubeconfig"), str):
        kwargs["kubeconfig"] = cluster["kubeconfig"]
    if roles_map:
        kwargs["roles"] = tuple(sorted({str(r).lower() for r in roles_map} | set(DEFAULT_ROLES)))
    return TargetHint(**kwargs), ""
