"""Context validation against honey: is this context the cluster ``organization.yaml`` describes,
reachable, the same cluster as last time, with the nodes and permissions the stacks need?

:func:`validate_context` runs the checks in three phases, concurrently inside each phase:

1. local: ``kubeconfig`` (context found; warns when a file holding its credential is readable by other
   local users), ``classification`` (not legacy / GitLab agent / node role),
   ``server`` (equals ``cluster.api_server``), ``network`` (policy), ``credentials`` (client cert not
   expired, exec plugin ran within its deadline);
2. ``reachable``: ``GET /version`` and the kube-system namespace (a 401 here fails ``credentials``);
3. remote: ``fingerprint`` (kube-system UID + CA hash vs the pinned one), ``placement`` (a Ready node
   per role), ``rbac`` (SelfSubjectAccessReviews). ``placement`` and ``rbac`` run only when the
   cluster's identity is verified (TLS checks the server and the fingerprint can be established).

A context that is not a deploy target, or whose address breaks the network policy, is never
contacted (no credentials are sent to it). When a phase fails, the checks that depend on it are
reported as skipped, naming the cause, so an unreachable API costs one timeout, not one per check.

:func:`gate_checks` is what the deploy gates need: ``server`` and ``fingerprint`` only, with an
unpinned or unverifiable fingerprint counting as a failure.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from pydantic import BaseModel, Field

from gfwizard.checks import Check, Level, failed, passed, warned
from gfwizard.cluster_client import ClusterClient, Timeouts
from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.cluster_kubeconfig import CONFIG_ORIGIN, DRAFT_ORIGIN, ContextTarget, kubeconfig_paths, resolve_context
from gfwizard.cluster_network import (network_check, normalise_server, other_context_remedy,
                                      same_cluster_server_remedy, server_check, wrong_context_remedy)
from gfwizard.errors import SafetyStop
from gfwizard.redact import redact

if TYPE_CHECKING:
    from gfwizard.cluster_direct import DirectClient
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.placement import NodeInfo

#: A context read out of the kubeconfig: what it says and its standalone config dict (see ``resolve_context``).
ResolvedContext = tuple[ContextTarget, dict[str, Any]]

CHECK_ORDER = ("kubeconfig", "classification", "server", "network", "credentials", "reachable", "fingerprint",
               "placement", "rbac")
PIN_REMEDY = "run `gfwizard validate --pin` to pin it (it shows what it writes and asks first)"


class ObservedFingerprint(BaseModel):
    """The identity the context's cluster showed: kube-system namespace UID and CA certificate hash."""

    kube_system_uid: str
    ca_sha256: str


class ValidationReport(BaseModel):
    """Every check of one context, plus what was observed."""

    context: str
    kubeconfig: list[str] = Field(description="the kubeconfig files read (merged)")
    server: str | None = None
    version: str | None = None
    observed_fingerprint: ObservedFingerprint | None = None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check | None:
        """The check called ``name``."""
        return next((c for c in self.checks if c.name == name), None)


def _clean(check: Check) -> Check:
    return check.model_copy(update={"detail": redact(check.detail), "remedy": redact(check.remedy)})


def _skipped(name: str, because: str, cause: str, level: Level = Level.WARN) -> Check:
    return Check(name=name, level=level, detail=f"skipped: {because}",
                 remedy=f"fix the {cause!r} check first, then run `gfwizard validate` again")


def _for_target(check: Check, context: str, configured: str) -> Check:
    """A failing check of a context other than the configured one: its remedy is that context, never
    a change to honey's settings or to this context (a legacy one, say)."""
    if check.ok or context == configured:
        return check
    return check.model_copy(update={"remedy": other_context_remedy(context, configured)})


def _access_failure(name: str, exc: ClusterAccessError) -> Check:
    return failed(name, exc.message, exc.remedy or "see the detail")


def _hint(cfg: "OrgConfig") -> Any:
    from gfwizard.kubeconfig_classify import DEFAULT_ROLES, TargetHint

    return TargetHint(context=cfg.cluster.context, api_server=cfg.cluster.api_server,
                      legacy_contexts=tuple(cfg.cluster.legacy_contexts),
                      roles=tuple(sorted(set(cfg.placement.roles) | set(DEFAULT_ROLES))),
                      kubeconfig=cfg.cluster.kubeconfig, source="organization.yaml")


def _from_discovery(discovery: Any, context: str, files: tuple[str, ...]) -> tuple[str, str] | None:
    """(classification, reason) of ``context`` in a ``kubeconfig.discover()`` result, preferring our files."""
    found = [c for c in getattr(discovery, "contexts", []) or [] if getattr(c, "name", None) == context]
    if not found:
        return None
    mine = [c for c in found if str(getattr(c, "file", "")) in files] or found
    info = mine[0]
    value = getattr(info, "classification", None)
    return str(getattr(value, "value", value)), str(getattr(info, "reason", "") or "")


def classification_check(cfg: "OrgConfig", context: str, cluster: str, server: str,
                         discovery: Any = None, files: tuple[str, ...] = ()) -> Check:
    """Fail contexts that are never deploy targets: legacy (Civo), GitLab agent, named after a node role."""
    from gfwizard.kubeconfig_classify import classify

    from gfwizard.orgconfig_rules import is_gitlab_agent_context

    kind, reason = classify(context, cluster, server, _hint(cfg))
    kind_value = kind.value
    if kind_value == "target" and is_gitlab_agent_context(context):
        # Pointing at honey's server does not make an agent-shaped context the deploy model.
        kind_value, reason = "gitlab-agent", "name shaped like a GitLab agent context (group/project:agent)"
    if discovery is not None:
        # The config knows roles and legacy names discovery may not; a config-based verdict other than
        # target wins, otherwise discovery's (it may have looked at more than names).
        found = _from_discovery(discovery, context, files)
        if found is not None and kind_value in ("target", "other"):
            kind_value, reason = found[0], found[1] or reason
    honey = f"the {cfg.cluster.context!r} context for {cfg.cluster.name} ({cfg.cluster.api_server})"
    if kind_value == "target":
        return passed("classification", f"{context!r} is the deploy target ({reason})")
    if kind_value == "legacy-civo":
        return failed("classification", f"{context!r} is a legacy (Civo-era) context ({reason}): compatibility only, "
                                        "never a deploy target", f"use {honey}")
    if kind_value == "gitlab-agent":
        return failed("classification", f"{context!r} is a GitLab-agent context ({reason}): not a deploy target",
                      f"deploy through an explicit kubeconfig and context instead: {honey}")
    if kind_value == "node-role-misuse":
        return failed("classification", f"{context!r} is {reason}; node roles are placement inputs "
                                        "(placement.roles), never contexts", f"use {honey}")
    return warned("classification", f"{context!r} is neither the configured context {cfg.cluster.context!r} nor "
                                    f"pointed at {cfg.cluster.api_server}",
                  f"validate {honey} unless you know this context reaches honey")


def _client(kubeconfig: str | None, context: str, timeouts: Timeouts,
            direct_from: "tuple[ContextTarget, dict[str, Any]] | None", origin: str) -> "ClusterClient | DirectClient":
    """A client for the context: the light :class:`~gfwizard.cluster_direct.DirectClient` when ``direct_from``
    (the resolved context) is given and it supports the credentials, else the official client (cached)."""
    from gfwizard.cluster_direct import DirectClient

    if direct_from is not None and DirectClient.supports(*direct_from):
        return DirectClient(direct_from[0], direct_from[1], timeouts)
    return ClusterClient.for_context(kubeconfig, context, timeouts, origin=origin)


def _close_direct(client: "ClusterClient | DirectClient | None") -> None:
    """Close a :class:`~gfwizard.cluster_direct.DirectClient`'s kept connection (the official client's pool
    is cached and reused)."""
    from gfwizard.cluster_direct import DirectClient

    if isinstance(client, DirectClient):
        client.close()


def _credentials(kubeconfig: str | None, context: str, timeouts: Timeouts,
                 direct_from: "tuple[ContextTarget, dict[str, Any]] | None" = None, origin: str = ""
                 ) -> tuple[Check, "ClusterClient | DirectClient | None"]:
    """The credentials check and a client. ``direct_from`` (the resolved context) allows the light
    :class:`~gfwizard.cluster_direct.DirectClient` when it supports the context's credentials."""
    import datetime as dt

    try:
        client = _client(kubeconfig, context, timeouts, direct_from, origin)
    except ClusterAccessError as exc:
        return _access_failure("credentials", exc), None
    t = client.target
    parts = [f"{t.auth_kind} auth for user {t.user_name!r}"]
    if t.auth_kind == "exec":
        parts.append(f"exec plugin {t.exec_command!r} returned a credential")
        if client.exec_stderr:
            parts.append(f"plugin stderr: {client.exec_stderr}")
    if t.client_cert_not_after is not None:
        left = t.client_cert_not_after - dt.datetime.now(dt.timezone.utc)
        parts.append(f"client certificate valid until {t.client_cert_not_after:%Y-%m-%d}")
        if left < dt.timedelta(days=14):
            return warned("credentials", "; ".join(parts) + f" (expires in {left.days} days)",
                          "renew the client certificate before it expires"), client
    return passed("credentials", "; ".join(parts)), client


class _Run:
    """One validation run: shared state between the phases."""

    def __init__(self, cfg: "OrgConfig", kubeconfig: str | None, context: str, timeouts: Timeouts,
                 discovery: Any, direct: bool = False, origin: str = "", context_origin: str = "",
                 resolved: ResolvedContext | None = None, new_config: bool = False) -> None:
        self.cfg = cfg
        #: ``cfg`` is the wizard's draft of a file that does not exist yet: no field of it can be corrected.
        self.new_config = new_config
        #: The context as the caller already resolved it (None: phase 1 resolves it).
        self.resolved = resolved
        #: Where ``kubeconfig`` and ``context`` came from (see ``resolve_context``).
        self.origin = origin
        self.context_origin = context_origin
        #: The gates only read /version and kube-system: a DirectClient may do that (see cluster_direct).
        self.direct = direct
        self.config_dict: dict[str, Any] | None = None
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeouts = timeouts
        self.discovery = discovery
        self.checks: dict[str, Check] = {}
        #: Checks not run because an earlier one failed (their ``skipped: ...`` rows are in ``checks``).
        self.skipped: set[str] = set()
        self.target: ContextTarget | None = None
        self.client: ClusterClient | DirectClient | None = None
        self.version: str | None = None
        self.uid: str | None = None
        self.uid_error: ClusterAccessError | None = None
        self.observed: ObservedFingerprint | None = None

    def add(self, check: Check) -> None:
        self.checks[check.name] = _clean(check)

    def skip(self, names: tuple[str, ...], because: str, cause: str, strict: bool = False) -> None:
        for name in names:
            if name not in self.checks:
                level = Level.FAIL if strict and name == "fingerprint" else Level.WARN
                self.add(_skipped(name, because, cause, level))
                self.skipped.add(name)

    def local(self, gates_only: bool) -> bool:
        """Phase 1. True when the context may be contacted."""
        try:
            self.target, self.config_dict = self.resolved or resolve_context(
                self.kubeconfig, self.context, origin=self.origin, context_origin=self.context_origin)
        except ClusterAccessError as exc:
            self.add(_access_failure("kubeconfig", exc))
            return False
        t = self.target
        found = (f"context {t.context!r} in {t.context_file}: cluster {t.cluster_name!r} at {t.server}, "
                 f"user {t.user_name!r} ({t.auth_kind} auth)")
        # Found the way kubectl finds it, but maybe not in the file the operator meant (a skipped '~' entry or
        # empty file), or in a file other local users can read: warnings on this row, never a row of their own or
        # a failure.
        notes = [note for note in (t.unexpanded_note(), t.empty_note(), t.exposure_note()) if note[0]]
        self.add(warned("kubeconfig", "; ".join([found, *(d for d, _ in notes)]), "; ".join(r for _, r in notes))
                 if notes else passed("kubeconfig", found))
        where = t.context_file
        jobs: dict[str, Callable[[], Check]] = {
            "server": lambda: server_check(t.server, self.cfg.cluster.api_server, t.context, where,
                                           self.cfg.cluster.context, new_config=self.new_config),
            "network": lambda: _for_target(self._network(), t.context, self.cfg.cluster.context),
        }
        if not gates_only:
            jobs["classification"] = lambda: classification_check(self.cfg, t.context, t.cluster_name, t.server,
                                                                  self.discovery, t.files)
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="gfwizard-check") as pool:
            futures = [pool.submit(job) for job in jobs.values()]
            for future in futures:
                self.add(future.result())
        # Credentials come last: an exec plugin of a context we will not contact must not run either.
        reasons = {"classification": "the context is not a deploy target, so it was not contacted",
                   "network": "the API address breaks the network policy, so it was not contacted",
                   "credentials": "no usable credentials for the context"}
        for cause in ("classification", "network"):
            if cause in self.checks and not self.checks[cause].ok:
                self.skip(("credentials", "reachable", "fingerprint", "placement", "rbac"), reasons[cause], cause,
                          strict=gates_only)
                return False
        direct_from = (t, self.config_dict) if self.direct and self.config_dict is not None else None
        check, self.client = _credentials(self.kubeconfig, self.context, self.timeouts, direct_from, self.origin)
        self.add(check)
        if not check.ok:
            self.skip(("reachable", "fingerprint", "placement", "rbac"), reasons["credentials"], "credentials",
                      strict=gates_only)
            return False
        return True

    def _network(self) -> Check:
        """The network check; when the context also points away from ``cluster.api_server``, the context is
        the likely cause, and the remedy says so before suggesting a different ``cluster.network``."""
        assert self.target is not None
        t = self.target
        check = network_check(t.server, self.cfg.cluster.network, self.timeouts.connect, new_config=self.new_config)
        if check.ok or normalise_server(t.server) == normalise_server(self.cfg.cluster.api_server):
            return check
        return check.model_copy(update={"remedy": wrong_context_remedy(
            t.context, t.context_file, t.server, self.cfg.cluster.api_server, len(t.files) > 1, check.remedy)})

    def reconcile_server(self) -> None:
        """A failed ``server`` check of a context whose fingerprint matches the pinned one reaches honey at
        another address: say that, not that the context is another cluster."""
        server, fingerprint = self.checks.get("server"), self.checks.get("fingerprint")
        if (self.target is None or server is None or server.ok or fingerprint is None
                or fingerprint.level is not Level.PASS or self.cfg.cluster.fingerprint is None):
            return
        self.add(server.model_copy(update={"remedy": same_cluster_server_remedy(
            self.target.server, self.cfg.cluster.api_server, self.target.context, self.cfg.cluster.context,
            new_config=self.new_config)}))

    def reach(self, strict: bool) -> bool:
        """Phase 2: /version and the kube-system namespace. True when the API answered with our credentials."""
        assert self.client is not None
        started = time.monotonic()
        try:
            info = self.client.version()
        except ClusterAccessError as exc:
            if exc.kind == "unauthorized":
                self.add(passed("reachable", f"{self.client.target.server} answered (and rejected the credentials)"))
                self.add(_access_failure("credentials", exc))
                self.skip(("fingerprint", "placement", "rbac"), "the API rejected the credentials", "credentials",
                          strict)
            else:
                self.add(_access_failure("reachable", exc))
                self.skip(("fingerprint", "placement", "rbac"), "the API server did not answer", "reachable", strict)
            return False
        elapsed = (time.monotonic() - started) * 1000
        self.version = str(info.get("gitVersion") or "")
        self.add(passed("reachable", f"Kubernetes {self.version} at {self.client.target.server} "
                                     f"(answered in {elapsed:.0f} ms)"))
        try:
            self.uid = self.client.kube_system_uid()
        except ClusterAccessError as exc:
            if exc.kind == "unauthorized":
                self.add(_access_failure("credentials", exc))
                self.skip(("fingerprint", "placement", "rbac"), "the API rejected the credentials", "credentials",
                          strict)
                return False
            self.uid_error = exc
        return True

    def fingerprint(self, strict: bool) -> Check:
        """Phase 3: observed vs pinned identity."""
        assert self.target is not None
        if self.uid_error is not None:
            return failed("fingerprint", f"cannot read the kube-system namespace: {self.uid_error.message}",
                          self.uid_error.remedy)
        ca = self.target.ca_sha256
        if ca is None:
            why = "insecure-skip-tls-verify is set" if self.target.insecure_skip_tls_verify else "none is configured"
            return failed("fingerprint", f"the kubeconfig has no certificate-authority for cluster "
                                         f"{self.target.cluster_name!r} ({why}), so honey's CA cannot be fingerprinted",
                          "add honey's CA as certificate-authority-data to the cluster entry and remove "
                          "insecure-skip-tls-verify")
        assert self.uid is not None
        self.observed = ObservedFingerprint(kube_system_uid=self.uid, ca_sha256=ca)
        return fingerprint_check(self.cfg, self.observed, strict=strict)

    def unverified_identity(self) -> str | None:
        """Why the cluster's identity is not verified (None when it is): TLS that does not check the
        server, or a fingerprint that cannot be established. Phase 2 must have run."""
        assert self.target is not None
        t = self.target
        if t.insecure_skip_tls_verify:
            return f"insecure-skip-tls-verify is set for cluster {t.cluster_name!r}, so TLS does not check the server"
        if not t.server.lower().startswith("https://"):
            return f"{t.server} is not https, so nothing checks the server"
        if t.ca_sha256 is None:
            return f"cluster {t.cluster_name!r} has no certificate-authority, so its CA cannot be fingerprinted"
        if self.uid_error is not None:
            return "the kube-system namespace could not be read, so its UID is unknown"
        return None

    def placement(self) -> Check:
        """Phase 3: a Ready node for every role."""
        from gfwizard.placement import fetch_nodes

        assert isinstance(self.client, ClusterClient)
        try:
            nodes = fetch_nodes(self.client)
        except ClusterAccessError as exc:
            return _access_failure("placement", exc)
        return roles_check(self.cfg, nodes)

    def rbac(self) -> Check:
        """Phase 3: SelfSubjectAccessReviews for what the stacks need."""
        from gfwizard.cluster_rbac import rbac_check

        assert isinstance(self.client, ClusterClient)
        try:
            return rbac_check(self.client, [s.name for s in self.cfg.stacks])
        except ClusterAccessError as exc:
            return _access_failure("rbac", exc)

    def report(self) -> ValidationReport:
        ordered = [self.checks[n] for n in CHECK_ORDER if n in self.checks]
        t = self.target
        # Without a target (the context could not be resolved) the files were still read: name them.
        files = list(t.files) if t else [p for p in kubeconfig_paths(self.kubeconfig) if os.path.isfile(p)]
        return ValidationReport(context=self.context, kubeconfig=files,
                                server=t.server if t else None, version=self.version,
                                observed_fingerprint=self.observed, checks=ordered)


def fingerprint_check(cfg: "OrgConfig", observed: ObservedFingerprint, strict: bool = False) -> Check:
    """Compare ``observed`` with ``cluster.fingerprint``. Not pinned: warn (``strict``: fail); mismatch: fail."""
    pinned = cfg.cluster.fingerprint
    shown = f"kube-system UID {observed.kube_system_uid}, CA sha256 {observed.ca_sha256}"
    if pinned is None:
        text = f"not pinned yet; this cluster shows {shown}"
        return failed("fingerprint", text, PIN_REMEDY) if strict else warned("fingerprint", text, PIN_REMEDY)
    differs = [what for what, a, b in (("kube-system UID", pinned.kube_system_uid, observed.kube_system_uid),
                                       ("CA sha256", pinned.ca_sha256, observed.ca_sha256)) if a != b.lower()]
    if not differs:
        return passed("fingerprint", f"matches the pinned fingerprint ({shown})")
    verb = "differ" if len(differs) > 1 else "differs"
    return failed("fingerprint",
                  f"fingerprint mismatch ({' and '.join(differs)} {verb}): expected kube-system UID "
                  f"{pinned.kube_system_uid}, CA sha256 {pinned.ca_sha256} (pinned in organization.yaml); "
                  f"actual kube-system UID {observed.kube_system_uid}, CA sha256 {observed.ca_sha256}",
                  "stop: this context reaches a different cluster than the one pinned, or honey was rebuilt. Check "
                  "the kubeconfig and context. Only if honey was deliberately rebuilt: remove cluster.fingerprint "
                  "from organization.yaml and pin again with `gfwizard validate --pin`")


def roles_check(cfg: "OrgConfig", nodes: list["NodeInfo"]) -> Check:
    """Each role of ``placement.roles`` has at least one Ready node matching its selector."""
    from gfwizard.placement import bring_back, not_ready_note  # only this check needs placement (not the deploy gates)

    if not cfg.placement.roles:
        return passed("placement", f"no node roles configured ({len(nodes)} nodes)")
    found: list[str] = []
    missing: list[str] = []
    down: list["NodeInfo"] = []
    for role, spec in cfg.placement.roles.items():
        matching = [n for n in nodes if n.matches(spec.node_selector)]
        ready = [n.name for n in matching if n.ready]
        selector = ", ".join(f"{k}={v}" for k, v in spec.node_selector.items())
        if ready:
            found.append(f"{role}: {', '.join(ready)}")
        else:
            missing.append(f"role {role!r} ({selector})" + (f"; {not_ready_note(matching)}" if matching else ""))
            down.extend(matching)
    if missing:
        back = f"{bring_back(down)}, or " if down else ""
        return failed("placement", "no Ready node for " + "; ".join(missing) +
                      f" (nodes: {', '.join(n.name for n in nodes) or 'none'})",
                      f"{back}label a Ready node for each role (kubectl label node <node> <key>=<value>) or fix the "
                      "node_selector under placement.roles in organization.yaml")
    return passed("placement", "; ".join(found))


def _resolve_args(cfg: "OrgConfig", kubeconfig: str | None, context: str | None,
                  kubeconfig_origin: str = "") -> tuple[str | None, str, str]:
    """(kubeconfig, context, origin of the kubeconfig): the arguments win over organization.yaml.
    ``kubeconfig_origin`` is the origin of a given ``kubeconfig`` (e.g. :data:`KUBECONFIG_FLAG`)."""
    origin = kubeconfig_origin if kubeconfig else ("" if not cfg.cluster.kubeconfig else CONFIG_ORIGIN)
    return (kubeconfig or cfg.cluster.kubeconfig or None), (context or cfg.cluster.context), origin


def validate_context(cfg: "OrgConfig", *, kubeconfig: str | None = None, context: str | None = None,
                     timeouts: "Timeouts | tuple[float, float]" = (3, 10), discovery: Any = None,
                     context_origin: str = "", kubeconfig_origin: str = "", new_config: bool = False
                     ) -> ValidationReport:
    """Validate ``context`` (default ``cluster.context``) of ``kubeconfig`` (default ``cluster.kubeconfig``,
    then ``$KUBECONFIG``) against ``cfg``. Never raises for cluster problems: they are failed checks.

    ``discovery`` is an optional ``kubeconfig.discover()`` result whose classification is used;
    ``context_origin`` and ``kubeconfig_origin`` say where ``context`` and ``kubeconfig`` came from (see
    ``resolve_context``); ``new_config``: ``cfg`` is the wizard's draft and no organization.yaml exists yet, so a
    remedy that would change its kubeconfig, context, API server or network says how else to set it.
    """
    kubeconfig, context, origin = _resolve_args(cfg, kubeconfig, context, kubeconfig_origin)
    if new_config and origin == CONFIG_ORIGIN:
        origin = DRAFT_ORIGIN
    run = _Run(cfg, kubeconfig, context, Timeouts.of(timeouts), discovery, origin=origin,
               context_origin=context_origin, new_config=new_config)
    if run.local(gates_only=False) and run.reach(strict=False):
        unverified = run.unverified_identity()
        # Node names and ~100 access reviews (each with the credentials) only for a cluster known to be honey.
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="gfwizard-check") as pool:
            futures = [pool.submit(run.fingerprint, False)]
            if not unverified:
                futures += [pool.submit(run.placement), pool.submit(run.rbac)]
            for future in futures:
                run.add(future.result())
        if unverified:
            run.skip(("placement", "rbac"), f"the cluster's identity is not verified ({unverified}); "
                                            "no further requests were sent", "fingerprint")
        run.reconcile_server()
    elif "kubeconfig" in run.checks and not run.checks["kubeconfig"].ok:
        run.skip(("classification", "server", "network", "credentials", "reachable", "fingerprint", "placement",
                  "rbac"), "the context could not be read from the kubeconfig", "kubeconfig")
    return run.report()


def resolve_configured(cfg: "OrgConfig", *, kubeconfig: str | None = None,
                       context: str | None = None) -> ResolvedContext:
    """``context`` (default ``cluster.context``) of ``kubeconfig`` (default ``cluster.kubeconfig``, then
    ``$KUBECONFIG``) read out of the files, for :func:`gate_checks` and :func:`workload_environments` to share.
    Raises :class:`ClusterAccessError`."""
    kubeconfig, context, origin = _resolve_args(cfg, kubeconfig, context)
    return resolve_context(kubeconfig, context, origin=origin)


def gate_checks(cfg: "OrgConfig", *, kubeconfig: str | None = None, context: str | None = None,
                timeouts: "Timeouts | tuple[float, float]" = (3, 10),
                resolved: ResolvedContext | None = None) -> list[Check]:
    """The deploy gates: ``server`` and ``fingerprint``. An unpinned or unverifiable fingerprint fails.

    The two reads they need go through :class:`~gfwizard.cluster_direct.DirectClient` when it handles
    the context's credentials (token or client certificate), else through the official client.
    ``resolved``: the same context already read by :func:`resolve_configured` (else it is read here).
    """
    kubeconfig, context, origin = _resolve_args(cfg, kubeconfig, context)
    run = _Run(cfg, kubeconfig, context, Timeouts.of(timeouts), None, direct=True, origin=origin, resolved=resolved)
    try:
        if run.local(gates_only=True) and run.reach(strict=True):
            run.add(run.fingerprint(strict=True))
            run.reconcile_server()
    finally:
        _close_direct(run.client)
    out: list[Check] = []
    for name in ("server", "fingerprint"):
        check = run.checks.get(name)
        if check is None or name in run.skipped:
            # The deploy shows only the gates: name the real cause and its remedy, not a check it never shows.
            cause = next((c for c in ("kubeconfig", "network", "credentials", "reachable")
                          if c in run.checks and not run.checks[c].ok), "kubeconfig")
            check = _clean(failed(name, f"not verified: {run.checks[cause].detail}" if cause in run.checks else
                                  "not verified", run.checks[cause].remedy if cause in run.checks else
                                  "run `gfwizard validate`"))
        elif name == "fingerprint" and check.level is not Level.PASS:
            check = check.model_copy(update={"level": Level.FAIL, "remedy": check.remedy or PIN_REMEDY})
        out.append(check)
    if run.target is not None and run.target.skipped_empty:
        # kubectl and the stacks' providers skip such a file too: a note, never a failed gate.
        detail, remedy = run.target.empty_note()
        out.append(_clean(warned("kubeconfig", detail, remedy)))
    return out


def workload_environments(cfg: "OrgConfig", keys: "Iterable[tuple[str, str, str]]", *,
                          kubeconfig: str | None = None, context: str | None = None,
                          timeouts: "Timeouts | tuple[float, float]" = (3, 10),
                          resolved: ResolvedContext | None = None) -> dict[tuple[str, str, str], str]:
    """For each ``(kind, namespace, name)`` of ``keys`` that exists on the configured context: its
    ``gloriousflywheel.io/environment`` label (``""`` when it has none). GETs only, one per key; call it
    once the gates have verified the cluster's identity. ``resolved``: the context the gates verified, as
    :func:`resolve_configured` read it (else it is read again here). Raises :class:`ClusterAccessError`."""
    from gfwizard.status_records import ENVIRONMENT_LABEL

    kubeconfig, context, origin = _resolve_args(cfg, kubeconfig, context)
    client = _client(kubeconfig, context, Timeouts.of(timeouts),
                     resolved or resolve_context(kubeconfig, context, origin=origin), origin)
    out: dict[tuple[str, str, str], str] = {}
    try:
        for kind, namespace, name in keys:
            labels = client.workload_labels(kind, namespace, name)
            if labels is not None:
                out[(kind, namespace, name)] = labels.get(ENVIRONMENT_LABEL, "")
    finally:
        _close_direct(client)
    return out


def list_nodes(cfg: "OrgConfig", *, kubeconfig: str | None = None, context: str | None = None,
               timeouts: "Timeouts | tuple[float, float]" = (3, 10)) -> list["NodeInfo"]:
    """The live nodes of the configured context (raises :class:`ClusterAccessError`)."""
    from gfwizard.placement import fetch_nodes

    kubeconfig, context, origin = _resolve_args(cfg, kubeconfig, context)
    return fetch_nodes(ClusterClient.for_context(kubeconfig, context, timeouts, origin=origin))


def pin_fingerprint(cfg: "OrgConfig", config_path: Path, observed: ObservedFingerprint) -> tuple["OrgConfig", bool]:
    """Pin ``observed`` into ``config_path`` (through ``save_config``: atomic, comments kept, ``.bak``).

    Returns (config, written). Writes nothing when the same fingerprint is already pinned. Raises
    :class:`SafetyStop` when a different fingerprint is pinned: that is the mismatch hard stop, and
    it is never overwritten. Consent is the caller's job: call this only after the operator agreed.
    """
    from gfwizard.orgconfig import save_config

    pinned = cfg.cluster.fingerprint
    if pinned is not None:
        if (pinned.kube_system_uid, pinned.ca_sha256) == (observed.kube_system_uid.lower(), observed.ca_sha256.lower()):
            return cfg, False
        raise SafetyStop(
            f"refusing to pin: organization.yaml already pins kube-system UID {pinned.kube_system_uid}, CA sha256 "
            f"{pinned.ca_sha256}, and this cluster shows kube-system UID {observed.kube_system_uid}, CA sha256 "
            f"{observed.ca_sha256}",
            "a pinned fingerprint is never overwritten: if honey was deliberately rebuilt, remove "
            "cluster.fingerprint from organization.yaml by hand, then pin again")
    updated = cfg.with_fingerprint(observed.kube_system_uid, observed.ca_sha256)
    save_config(updated, config_path)
    return updated, True
