"""The Config step's organization form: org name, full name, environments and the ones that need a typed
confirmation, each checked as typed; only valid values reach the draft and the file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (
    backends_rendered, modal_named, on_step, run_every_backend_check, text_of, type_into, wait_until, workspace_files,
)
from tests.functional.test_wizard_steps import (
    app_at,
    config_app_with_new_prefix,
    footer_keys,
    settled_footer_keys,
)

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from screens.app import WizardApp


def diff_lines(app: "WizardApp") -> list[str]:
    return text_of(app.screen.query_one("#config-diff")).splitlines()


def error_of(app: "WizardApp", key: str) -> str:
    """The error line under field ``key`` ('' while it is hidden)."""
    shown = app.screen.query_one(f"#{key}-error")
    return text_of(shown) if shown.has_class("-shown") else ""


async def rendered(pilot: "Pilot[None]", app: "WizardApp") -> None:
    await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the render")


async def test_a_new_org_name_updates_the_diff_and_is_written(rehearsal_workspace: WorkspaceFixture) -> None:
    from gfwizard.orgconfig import load_config

    ws = rehearsal_workspace
    app = app_at(ws, "config")
    before = load_config(ws.config_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        screen = app.screen
        # Prefilled from the draft; focus starts on the first field (the YAML view had it before).
        assert screen.query_one("#org_name").value == before.organization.name
        assert screen.query_one("#org_full_name").value == before.organization.full_name
        assert screen.query_one("#environments").value == ", ".join(before.environments)
        assert screen.query_one("#confirm_environments").value == ", ".join(
            n for n, e in before.environments.items() if e.require_confirmation)
        assert screen.focused is screen.query_one("#org_name")
        assert screen.new_text == screen.old_text  # nothing to write yet
        await type_into(pilot, "#org_name", "acme")
        await wait_until(pilot, lambda: screen.new_text is not None and screen.new_text != screen.old_text,
                         "the diff of the new name")
        assert any(line.startswith("+") and "acme" in line for line in diff_lines(app)), diff_lines(app)
        assert any(line.startswith("-") and before.organization.name in line for line in diff_lines(app))
        assert app.session.draft.organization.name == "acme"
        # The YAML view keeps its lines at 80x24 with the form above it.
        assert screen.query_one("#config-view").content_region.height >= 8
        await pilot.press("ctrl+w")  # from inside the field: Input's own Ctrl+W (delete a word) does not win
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "config") and app.session.config_written, "the write")
    after = load_config(ws.config_path)
    assert after.organization.name == "acme"
    assert after.model_copy(update={"organization": before.organization}) == before, "only the name changed"


async def test_an_invalid_org_name_is_shown_and_blocks_the_write(rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = config_app_with_new_prefix(ws)  # something to write, so that only the bad name can stop Ctrl+W
    before = workspace_files(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        screen = app.screen
        assert screen.check_action("write", ()) is True
        name = app.session.draft.organization.name
        await type_into(pilot, "#org_name", "Bad Name")
        await wait_until(pilot, lambda: error_of(app, "org_name"), "the error under the field")
        error = ("organization name 'Bad Name' must be a lowercase name of letters, digits and '-' (1-63 "
                 "characters, starting and ending with a letter or digit)")
        assert error_of(app, "org_name") == error
        assert text_of(screen.query_one("#step-status")) == (
            f"Org name: {error} (fix it: Ctrl+W writes only valid values)")
        assert app.session.draft.organization.name == name, "an invalid value reached the draft"
        assert "Bad Name" not in (screen.new_text or "")
        assert screen.check_action("write", ()) is False
        assert "ctrl+w" not in [k[0] for k in await settled_footer_keys(pilot, screen)]
        await pilot.press("ctrl+w")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert on_step(app, "config") and not modal_named(app, "ConfirmModal")
        assert workspace_files(ws) == before, "something was written"
        # Fixed: the error goes and Ctrl+W is offered again.
        await type_into(pilot, "#org_name", "bad-name")
        await wait_until(pilot, lambda: screen.check_action("write", ()) is True, "Ctrl+W offered again")
        assert error_of(app, "org_name") == "" and app.session.draft.organization.name == "bad-name"
        assert "ctrl+w" in [k[0] for k in footer_keys(screen)]
    assert workspace_files(ws) == before


async def test_the_help_line_never_says_the_file_holds_an_invalid_draft(rehearsal_workspace: WorkspaceFixture) -> None:
    """The file already holds the draft; an invalid field made the line under the title say so still ("already
    holds this; nothing to write") while the status line said to fix the field."""
    ws = rehearsal_workspace
    app = app_at(ws, "config")
    before = workspace_files(ws)
    holds = f"{ws.config_path} already holds this (never a secret); nothing to write."
    problem = (f"{ws.config_path} (never holds a secret): a field below has a problem; nothing is written until "
               "it is fixed.")
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        screen = app.screen
        help_line = screen.query_one("#config-help")
        assert text_of(help_line) == holds
        name = app.session.draft.organization.name
        await type_into(pilot, "#org_name", "Bad Name")
        await wait_until(pilot, lambda: error_of(app, "org_name"), "the error under the field")
        assert text_of(help_line) == problem
        assert text_of(screen.query_one("#step-status")).endswith("(fix it: Ctrl+W writes only valid values)")
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert not modal_named(app, "ConfirmModal") and app.session.draft.organization.name == name
        assert workspace_files(ws) == before, "something was written"
        # Fixed back to the value the file holds: the line says so again.
        await type_into(pilot, "#org_name", name)
        await wait_until(pilot, lambda: not screen.invalid, "the field valid")
        await wait_until(pilot, lambda: text_of(help_line) == holds, "the help line of an identical file")
    assert workspace_files(ws) == before, "something was written"


async def test_dropping_a_confirmed_environment_is_refused_until_its_confirmation_goes(
        rehearsal_workspace: WorkspaceFixture) -> None:
    ws = rehearsal_workspace
    app = config_app_with_new_prefix(ws)
    app.session.backend_ready = True  # as the State backend step leaves it: this run has set dev up
    before = workspace_files(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        screen = app.screen
        assert app.session.draft.environments["prod"].require_confirmation
        await type_into(pilot, "#environments", "dev")
        await wait_until(pilot, lambda: error_of(app, "environments"), "the error under Environments")
        error = "'prod' needs a typed confirmation before apply: remove it from the environments that need one first"
        assert error_of(app, "environments") == error
        assert text_of(screen.query_one("#step-status")).startswith(f"Environments: {error}")
        assert list(app.session.draft.environments) == ["dev", "prod"]
        assert app.session.draft.environments["prod"].require_confirmation
        assert screen.check_action("write", ()) is False
        await pilot.press("ctrl+w")
        await pilot.pause()
        assert not modal_named(app, "ConfirmModal")
        assert workspace_files(ws) == before, "something was written"
        # The environment this run sets up cannot go either (the State backend and Deploy steps use it).
        await type_into(pilot, "#environments", "prod")
        await wait_until(pilot, lambda: "wizard run sets up" in error_of(app, "environments"), "the kept env")
        assert error_of(app, "environments") == (
            f"{app.session.env!r} is the environment this wizard run sets up (its state backend, its deploy): keep it")
        # Taking prod out of the confirmations lets the pending list in: both go into the draft.
        await type_into(pilot, "#environments", "dev")
        await type_into(pilot, "#confirm_environments", "")
        await wait_until(pilot, lambda: list(app.session.draft.environments) == ["dev"], "the pending list taken")
        assert error_of(app, "environments") == "" and not screen.invalid
        await wait_until(pilot, lambda: screen.new_text is not None and "prod:" not in screen.new_text,
                         "the diff without prod")
        assert any(line.startswith("-") and "prod:" in line for line in diff_lines(app)), diff_lines(app)
        # A confirmation for an environment not listed yet waits for it the same way.
        await type_into(pilot, "#confirm_environments", "staging")
        await wait_until(pilot, lambda: error_of(app, "confirm_environments"), "the unknown environment")
        assert error_of(app, "confirm_environments") == "'staging' is not one of the environments (dev)"
        await type_into(pilot, "#environments", "dev, staging")
        await wait_until(pilot, lambda: not screen.invalid and "staging" in app.session.draft.environments,
                         "both fields taken")
        assert app.session.draft.environments["staging"].require_confirmation
    assert workspace_files(ws) == before, "nothing is written without Ctrl+W"


async def test_an_invalid_value_typed_before_going_back_is_shown_again(rehearsal_workspace: WorkspaceFixture) -> None:
    """Esc leaves the field, Esc again goes back; coming back shows what was typed, still invalid, so that the
    operator can correct it (it used to come back as the draft's value, the typing lost)."""
    ws = rehearsal_workspace
    backends_rendered(ws)  # so that the State backend step is ready again once its checks pass
    app = app_at(ws, "config")
    before = workspace_files(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        name = app.session.draft.organization.name
        await type_into(pilot, "#org_name", "Bad Name")
        await type_into(pilot, "#environments", "dev")  # prod still needs a typed confirmation
        await wait_until(pilot, lambda: error_of(app, "environments"), "the error under Environments")
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: on_step(app, "backend"), "the step before")
        assert app.session.draft.organization.name == name, "an invalid answer reached the draft"
        await run_every_backend_check(pilot, app)
        await wait_until(pilot, lambda: app.screen.blocked_reason() is None, "the backend ready")
        await pilot.press("ctrl+n")
        await rendered(pilot, app)
        screen = app.screen
        assert screen.query_one("#org_name").value == "Bad Name"
        assert screen.query_one("#environments").value == "dev"
        assert error_of(app, "org_name").startswith("organization name 'Bad Name' must be a lowercase name")
        assert error_of(app, "environments").startswith("'prod' needs a typed confirmation before apply")
        assert text_of(screen.query_one("#step-status")).startswith("Org name: organization name 'Bad Name'")
        assert screen.check_action("write", ()) is False and screen.blocked_reason() is not None
        assert app.session.draft.organization.name == name and list(app.session.draft.environments) == ["dev", "prod"]
        # Fixed, each is forgotten: the next visit shows the draft's value.
        await type_into(pilot, "#org_name", "good-name")
        await type_into(pilot, "#environments", "dev, prod")
        await wait_until(pilot, lambda: not screen.invalid, "both fields valid")
        assert app.session.draft.organization.name == "good-name"
        assert not app.session.extras.get("config_unsaved_fields")
    assert workspace_files(ws) == before, "an invalid answer led to a write"


async def test_next_back_and_quit_come_first_in_the_footer_while_a_field_has_focus(
        rehearsal_workspace: WorkspaceFixture) -> None:
    # The field's own Ctrl+W (delete a word), which the step's Write takes over, put Write first.
    app = config_app_with_new_prefix(rehearsal_workspace)  # something to write: Ctrl+W offered
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        screen = app.screen
        assert screen.focused is screen.query_one("#org_name")
        await wait_until(pilot, lambda: screen.check_action("write", ()) is True, "Ctrl+W offered")
        keys = [k[0] for k in await settled_footer_keys(pilot, screen)]
        assert keys == ["ctrl+n", "escape", "ctrl+q", "ctrl+w"], keys


async def test_a_production_name_added_to_a_dev_only_config_needs_its_name_typed_and_typing_on_takes_it_out(
        rehearsal_workspace: WorkspaceFixture) -> None:
    # Typing prod into the environments of a config that had only dev drafted a prod without a typed confirmation
    # (the Typed confirm field stayed empty), which the Deploy step then applied to after a plain yes.
    ws = rehearsal_workspace
    prod = "  prod: {cluster: honey, tfvars: prod.tfvars, require_confirmation: true}\n"
    text = ws.config_path.read_text()
    assert prod in text
    ws.config_path.write_text(text.replace(prod, ""))
    app = app_at(ws, "config")
    before = workspace_files(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await rendered(pilot, app)
        screen = app.screen
        assert screen.query_one("#confirm_environments").value == ""
        await type_into(pilot, "#environments", "dev, prod")
        await wait_until(pilot, lambda: "prod" in app.session.draft.environments, "prod in the draft")
        assert app.session.draft.environments["prod"].require_confirmation
        await wait_until(pilot, lambda: screen.query_one("#confirm_environments").value == "prod",
                         "the Typed confirm field showing prod")
        await wait_until(pilot, lambda: screen.new_text is not None and "require_confirmation: true" in screen.new_text,
                         "the diff with prod's confirmation")
        # Typing on to production keeps a confirmation (config validate would warn about it otherwise).
        await pilot.press(*"uction")
        await wait_until(pilot, lambda: screen.query_one("#confirm_environments").value == "production",
                         "the Typed confirm field showing production")
        assert error_of(app, "environments") == "" and not screen.invalid
        assert list(app.session.draft.environments) == ["dev", "production"]
        assert app.session.draft.environments["production"].require_confirmation
        # Typing on to a name that does not say production takes the confirmation it brought out again (not
        # refused as a dropped one).
        await pilot.press(*["backspace"] * 6, *"igy")
        await wait_until(pilot, lambda: "prodigy" in app.session.draft.environments, "prodigy in the draft")
        assert error_of(app, "environments") == "" and not screen.invalid
        assert not app.session.draft.environments["prodigy"].require_confirmation
        await wait_until(pilot, lambda: screen.query_one("#confirm_environments").value == "",
                         "the Typed confirm field emptied")
    assert workspace_files(ws) == before, "nothing is written without Ctrl+W"
