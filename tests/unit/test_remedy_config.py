"""A remedy followed as printed acts on the config the command was given: backticked gfwizard
commands that read organization.yaml carry this process's ``--config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfwizard.commands import _common


@pytest.fixture
def explicit(monkeypatch: pytest.MonkeyPatch) -> Path:
    path = Path("/srv/gf/other config.yaml")
    monkeypatch.setattr(_common, "_explicit_config", path)
    return path


def test_commands_that_read_the_config_get_it(explicit: Path) -> None:
    text = ("run `gfwizard validate --pin` to pin it; then `gfwizard deploy --env dev --resume`; "
            "`gfwizard backend locks --env dev` shows it; `gfwizard audit .` and `gfwizard rehearse` do not read it; "
            "`gfwizard status --once --config /a.yaml` already has one; plain gfwizard validate is not a command")
    assert _common.with_config(text) == (
        "run `gfwizard validate --pin --config '/srv/gf/other config.yaml'` to pin it; then "
        "`gfwizard deploy --env dev --resume --config '/srv/gf/other config.yaml'`; "
        "`gfwizard backend locks --env dev --config '/srv/gf/other config.yaml'` shows it; `gfwizard audit .` and "
        "`gfwizard rehearse` do not read it; `gfwizard status --once --config /a.yaml` already has one; plain "
        "gfwizard validate is not a command")
    assert _common.with_config_obj({"a": ["`gfwizard doctor`", 3]}) == {
        "a": ["`gfwizard doctor --config '/srv/gf/other config.yaml'`", 3]}


def test_without_an_explicit_config_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "_explicit_config", None)
    assert _common.with_config("run `gfwizard validate --pin`") == "run `gfwizard validate --pin`"
