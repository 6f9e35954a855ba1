"""``config init --plain`` and the wizard write the same organization.yaml for the same answers.

The wizard is driven by keys through every step up to Config (against the rehearsal services); the
plain flow gets the same answers from a fake prompt layer, starting from the same file."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Sequence

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (
    REPO,
    make_app,
    modal_named,
    on_step,
    run_every_backend_check,
    text_of,
    type_into,
    wait_until,
)
from tests.functional.test_wizard_flow import to_validate


class ScriptedPrompter:
    """The plain flow's prompt layer with fixed answers; anything not scripted keeps its default."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def text(self, key: str, message: str, default: str = "", validate=None, help: str = "") -> str:  # type: ignore[no-untyped-def]
        self.asked.append(key)
        value = self.answers.get(key, default)
        assert validate is None or validate(value) is None, f"{key}={value!r} rejected: {validate(value)}"
        return value

    def select(self, key: str, message: str, choices: Sequence[str], default: str | None = None,
               help: str = "") -> str | None:
        self.asked.append(key)
        return self.answers.get(key, default)

    def confirm(self, key: str, message: str, default: bool = False) -> bool:
        self.asked.append(key)
        return True


async def test_plain_init_writes_the_file_the_wizard_writes(rehearsal_workspace: WorkspaceFixture,
                                                             tmp_path: Path) -> None:
    from gfwizard.plain import Outcome, run_plain_init

    ws = rehearsal_workspace
    original = ws.config_path.read_bytes()
    bucket = ws.s3.create_bucket(f"gfw-p-{secrets.token_hex(2)}", versioning=True)
    app = make_app(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await to_validate(pilot, app)
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None
                         and app.screen.blocked_reason() is None, "validation")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
        await type_into(pilot, "#s3_bucket", bucket)
        await run_every_backend_check(pilot, app, "the checks again")
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the render dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.blocked_reason() is None, "rendering")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the diff")
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "config") and app.session.config_written, "the write")
        chosen = {"context": app.session.context, "kubeconfig": app.session.draft.cluster.kubeconfig,
                  "s3_bucket": bucket}
    wizard_bytes = ws.config_path.read_bytes()
    assert wizard_bytes != original and bucket.encode() in wizard_bytes

    plain_path = tmp_path / "plain" / "organization.yaml"
    plain_path.parent.mkdir()
    plain_path.write_bytes(original)
    prompter = ScriptedPrompter({k: str(v) for k, v in chosen.items()})
    lines: list[str] = []
    assert run_plain_init(plain_path, prompter, echo=lines.append) is Outcome.WRITTEN
    assert {"context", "kubeconfig", "s3_bucket", "write"} <= set(prompter.asked)
    assert plain_path.read_bytes() == wizard_bytes
    assert plain_path.with_name("organization.yaml.bak").read_bytes() == original
    assert ws.config_path.with_name("organization.yaml.bak").read_bytes() == original


async def test_config_init_takes_a_prod_only_answer_as_plain_does(rehearsal_workspace: WorkspaceFixture,
                                                                 tmp_path: Path) -> None:
    """`gfwizard config init` opens the wizard at Config, where no step has set dev up yet: dropping it is an
    answer, as with --plain, and the same file comes out; the run goes on with prod."""
    from gfwizard.plain import Outcome, run_plain_init
    from screens.launch import build_app

    ws = rehearsal_workspace
    original = ws.config_path.read_bytes()
    app = build_app(config_path=ws.config_path, repo=REPO, start_at="config")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the file")
        await type_into(pilot, "#environments", "prod")
        await wait_until(pilot, lambda: list(app.session.draft.environments) == ["prod"], "prod only in the draft")
        assert text_of(app.screen.query_one("#environments-error")) == ""
        assert app.session.env == "prod" and app.session.draft.environments["prod"].require_confirmation
        await wait_until(pilot, lambda: app.screen.check_action("write", ()) is True, "Ctrl+W offered")
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.session.config_written, "the write")
    wizard_bytes = ws.config_path.read_bytes()
    assert b"  dev:" not in wizard_bytes and b"  prod:" in wizard_bytes

    plain_path = tmp_path / "plain" / "organization.yaml"
    plain_path.parent.mkdir()
    plain_path.write_bytes(original)
    assert run_plain_init(plain_path, ScriptedPrompter({"environments": "prod"}), echo=[].append) is Outcome.WRITTEN
    assert plain_path.read_bytes() == wizard_bytes
