"""Snapshot tests of the wizard's first five steps (and its dialogs) at 80x24 and 120x40.

Everything in the picture is fixed: the core calls the step workers make are monkeypatched to return
fixed checks, contexts and reports, and the config path is a fixed, non-existent path, so no port,
temp path, time or UID reaches an SVG. Regenerate after an intended change with
``pytest tests/snapshots/test_wizard_snapshots.py --snapshot-update`` and look at the SVGs under
``__snapshots__/test_wizard_snapshots/`` before keeping them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.snapshots import settle

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig
    from screens.app import WizardApp

SIZES = [(80, 24), (120, 40)]
REPO = Path("/srv/gloriousflywheel")
CONFIG = REPO / "config" / "organization.yaml"
UID = "0d5c7a52-3f0e-4b8e-9a51-6f2b1c9d4e77"
CA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def base_config(pinned: bool = True) -> "OrgConfig":
    """The honey-shaped defaults, optionally with a fixed fingerprint pinned."""
    from gfwizard.answers import ConfigAnswers, build_config

    cfg = build_config(ConfigAnswers())
    return cfg.with_fingerprint(UID, CA) if pinned else cfg


def wizard(step: str, draft: "OrgConfig | None" = None) -> "WizardApp":
    """The wizard at ``step`` for the fixed paths (the session as the earlier steps leave it)."""
    from screens.launch import build_app

    app = build_app(config_path=CONFIG, repo=REPO, start_at=step)
    app.session.context, app.session.kubeconfig = "honey", "/home/operator/.kube/kubeconfig-honey.yaml"
    app.session.draft = draft
    return app


def preflight_checks() -> list[Any]:
    from gfwizard.checks import passed, warned

    return [
        passed("IaC binary", "tofu 1.10.6 (/usr/local/bin/tofu)"),
        warned("kubectl", "kubectl not found (optional)",
               "Install kubectl to inspect honey by hand; the wizard does not need it."),
        passed("repository layout", f"{REPO}: the four stacks are present"),
        warned("organization config", f"{CONFIG} not found; the wizard will generate it",
               "Nothing to do: the Config step writes it after showing it to you."),
    ]


def discovery() -> Any:
    from gfwizard.kubeconfig import AuthKind, Classification, ContextInfo, Discovery, FileInfo, FileStatus

    kube = "/home/operator/.kube"

    def ctx(name: str, file: str, server: str, auth: AuthKind, cls: Classification, reason: str,
            **extra: Any) -> ContextInfo:
        return ContextInfo(name=name, file=file, cluster=name, server=server, user=f"{name}-admin", namespace="",
                           auth=auth, classification=cls, reason=reason, cluster_file=file, user_file=file,
                           kubectl_visible=True, **extra)

    return Discovery(
        contexts=[
            ctx("tinyland-civo-dev", f"{kube}/config", "https://74.220.21.9:6443", AuthKind.TOKEN,
                Classification.LEGACY_CIVO, "legacy Civo context (tinyland-civo-dev): residual compatibility only",
                current=True),
            ctx("group/agents:dev", f"{kube}/config", "https://kas.gitlab.com/k8s-proxy", AuthKind.TOKEN,
                Classification.GITLAB_AGENT, "GitLab agent context: reaches the cluster through GitLab"),
            ctx("bumble", f"{kube}/config", "https://100.113.89.12:6443", AuthKind.CERT,
                Classification.NODE_ROLE_MISUSE, "named after node role 'bumble': a node role, not a cluster",
                cert_expiry="2027-03-01T00:00:00Z", cert_expired=False),
            ctx("honey", f"{kube}/kubeconfig-honey.yaml", "https://100.113.89.12:6443", AuthKind.CERT,
                Classification.TARGET, "context name is the target context 'honey'",
                cert_expiry="2027-03-01T00:00:00Z", cert_expired=False),
        ],
        files=[FileInfo(f"{kube}/config", FileStatus.OK), FileInfo(f"{kube}/kubeconfig-honey.yaml", FileStatus.OK),
               FileInfo(f"{kube}/old.yaml", FileStatus.INVALID, "line 3, column 1: mapping values are not allowed")],
        warnings=[],
        searched=[f"{kube}/config", f"{kube}/kubeconfig-*.y*ml", f"{kube}/*.y*ml"],
        merged_files=[f"{kube}/config", f"{kube}/kubeconfig-honey.yaml"],
        current_context="tinyland-civo-dev",
    )


def validation(server_fails: bool) -> Any:
    from gfwizard.checks import failed, passed, warned
    from gfwizard.cluster import ObservedFingerprint, ValidationReport

    honey = "https://100.113.89.12:6443"
    file = "/home/operator/.kube/kubeconfig-honey.yaml"
    server = (failed("server", f"context 'honey' points at https://100.113.89.14:6443, but organization.yaml "
                               f"says {honey}",
                     f"fix the server of cluster 'honey' in {file}, or cluster.api_server in organization.yaml")
              if server_fails else passed("server", f"context 'honey' points at {honey}, the configured api_server"))
    fingerprint = (passed("fingerprint", f"matches the pinned fingerprint (kube-system UID {UID}, CA sha256 {CA})")
                   if server_fails else
                   warned("fingerprint", f"not pinned yet; this cluster shows kube-system UID {UID}, CA sha256 {CA}",
                          "run `gfwizard validate --pin` to pin it (it shows what it writes and asks first)"))
    checks = [
        passed("kubeconfig", f"context 'honey' in {file}: cluster 'honey' at {honey}, user 'honey-admin' (cert auth)"),
        passed("classification", "'honey' is the deploy target (context name is the target context 'honey')"),
        server,
        passed("network", "100.113.89.12 is in the tailnet range 100.64.0.0/10"),
        passed("credentials", "client certificate for user 'honey-admin', valid until 2027-03-01"),
        passed("reachable", f"Kubernetes v1.32.4+k3s1 at {honey} (answered in 12 ms)"),
        fingerprint,
        passed("placement", "bumble: bumble; sting: sting"),
        passed("rbac", "user 'honey-admin' may get, list, watch, create, update, delete what the four stacks create"),
    ]
    return ValidationReport(context="honey", kubeconfig=[file], server=honey, version="v1.32.4+k3s1",
                            observed_fingerprint=ObservedFingerprint(kube_system_uid=UID, ca_sha256=CA), checks=checks)


def backend_checks() -> list[Any]:
    from gfwizard.checks import failed, passed

    s3 = "http://100.113.89.12:9000"
    bucket = "gloriousflywheel-state"
    return [
        passed("s3 endpoint", f"{s3} (from state.s3.endpoint) answered HTTP 200"),
        passed("s3 clock skew", "this machine's clock is 0s ahead of the endpoint's (limit 300s)"),
        passed("s3 credentials", "environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): accepted by the store"),
        passed("s3 bucket", f"bucket '{bucket}' exists"),
        passed("s3 versioning", f"versioning is enabled on '{bucket}': every state write is kept"),
        passed("s3 state prefix", f"s3://{bucket}/gloriousflywheel/dev/: 4 state file(s)"),
        failed("s3 lock probe", "use_lockfile refused: the store rejected a conditional write (NotImplemented)",
               "use an S3 store that supports conditional writes (PutObject with If-None-Match: *), then re-run "
               "`gfwizard backend check`; do not deploy until the lock probe passes"),
    ]


@pytest.fixture
def fixed_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every core call the first five steps' workers make returns fixed data."""
    import gfwizard.backend
    import gfwizard.cluster
    import gfwizard.draft
    import gfwizard.kubeconfig
    import gfwizard.preflight
    from gfwizard.backend_s3 import CredentialSource
    from gfwizard.kubeconfig import TargetHint

    monkeypatch.setattr(gfwizard.preflight, "run_preflight", lambda repo, config_path, **kwargs: preflight_checks())
    monkeypatch.setattr(gfwizard.kubeconfig, "load_target_hint", lambda path: (TargetHint(), ""))
    monkeypatch.setattr(gfwizard.kubeconfig, "discover", lambda **kwargs: discovery())
    # As the real one: without ``probe`` (entering the State backend step) the lock probe does not run.
    monkeypatch.setattr(gfwizard.backend, "check_s3",
                        lambda cfg, env, probe=True, **kwargs: backend_checks()[:None if probe else -1])
    monkeypatch.setattr(gfwizard.backend, "credential_source", lambda: CredentialSource(
        "env", "environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"))


def use_validation(monkeypatch: pytest.MonkeyPatch, *, server_fails: bool) -> None:
    import gfwizard.cluster
    import gfwizard.draft

    cfg = base_config(pinned=server_fails)
    monkeypatch.setattr(gfwizard.draft, "load_or_draft",
                        lambda path, **kwargs: gfwizard.draft.Draft(cfg, None, None))
    monkeypatch.setattr(gfwizard.cluster, "validate_context", lambda cfg, **kwargs: validation(server_fails))


ids = [f"{w}x{h}" for w, h in SIZES]


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_preflight(snap_compare: Any, fixed_core: None, size: tuple[int, int]) -> None:
    app = wizard("preflight")

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: getattr(pilot.app.screen, "checks", None) is not None)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_kubeconfig(snap_compare: Any, fixed_core: None, size: tuple[int, int]) -> None:
    app = wizard("kubeconfig")

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: getattr(pilot.app.screen, "discovery", None) is not None)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_validate_failing_check(snap_compare: Any, fixed_core: None, monkeypatch: pytest.MonkeyPatch,
                                size: tuple[int, int]) -> None:
    use_validation(monkeypatch, server_fails=True)
    app = wizard("validate")

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: getattr(pilot.app.screen, "report", None) is not None)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_validate_pin_consent(snap_compare: Any, fixed_core: None, monkeypatch: pytest.MonkeyPatch,
                              size: tuple[int, int]) -> None:
    use_validation(monkeypatch, server_fails=False)
    app = wizard("validate")

    async def run_before(pilot: Any) -> None:
        from textual.widgets import Button

        await settle(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmModal"
                     and bool(pilot.app.screen.query(Button)))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_backend(snap_compare: Any, fixed_core: None, size: tuple[int, int]) -> None:
    app = wizard("backend", draft=base_config())

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: getattr(pilot.app.screen, "checks", None) is not None)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_backend_every_check(snap_compare: Any, fixed_core: None, size: tuple[int, int]) -> None:
    """After Ctrl+R: every check, the lock probe too (here failing, its remedy under the list)."""
    app = wizard("backend", draft=base_config())

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: getattr(pilot.app.screen, "checks", None) is not None)
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: getattr(pilot.app.screen, "full_run", False))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_config_diff(snap_compare: Any, fixed_core: None, monkeypatch: pytest.MonkeyPatch,
                     size: tuple[int, int]) -> None:
    from gfwizard.orgconfig import render_config
    from screens.config_screen import ConfigScreen

    old = base_config()
    assert old.state.s3 is not None
    new = old.model_copy(update={"state": old.state.model_copy(update={
        "s3": old.state.s3.model_copy(update={"bucket": "gloriousflywheel-state-dev"})})})
    old_text = render_config(old)
    new_text = render_config(new, old_text)

    def rendered(self: ConfigScreen) -> None:  # the file on disk is fixed text, not a temp file
        self.post_message(ConfigScreen.Rendered(new_text, old_text))

    monkeypatch.setattr(ConfigScreen, "render_config", rendered)
    app = wizard("config", draft=new)

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: getattr(pilot.app.screen, "new_text", None) is not None)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_error_modal(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    import gfwizard.preflight
    from gfwizard.errors import InputError

    def unreadable(repo: Path, config_path: Path, **kwargs: Any) -> list[Any]:
        raise InputError(f"{CONFIG} exists but is not a valid organization config:\n"
                         "  organization.yaml:7:3 cluster.network: 'internet' is not one of tailnet, private, loopback",
                         remedy="fix it (see `gfwizard config validate`), or pass --force to answer from the defaults")

    monkeypatch.setattr(gfwizard.preflight, "run_preflight", unreadable)
    app = wizard("preflight")

    async def run_before(pilot: Any) -> None:
        from textual.widgets import Button

        await settle(pilot, lambda: type(pilot.app.screen).__name__ == "ErrorModal"
                     and bool(pilot.app.screen.query(Button)))

    assert snap_compare(app, terminal_size=size, run_before=run_before)
