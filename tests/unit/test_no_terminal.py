"""The full-screen views need a terminal: without one (a pipe, a CI job, ``</dev/null``) the wizard,
``config init`` without ``--plain`` and ``rehearse`` without ``--serve`` exit 2 with a remedy at
once, instead of waiting forever for keys; nothing is started or written."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from tests.helpers import run_cli, tree_digest

WIZARD = ("error: the wizard needs a terminal (stdin and stdout)",
          "remedy: run `gfwizard wizard{config}` in a terminal; without one, its steps are non-interactive commands: "
          "`gfwizard doctor{config}`, `gfwizard validate{config}`, `gfwizard backend check --env ENV{config}`, "
          "`gfwizard config validate{config}`, `gfwizard deploy --env ENV{config}` (see `gfwizard --help`)")


def _no_terminal(args: list[str]) -> "tuple[int, str, str]":
    # input="" makes stdin a pipe even when pytest itself runs in a terminal; a hang is a timeout.
    done = run_cli(args, input="", timeout=30)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def watched(tmp_path: Path, isolated_home: Path) -> "dict[str, Path]":
    """The places a run could write to: this test's temp dir and the gfwizard state dir."""
    return {"tmp": tmp_path, "state": Path(os.environ["GFW_STATE_DIR"]), "home": isolated_home}


def _digests(watched: "dict[str, Path]") -> "dict[str, dict[str, str]]":
    return {name: tree_digest(path) for name, path in watched.items()}


@pytest.mark.parametrize("args", [[], ["wizard"]], ids=["gfwizard", "gfwizard wizard"])
def test_the_wizard_without_a_terminal_exits_2(args: list[str], watched: "dict[str, Path]") -> None:
    before = _digests(watched)
    code, out, err = _no_terminal(args)
    assert code == 2
    assert out == ""  # no escape codes of a full-screen UI
    assert err.splitlines() == [line.format(config="") for line in WIZARD]
    assert _digests(watched) == before


def test_the_wizard_remedy_carries_the_config(watched: "dict[str, Path]") -> None:
    config = watched["tmp"] / "my org.yaml"
    before = _digests(watched)
    code, _, err = _no_terminal(["wizard", "--config", str(config)])
    assert code == 2
    assert err.splitlines() == [line.format(config=f" --config {shlex.quote(str(config))}") for line in WIZARD]
    assert not config.exists() and _digests(watched) == before


def test_config_init_without_plain_and_without_a_terminal_exits_2(watched: "dict[str, Path]") -> None:
    config = watched["tmp"] / "organization.yaml"
    before = _digests(watched)
    code, out, err = _no_terminal(["config", "init", "--config", str(config)])
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: config init without --plain opens the full-screen wizard, which needs a terminal (stdin and stdout)",
        f"remedy: run it in a terminal (`gfwizard config init --plain --config {config}` asks every field as a "
        "plain prompt, also in a terminal), or copy config/organization.example.yaml, edit it and check it "
        f"with `gfwizard config validate --config {config}`"]
    assert not config.exists() and _digests(watched) == before


def test_config_init_plain_without_a_terminal_says_what_init_without_plain_says(watched: "dict[str, Path]") -> None:
    """Its remedy said "copy config/organization.example.yaml and edit it", leaving out the check that the
    remedy without --plain names: a copied file with a typo was only found by the next command that read it."""
    config = watched["tmp"] / "organization.yaml"
    before = _digests(watched)
    code, out, err = _no_terminal(["config", "init", "--plain", "--config", str(config)])
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: `gfwizard config init --plain --config {config}` needs an interactive terminal",
        "remedy: run it in a terminal, or copy config/organization.example.yaml, edit it and check it with "
        f"`gfwizard config validate --config {config}`"]
    assert not config.exists() and _digests(watched) == before


def test_rehearse_without_serve_and_without_a_terminal_exits_2(watched: "dict[str, Path]") -> None:
    workspace = watched["tmp"] / "ws"
    env_file = watched["tmp"] / "r.env"
    before = _digests(watched)
    message = "the rehearsal wizard needs a terminal (stdin and stdout)"
    remedy = ("run `gfwizard rehearse` in a terminal, or start only the services with `gfwizard rehearse --serve` "
              "and run the commands it prints")
    code, out, err = _no_terminal(["rehearse", "--workspace", str(workspace), "--env-file", str(env_file)])
    assert code == 2 and out == ""
    assert err.splitlines() == [f"error: {message}", f"remedy: {remedy}"]
    code, out, _ = _no_terminal(["rehearse", "--json", "--workspace", str(workspace)])
    assert code == 2
    assert json.loads(out) == {"error": {"message": message, "remedy": remedy, "exit_code": 2}}
    assert not workspace.exists() and not env_file.exists() and _digests(watched) == before
