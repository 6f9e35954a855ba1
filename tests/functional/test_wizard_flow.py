"""The wizard's first five steps, driven by keys against the rehearsal honey and S3 endpoint:
Preflight → Kubeconfig (honey) → Validate (pin consent) → Backend (bucket creation consent, backend
files in the workspace) → Config (diff, write on confirm, .bak kept)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (  # noqa: F401 - unpinned_workspace is a fixture
    REPO,
    bucket_exists,
    make_app,
    modal_named,
    on_step,
    run_every_backend_check,
    text_of,
    type_into,
    unpinned_workspace,
    wait_until,
)
from tests.helpers import tree_digest

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from screens.app import WizardApp


async def to_validate(pilot: "Pilot[None]", app: "WizardApp") -> None:
    """Preflight → Kubeconfig (Enter on the highlighted honey row) → Validate."""
    await wait_until(pilot, lambda: on_step(app, "preflight") and app.screen.checks is not None, "preflight checks")
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
    assert app.screen.selected is not None and app.screen.selected.name == "honey"
    assert app.screen.selected.classification.value == "target"
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.step == "validate", "the validate step")


async def test_first_five_steps_pin_create_bucket_render_and_write(unpinned_workspace: WorkspaceFixture) -> None:
    from gfwizard.orgconfig import load_config

    ws = unpinned_workspace
    original = ws.config_path.read_bytes()
    repo_before = tree_digest(REPO / "tofu") | tree_digest(REPO / "config")
    new_bucket = f"gfw-w-{secrets.token_hex(2)}"
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
        assert app.screen.blocked_reason().startswith("Read-only checks passed; the lock probe has not run. Ctrl+R")
        await run_every_backend_check(pilot, app)
        assert app.screen.blocked_reason() == "Checks passed. Render the backend files (Ctrl+W)."
        # A bucket that does not exist yet: typed in, checked, created only after consent.
        await type_into(pilot, "#s3_bucket", new_bucket)
        assert app.session.draft.state.s3.bucket == new_bucket
        assert app.screen.checks is None and "Ctrl+R" in text_of(app.screen.query_one("#step-status"))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
        body = text_of(app.screen.query_one("#confirm-body"))
        # Ctrl+R asked for every check: the run after consent includes the lock probe, and the dialog says so.
        assert new_bucket in body and "Then the checks run again, with the lock probe" in body, body
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


async def test_backend_files_already_up_to_date_need_no_render(unpinned_workspace: WorkspaceFixture) -> None:
    """Files an earlier visit (or session) wrote that hold exactly what a render would write: the Backend step
    is ready once every check, the lock probe included (Ctrl+R: entering the step never runs it), passes, says
    why, and asks nothing; files it would change still need Ctrl+W."""
    from tests.functional import backends_rendered

    ws = unpinned_workspace
    backends_rendered(ws)
    before = tree_digest(ws.dir / "backends")
    app = make_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await to_validate(pilot, app)
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the pin consent dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.blocked_reason() is None, "pinned")
        for visit in ("first", "again after Back"):
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, visit)
            assert app.screen.blocked_reason() is not None, "ready before the lock probe ran"
            await run_every_backend_check(pilot, app, visit)
            assert app.screen.blocked_reason() is None, visit
            status = text_of(app.screen.query_one("#step-status"))
            assert status.startswith("Backend ready: 8 backend files in ") and \
                "already up to date (nothing to write). Ctrl+N for Next." in status, status
            assert not modal_named(app, "ConfirmModal")
            await pilot.press("escape")
            await wait_until(pilot, lambda: on_step(app, "validate"), "back on validate")
        assert tree_digest(ws.dir / "backends") == before, "a backend file was written"

        # A file that differs (edited by hand): the step asks again before writing.
        edited = ws.dir / "backends" / "attic" / "dev.s3.tfbackend"
        edited.write_text(edited.read_text() + "# edited\n")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "third visit")
        await run_every_backend_check(pilot, app, "third visit")
        assert app.screen.blocked_reason() == "Checks passed. Render the backend files (Ctrl+W)."
        assert edited.read_text().endswith("# edited\n")
