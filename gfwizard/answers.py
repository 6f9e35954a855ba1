"""The questions behind ``organization.yaml`` and the one function that turns answers into a config.

``config init --plain`` (questionary) and the wizard's Config step (Textual) ask the same
:data:`QUESTIONS`, fill the same :class:`ConfigAnswers` and call the same :func:`build_config`, so
both write the same file. What is not asked (node roles, stack placement and dependencies, legacy
contexts, tolerations, the pinned fingerprint) comes from the existing config, or from the
honey-shaped defaults for a new one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

from gfwizard import orgconfig_rules as rules

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

QuestionKind = Literal["text", "select", "confirm", "list"]

DEFAULT_ROLES: dict[str, dict[str, str]] = {
    "bumble": {"kubernetes.io/hostname": "bumble"},
    "sting": {"kubernetes.io/hostname": "sting"},
}
DEFAULT_STACK_ROLES: dict[str, str] = {
    "attic": "bumble", "arc-runners": "sting", "gitlab-runners": "sting", "runner-dashboard": "bumble",
}
DEFAULT_STACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("attic", ()),
    ("arc-runners", ("attic",)),
    ("gitlab-runners", ("attic",)),
    ("runner-dashboard", ("arc-runners", "gitlab-runners")),
)


@dataclass
class ConfigAnswers:
    """Everything an operator answers to produce ``organization.yaml`` (defaults: the honey example)."""

    org_name: str = "tinyland"
    org_full_name: str = "Tinyland"
    kubeconfig: str = "~/.kube/kubeconfig-honey.yaml"
    context: str = "honey"
    api_server: str = "https://100.113.89.12:6443"
    network: str = "tailnet"
    backend: str = "s3"
    s3_endpoint: str = "http://100.113.89.12:9000"
    s3_bucket: str = "gloriousflywheel-state"
    s3_region: str = "us-east-1"
    s3_key_prefix: str = "gloriousflywheel"
    http_address: str = ""
    http_lock_address: str = ""
    http_unlock_address: str = ""
    http_username: str = ""
    environments: list[str] = field(default_factory=lambda: ["dev", "prod"])
    confirm_environments: list[str] = field(default_factory=lambda: list(CONFIRMED_BY_DEFAULT))
    cluster_name: str = "honey"
    base: "OrgConfig | None" = None
    """The existing config: supplies what is not asked (placement, stacks, fingerprint, ...)."""

    @classmethod
    def from_config(cls, cfg: "OrgConfig") -> "ConfigAnswers":
        """Answers that rebuild ``cfg`` unchanged (the defaults when re-running init)."""
        s3, http = cfg.state.s3, cfg.state.http
        defaults = cls()
        return cls(
            org_name=cfg.organization.name,
            org_full_name=cfg.organization.full_name,
            kubeconfig=cfg.cluster.kubeconfig,
            context=cfg.cluster.context,
            api_server=cfg.cluster.api_server,
            network=cfg.cluster.network,
            backend=cfg.state.backend,
            s3_endpoint=s3.endpoint if s3 else defaults.s3_endpoint,
            s3_bucket=s3.bucket if s3 else defaults.s3_bucket,
            s3_region=s3.region if s3 else defaults.s3_region,
            s3_key_prefix=s3.key_prefix if s3 else defaults.s3_key_prefix,
            http_address=http.address if http else "",
            http_lock_address=(http.lock_address or "") if http else "",
            http_unlock_address=(http.unlock_address or "") if http else "",
            http_username=(http.username or "") if http else "",
            environments=list(cfg.environments),
            confirm_environments=[n for n, e in cfg.environments.items() if e.require_confirmation],
            cluster_name=cfg.cluster.name,
            base=cfg,
        )

    def role_names(self) -> list[str]:
        """Node roles known to these answers (from the base config or the defaults)."""
        return list(self.base.placement.roles) if self.base is not None else list(DEFAULT_ROLES)

    def legacy_contexts(self) -> list[str]:
        """Legacy contexts known to these answers."""
        return list(self.base.cluster.legacy_contexts) if self.base is not None else ["tinyland-civo-dev"]

    def get(self, key: str) -> Any:
        """The current answer to question ``key``."""
        return getattr(self, key)

    def display(self, key: str) -> str:
        """The current answer as the text a prompt shows as its default."""
        value = getattr(self, key)
        return ", ".join(value) if isinstance(value, list) else str(value)

    def set(self, key: str, value: Any) -> None:
        """Record an answer; ``list`` questions accept comma-separated text. An environment whose name says
        production (prod, production, prod-eu; see :func:`gfwizard.orgconfig_checks.says_production`) that the
        environments answer adds needs a typed confirmation, as prod does in a new file (taking it out of that
        list afterwards is the operator's explicit choice)."""
        current = getattr(self, key)
        if isinstance(current, list) and isinstance(value, str):
            value = parse_list(value)
        setattr(self, key, value)
        if key == "environments":
            self.confirm_environments = [e for e in self.confirm_environments if e in self.environments]
            self.confirm_environments += [e for e in newly_confirmed(current, self.environments)
                                          if e not in self.confirm_environments]

    def copy(self) -> "ConfigAnswers":
        """A shallow copy (lists copied)."""
        return dataclasses.replace(self, environments=list(self.environments),
                                   confirm_environments=list(self.confirm_environments))


#: The environments of a new file that need a typed confirmation unless the operator says otherwise.
CONFIRMED_BY_DEFAULT: tuple[str, ...] = ("prod",)


def newly_confirmed(before: list[str], after: list[str]) -> list[str]:
    """The environments of ``after`` not in ``before`` that need a typed confirmation by default: those whose
    name says production (a config that had only dev must not gain a prod that a bare Enter applies to, and
    ``config validate`` warns about one without it)."""
    from gfwizard.orgconfig_checks import says_production

    return [e for e in after if says_production(e) and e not in before]


def parse_list(text: str) -> list[str]:
    """``"dev, prod"`` -> ``["dev", "prod"]`` (commas or spaces; duplicates dropped; order kept)."""
    out: list[str] = []
    for item in text.replace(",", " ").split():
        if item not in out:
            out.append(item)
    return out


# -- questions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question: ``key`` is the :class:`ConfigAnswers` field it fills."""

    key: str
    prompt: str
    kind: QuestionKind = "text"
    choices: tuple[str, ...] = ()
    help: str = ""
    when: Callable[[ConfigAnswers], bool] | None = None
    reads: tuple[str, ...] = ()
    """Earlier questions this one's rules compare against: asked again with it when its answer conflicts."""

    def applies(self, answers: ConfigAnswers) -> bool:
        """Whether this question is asked given the answers so far."""
        return self.when is None or self.when(answers)


def _s3(a: ConfigAnswers) -> bool:
    return a.backend == "s3"


def _http(a: ConfigAnswers) -> bool:
    return a.backend == "http"


QUESTIONS: tuple[Question, ...] = (
    Question("org_name", "Organization name (short, lowercase)", help="e.g. tinyland"),
    Question("org_full_name", "Organization full name", help="e.g. Tinyland"),
    Question("kubeconfig", "Kubeconfig file holding the cluster's context",
             help="empty: use the ambient KUBECONFIG"),
    Question("context", "Kubeconfig context for the cluster", help="the honey context; never bumble, sting or a Civo context"),
    Question("api_server", "Cluster API server URL", help="https://, e.g. https://100.113.89.12:6443"),
    Question("network", "How the API is reached", "select", ("tailnet", "private", "loopback"),
             help="loopback is the embedded rehearsal honey", reads=("api_server",)),
    Question("backend", "OpenTofu state backend", "select", ("s3", "http"),
             help="s3 (target: RustFS on honey) or http (transitional)"),
    Question("s3_endpoint", "S3 endpoint URL", when=_s3, help="credentials come from the AWS environment/profile"),
    Question("s3_bucket", "S3 bucket", when=_s3),
    Question("s3_region", "S3 region", when=_s3),
    Question("s3_key_prefix", "State key prefix", when=_s3, help="keys: <prefix>/<env>/<stack>.tfstate"),
    Question("http_address", "HTTP state address", when=_http, help="may contain {stack} and {env}"),
    Question("http_lock_address", "HTTP lock address (empty: backend default)", when=_http),
    Question("http_unlock_address", "HTTP unlock address (empty: backend default)", when=_http),
    Question("http_username", "HTTP state user name (empty: none)", when=_http,
             help="the password comes from TF_HTTP_PASSWORD, never this file"),
    Question("environments", "Environments (comma separated)", "list", help="e.g. dev, prod"),
    Question("confirm_environments", "Environments that need a typed confirmation before apply", "list",
             help="e.g. prod"),
)


def validate_answer(key: str, value: Any, answers: ConfigAnswers) -> str | None:
    """Why ``value`` is not an acceptable answer to ``key`` (None when it is); used as the operator types."""
    try:
        _check(key, value, answers)
    except ValueError as exc:
        return str(exc)
    return None


def _check(key: str, value: Any, answers: ConfigAnswers) -> None:
    values = parse_list(value) if isinstance(value, str) and isinstance(getattr(answers, key), list) else value
    for item in (values if isinstance(values, list) else [values]):
        if isinstance(item, str):
            reason = rules.secret_value_reason(item)
            if reason:
                raise ValueError(reason)
    if key == "org_name":
        rules.check_slug(value, "organization name")
    elif key == "org_full_name" and not value.strip():
        raise ValueError("full name must not be empty")
    elif key == "kubeconfig" and value:
        reason = rules.misuse(rules.kubeconfig_stem(value), "cluster", answers.role_names(), answers.legacy_contexts())
        if reason:
            raise ValueError(f"the file name points at {rules.shown_value(rules.kubeconfig_stem(value))}: {reason}")
        rules.check_kubeconfig_path(value)
    elif key == "context":
        reason = rules.misuse(value, "context", answers.role_names(), answers.legacy_contexts())
        if reason:
            raise ValueError(reason)
        rules.check_context(value)
    elif key == "api_server":
        rules.check_api_server(value)
        reason = rules.public_api_server_reason(value, answers.network)
        if reason:
            raise ValueError(reason)
    elif key == "network":
        reason = rules.loopback_network_reason(answers.api_server, value)
        if reason:
            raise ValueError(reason)
    elif key == "s3_endpoint":
        rules.check_http_url(value, "endpoint")
        reason = rules.public_endpoint_reason(value, answers.network)
        if reason:
            raise ValueError(reason)
    elif key == "s3_bucket":
        rules.check_bucket(value)
    elif key == "s3_region":
        rules.check_region(value)
    elif key == "s3_key_prefix":
        rules.check_key_prefix(value)
    elif key == "http_address":
        rules.check_http_address(value, "address")
    elif key in ("http_lock_address", "http_unlock_address") and value:
        rules.check_http_address(value, key.removeprefix("http_"))
    elif key == "environments":
        if not values:
            raise ValueError("name at least one environment")
        for name in values:
            rules.check_slug(name, "environment name")
    elif key == "confirm_environments":
        unknown = [n for n in values if n not in answers.environments]
        if unknown:
            raise ValueError(f"{rules.shown_value(unknown[0])} is not one of the environments "
                             f"({', '.join(answers.environments)})")


def dropped_environment_reason(value: str, answers: ConfigAnswers, keep: str | None = None) -> str | None:
    """Why a form edited as typed may not take ``value`` as the environments (None when it may): it would
    drop an environment that needs a typed confirmation, or ``keep`` (the one the wizard run sets up).

    ``config init --plain`` asks the confirmations next and shows what is left of them; a form that dropped
    them itself would lose prod's confirmation at ``dev, pro`` and not bring it back at ``dev, prod``."""
    names = parse_list(value)
    for name in answers.confirm_environments:
        if name not in names:
            return (f"{rules.shown_value(name)} needs a typed confirmation before apply: remove it from the "
                    "environments that need one first")
    if keep is not None and keep in answers.environments and keep not in names:
        return (f"{rules.shown_value(keep)} is the environment this wizard run sets up (its state backend, its "
                "deploy): keep it")
    return None


#: The question each config field's value comes from (fields not listed come from the base config).
_FIELD_QUESTIONS: dict[str, str] = {
    "organization.name": "org_name", "organization.full_name": "org_full_name",
    "cluster.kubeconfig": "kubeconfig", "cluster.context": "context", "cluster.api_server": "api_server",
    "cluster.network": "network", "state.backend": "backend",
    "state.s3.endpoint": "s3_endpoint", "state.s3.bucket": "s3_bucket", "state.s3.region": "s3_region",
    "state.s3.key_prefix": "s3_key_prefix", "state.http.address": "http_address",
    "state.http.lock_address": "http_lock_address", "state.http.unlock_address": "http_unlock_address",
    "state.http.username": "http_username", "environments": "environments",
}


def questions_for(field_path: str) -> list[Question]:
    """The questions to ask again when the config rejects ``field_path`` (e.g. ``cluster.network``): the
    one that answered it and the earlier ones its rule reads, in asking order; [] when no question did."""
    parts = field_path.replace("[", ".[").split(".")
    key = next((_FIELD_QUESTIONS[".".join(parts[:n])] for n in range(len(parts), 0, -1)
                if ".".join(parts[:n]) in _FIELD_QUESTIONS), None)
    if key is None:
        return []
    by_key = {q.key: q for q in QUESTIONS}
    keys = {key, *by_key[key].reads}
    return [q for q in QUESTIONS if q.key in keys]


# -- building -----------------------------------------------------------------------------------------


def build_config(answers: ConfigAnswers) -> "OrgConfig":
    """The validated :class:`~gfwizard.orgconfig.OrgConfig` for ``answers`` (pydantic ValidationError when invalid)."""
    from gfwizard.orgconfig import OrgConfig

    base = answers.base
    cluster: dict[str, Any] = {
        "name": answers.cluster_name,
        "context": answers.context,
        "kubeconfig": answers.kubeconfig,
        "api_server": answers.api_server,
        "network": answers.network,
        "legacy_contexts": answers.legacy_contexts(),
    }
    if (base is not None and base.cluster.fingerprint is not None and base.cluster.api_server == answers.api_server
            and base.cluster.name == answers.cluster_name):
        cluster["fingerprint"] = base.cluster.fingerprint.model_dump()
    state: dict[str, Any] = {"backend": answers.backend}
    if answers.backend == "s3":
        old = base.state.s3 if base is not None else None
        state["s3"] = {
            "endpoint": answers.s3_endpoint, "bucket": answers.s3_bucket, "region": answers.s3_region,
            "key_prefix": answers.s3_key_prefix,
            "use_lockfile": old.use_lockfile if old else True, "use_path_style": old.use_path_style if old else True,
        }
    elif base is not None and base.state.s3 is not None:
        state["s3"] = base.state.s3.model_dump()
    if answers.backend == "http":
        state["http"] = {
            "address": answers.http_address,
            "lock_address": answers.http_lock_address or None,
            "unlock_address": answers.http_unlock_address or None,
            "username": answers.http_username or None,
        }
    elif base is not None and base.state.http is not None:
        state["http"] = base.state.http.model_dump()
    environments: dict[str, Any] = {}
    for name in answers.environments:
        old_env = base.environments.get(name) if base is not None else None
        environments[name] = {
            "cluster": answers.cluster_name,
            "tfvars": old_env.tfvars if old_env is not None else f"{name}.tfvars",
            "require_confirmation": name in answers.confirm_environments,
        }
    if base is not None:
        placement: dict[str, Any] = base.placement.model_dump()
        stacks: list[dict[str, Any]] = [s.model_dump() for s in base.stacks]
    else:
        placement = {"roles": {name: {"node_selector": dict(sel)} for name, sel in DEFAULT_ROLES.items()},
                     "stacks": dict(DEFAULT_STACK_ROLES)}
        stacks = [{"name": name, "depends_on": list(deps)} for name, deps in DEFAULT_STACKS]
    return OrgConfig.model_validate({
        "version": 1,
        "organization": {"name": answers.org_name, "full_name": answers.org_full_name},
        "cluster": cluster,
        "placement": placement,
        "state": state,
        "environments": environments,
        "stacks": stacks,
    })
