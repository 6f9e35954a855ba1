"""``config/organization.yaml``: the one pydantic model of the organization config.

The model encodes the deployment decision: one physical cluster (honey); ``bumble`` and ``sting``
are node roles inside it, never clusters or contexts; legacy (Civo-era) contexts are compatibility
only; stacks deploy in ``depends_on`` order; and the file never holds a credential.

Loading (ruamel.yaml, errors with file:line:col) lives in :mod:`gfwizard.orgconfig_yaml`, rendering in
:mod:`gfwizard.orgconfig_save`, writing in :mod:`gfwizard.orgconfig_write`; they are re-exported here so
callers import one module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gfwizard import orgconfig_rules as rules
from gfwizard.errors import InputError

CONFIG_VERSION = 1
SCHEMA_FILE_NAME = "organization.schema.json"

Network = Literal["tailnet", "private", "loopback"]

# JSON Schema twins of the validators (ECMA regexes, for editors), each no stricter than its validator;
# tests/unit/test_orgconfig_schema.py checks the schema and the model agree case by case.
_SLUG_SCHEMA = {"pattern": f"^{rules.SLUG_PATTERN}$"}
_NOT_BLANK_SCHEMA = {"pattern": "\\S"}
_NO_SPACE = "[^\\s\\x00-\\x1f\\x7f]"


@dataclass(frozen=True)
class Issue:
    """One cross-field problem found by the model: where (pydantic-style loc) and why."""

    loc: tuple[Any, ...]
    message: str
    at_key: bool = False


class SemanticErrors(ValueError):
    """Raised by :class:`OrgConfig` validation with every cross-field problem at once."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{_dotted(i.loc, i.at_key)}: {i.message}" for i in issues))


def _dotted(loc: tuple[Any, ...], at_key: bool = False) -> str:
    from gfwizard.orgconfig_yaml import field_path, shown_loc

    return field_path(shown_loc(loc, at_key))


class _Section(BaseModel):
    """Base of every section: strict types (no YAML 1.1 coercions), unknown keys rejected, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    #: Fields written to a new file even when they hold their default (they are worth seeing).
    always_written: ClassVar[frozenset[str]] = frozenset()


class Organization(_Section):
    """Who owns this deployment."""

    name: str = Field(json_schema_extra=_SLUG_SCHEMA)
    """Short lowercase name of the organization (letters, digits, '-'), e.g. `tinyland`."""
    full_name: str = Field(json_schema_extra=_NOT_BLANK_SCHEMA)
    """Display name of the organization, e.g. `Tinyland`."""

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        return rules.check_slug(value, "organization name")

    @field_validator("full_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("full_name must not be empty")
        return value


class Fingerprint(_Section):
    """Identity of the cluster, pinned on first validation with the operator's consent."""

    kube_system_uid: str
    """UID of the `kube-system` namespace (a UUID); changes only when the cluster is rebuilt."""
    ca_sha256: str = Field(json_schema_extra={"pattern": "^[0-9A-Fa-f:]{64,}$"})
    """SHA-256 (lowercase hex) of the DER bytes of the cluster's CA certificate."""

    @field_validator("kube_system_uid")
    @classmethod
    def _uuid(cls, value: str) -> str:
        import uuid

        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError(f"kube_system_uid must be a UUID (got {rules.shown_value(value)})") from None
        return value.lower()

    @field_validator("ca_sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        value = value.lower().replace(":", "")
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("ca_sha256 must be 64 hexadecimal characters (SHA-256 of the CA certificate's DER)")
        return value


class ClusterSpec(_Section):
    """The one physical cluster every environment deploys to."""

    always_written: ClassVar[frozenset[str]] = frozenset({"kubeconfig"})

    name: str = Field(json_schema_extra=_SLUG_SCHEMA)
    """Name of the cluster: `honey`. Never a node role (`bumble`, `sting`) or a legacy context."""
    context: str = Field(json_schema_extra=_NOT_BLANK_SCHEMA)
    """Kubeconfig context that reaches the cluster, e.g. `honey`. Never a node role or a legacy context."""
    kubeconfig: str = ""
    """Kubeconfig file holding `context`, e.g. `~/.kube/kubeconfig-honey.yaml`; empty means the ambient `KUBECONFIG`."""
    api_server: str = Field(json_schema_extra={"pattern": "^https://"})
    """The cluster's API server URL (must be https://), e.g. `https://100.113.89.12:6443`; the context must point here."""
    network: Network
    """How the API is reached: `tailnet` (Tailscale), `private` (LAN), or `loopback` (the embedded rehearsal honey)."""
    fingerprint: Fingerprint | None = None
    """Pinned cluster identity; unset until the wizard or `gfwizard validate` pins it with consent."""
    legacy_contexts: list[str] = []
    """Contexts kept for compatibility only (e.g. `tinyland-civo-dev`); never a deploy target."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return rules.check_slug(value, "cluster name")

    @field_validator("context")
    @classmethod
    def _context(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("context must not be empty")
        return value

    @field_validator("api_server")
    @classmethod
    def _api_server(cls, value: str) -> str:
        return rules.check_api_server(value)


class Toleration(_Section):
    """A Kubernetes toleration the stack's workloads carry on this role's nodes."""

    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"operator": {"const": "Exists"}}, "required": ["operator"]},
        "then": {"properties": {"value": {"type": "null"}}},
        "else": {"properties": {"key": {"type": "string"}}, "required": ["key"]},
    })

    key: str | None = None
    """Taint key to tolerate; unset with operator `Exists` tolerates every taint."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """`Equal` (key and value must match) or `Exists` (any value)."""
    value: str | None = None
    """Taint value to match when operator is `Equal`."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to tolerate; unset tolerates every effect."""

    @model_validator(mode="after")
    def _kubernetes_rules(self) -> "Toleration":
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator Exists must not set value")
        if self.operator == "Equal" and self.key is None:
            raise ValueError("a toleration without key must use operator Exists")
        return self


class Role(_Section):
    """A node role inside the cluster: which nodes a stack's workloads are placed on."""

    node_selector: dict[str, str] = Field(json_schema_extra={"minProperties": 1})
    """Node labels that select the role's nodes, e.g. `{kubernetes.io/hostname: bumble}`."""
    tolerations: list[Toleration] = []
    """Tolerations for taints on the role's nodes."""

    @field_validator("node_selector")
    @classmethod
    def _not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("node_selector must select at least one node label")
        return value


class Placement(_Section):
    """Node-role placement of each stack inside the one cluster."""

    roles: dict[str, Role] = Field(default={}, json_schema_extra={"propertyNames": _SLUG_SCHEMA})
    """Node roles by name (`bumble`, `sting`): placement inputs, never clusters or contexts."""
    stacks: dict[str, str] = {}
    """Role of each stack, e.g. `{attic: bumble, arc-runners: sting}`; a stack without a role is unconstrained."""


class S3Spec(_Section):
    """S3-compatible state (the target: RustFS on honey). Credentials come from the AWS environment/profile."""

    always_written: ClassVar[frozenset[str]] = frozenset(
        {"endpoint", "bucket", "region", "key_prefix", "use_lockfile", "use_path_style"}
    )

    endpoint: str = Field(json_schema_extra={"pattern": "^https?://"})
    """S3 API endpoint URL (http:// or https://), e.g. RustFS on honey; never a public IP address."""
    bucket: str = Field(json_schema_extra={"pattern": f"^(?!.*\\.\\.){rules.BUCKET_RESERVED}{rules.BUCKET_PATTERN}$"})
    """Bucket holding the state of every environment and stack."""
    region: str = Field(default="us-east-1", json_schema_extra={"pattern": "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"})
    """Region passed to the S3 client: lowercase letters, digits and '-' (RustFS accepts any; `us-east-1` is conventional)."""
    key_prefix: str = Field(default="gloriousflywheel",
                            json_schema_extra={"pattern": f"^(?!/)(?!.*//)(?!.*/$){_NO_SPACE}+$"})
    """Prefix of every state key: `{key_prefix}/{env}/{stack}.tfstate`."""
    use_lockfile: bool = True
    """Lock state with an S3 lock file (`<key>.tflock`, conditional writes); trusted only after the lock probe passes."""
    use_path_style: bool = True
    """Path-style bucket addressing (`endpoint/bucket/key`), needed by RustFS and most self-hosted S3."""

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return rules.check_http_url(value, "endpoint")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return rules.check_bucket(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return rules.check_region(value)

    @field_validator("key_prefix")
    @classmethod
    def _key_prefix(cls, value: str) -> str:
        return rules.check_key_prefix(value)


class HttpSpec(_Section):
    """Generic HTTP state (transitional, legacy-current). The password comes from `TF_HTTP_PASSWORD`."""

    address: str
    """State URL; must contain `{stack}` and `{env}` (one state per stack and environment), e.g.
    `https://gitlab.example/api/v4/projects/1/terraform/state/{stack}-{env}`."""
    lock_address: str | None = None
    """Lock URL (same placeholders); unset means the backend default."""
    unlock_address: str | None = None
    """Unlock URL (same placeholders); unset means the backend default."""
    username: str | None = None
    """User name for HTTP basic auth (not a secret); the password is never stored here."""

    @field_validator("address", "lock_address", "unlock_address")
    @classmethod
    def _address(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else rules.check_http_address(value, info.field_name)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and ":" in value:  # never echoed: what follows the ':' would be a password
            raise ValueError("a basic-auth user name cannot contain ':' (what follows it would be a password, "
                             "and the password comes from TF_HTTP_PASSWORD, never this file); keep the user name "
                             "only")
        return value

    def address_for(self, env: str, stack: str) -> str:
        """``address`` with ``{env}`` and ``{stack}`` filled in."""
        return _fill(self.address, env, stack)

    def lock_address_for(self, env: str, stack: str) -> str | None:
        """``lock_address`` filled in, or None."""
        return None if self.lock_address is None else _fill(self.lock_address, env, stack)

    def unlock_address_for(self, env: str, stack: str) -> str | None:
        """``unlock_address`` filled in, or None."""
        return None if self.unlock_address is None else _fill(self.unlock_address, env, stack)


def _fill(template: str, env: str, stack: str) -> str:
    return template.replace("{env}", env).replace("{stack}", stack)


class StateSpec(_Section):
    """Where OpenTofu state lives."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"backend": {"const": backend}}},
         "then": {"required": [backend], "properties": {backend: {"type": "object"}}}}
        for backend in ("s3", "http")
    ]})

    always_written: ClassVar[frozenset[str]] = frozenset({"backend"})

    backend: Literal["s3", "http"]
    """`s3` (the target) or `http` (transitional); the chosen one's section must be set."""
    s3: S3Spec | None = None
    """S3 settings; required when backend is `s3`."""
    http: HttpSpec | None = None
    """HTTP settings; required when backend is `http`."""

    @model_validator(mode="after")
    def _backend_section(self) -> "StateSpec":
        if self.backend == "s3" and self.s3 is None:
            raise ValueError("state.backend is 's3' but state.s3 is not set (endpoint, bucket, ...)")
        if self.backend == "http" and self.http is None:
            raise ValueError("state.backend is 'http' but state.http is not set (address, ...)")
        return self


class Environment(_Section):
    """A logical environment (dev, prod); every environment targets the one cluster."""

    cluster: str
    """Cluster the environment deploys to; must equal `cluster.name` (honey)."""
    tfvars: str = Field(json_schema_extra={
        "pattern": "^(?!/)(?!(?:.*/)?\\.\\.(?:/|$))[^\\x00-\\x1f\\x7f]*\\.tfvars(?:\\.json)?$"})
    """Variables file inside each stack directory, e.g. `dev.tfvars`."""
    require_confirmation: bool = False
    """Ask for the environment's name, typed, before an apply (set for prod). An environment whose name says
    production (`prod`, `production`, `prd`, or `prod-…`) without it gets a warning from `config validate`,
    `doctor` and `deploy`: it is asked only yes/no."""

    @field_validator("tfvars")
    @classmethod
    def _tfvars(cls, value: str) -> str:
        return rules.check_tfvars(value)


class StackSpec(_Section):
    """One OpenTofu stack under `tofu/stacks/<name>`."""

    name: str = Field(json_schema_extra=_SLUG_SCHEMA)
    """Stack directory name, e.g. `attic`."""
    depends_on: list[str] = []
    """Stacks that must be applied before this one."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return rules.check_slug(value, "stack name")


class OrgConfig(_Section):
    """The organization config (`config/organization.yaml`). Never holds a credential."""

    always_written: ClassVar[frozenset[str]] = frozenset({"version"})

    version: int = Field(default=CONFIG_VERSION, json_schema_extra={"const": CONFIG_VERSION})
    """Format version of this file; must be 1."""
    organization: Organization
    """Who owns this deployment."""
    cluster: ClusterSpec
    """The one physical cluster (honey)."""
    placement: Placement = Placement()
    """Node roles and the role of each stack."""
    state: StateSpec
    """The OpenTofu state backend."""
    environments: dict[str, Environment] = Field(min_length=1, json_schema_extra={"propertyNames": _SLUG_SCHEMA})
    """Logical environments by name (dev, prod); each targets `cluster.name`."""
    stacks: list[StackSpec] = Field(min_length=1)
    """The stacks, with their dependencies; deploy order follows `depends_on`."""

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != CONFIG_VERSION:
            raise ValueError(f"unsupported version {value}: this gfwizard reads version {CONFIG_VERSION}")
        return value

    @model_validator(mode="after")
    def _decision_rules(self) -> "OrgConfig":
        issues = _semantic_issues(self)
        if issues:
            raise SemanticErrors(issues)
        return self

    # -- queries --------------------------------------------------------------------------------

    @property
    def is_rehearsal(self) -> bool:
        """True when the cluster is the embedded rehearsal honey (network ``loopback``)."""
        return self.cluster.network == "loopback"

    @property
    def stack_names(self) -> list[str]:
        """Stack names in file order."""
        return [s.name for s in self.stacks]

    def environment(self, name: str) -> Environment:
        """The environment ``name``; InputError naming the known environments otherwise."""
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments) or "none"
            raise InputError(f"unknown environment {name!r} (known: {known})",
                             remedy="pass one of the environments listed in organization.yaml") from None

    def stack(self, name: str) -> StackSpec:
        """The stack ``name``; InputError naming the known stacks otherwise."""
        for spec in self.stacks:
            if spec.name == name:
                return spec
        raise InputError(f"unknown stack {name!r} (known: {', '.join(self.stack_names)})",
                         remedy="pass one of the stacks listed in organization.yaml")

    def stack_order(self) -> list[str]:
        """Stack names in dependency order (dependencies first; file order among independent stacks)."""
        done: list[str] = []
        pending = list(self.stacks)
        while pending:
            ready = [s for s in pending if all(d in done for d in s.depends_on)]
            if not ready:  # unreachable for a validated config (cycles are rejected)
                raise InputError("stack dependencies form a cycle")
            done.append(ready[0].name)
            pending.remove(ready[0])
        return done

    def state_key(self, env: str, stack: str) -> str:
        """The state object key ``{key_prefix}/{env}/{stack}.tfstate``."""
        self.environment(env)
        self.stack(stack)
        prefix = self.state.s3.key_prefix if self.state.s3 is not None else S3Spec.model_fields["key_prefix"].default
        return f"{prefix}/{env}/{stack}.tfstate"

    def role_for_stack(self, stack: str) -> str | None:
        """The node role ``stack`` is placed on, or None when unconstrained."""
        return self.placement.stacks.get(stack)

    def node_selector_for(self, stack: str) -> dict[str, str]:
        """The node selector of the stack's role ({} when the stack has no role)."""
        role = self.role_for_stack(stack)
        return dict(self.placement.roles[role].node_selector) if role else {}

    def with_fingerprint(self, kube_system_uid: str, ca_sha256: str) -> "OrgConfig":
        """A copy with ``cluster.fingerprint`` pinned (validated)."""
        data = self.model_dump()
        data["cluster"]["fingerprint"] = {"kube_system_uid": kube_system_uid, "ca_sha256": ca_sha256}
        return OrgConfig.model_validate(data)


def _field_issue(loc: tuple[str, ...], check: Callable[[str], str], value: str) -> list[Issue]:
    """``check(value)``'s refusal as an issue at ``loc`` (after the node-role and legacy rules, which say more)."""
    try:
        check(value)
    except ValueError as exc:
        return [Issue(loc, str(exc))]
    return []


def _semantic_issues(cfg: OrgConfig) -> list[Issue]:
    """Every cross-field rule of DESIGN.md §4."""
    issues: list[Issue] = []
    cluster = cfg.cluster
    roles = set(cfg.placement.roles)
    legacy = cluster.legacy_contexts

    name_misused = False
    for field in ("name", "context"):
        reason = rules.misuse(getattr(cluster, field), "cluster" if field == "name" else "context", roles, legacy)
        if reason:
            issues.append(Issue(("cluster", field), reason))
            name_misused = name_misused or field == "name"
        elif field == "context":
            issues += _field_issue(("cluster", "context"), rules.check_context, cluster.context)
    if cluster.kubeconfig:
        stem = rules.kubeconfig_stem(cluster.kubeconfig)
        reason = rules.misuse(stem, "cluster", roles, legacy)
        if reason and stem not in (cluster.name, cluster.context):
            issues.append(Issue(("cluster", "kubeconfig"),
                                f"the file name points at {rules.shown_value(stem)}: {reason}"))
        else:
            issues += _field_issue(("cluster", "kubeconfig"), rules.check_kubeconfig_path, cluster.kubeconfig)
    reason = rules.loopback_network_reason(cluster.api_server, cluster.network)
    if reason:
        issues.append(Issue(("cluster", "network"), reason))
    reason = rules.public_api_server_reason(cluster.api_server, cluster.network)
    if reason:
        issues.append(Issue(("cluster", "api_server"), reason))
    if cfg.state.s3 is not None:
        reason = rules.public_endpoint_reason(cfg.state.s3.endpoint, cluster.network)
        if reason:
            issues.append(Issue(("state", "s3", "endpoint"), reason))

    for name, env in cfg.environments.items():
        _slug_issue(issues, ("environments", name), name, "environment name")
        if env.cluster != cluster.name and not (name_misused and env.cluster not in roles):
            why = rules.misuse(env.cluster, "cluster", roles, legacy)
            issues.append(Issue(("environments", name, "cluster"), why or (
                f"{env.cluster!r} is not the configured cluster: every environment targets the one cluster "
                f"{cluster.name!r}")))

    for role in cfg.placement.roles:
        _slug_issue(issues, ("placement", "roles", role), role, "role name")
        if role == cluster.name and not name_misused:
            issues.append(Issue(("placement", "roles", role), f"{role!r} is the cluster, not a node role", True))

    names = [s.name for s in cfg.stacks]
    seen: set[str] = set()
    for index, spec in enumerate(cfg.stacks):
        if spec.name in seen:
            issues.append(Issue(("stacks", index, "name"), f"stack {spec.name!r} is listed twice"))
        seen.add(spec.name)
        for dep_index, dep in enumerate(spec.depends_on):
            if dep not in names:
                issues.append(Issue(("stacks", index, "depends_on", dep_index),
                                    f"depends on unknown stack {dep!r}{_hint(dep, names)}"))
    graph = {s.name: list(s.depends_on) for s in cfg.stacks}
    cycle = rules.find_cycle(graph)
    if cycle:
        index = names.index(cycle[0])
        issues.append(Issue(("stacks", index, "depends_on"), "dependency cycle: " + " -> ".join(cycle)))

    for stack, role in cfg.placement.stacks.items():
        if stack not in names:
            issues.append(Issue(("placement", "stacks", stack), f"unknown stack {stack!r}{_hint(stack, names)}", True))
        if role not in roles:
            known = sorted(roles)
            issues.append(Issue(("placement", "stacks", stack), f"unknown role {role!r}{_hint(role, known)}"
                                + ("" if known else " (placement.roles is empty)")))

    for loc, at_key, message in rules.secret_findings(cfg.model_dump(mode="json")):
        issues.append(Issue(loc, message, at_key))
    return issues


def _slug_issue(issues: list[Issue], loc: tuple[Any, ...], value: str, what: str) -> None:
    try:
        rules.check_slug(value, what)
    except ValueError as exc:
        issues.append(Issue(loc, str(exc), True))


def _hint(value: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (known: {', '.join(known)})" if known else ""


def schema_json() -> str:
    """The JSON Schema of ``organization.yaml``, as committed in ``config/organization.schema.json``."""
    from gfwizard.orgconfig_fielddocs import describe_schema

    schema = describe_schema(OrgConfig.model_json_schema(), OrgConfig.__name__)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_FILE_NAME,
        **schema,
        "title": "gfwizard organization config (config/organization.yaml)",
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


from gfwizard.orgconfig_yaml import ConfigError, ConfigProblem, load_config, load_config_text  # noqa: E402
from gfwizard.orgconfig_save import render_config  # noqa: E402
from gfwizard.orgconfig_write import save_config  # noqa: E402

__all__ = [
    "CONFIG_VERSION", "ClusterSpec", "ConfigError", "ConfigProblem", "Environment", "Fingerprint", "HttpSpec",
    "Issue", "Organization", "OrgConfig", "Placement", "Role", "S3Spec", "SemanticErrors", "StackSpec",
    "StateSpec", "Toleration", "load_config", "load_config_text", "render_config", "save_config", "schema_json",
]
