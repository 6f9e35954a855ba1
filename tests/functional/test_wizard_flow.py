"""The wizard's first five steps, driven by keys against the rehearsal honey and S3 endpoint:
Preflight → Kubeconfig (honey) → Validate (pin consent) → Backend (bucket creation consent, backend
files in the workspace) → Config (diff, write on confirm, .bak kept)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import REPO, modal_named, on_step, text_of, type_into, wait_until
from tests.helpers import tree_digest

if TYPE_CHECKING:
    from gfwizard.rehearsal.apiserver import RehearsalAPIServer
    from gfwizard.rehearsal.httpstate import HttpStateServer
    from gfwizard.rehearsal.s3 import RehearsalS3
    from screens.app import WizardApp


@pytest.fixture
def unpinned_workspace(tmp_path: Path, honey: "RehearsalAPIServer", s3: "RehearsalS3",
                       http_state: "HttpStateServer", monkeypatch: pytest.MonkeyPatch) -> WorkspaceFixture:
    """A rehearsal workspace whose organization.yaml has no fingerprint yet (the wizard pins it)."""
    from gfwizard.rehearsal.workspace import prepare_workspace

    honey.request_log.clear()
    honey.faults.clear()
    files = prepare_workspace(tmp_path / "rehearsal", api=honey, s3=s3, http_state=http_state, pin_fingerprint=False)
    for key, value in files.env.items():
        monkeypatch.setenv(key, value)
    return WorkspaceFixture(dir=files.dir, kubeconfig_path=files.kubeconfig_path, config_path=files.config_path,
                            env=dict(files.env), bucket=files.bucket, api=honey, s3=s3, http_state=http_state)


def make_app(workspace: WorkspaceFixture) -> "WizardApp":
    from screens.launch import build_app

    return build_app(rehearsal=workspace, repo=REPO)  # type: ignore[arg-type]


async def to_validate(pilot, app: "WizardApp") -> None:  # type: ignore[no-untyped-def]
    """Preflight → Kubeconfig (Enter on the highlighted honey row) → Validate."""
    await wait_until(pilot, lambda: on_step(app, "preflight") and app.screen.checks is not None, "preflight checks")
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
    assert app.screen.selected is not None and app.screen.selected.name == "honey"
    assert app.screen.selected.classification.value == "target"
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.step == "validate", "the validate step")


def bucket_exists(workspace: WorkspaceFixture, name: str) -> bool:
    """Whether the rehearsal S3 endpoint has bucket ``name``."""
    return name in {b["Name"] for b in workspace.s3.client().list_buckets().get("Buckets", [])}


def workspace_files(workspace: WorkspaceFixture) -> dict[str, str]:
    """Digest of the workspace minus the request logs (which every API call appends to)."""
    return {k: v for k, v in tree_digest(workspace.dir).items() if not k.endswith("requests.log")}


async def test_first_five_steps_pin_create_bucket_render_and_write(unpinned_workspace: WorkspaceFixture) -> None:
    from gfwizard.orgconfig import load_config

    ws = unpinned_workspace
    original = ws.config_path.read_bytes()
    repo_before = tree_digest(REPO / "tofu") | tree_digest(REPO / "config")
    new_bucket = f"gfw-wizard-{secrets.token_hex(4)}"
    app = make_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await to_validate(pilot, app)
        # Checks pass, the fingerprint is not pinned: the consent dialog opens by itself.
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the pin consent dialog")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert ws.api.kube_system_uid in body and ws.api.ca_sha256 in body and str(ws.config_path) in body
        assert ws.config_path.read_bytes() == original, "nothing is pinned before consent"
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None
                         and app.screen.blocked_reason() is None, "validation after pinning")
        pinned = load_config(ws.config_path)
        assert pinned.cluster.fingerprint is not None
        assert (pinned.cluster.fingerprint.kube_system_uid, pinned.cluster.fingerprint.ca_sha256) == (
            ws.api.kube_system_uid, ws.api.ca_sha256)
        assert ws.config_path.with_name("organization.yaml.bak").read_bytes() == original
        assert app.screen.report.check("fingerprint").level.value == "pass"

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        assert app.screen.blocked_reason() == "Checks passed. Render the backend files (Ctrl+W)."
        # A bucket that does not exist yet: typed in, checked, created only after consent.
        await type_into(pilot, "#s3_bucket", new_bucket)
        assert app.session.draft.state.s3.bucket == new_bucket
        assert app.screen.checks is None and "Ctrl+R" in text_of(app.screen.query_one("#step-status"))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
        assert new_bucket in text_of(app.screen.query_one("#confirm-body"))
        assert not bucket_exists(ws, new_bucket), "nothing is created before consent"
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None
                         and all(c.ok for c in app.screen.checks), "checks after creating the bucket")
        bucket_check = next(c for c in app.screen.checks if c.name == "s3 bucket")
        assert "created" in bucket_check.detail and bucket_exists(ws, new_bucket)
        versioning = ws.s3.client().get_bucket_versioning(Bucket=new_bucket)
        assert versioning.get("Status") == "Enabled"
        # Ctrl+W works even with the cursor in an Input (Input itself binds ctrl+w).
        assert app.focused is not None and app.focused.id == "s3_bucket"
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the render dialog")
        assert str(ws.dir / "backends") in text_of(app.screen.query_one("#confirm-body"))
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.blocked_reason() is None,
                         "rendered backend files")
        rendered = sorted(p.relative_to(ws.dir).as_posix() for p in (ws.dir / "backends").rglob("*.tfbackend"))
        assert "backends/attic/dev.s3.tfbackend" in rendered and len(rendered) == 8
        assert f'bucket = "{new_bucket}"' in (ws.dir / "backends" / "attic" / "dev.s3.tfbackend").read_text()

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the config diff")
        diff = text_of(app.screen.query_one("#config-diff")).splitlines()
        assert any(line.startswith("+") and new_bucket in line for line in diff), diff
        assert any(line.startswith("-") and ws.bucket in line for line in diff), diff
        assert app.screen.blocked_reason() == "Write organization.yaml first (Ctrl+W)."
        before_write = ws.config_path.read_bytes()
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        assert "organization.yaml.bak" in text_of(app.screen.query_one("#confirm-body"))
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "config") and app.session.config_written
                         and app.screen.blocked_reason() is None, "the config written")
        written = load_config(ws.config_path)
        assert written.state.s3 is not None and written.state.s3.bucket == new_bucket
        assert written.cluster.fingerprint == pinned.cluster.fingerprint
        assert ws.config_path.with_name("organization.yaml.bak").read_bytes() == before_write
        assert app.screen.check_action("next", ()) is True
    assert tree_digest(REPO / "tofu") | tree_digest(REPO / "config") == repo_before, "the checkout was written to"
