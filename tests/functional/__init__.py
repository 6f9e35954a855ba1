"""Functional tests: the wizard driven with Textual's Pilot against the rehearsal services.

Shared helpers live here (plain functions, no fixtures), so every test module reads the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest
from rich.text import Text

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.helpers import tree_digest

if TYPE_CHECKING:
    from textual.pilot import Pilot
    from textual.widget import Widget

    from gfwizard.rehearsal.apiserver import RehearsalAPIServer
    from gfwizard.rehearsal.httpstate import HttpStateServer
    from gfwizard.rehearsal.s3 import RehearsalS3
    from screens.app import WizardApp

REPO = Path(__file__).resolve().parents[2]


async def wait_until(pilot: "Pilot[None]", predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Let the app run until ``predicate()`` is true; fail naming ``what`` (and the screen) after ``timeout``.

    The timeout only catches a hang: a wizard step that runs real init/plan commands took over 20 s with the two
    cores loaded about 4-fold (a full suite beside other work), and a passing wait never spends it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        if predicate():
            return
    screen = pilot.app.screen
    status = ""
    try:
        status = text_of(screen.query_one("#step-status"))
    except Exception:  # noqa: BLE001 - only for the failure message
        pass
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen {screen!r}, status {status!r}")


def text_of(widget: "Widget") -> str:
    """The plain text a Static shows."""
    content = getattr(widget, "content", "")
    if isinstance(content, Text):
        return content.plain
    return str(content)


def on_step(app: "WizardApp", name: str) -> bool:
    """True when the wizard shows step ``name`` (and no dialog is on top of it)."""
    from screens.step import StepScreen

    return app.step == name and isinstance(app.screen, StepScreen)


def modal_named(app: "WizardApp", cls_name: str) -> bool:
    """True when the top screen is a dialog of class ``cls_name``, composed and showing its buttons."""
    from textual.widgets import Button

    screen = app.screen
    return type(screen).__name__ == cls_name and screen.is_mounted and bool(screen.query(Button))


async def run_every_backend_check(pilot: "Pilot[None]", app: "WizardApp", what: str = "every backend check",
                                  timeout: float = 20.0) -> None:
    """On the State backend step: Ctrl+R (every check, the lock probe too, which entering the step never
    runs), then wait for its results."""
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None
                     and app.screen.full_run, what, timeout)


async def type_into(pilot: "Pilot[None]", selector: str, text: str) -> None:
    """Replace an Input's value by typing, as an operator would (focus, clear, keys)."""
    from textual.widgets import Input

    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    await pilot.pause()
    box.action_end()
    await pilot.press("ctrl+u")
    await pilot.press(*text)
    await pilot.pause()


@pytest.fixture
def unpinned_workspace(tmp_path: Path, honey: "RehearsalAPIServer", s3: "RehearsalS3",
                       http_state: "HttpStateServer", monkeypatch: pytest.MonkeyPatch) -> WorkspaceFixture:
    """A rehearsal workspace whose organization.yaml has no fingerprint yet (the wizard pins it)."""
    from gfwizard.rehearsal.workspace import prepare_workspace

    honey.request_log.clear()
    honey.faults.clear()
    # As rehearsal_workspace does: earlier tests' workloads would run without state in this fresh bucket.
    honey.drop_deployed_namespaces()
    files = prepare_workspace(tmp_path / "rehearsal", api=honey, s3=s3, http_state=http_state, pin_fingerprint=False)
    for key, value in files.env.items():
        monkeypatch.setenv(key, value)
    return WorkspaceFixture(dir=files.dir, kubeconfig_path=files.kubeconfig_path, config_path=files.config_path,
                            env=dict(files.env), bucket=files.bucket, api=honey, s3=s3, http_state=http_state)


def make_app(workspace: WorkspaceFixture) -> "WizardApp":
    """The wizard for ``workspace``, through the same factory the CLI uses."""
    from screens.launch import build_app

    return build_app(rehearsal=workspace, repo=REPO)  # type: ignore[arg-type]


def bucket_exists(workspace: WorkspaceFixture, name: str) -> bool:
    """Whether the rehearsal S3 endpoint has bucket ``name``."""
    return name in {b["Name"] for b in workspace.s3.client().list_buckets().get("Buckets", [])}


def workspace_files(workspace: WorkspaceFixture) -> dict[str, str]:
    """Digest of the workspace minus the request logs (which every API call appends to)."""
    return {k: v for k, v in tree_digest(workspace.dir).items() if not k.endswith("requests.log")}


def backends_rendered(workspace: WorkspaceFixture, env: str = "dev") -> None:
    """Write ``env``'s backend files as the Backend step leaves them, for tests that start at Deploy
    (planning an env whose files are missing or stale asks first)."""
    import os

    from gfwizard.backend import render_backends
    from gfwizard.layout import layout_for
    from gfwizard.orgconfig import load_config

    cfg = load_config(workspace.config_path)
    render_backends(cfg, env, layout_for(cfg.cluster.network, repo=REPO, environ={**os.environ, **workspace.env}))
