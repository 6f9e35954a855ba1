"""The State backend step on an environment not yet moved off GitLab HTTP state (``rehearse
--legacy-http-state``): the step keeps saying which stacks are still only on the HTTP backend, Ctrl+T
migrates them with real terraform and says the outcome once, and then nothing is offered any more."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gfwizard.checks import passed
from screens.checklist import Checklist
from tests.functional import REPO, modal_named, on_step, run_every_backend_check, text_of, wait_until

pytestmark = pytest.mark.timeout(240)
STACKS = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
#: A row not shown (yet).
NONE = passed("none", "")


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
            widget = app.screen.query_one("#step-status")

            def fits() -> bool:
                needed = widget.get_content_height(widget.size, app.size, widget.content_region.width)
                return needed <= widget.content_region.height

            pending = ("The state of attic, arc-runners, gitlab-runners, runner-dashboard is still only on the HTTP "
                       "backend: Ctrl+T migrates it (until then the deploy gate stops those stacks).")
            # Entering the step runs the read-only checks only: what is left to migrate comes first, then the probe.
            await wait_until(pilot, lambda: "Lock probe not run yet" in status(), "the read-only checks")
            assert status().startswith(pending), status()
            assert fits(), status()
            await run_every_backend_check(pilot, app)
            await wait_until(pilot, lambda: status().endswith("Ctrl+N for Next."), "the backend ready")
            # All of it on screen at 80x24: the status line's three lines hold what is left to do, and Next.
            assert status().startswith(pending), status()
            assert fits(), status()
            shown = lambda: {c.name: c for c in app.screen.query_one(Checklist).checks}  # noqa: E731
            assert "0 state file(s)" in shown()["s3 state prefix"].detail, shown()
            env.s3.request_log.clear()  # type: ignore[union-attr]
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
            # The list is read again after the migration (no Ctrl+R needed): the state files now in S3 show.
            await wait_until(pilot, lambda: "4 state file(s)" in shown().get("s3 state prefix", NONE).detail
                             and app.screen.checks is not None, "the read-only checks again")
            # The lock probe is not run again (a write), but its pass on this visit is kept: nothing blocked.
            probe = shown()["s3 lock probe"]
            assert probe.ok and probe.detail.endswith("(passed earlier on this visit; not run again after the "
                                                      "migration)"), probe
            assert not any(".gfwizard-lock-probe" in e["path"]
                           for e in env.s3.request_log.entries()), "the lock probe ran again"  # type: ignore[union-attr]
            await wait_until(pilot, lambda: status().endswith("Ctrl+N for Next."), "the backend ready again")
            assert app.session.backend_ready and app.screen.check_action("next", ()) is not False
            assert app.screen.check_action("render", ())
        listed = env.s3.client().list_objects_v2(Bucket=env.bucket)  # type: ignore[union-attr]
        keys = sorted(o["Key"] for o in listed.get("Contents", []))
        assert keys == sorted(f"gloriousflywheel/dev/{stack}.tfstate" for stack in STACKS)


QUITTING = ("Quitting: waiting for attic (1/4) to finish migrating (its HTTP source is backed up and never "
            "written); no later stack starts (Ctrl+T here migrates the rest next time). Then the wizard closes.")


@pytest.mark.parametrize("quit_key", ["y", "ctrl+q"])
async def test_quitting_mid_migration_says_what_it_waits_for_and_starts_no_later_stack(
        tmp_path: Path, iac_bin: str, monkeypatch: pytest.MonkeyPatch, quit_key: str) -> None:
    """While the migration runs, the step cannot be left and Ctrl+Q asks (naming the stack in progress). After y
    (or Ctrl+Q again) the step says that it is quitting and what it waits for, and stays until the stack in
    progress has finished (before, the wizard closed at once and the terminal sat on stale text meanwhile); a
    further Ctrl+Q says it does not stop that stack, and changes nothing; no later stack starts."""
    from gfwizard.rehearsal.workspace import RehearsalEnvironment
    from screens.launch import build_app

    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    monkeypatch.setattr("gfwizard.backend.migrate_http_to_s3", _recording_migration(calls, tmp_path, started, release))
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        env.seed_legacy_http_state("dev")
        for key, value in env.env.items():
            monkeypatch.setenv(key, value)
        app = build_app(rehearsal=env, repo=REPO, start_at="backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend")
                             and app.session.extras.get("http_state_stacks") == STACKS, "the HTTP state lookup",
                             timeout=60)
            step = app.screen
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog")
            await pilot.press("y")
            await wait_until(pilot, started.is_set, "the first stack's migration")
            await wait_until(pilot, lambda: step.quit_warning() is not None, "the quit warning")
            assert step.quit_warning() == (
                "A migration to S3 is running: attic (1/4). Quitting lets this stack finish (its source is backed up "
                "and never written) and starts no later one; Ctrl+T here migrates the rest next time.")
            for action in ("back", "next", "migrate", "render", "run_checks"):
                assert not step.check_action(action, ()), action
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal")
                             and app.screen.title_text == "Quit now?", "the quit question")
            assert step.quit_warning() in str(app.screen.body)
            await pilot.press(quit_key)
            await wait_until(pilot, lambda: on_step(app, "backend"), "the question closed")
            await pilot.pause()
            assert app.is_running and app.return_code is None, "the wizard closed while attic was migrating"
            status = step.query_one("#step-status")
            assert text_of(status) == QUITTING
            # All of it on screen at 80x24.
            assert status.get_content_height(status.size, app.size, status.content_region.width) \
                <= status.content_region.height
            for action in ("back", "next", "migrate", "render", "run_checks"):
                assert not step.check_action(action, ()), action
            await pilot.press("ctrl+q")
            again = ("Quitting already: attic (1/4) is not stopped mid-migration; the wizard closes once it has "
                     "finished.")
            await wait_until(pilot, lambda: again in [n.message for n in app._notifications], "the second Ctrl+Q")
            assert app.is_running and app.return_code is None and text_of(status) == QUITTING
            release.set()  # the stack in progress finishes; the loop must then stop, and the wizard close
            await wait_until(pilot, lambda: app.return_code is not None, "the wizard closing", timeout=30)
        assert step.migrating is None
    assert app.return_code == 0
    assert calls == ["attic"]  # arc-runners, gitlab-runners, runner-dashboard were never started
    assert not [n.message for n in app._notifications if n.message.startswith("Migrated to S3")]


async def test_a_stack_that_fails_while_quitting_keeps_the_wizard_open_to_say_so(
        tmp_path: Path, iac_bin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack a quit waits for does not end well: closing would lose that, so the step says it (and that no
    later stack was started), offers nothing else, and the next Ctrl+Q quits at once."""
    from gfwizard.backend_migrate import MigrationReport
    from gfwizard.rehearsal.workspace import RehearsalEnvironment
    from screens.launch import build_app

    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def failing(cfg, env, stack, layout, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(stack)
        started.set()
        release.wait(60)
        return MigrationReport(stack=stack, env=env, source="http", destination="s3", backup_path=tmp_path / "b",
                               outcome="failed", detail="init -migrate-state exited 1", remedy="read the transcript",
                               ok=False)

    monkeypatch.setattr("gfwizard.backend.migrate_http_to_s3", failing)
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        env.seed_legacy_http_state("dev")
        for key, value in env.env.items():
            monkeypatch.setenv(key, value)
        app = build_app(rehearsal=env, repo=REPO, start_at="backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend")
                             and app.session.extras.get("http_state_stacks") == STACKS, "the HTTP state lookup",
                             timeout=60)
            step = app.screen
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog")
            await pilot.press("y")
            await wait_until(pilot, lambda: started.is_set() and step.quit_warning() is not None, "the migration")
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the quit question")
            await pilot.press("y")
            status = lambda: text_of(step.query_one("#step-status"))  # noqa: E731
            await wait_until(pilot, lambda: status() == QUITTING, "the quitting status")
            release.set()
            await wait_until(pilot, lambda: status().startswith("Not closed"), "the failure said")
            assert status() == ("Not closed: the migration in progress did not end well: attic: failed — "
                                "init -migrate-state exited 1 Remedy: read the transcript. No later stack was started. "
                                "Ctrl+Q quits.")
            assert app.is_running and app.return_code is None
            for action in ("back", "next", "migrate", "render", "run_checks"):
                assert not step.check_action(action, ()), action
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: app.return_code is not None, "the wizard closing")
    assert app.return_code == 0 and calls == ["attic"]


def _recording_migration(calls: list[str], tmp_path: Path, started: "object | None" = None,
                         release: "object | None" = None):  # type: ignore[no-untyped-def]
    """A stand-in for ``migrate_http_to_s3`` that records each stack (and, given events, waits to be released)."""
    from gfwizard.backend_migrate import MigrationReport

    def migration(cfg, env, stack, layout, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(stack)
        if started is not None and release is not None:
            started.set()  # type: ignore[attr-defined]
            release.wait(60)  # type: ignore[attr-defined]
        return MigrationReport(stack=stack, env=env, source="http", destination="s3", backup_path=tmp_path / "b",
                               outcome="migrated", detail="", ok=True)

    return migration


async def test_ctrl_t_is_refused_while_another_run_holds_the_environment(tmp_path: Path, iac_bin: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A deploy of dev running in another shell holds dev's run lock: Ctrl+T is refused as `gfwizard backend
    migrate` is, naming that run, with the remedy in the error and on the status line; nothing is migrated,
    backed up or written to S3. Once that run has ended, Ctrl+T migrates."""
    from gfwizard.layout import layout_for
    from gfwizard.rehearsal.workspace import RehearsalEnvironment
    from gfwizard.stacks_runlock import env_run_lock
    from screens.launch import build_app

    calls: list[str] = []
    monkeypatch.setattr("gfwizard.backend.migrate_http_to_s3", _recording_migration(calls, tmp_path))
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        env.seed_legacy_http_state("dev")
        for key, value in env.env.items():
            monkeypatch.setenv(key, value)
        workspace = Path(env.env["GFW_WORKSPACE"])
        deploy = env_run_lock(layout_for("loopback"), "dev")
        deploy.acquire("20261208T000000Z-other1", "a deploy from the command line")  # as `gfwizard deploy` would
        app = build_app(rehearsal=env, repo=REPO, start_at="backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend")
                             and app.session.extras.get("http_state_stacks") == STACKS, "the HTTP state lookup",
                             timeout=60)
            step = app.screen
            before = {p.relative_to(workspace).as_posix() for p in workspace.rglob("*")}
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog")
            await pilot.press("y")
            await wait_until(pilot, lambda: modal_named(app, "ErrorModal"), "the refusal")
            error = app.screen
            held = ("another deploy run of dev is running on this machine (a deploy from the command line: run "
                    "20261208T000000Z-other1, pid ")
            assert str(error.message).startswith(held), error.message
            assert str(error.remedy).startswith("wait for it to end (or stop it where it runs), then try again"), \
                error.remedy
            await pilot.press("escape")
            status = lambda: text_of(step.query_one("#step-status"))  # noqa: E731
            await wait_until(pilot, lambda: status().startswith("Not migrated (Ctrl+T tries again): " + held),
                             "the status line")
            assert "Wait for it to end (or stop it where it runs), then try again" in status(), status()
            assert calls == [] and step.migrating is None
            assert app.session.extras.get("http_state_stacks") == STACKS
            assert {p.relative_to(workspace).as_posix() for p in workspace.rglob("*")} == before  # no backup either
            listed = env.s3.client().list_objects_v2(Bucket=env.bucket, Prefix="gloriousflywheel/dev/")  # type: ignore[union-attr]
            assert listed.get("KeyCount", 0) == 0
            deploy.release()  # that run ended
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog again")
            await pilot.press("y")
            await wait_until(pilot, lambda: calls == STACKS and step.migrating is None, "the migration")


async def test_a_wizard_migration_holds_the_environment_against_the_cli(tmp_path: Path, iac_bin: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """While Ctrl+T migrates, `gfwizard backend migrate` (and so a deploy) of the same environment is refused,
    naming the wizard's migration; when it ends, the lock is free again."""
    import threading

    from gfwizard.commands._migrate_many import hold_env_lock
    from gfwizard.errors import CheckFailure
    from gfwizard.layout import layout_for
    from gfwizard.rehearsal.workspace import RehearsalEnvironment
    from gfwizard.stacks_runlock import env_run_lock
    from screens.launch import build_app

    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    monkeypatch.setattr("gfwizard.backend.migrate_http_to_s3",
                        _recording_migration(calls, tmp_path, started, release))
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    with RehearsalEnvironment(workspace=tmp_path / "ws") as env:
        env.seed_legacy_http_state("dev")
        for key, value in env.env.items():
            monkeypatch.setenv(key, value)
        app = build_app(rehearsal=env, repo=REPO, start_at="backend")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: on_step(app, "backend")
                             and app.session.extras.get("http_state_stacks") == STACKS, "the HTTP state lookup",
                             timeout=60)
            step = app.screen
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the migrate dialog")
            await pilot.press("y")
            await wait_until(pilot, started.is_set, "the first stack's migration")
            assert app.session.draft is not None
            with pytest.raises(CheckFailure, match=r"^another state migration run of dev is running on this machine "
                                                   r"\(the wizard's State backend step \(Ctrl\+T\): run "):
                hold_env_lock(app.session.draft, "dev")
            release.set()
            await wait_until(pilot, lambda: calls == STACKS and step.migrating is None, "the migration")
        after = env_run_lock(layout_for("loopback"), "dev")
        after.acquire("20261208T000000Z-after1")  # free again: the wizard's migration released it
        after.release()
