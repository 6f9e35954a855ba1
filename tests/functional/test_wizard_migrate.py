"""The State backend step on an environment not yet moved off GitLab HTTP state (``rehearse
--legacy-http-state``): the step keeps saying which stacks are still only on the HTTP backend, Ctrl+T
migrates them with real terraform and says the outcome once, and then nothing is offered any more."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional import REPO, modal_named, on_step, text_of, wait_until

pytestmark = pytest.mark.timeout(240)
STACKS = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]


async def test_ctrl_t_migrates_what_is_left_and_says_so_once(tmp_path: Path, iac_bin: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.rehearsal.workspace import RehearsalEnvironment
    from screens.launch import build_app

    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        env.seed_legacy_http_state("dev")
        for key, value in env.env.items():  # TF_HTTP_* among them, as `rehearse --legacy-http-state` exports
            monkeypatch.setenv(key, value)
        app = build_app(rehearsal=env, repo=REPO, start_at="backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend")
                             and app.session.extras.get("http_state_stacks") == STACKS, "the HTTP state lookup",
                             timeout=60)
            status = lambda: text_of(app.screen.query_one("#step-status"))  # noqa: E731
            await wait_until(pilot, lambda: "is still only on the HTTP backend" in status(), "the lasting note")
            assert status().startswith(
                "The state of attic, arc-runners, gitlab-runners, runner-dashboard is still only on the HTTP "
                "backend: Ctrl+T migrates it (until then the deploy gate stops those stacks).")
            # All of it on screen at 80x24: the status line's three lines hold what is left to do, and Next.
            widget = app.screen.query_one("#step-status")
            needed = widget.get_content_height(widget.size, app.size, widget.content_region.width)
            assert needed <= widget.content_region.height, (needed, status())
            assert status().endswith("Ctrl+N for Next.")
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog")
            await pilot.press("y")
            await wait_until(pilot, lambda: app.session.extras.get("http_state_stacks") == [], "the migration",
                             timeout=180)
            said = [n.message for n in app._notifications]
            summaries = [m for m in said if m.startswith("Migrated to S3: ")]
            assert summaries == [
                "Migrated to S3: attic (migrated), arc-runners (migrated), gitlab-runners (migrated), "
                f"runner-dashboard (migrated). Backups of the HTTP states: {Path(env.env['GFW_WORKSPACE']) / 'backups' / 'dev'}."], said
            await wait_until(pilot, lambda: "still only on the HTTP backend" not in status(), "the note gone")
            assert not app.screen.check_action("migrate", ())
        listed = env.s3.client().list_objects_v2(Bucket=env.bucket)  # type: ignore[union-attr]
        keys = sorted(o["Key"] for o in listed.get("Contents", []))
        assert keys == sorted(f"gloriousflywheel/dev/{stack}.tfstate" for stack in STACKS)
