"""Bad input and declined consent at the Kubeconfig, Backend and Config steps: the reason is shown,
Next stays blocked, and nothing is written or created."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (
    REPO,
    bucket_exists,
    modal_named,
    on_step,
    run_every_backend_check,
    text_of,
    type_into,
    wait_until,
    workspace_files,
)
from tests.helpers import tree_digest

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from screens.app import WizardApp


def kubeconfig_with(contexts: dict[str, str], current: str) -> dict[str, object]:
    """A kubeconfig with one token-auth context per ``name -> server``."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in contexts.items()],
        "users": [{"name": f"{n}-user", "user": {"token": "not-a-real-token"}} for n in contexts],
        "contexts": [{"name": n, "context": {"cluster": n, "user": f"{n}-user"}} for n in contexts],
    }


async def test_kubeconfig_lists_every_context_and_blocks_non_targets(isolated_home: Path) -> None:
    from screens.launch import build_app

    kube = isolated_home / ".kube"
    kube.mkdir()
    (kube / "config").write_text(yaml.safe_dump(kubeconfig_with({
        "tinyland-civo-dev": "https://74.220.1.1:6443",
        "group/agents:dev": "https://kas.gitlab.example:443",
        "bumble": "https://100.113.89.13:6443",
        "honey": "https://100.113.89.12:6443",
    }, current="tinyland-civo-dev")))
    before = tree_digest(kube)
    config_path = isolated_home / "no-config" / "organization.yaml"
    app = build_app(config_path=config_path, repo=REPO, start_at="kubeconfig")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
        screen = app.screen
        classes = {c.name: c.classification.value for c in screen.discovery.contexts}
        assert classes == {"tinyland-civo-dev": "legacy-civo", "group/agents:dev": "gitlab-agent",
                           "bumble": "node-role-misuse", "honey": "target"}
        # The target is preselected even though kubectl's current context is the Civo one, and the
        # disagreement is spelled out.
        assert screen.selected.name == "honey" and screen.blocked_reason() is None
        notes = text_of(screen.query_one("#file-problems"))
        assert "current-context is 'tinyland-civo-dev', not 'honey'" in notes
        for name in ("tinyland-civo-dev", "group/agents:dev", "bumble"):
            row = [c.name for c in screen.discovery.contexts].index(name)
            screen.query_one("#contexts").move_cursor(row=row)
            await pilot.pause()
            assert screen.selected.name == name
            reason = screen.blocked_reason()
            assert reason is not None and reason.startswith(f"{name} cannot be a deploy target")
            assert reason in text_of(screen.query_one("#step-status"))
            await pilot.press("enter")
            await pilot.press("ctrl+n")
            assert on_step(app, "kubeconfig"), f"{name} must not get past the Kubeconfig step"
        assert app.session.context == "bumble" and not app.session.validated
    assert tree_digest(kube) == before, "a kubeconfig file was written"
    assert not config_path.exists()


async def test_kubeconfig_file_problems_are_readable_whole_at_80x24(isolated_home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from screens.launch import build_app

    kube = isolated_home / ".kube"
    kube.mkdir()
    (kube / "kubeconfig-honey.yaml").write_text(yaml.safe_dump(kubeconfig_with(
        {"honey": "https://100.113.89.12:6443"}, current="honey")))
    broken = isolated_home / "broken.yaml"
    broken.write_text('apiVersion: v1\nkind: Config\nclusters: [ {name: x, cluster: {server: "https://1.2.3.4"\n')
    monkeypatch.setenv("KUBECONFIG", str(broken))
    before = tree_digest(kube), broken.read_bytes()
    app = build_app(config_path=isolated_home / "no-config" / "organization.yaml", repo=REPO, start_at="kubeconfig")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
        await pilot.pause()
        problems = app.screen.query_one("#file-problems")
        notes = text_of(problems)
        assert "kubectl refuses to load this KUBECONFIG list" in notes and notes.endswith("listed anyway")
        await wait_until(pilot, lambda: problems.region.height > 0, "the notes laid out")
        # Every line of the notes is on screen: none is cut below the box's height.
        width = problems.content_size.width
        needed = problems.get_content_height(problems.content_size, app.size, width)
        assert problems.content_size.height >= needed, f"{needed} lines of notes in a box of {problems.content_size.height}"
    assert (tree_digest(kube), broken.read_bytes()) == before, "a kubeconfig file was written"


async def test_kubeconfig_notes_are_reachable_and_scrolled_from_the_keyboard_at_80x24(isolated_home: Path) -> None:
    # The notes pane took no focus: with 15 warnings a keyboard-only operator saw the first two or three.
    from textual.widgets import DataTable

    from screens.launch import build_app

    kube = isolated_home / ".kube"
    kube.mkdir()
    # Fifteen contexts defined in both files: fifteen "defined in ... and ..." warnings.
    names = {f"dup-{i:02d}": "https://100.113.89.12:6443" for i in range(15)}
    (kube / "config").write_text(yaml.safe_dump(kubeconfig_with({"honey": "https://100.113.89.12:6443", **names},
                                                                current="honey")))
    (kube / "kubeconfig-dups.yaml").write_text(yaml.safe_dump(kubeconfig_with(names, current="dup-00")))
    before = tree_digest(kube)
    app = build_app(config_path=isolated_home / "no-config" / "organization.yaml", repo=REPO, start_at="kubeconfig")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.selected is not None, "selection")
        pane = app.screen.query_one("#notes-pane")
        assert text_of(app.screen.query_one("#file-problems")).count("is defined in") == 15
        await wait_until(pilot, lambda: pane.region.height > 0 and pane.max_scroll_y > 0, "the notes overflow")
        # The table keeps the first focus: the arrows still pick a context.
        assert isinstance(app.focused, DataTable) and app.focused.id == "contexts"
        await pilot.press("tab")
        await wait_until(pilot, lambda: app.focused is pane, "Tab reaches the notes")
        assert pane.scroll_y == 0
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: pane.scroll_y > 0, "PageDown scrolls the notes")
        down = pane.scroll_y
        await pilot.press("down")
        await wait_until(pilot, lambda: pane.scroll_y > down or pane.scroll_y == pane.max_scroll_y, "↓ scrolls on")
        assert app.screen.selected.name == "honey", "keys on the notes must not move the table's cursor"
        # Focused, the pane looks it (its left edge); back to the table with Shift+Tab.
        assert pane.styles.border_left[0] == "thick"
        await pilot.press("shift+tab")
        await wait_until(pilot, lambda: app.focused is app.screen.query_one("#contexts"), "Shift+Tab back")
        assert pane.styles.border_left[0] != "thick"
    assert tree_digest(kube) == before, "a kubeconfig file was written"


def app_at(ws: WorkspaceFixture, step: str) -> "WizardApp":
    """The wizard opened at ``step`` with the workspace's config as the draft (what Validate leaves behind)."""
    from gfwizard.orgconfig import load_config
    from screens.launch import build_app

    app = build_app(rehearsal=ws, repo=REPO, start_at=step)  # type: ignore[arg-type]
    app.session.context, app.session.kubeconfig = "honey", str(ws.kubeconfig_path)
    app.session.draft = app.session.existing_config = load_config(ws.config_path)
    return app


async def test_backend_rejects_a_bad_bucket_name_as_typed(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        before = workspace_files(ws)
        await type_into(pilot, "#s3_bucket", "Bad_Bucket")
        error = text_of(app.screen.query_one("#s3_bucket-error"))
        assert "'Bad_Bucket' is not a valid S3 bucket name" in error
        assert app.screen.query_one("#s3_bucket-error").display
        assert app.session.draft.state.s3.bucket == ws.bucket, "an invalid answer reached the draft"
        assert "s3_bucket: " in text_of(app.screen.query_one("#step-status"))
        assert app.screen.check_action("render", ()) is False
        await pilot.press("ctrl+w", "ctrl+n")
        assert on_step(app, "backend") and not app.session.backend_ready
        # A valid name clears the error and reaches the draft (checks must run again).
        await type_into(pilot, "#s3_bucket", "okay")
        assert not app.screen.query_one("#s3_bucket-error").display
        assert app.session.draft.state.s3.bucket == "okay" and app.screen.checks is None
    assert workspace_files(ws) == before, "a rejected answer wrote something"


async def test_backend_keeps_an_invalid_value_typed_before_going_back(rehearsal_workspace: WorkspaceFixture) -> None:
    """Esc leaves the field, Esc again goes back; coming back shows what was typed, still invalid, and checks
    nothing with the draft's old value meanwhile (it was silently replaced by the last valid value)."""
    ws = rehearsal_workspace
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        before = workspace_files(ws)
        await type_into(pilot, "#s3_bucket", "Bad_Bucket")
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: on_step(app, "validate"), "the step before")
        assert app.session.draft.state.s3.bucket == ws.bucket, "an invalid answer reached the draft"
        await wait_until(pilot, lambda: app.screen.blocked_reason() is None, "validation")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "backend"), "the backend step again")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#s3_bucket").value == "Bad_Bucket"
        assert "'Bad_Bucket' is not a valid S3 bucket name" in text_of(screen.query_one("#s3_bucket-error"))
        assert screen.invalid and screen.checks is None and not screen.check_action("next", ())
        assert "s3_bucket: " in text_of(screen.query_one("#step-status"))
        # Fixed, it is forgotten: the next visit shows the draft's value.
        await type_into(pilot, "#s3_bucket", ws.bucket)
        assert not screen.invalid and not app.session.extras.get("backend_unsaved_fields")
    assert workspace_files(ws) == before, "an invalid answer led to a write"


async def test_backend_never_checks_or_renders_an_old_value_while_an_invalid_one_is_shown(
        rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = app_at(ws, "backend")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        before = workspace_files(ws)
        box = app.screen.query_one("#s3_bucket")
        box.focus()
        await pilot.pause()
        box.action_end()
        await pilot.press("X")  # shown: '<bucket>X', invalid; the draft keeps '<bucket>'
        await pilot.pause()
        assert app.screen.invalid and app.session.draft.state.s3.bucket == ws.bucket
        for key in ("run_checks", "render", "next"):
            assert not app.screen.check_action(key, ()), key
        await pilot.press("ctrl+r", "ctrl+n")
        app.screen.action_render()  # as from the command palette
        await pilot.pause(0.3)
        assert box.value == ws.bucket + "X", box.value
        assert app.screen.checks is None and app.screen.rendered is None and not app.session.backend_ready
        assert "s3_bucket: " in text_of(app.screen.query_one("#step-status"))
        assert on_step(app, "backend") and not modal_named(app, "ConfirmModal")
        # Back to the valid value the draft holds: the error goes, the checks are offered again.
        await pilot.press("backspace")
        await pilot.pause()
        assert not app.screen.invalid and not app.screen.query_one("#s3_bucket-error").display
        assert text_of(app.screen.query_one("#step-status")) == "Run the backend checks (Ctrl+R)."
        assert app.screen.check_action("run_checks", ())
    assert workspace_files(ws) == before, "an invalid answer led to a write"


async def test_backend_declined_bucket_creation_creates_and_renders_nothing(
        rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    missing = f"gfw-m-{secrets.token_hex(2)}"
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        before = workspace_files(ws)
        await type_into(pilot, "#s3_bucket", missing)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "backend"), "the dialog closed")
        bucket = next(c for c in app.screen.checks if c.name == "s3 bucket")
        assert bucket.level.value == "fail" and "does not exist" in bucket.detail
        assert text_of(app.screen.query_one("#step-status")).startswith("s3 bucket failed: see its remedy above")
        assert "Remedy: " + bucket.remedy in text_of(app.screen.query_one(".check-detail"))
        assert app.screen.check_action("render", ()) is False
        await pilot.press("ctrl+n")
        assert on_step(app, "backend")
    assert not bucket_exists(ws, missing)
    assert workspace_files(ws) == before and not (ws.dir / "backends").exists()


async def test_the_create_bucket_dialog_names_the_endpoint_the_bucket_is_created_at(
        rehearsal_workspace: WorkspaceFixture) -> None:
    """AWS_ENDPOINT_URL_S3 overrides state.s3.endpoint: the dialog names the override, where the write goes."""
    ws = rehearsal_workspace
    override = ws.env["AWS_ENDPOINT_URL_S3"].rstrip("/")
    configured = "http://10.255.0.10:9000"  # a private address never contacted: the override wins
    missing = f"gfw-m-{secrets.token_hex(2)}"
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        await type_into(pilot, "#s3_endpoint", configured)
        await type_into(pilot, "#s3_bucket", missing)
        assert app.session.draft.state.s3.endpoint == configured
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert f"Create bucket {missing!r} at {override} (endpoint from AWS_ENDPOINT_URL_S3" in body, body
        assert configured not in body.split("(endpoint from")[0], body
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "backend"), "the dialog closed")
    assert not bucket_exists(ws, missing)


async def test_a_store_refusing_versioning_keeps_no_new_bucket_and_offers_nothing_more(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialog's bucket is created through the same core function as the CLI's: a store that will not version
    it gets it deleted again, the versioning row warns why, and no dialog (to enable versioning on a bucket
    that is gone) opens after it."""
    from tests.backend_doubles import S3Proxy

    ws = rehearsal_workspace
    missing = f"gfw-m-{secrets.token_hex(2)}"
    with S3Proxy(ws.s3.endpoint, fail_when=lambda method, path: method == "PUT" and path.endswith("?versioning"),
                 fail_status=501, fail_error=("NotImplemented", "not implemented (test double)")) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
        monkeypatch.setitem(ws.env, "AWS_ENDPOINT_URL_S3", proxy.endpoint)
        app = app_at(ws, "backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None,
                             "backend checks")
            before = workspace_files(ws)
            await type_into(pilot, "#s3_bucket", missing)
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
            assert "with versioning on" in text_of(app.screen.query_one("#confirm-body"))
            await pilot.press("y")
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None,
                             "the checks after consent")
            await pilot.pause()
            assert not modal_named(app, "ConfirmModal"), "a dialog offered a write on a bucket that is gone"
            checks = {c.name: c for c in app.screen.checks}
            assert checks["s3 bucket"].level.value == "fail" and "was not kept" in checks["s3 bucket"].detail
            assert checks["s3 versioning"].level.value == "warn"
            assert "refused PutBucketVersioning" in checks["s3 versioning"].detail
            assert "s3 lock probe" not in checks
            assert app.screen.check_action("render", ()) is False
            assert text_of(app.screen.query_one("#step-status")).startswith("s3 bucket failed: see its remedy above")
    assert not bucket_exists(ws, missing)
    assert workspace_files(ws) == before and not (ws.dir / "backends").exists()


async def test_a_store_not_keeping_versioning_on_a_bucket_fails_the_row_and_asks_once(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialog's "Turn on bucket versioning?" on a bucket that is there reads versioning back (one core
    function with the CLI's --enable-versioning): a store that accepts PutBucketVersioning and keeps none fails the
    row with why, and the dialog does not open again (it would only ask for the same refused write)."""
    from tests.backend_doubles import S3Proxy

    ws = rehearsal_workspace
    bucket = ws.s3.create_bucket(f"gfw-u-{secrets.token_hex(2)}", versioning=False)
    with S3Proxy(ws.s3.endpoint, accept_when=lambda method, path: method == "PUT" and path.endswith("?versioning")
                 ) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
        monkeypatch.setitem(ws.env, "AWS_ENDPOINT_URL_S3", proxy.endpoint)
        app = app_at(ws, "backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None,
                             "backend checks")
            before = workspace_files(ws)
            await type_into(pilot, "#s3_bucket", bucket)
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the enable-versioning dialog")
            assert f"Enable versioning on {bucket!r}" in text_of(app.screen.query_one("#confirm-body"))
            await pilot.press("y")
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None
                             and app.screen.versioning_tried, "the checks after consent")
            await pilot.pause()
            assert not modal_named(app, "ConfirmModal"), "the dialog asked again for a write the store did not keep"
            checks = {c.name: c for c in app.screen.checks}
            versioning = checks["s3 versioning"]
            assert versioning.level.value == "fail"
            assert versioning.detail.startswith(f"versioning could not be enabled on {bucket!r}: the store accepted "
                                                "PutBucketVersioning but the bucket reads unversioned"), versioning.detail
            assert versioning.remedy.startswith("use a store that keeps bucket versioning on; the key needs "
                                                "s3:PutBucketVersioning"), versioning.remedy
            assert app.screen.check_action("render", ()) is False
            assert text_of(app.screen.query_one("#step-status")).startswith("s3 versioning failed: see its remedy")
        versioning_writes = [path for method, path, _headers in proxy.seen
                             if method == "PUT" and path.endswith("?versioning")]
    assert versioning_writes == [f"/{bucket}?versioning"]  # asked once, written once
    assert "Status" not in ws.s3.client().get_bucket_versioning(Bucket=bucket)
    assert workspace_files(ws) == before and not (ws.dir / "backends").exists()


def config_app_with_new_prefix(ws: WorkspaceFixture) -> "WizardApp":
    """The wizard at the Config step, its draft's state key prefix changed (a diff to write)."""
    app = app_at(ws, "config")
    draft = app.session.draft
    assert draft is not None and draft.state.s3 is not None
    app.session.draft = draft.model_copy(update={"state": draft.state.model_copy(update={
        "s3": draft.state.s3.model_copy(update={"key_prefix": "gloriousflywheel-rehearsal"})})})
    return app


async def test_config_written_only_on_confirm(rehearsal_workspace: WorkspaceFixture) -> None:
    from gfwizard.orgconfig import load_config

    ws = rehearsal_workspace
    app = config_app_with_new_prefix(ws)
    original = ws.config_path.read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the diff")
        diff = text_of(app.screen.query_one("#config-diff")).splitlines()
        assert any(line.startswith("+") and "gloriousflywheel-rehearsal" in line for line in diff)
        assert text_of(app.screen.query_one("#config-help")) == (
            f"{ws.config_path} (never holds a secret). Review it, then Ctrl+W writes it.")
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "config"), "the dialog closed")
        await pilot.press("ctrl+n")
        assert on_step(app, "config") and not app.session.config_written
        assert ws.config_path.read_bytes() == original
        assert not ws.config_path.with_name("organization.yaml.bak").exists()
        # v shows the whole new file instead of the diff; in a form field it is only a letter, so it is
        # offered once Esc has left the field (focus starts on the first field).
        assert app.screen.focused is app.screen.query_one("#org_name")
        assert app.screen.check_action("toggle_view", ()) is False
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.check_action("toggle_view", ()), "v offered outside the field")
        await pilot.press("v")
        assert "key_prefix: gloriousflywheel-rehearsal" in app.screen.new_text
        assert "Syntax" in type(app.screen.query_one("#config-diff").content).__name__
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "config") and app.session.config_written, "the write")
        await wait_until(pilot, lambda: "nothing to write" in text_of(app.screen.query_one("#config-help")),
                         "the help line after the write")
    assert load_config(ws.config_path).state.s3.key_prefix == "gloriousflywheel-rehearsal"
    assert ws.config_path.with_name("organization.yaml.bak").read_bytes() == original


async def test_config_already_identical_says_there_is_nothing_to_write(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = app_at(ws, "config")
    before = workspace_files(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the render")
        screen = app.screen
        assert screen.new_text == screen.old_text
        assert text_of(screen.query_one("#config-help")) == (
            f"{ws.config_path} already holds this (never a secret); nothing to write.")
        assert text_of(screen.query_one("#step-status")) == f"{ws.config_path} is already up to date. Ctrl+N for Next."
        assert screen.check_action("write", ()) is False and screen.check_action("toggle_view", ()) is False
        assert screen.blocked_reason() is None
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert on_step(app, "config")
    assert workspace_files(ws) == before


async def test_a_file_changed_on_disk_after_the_diff_is_not_overwritten(rehearsal_workspace: WorkspaceFixture) -> None:
    from gfwizard.orgconfig import load_config

    ws = rehearsal_workspace
    app = config_app_with_new_prefix(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the diff")
        # Someone edits the file while the diff is on screen.
        edited = ws.config_path.read_text().replace("full_name: ", "full_name: EXTERNAL ", 1)
        ws.config_path.write_text(edited)
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen.old_text == edited, "the diff against the file as it is")
        assert ws.config_path.read_text() == edited, "a change never shown was written over"
        assert not app.session.config_written
        assert not ws.config_path.with_name("organization.yaml.bak").exists()
        # Now the diff compares with the edited file, so what the write would undo is on screen.
        diff = text_of(app.screen.query_one("#config-diff")).splitlines()
        assert any(line.startswith("-") and "EXTERNAL" in line for line in diff), diff
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog again")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.session.config_written, "the write")
    assert load_config(ws.config_path).state.s3.key_prefix == "gloriousflywheel-rehearsal"


async def test_a_crlf_config_shows_only_the_change_and_is_written(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    crlf = ws.config_path.read_bytes().replace(b"\n", b"\r\n")
    ws.config_path.write_bytes(crlf)
    app = config_app_with_new_prefix(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the diff")
        diff = text_of(app.screen.query_one("#config-diff")).splitlines()
        changed = [line for line in diff if line[:1] in ("+", "-") and not line.startswith(("+++", "---"))]
        assert [line.split(":")[0].strip("+- ") for line in changed] == ["key_prefix", "key_prefix"], changed
        shown = app.screen.new_text
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.session.config_written, "the write (not 'changed on disk')")
    written = ws.config_path.read_bytes()
    assert written == shown.encode() and written.count(b"\n") == written.count(b"\r\n")
    assert ws.config_path.with_name("organization.yaml.bak").read_bytes() == crlf


async def test_escape_in_a_form_field_leaves_the_field_not_the_step(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        app.screen.query_one("#s3_bucket").focus()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert on_step(app, "backend"), "Escape in a field went back a step"
        assert app.screen.focused is None or app.screen.focused.id != "s3_bucket"
        await pilot.press("escape")
        await wait_until(pilot, lambda: on_step(app, "validate"), "back to Validate")


async def test_backend_in_http_mode_names_the_http_credentials_not_aws(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = app_at(ws, "backend")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        assert "AWS_ACCESS_KEY_ID" in text_of(app.screen.query_one("#credential-source"))
        await pilot.click("#kind-http")
        await wait_until(pilot, lambda: "TF_HTTP_PASSWORD" in text_of(app.screen.query_one("#credential-source")),
                         "the credentials line following the switch at once")
        await pilot.press("ctrl+r")  # the kind changed: the checks run again
        await wait_until(pilot, lambda: "TF_HTTP_PASSWORD" in text_of(app.screen.query_one("#credential-source")),
                         "the HTTP credentials line")
        shown = text_of(app.screen.query_one("#credential-source"))
        assert "AWS" not in shown
        for name in ("TF_HTTP_PASSWORD", "AWS_SECRET_ACCESS_KEY"):
            value = app.session.environ().get(name)
            assert not value or value not in shown
        # HTTP state is what migrates to S3: the stacks cannot deploy onto it, so Next stays blocked.
        reason = app.screen.blocked_reason()
        assert reason is not None and reason.startswith("HTTP state is the migration source only")
        await pilot.press("ctrl+n")
        assert on_step(app, "backend")


def http_state_looked(app: "WizardApp") -> bool:
    """Whether the State backend step's look for HTTP state has answered (or never runs). Its answer, handled
    after the checks' (and after its worker has ended), replaces the pending list a test sets."""
    draft = app.session.draft
    runs = draft is not None and draft.state.http is not None and draft.state.backend == "s3"
    return not runs or "http_state_stacks" in app.session.extras


async def test_the_migrate_dialog_names_where_the_backups_really_go(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = app_at(ws, "backend")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None
                         and http_state_looked(app), "backend checks")
        before = workspace_files(ws)
        app.session.extras["http_state_stacks"] = ["attic"]
        app.screen.refresh_bindings()
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert f"kept under {ws.dir / 'backups' / 'dev'} first" in body, body
        await pilot.press("n")
        await wait_until(pilot, lambda: on_step(app, "backend"), "the dialog closed")
    assert workspace_files(ws) == before


def footer_keys(screen: object) -> list[tuple[str, str, int]]:
    """The footer's keys on ``screen``: (key, description, right edge), in order."""
    from textual.widgets._footer import FooterKey

    return [(k.key, k.description, k.region.right) for k in screen.query(FooterKey)]  # type: ignore[attr-defined]


async def settled_footer_keys(pilot: Pilot[None], screen: object) -> list[tuple[str, str, int]]:
    """The footer's keys once it has settled: a step's worker ending rebuilds the footer (it is empty for a
    moment, then laid out), so read until two reads a little apart agree and Quit is laid out."""
    last: list[tuple[str, str, int]] = []

    def settled() -> bool:
        nonlocal last
        keys = footer_keys(screen)
        agreed = keys == last and any(k[0] == "ctrl+q" and k[2] > 0 for k in keys)
        last = keys
        return agreed

    await wait_until(pilot, settled, "the footer to settle with Quit in it")
    return last


@pytest.mark.parametrize("step", ["preflight", "kubeconfig", "validate", "backend", "config", "deploy", "done"])
async def test_quit_stays_in_the_footer_of_every_step_at_60_columns(rehearsal_workspace: WorkspaceFixture,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    step: str) -> None:
    """No command-palette item takes the room, and Quit comes before the step's own keys, which are what
    a narrow terminal cuts."""
    from screens.deploy_screen import DeployScreen
    from screens.step import StepScreen

    monkeypatch.setattr(DeployScreen, "LIVE", False)
    app = app_at(rehearsal_workspace, step)
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_until(pilot, lambda: app.step == step and isinstance(app.screen, (StepScreen,)), "the step")
        screen = app.screen
        if step == "deploy":  # the widest footer: every stack planned, apply offered
            from gfwizard.stacks import StackPlan
            from gfwizard.tofu_summary import PlanSummary

            order = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
            screen.post_message(DeployScreen.EngineReady("dev", order, "terraform"))
            await wait_until(pilot, lambda: list(screen.rows) == order, "the stack rows")
            screen._accept_plans({s: StackPlan(s, outcome="planned", summary=PlanSummary(add=1)) for s in order})
            screen.refresh_bindings()
        if step == "backend":  # the widest footer: every check passed (Ctrl+R), HTTP state to migrate
            await wait_until(pilot, lambda: screen.checks is not None, "the read-only backend checks")
            await run_every_backend_check(pilot, app)
            await wait_until(pilot, lambda: http_state_looked(app), "the look for HTTP state")
            app.session.extras["http_state_stacks"] = ["attic"]
            screen.refresh_bindings()
            await wait_until(pilot, lambda: "ctrl+t" in [k[0] for k in footer_keys(screen)], "Migrate offered")
        keys = await settled_footer_keys(pilot, screen)
        assert not screen.query(".-command-palette"), keys
        quit_key = [k for k in keys if k[0] == "ctrl+q"]
        assert quit_key and quit_key[0][2] <= 60, f"Quit is cut at 60 columns: {keys}"
        before_quit = keys[:keys.index(quit_key[0])]
        assert {k[0] for k in before_quit} <= {"ctrl+n", "escape"}, f"step keys before Quit: {keys}"
        if step in ("backend", "deploy"):
            assert [k[0] for k in keys if k[2] > 60] == [], f"cut at 60 columns: {keys}"
        if step == "deploy":  # the placement overlay's toggle, as the plan and apply keys, fits
            assert {"p", "a", "t"} <= {k[0] for k in keys}, keys
            # Apply all is left out of the footer, not out of reach: the status line names it, the keys help
            # (Ctrl+P, Keys: the screen's active bindings) lists it, and the key works.
            assert "A applies all" in text_of(screen.query_one("#step-status"))
            assert screen.active_bindings["A"].binding.action == "apply_all"
            assert screen.check_action("apply_all", ()) is True


def _drop_http_state(ws: WorkspaceFixture, stack: str) -> None:
    """DELETE ``stack``'s dev state on the session's HTTP state server (its API, with its credentials)."""
    import base64
    import urllib.request

    request = urllib.request.Request(ws.http_state.address_for(stack, "dev"), method="DELETE")
    token = base64.b64encode(f"{ws.http_state.username}:{ws.http_state.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the rehearsal server on 127.0.0.1
        pass


async def test_the_backend_step_offers_only_http_state_not_yet_in_s3(rehearsal_workspace: WorkspaceFixture,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from gfwizard.orgconfig import load_config

    ws = rehearsal_workspace
    monkeypatch.setenv("TF_HTTP_USERNAME", ws.http_state.username)
    monkeypatch.setenv("TF_HTTP_PASSWORD", ws.http_state.password)
    states = {stack: {"version": 4, "serial": 2, "lineage": f"lin-{stack}", "outputs": {},
                      "resources": [{"mode": "managed", "type": "terraform_data", "name": "app", "instances": []}]}
              for stack in ("attic", "arc-runners")}
    for stack, state in states.items():
        ws.http_state.put_state(stack, "dev", json.dumps(state).encode())
    cfg = load_config(ws.config_path)
    client = ws.s3.client()
    # attic was migrated already: S3 holds its content (the binary gave it a new lineage); its HTTP copy stays.
    client.put_object(Bucket=ws.bucket, Key=cfg.state_key("dev", "attic"),
                      Body=json.dumps({**states["attic"], "lineage": "lin-new", "serial": 1}).encode())
    try:
        app = app_at(ws, "backend")
        async with app.run_test(size=(120, 40)) as pilot:
            offered = "State on the HTTP backend not yet in S3 for: arc-runners. Ctrl+T migrates it."
            await wait_until(pilot, lambda: offered in [n.message for n in app._notifications], "the lookup")
            assert app.session.extras["http_state_stacks"] == ["arc-runners"]
            assert app.screen.check_action("migrate", ())
            # Once arc-runners' content is in S3 too (as a migration leaves it), nothing is offered any more.
            client.put_object(Bucket=ws.bucket, Key=cfg.state_key("dev", "arc-runners"),
                              Body=json.dumps(states["arc-runners"]).encode())
            app.screen.run_worker(app.screen._look_for_http_state, thread=True)
            await wait_until(pilot, lambda: "Every stack's HTTP state is in S3 now." in [
                n.message for n in app._notifications], "the second lookup")
            assert app.session.extras["http_state_stacks"] == [] and not app.screen.check_action("migrate", ())
    finally:
        for stack in states:
            _drop_http_state(ws, stack)
    assert all(ws.http_state.current_state(stack, "dev") is None for stack in states)


async def test_the_done_step_of_a_rehearsal_says_what_ends_with_it(rehearsal_workspace: WorkspaceFixture) -> None:
    """The commands it names need the rehearsal's exports, and quitting ends the rehearsal: the step says so
    instead of offering a `--config` into a workspace that goes away and whose S3 credentials a plain shell lacks."""
    from screens.done_screen import DoneScreen

    app = app_at(rehearsal_workspace, "done")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DoneScreen) and "Next" in text_of(
            app.screen.query_one("#next-steps")), "the Done step's next steps")
        text = " ".join(text_of(app.screen.query_one("#next-steps")).split())
    assert text.startswith("Next: s opens the live, read-only status view of this rehearsal."), text
    assert "Quitting ends the rehearsal: its services stop, and its workspace is cleared unless it was started " \
           "with --keep." in text, text
    assert "gfwizard status and gfwizard deploy --env dev need its exports: start it with gfwizard rehearse " \
           "--env-file FILE and source FILE there." in text, text
    assert "--config" not in text and "any time" not in text, text


async def test_kubeconfig_context_names_with_control_characters_are_shown_escaped(isolated_home: Path) -> None:
    # A context name is text from a file: an escape sequence in it ate part of its table row, a bidi override
    # reversed the row, and a newline in it forged a line of the detail box ("*  honey in ...").
    from screens.launch import build_app

    kube = isolated_home / ".kube"
    kube.mkdir()
    names = {"a\x1b[31mred": "https://100.113.89.12:6443", "蜂蜜\u202eevil": "https://100.113.89.12:6443",
             "evil\n*  honey": "https://100.113.89.12:6443"}
    (kube / "config").write_text(yaml.safe_dump(kubeconfig_with(names, current="evil\n*  honey")))
    before = tree_digest(kube)
    app = build_app(config_path=isolated_home / "no-config" / "organization.yaml", repo=REPO, start_at="kubeconfig")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
        screen = app.screen
        table = screen.query_one("#contexts")
        shown = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert shown == ["a\\x1b[31mred", "蜂蜜\\u202eevil", "evil\\n*  honey"]
        table.move_cursor(row=2)
        await wait_until(pilot, lambda: screen.selected.name == "evil\n*  honey", "the third context selected")
        detail = text_of(screen.query_one("#context-detail"))
        assert detail.splitlines()[0] == f"evil\\n*  honey in {kube / 'config'}".replace(str(isolated_home), "~")
        assert "Selected evil\\n*  honey." in text_of(screen.query_one("#step-status"))
    assert tree_digest(kube) == before, "a kubeconfig file was written"


async def test_a_very_long_context_name_leaves_its_problems_visible_at_80x24(isolated_home: Path) -> None:
    # A 300-character context (and cluster) name filled the detail box whole: the line saying its user is
    # defined nowhere was cut off, and the status line (naming it twice) ran to 11 rows in a box of 3.
    from screens.launch import build_app

    kube = isolated_home / ".kube"
    kube.mkdir()
    name, cluster = "long-" + "x" * 290 + "-tail", "c-" + "y" * 300
    doc = kubeconfig_with({cluster: "https://10.1.2.3:6443"}, current=name)
    doc["contexts"] = [{"name": name, "context": {"cluster": cluster, "user": "nobody-defines-me"}}]
    (kube / "config").write_text(yaml.safe_dump(doc))
    before = tree_digest(kube)
    app = build_app(config_path=isolated_home / "no-config" / "organization.yaml", repo=REPO, start_at="kubeconfig")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.selected is not None, "selection")
        box = app.screen.query_one("#context-detail")
        await wait_until(pilot, lambda: box.region.height > 0, "the detail box laid out")
        lines = text_of(box).splitlines()
        needed = box.get_content_height(box.content_size, app.size, box.content_size.width)
        assert box.content_size.height >= needed, f"{needed} lines of detail in a box of {box.content_size.height}"
        assert lines[0].startswith("long-xxx") and "…" in lines[0] and lines[0].split(" in ")[0].endswith("-tail")
        assert any(line.startswith("✗ user 'nobody-defines-me' is not defined") for line in lines)
        status = app.screen.query_one("#step-status")
        height = status.get_content_height(status.content_size, app.size, status.content_size.width)
        assert height <= status.content_size.height, f"{height} lines of status in a line of {status.content_size.height}"
        assert "names a user that no file defines" in text_of(status)
    assert tree_digest(kube) == before, "a kubeconfig file was written"


async def test_the_done_step_footer_names_quit_once_and_q_still_quits() -> None:
    """The Done step's footer showed both ``^q Quit`` and ``q Quit``: one is enough (q still quits there)."""
    from screens.done_screen import DoneScreen
    from screens.launch import build_app

    app = build_app(config_path=Path("/srv/gloriousflywheel/config/organization.yaml"), repo=REPO, start_at="done")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DoneScreen), "the Done step")
        shown = [b.binding for b in app.screen.active_bindings.values() if b.binding.show]
        assert [b.key for b in shown if b.description == "Quit"] == ["ctrl+q"], [(b.key, b.description) for b in shown]
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None or not app.is_running, "q quits")


async def test_the_backend_step_opens_with_focus_on_the_s3_http_choice(rehearsal_workspace: WorkspaceFixture) -> None:
    """Focus sat on the step's scrolling body, which shows no focus mark (the first Tab reached the choice):
    it starts on the S3/HTTP choice, and the first Tab goes on to the first field."""
    app = app_at(rehearsal_workspace, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.focused is not None, "the backend step")
        assert app.screen.focused is app.screen.query_one("#backend-kind"), app.screen.focused
        await pilot.press("tab")
        assert app.screen.focused is app.screen.query_one("#s3_endpoint"), app.screen.focused


def _in_view(app: "WizardApp", selector: str | None = None) -> bool:
    """Whether the focused widget (or ``selector``'s) lies whole inside the step body's visible region."""
    from textual.containers import VerticalScroll

    body = app.screen.query_one(".step-body", VerticalScroll)
    widget = app.screen.focused if selector is None else app.screen.query_one(selector)
    return widget is not None and body.scrollable_content_region.contains_region(widget.region)


async def test_the_backend_checks_finishing_never_scroll_the_focused_control_out_of_view(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80x24 the step opened focused on the S3/HTTP choice, then scrolled to the check list when the checks
    came back: with a failed check's remedy under the list, the focused control left the screen and keys went
    to a control nobody could see. The results now come into view only as far as the focused control stays in
    view (the status line says the outcome), whether focus is where the step put it or on a field the operator
    tabbed to before Ctrl+R; Tab onto the list brings the highlighted check's remedy into view with it."""
    from textual.containers import VerticalScroll
    from textual.widgets import Input

    import gfwizard.backend
    from gfwizard.checks import failed, passed
    from screens.backend_screen import S3_CHECKS

    ws = rehearsal_workspace
    # Every check said, the last failing (a store without conditional writes): its remedy under the list
    # makes the list taller than the room under the form. Entering the step runs the read-only ones: the
    # lock probe's row then says what Ctrl+R would write, which makes the list as tall.
    results = [passed(name, f"{name}: fine") for name in S3_CHECKS[:-1]] + [failed(
        S3_CHECKS[-1], "use_lockfile refused: the store rejected a conditional write (NotImplemented)",
        "use an S3 store that supports conditional writes (PutObject with If-None-Match: *), then re-run "
        "`gfwizard backend check`; do not deploy until the lock probe passes")]
    monkeypatch.setattr(gfwizard.backend, "check_s3",
                        lambda cfg, env, probe=True, **kwargs: list(results if probe else results[:-1]))
    before = workspace_files(ws)
    app = app_at(ws, "backend")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        screen = app.screen
        body = screen.query_one(".step-body", VerticalScroll)
        checks = screen.query_one("#backend-checks")
        status = screen.query_one("#step-status")
        await pilot.pause()
        await pilot.pause()
        assert body.max_scroll_y > 0 and checks.region.height > body.scrollable_content_region.height // 2
        assert screen.focused is screen.query_one("#backend-kind")
        assert _in_view(app), (screen.focused.region, body.scrollable_content_region, body.scroll_offset)
        assert body.scrollable_content_region.overlaps(checks.region), "the check list came no way into view"
        assert text_of(status).startswith("Read-only checks passed; the lock probe has not run. Ctrl+R")
        # Tab past the fields onto the list: the highlighted check's remedy comes into view with it.
        for _ in range(5):
            await pilot.press("tab")
        await pilot.pause()
        await pilot.pause()
        assert screen.focused is checks.query_one("DataTable") and _in_view(app), screen.focused
        assert _in_view(app, ".check-detail"), "the highlighted check's remedy is below the fold"
        assert "To run it: Ctrl+R runs every check" in text_of(screen.query_one(".check-detail"))
        # Back on a field, then Ctrl+R: its results come back while the operator is on the field.
        await pilot.press("shift+tab")
        field = screen.query_one("#s3_key_prefix", Input)
        assert screen.focused is field
        first = screen.checks
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: screen.checks is not None and screen.checks is not first, "the checks again")
        await pilot.pause()
        await pilot.pause()
        assert screen.focused is field and _in_view(app), (field.region, body.scrollable_content_region)
        assert text_of(status).startswith("s3 lock probe failed: see its remedy above")
        value = field.value
        await pilot.press("end", "x")
        assert field.value == value + "x" and _in_view(app, "#s3_key_prefix"), (field.value, field.region)
        assert "Changed: run the checks again" in text_of(status)
    assert workspace_files(ws) == before  # nothing written: the typing changed the draft in memory only


async def test_entering_the_backend_step_writes_nothing_to_the_store(rehearsal_workspace: WorkspaceFixture,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Entering a step is no consent to a write: only the read-only S3 checks run (the lock probe's row says
    what Ctrl+R would write where), Ctrl+W is not offered and Next stays blocked. Ctrl+R runs every check, the
    probe too, and only then is Ctrl+W offered."""
    from tests.backend_doubles import S3Proxy

    ws = rehearsal_workspace
    before = workspace_files(ws)
    with S3Proxy(ws.env["AWS_ENDPOINT_URL_S3"]) as proxy:
        # Every request of the step goes through the proxy, which records it (check and dialog alike).
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
        monkeypatch.setitem(ws.env, "AWS_ENDPOINT_URL_S3", proxy.endpoint)
        app = app_at(ws, "backend")
        draft = app.session.draft
        assert draft is not None and draft.state.s3 is not None
        app.session.draft = draft.model_copy(update={"state": draft.state.model_copy(update={
            "s3": draft.state.s3.model_copy(update={"endpoint": proxy.endpoint})})})
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None,
                             "the read-only checks")
            screen = app.screen
            writes = [(method, path) for method, path, _headers in proxy.seen if method not in ("GET", "HEAD")]
            assert proxy.seen, "the checks sent nothing through the proxy"
            assert writes == [], writes
            assert not any(".gfwizard-lock-probe" in path for _method, path, _headers in proxy.seen)
            assert [c.name for c in screen.checks] == [
                "s3 endpoint", "s3 clock skew", "s3 credentials", "s3 bucket", "s3 versioning", "s3 state prefix"]
            assert all(c.ok for c in screen.checks) and not screen.full_run
            checklist = screen.query_one("#backend-checks")
            probe_row = checklist.table.get_row("s3 lock probe")
            assert [cell.plain for cell in probe_row[1:]] == ["s3 lock probe", "not run yet"]
            detail = " ".join(text_of(checklist.query_one(".check-detail")).split())
            assert ("To run it: Ctrl+R runs every check, including the lock probe: it writes and then deletes one "
                    f"object under gloriousflywheel/.gfwizard-lock-probe/ on {proxy.endpoint}") in detail, detail
            status = text_of(screen.query_one("#step-status"))
            assert status == ("Read-only checks passed; the lock probe has not run. Ctrl+R runs every check, the "
                              "probe too (it writes, then deletes one object)."), status
            assert screen.check_action("render", ()) is False
            assert "ctrl+w" not in [k[0] for k in await settled_footer_keys(pilot, screen)]
            await pilot.press("ctrl+w", "ctrl+n")
            await pilot.pause()
            assert on_step(app, "backend") and not app.session.backend_ready
            assert not modal_named(app, "ConfirmModal")
            assert [m for m, _p, _h in proxy.seen if m not in ("GET", "HEAD")] == []

            await run_every_backend_check(pilot, app)
            probe_puts = [path for method, path, _headers in proxy.seen
                          if method == "PUT" and ".gfwizard-lock-probe" in path]
            assert len(probe_puts) == 2, probe_puts  # the probe's two conditional puts
            probe = next(c for c in screen.checks if c.name == "s3 lock probe")
            assert probe.level.value == "pass", probe
            assert screen.check_action("render", ()) is True
            assert "ctrl+w" in [k[0] for k in await settled_footer_keys(pilot, screen)]
            assert screen.blocked_reason() == "Checks passed. Render the backend files (Ctrl+W)."
    assert workspace_files(ws) == before and not (ws.dir / "backends").exists()


async def test_a_bucket_created_on_entering_the_backend_step_is_the_only_write(
        rehearsal_workspace: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing bucket found by the read-only checks on entry: the dialog says nothing else is written, and
    after consent the checks run again as they ran, without the lock probe."""
    from tests.backend_doubles import S3Proxy

    ws = rehearsal_workspace
    missing = f"gfw-e-{secrets.token_hex(2)}"
    with S3Proxy(ws.env["AWS_ENDPOINT_URL_S3"]) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
        monkeypatch.setitem(ws.env, "AWS_ENDPOINT_URL_S3", proxy.endpoint)
        app = app_at(ws, "backend")
        draft = app.session.draft
        assert draft is not None and draft.state.s3 is not None
        app.session.draft = draft.model_copy(update={"state": draft.state.model_copy(update={
            "s3": draft.state.s3.model_copy(update={"endpoint": proxy.endpoint, "bucket": missing})})})
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
            body = text_of(app.screen.query_one("#confirm-body"))
            assert missing in body and body.endswith("Nothing else is written."), body
            assert not bucket_exists(ws, missing)
            await pilot.press("y")
            await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None
                             and all(c.ok for c in app.screen.checks), "the checks after creating the bucket")
            writes = [(method, path) for method, path, _headers in proxy.seen if method not in ("GET", "HEAD")]
            assert writes and all(path.split("?")[0].strip("/") == missing for _method, path in writes), writes
            assert "s3 lock probe" not in [c.name for c in app.screen.checks]
            assert bucket_exists(ws, missing) and not app.screen.full_run
            assert app.screen.check_action("render", ()) is False


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_contexts_named_alike_stay_apart_in_the_table(isolated_home: Path, size: tuple[int, int]) -> None:
    """Names that differ only at their end (EKS ARNs) were cut at the end of their cell, so every row read
    "arn:aws:eks:eu-west-1:1234…" (at 200 columns too, where the column stopped at 28 beside unused room): each
    keeps its distinguishing tail at 80 columns, and a wide terminal shows it whole."""
    from screens.launch import build_app

    kube = isolated_home / ".kube"
    kube.mkdir()
    arn = "arn:aws:eks:eu-west-1:123456789012:cluster/"
    names = [arn + "staging-blue", arn + "prod-blue", "honey"]
    (kube / "config").write_text(yaml.safe_dump(kubeconfig_with(
        {names[0]: "https://10.1.2.3:6443", names[1]: "https://10.1.2.4:6443", names[2]: "https://100.113.89.12:6443"},
        current="honey")))
    app = build_app(config_path=isolated_home / "no-config" / "organization.yaml", repo=REPO, start_at="kubeconfig")
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
        table = app.screen.query_one("#contexts")
        await wait_until(pilot, lambda: table.row_count == 3, "the contexts listed")
        await wait_until(pilot, lambda: table.size.height > 3, "the table laid out")
        shown = [table.render_line(y).text for y in (1, 2)]  # as painted (line 0 is the header)
        if size[0] >= 200:
            assert names[0] in shown[0] and names[1] in shown[1], shown
        else:
            assert "arn:aws:eks:…" in shown[0] and "taging-blue " in shown[0], shown
            assert "arn:aws:eks:…" in shown[1] and "/prod-blue " in shown[1], shown
