"""The CLI configuration the binary runs with: the operator's file when it exists, gfwizard's own
(plugin cache only) when ``TF_CLI_CONFIG_FILE`` / ``TOFU_CLI_CONFIG_FILE`` names a missing file."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from gfwizard.tofu import CliConfig, TofuBinary, TofuRunner, cli_config, find_binary, tofu_environment
from tests.helpers import tree_digest

SHOW_ENV = textwrap.dedent('''\
    #!{python}
    import json, os, sys
    if sys.argv[1:2] == ["version"]:
        print(json.dumps({{"terraform_version": "1.11.4"}}))
    else:
        keys = ["TF_CLI_CONFIG_FILE", "TOFU_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR"]
        print(json.dumps({{k: os.environ.get(k) for k in keys}}))
''')


@pytest.fixture
def env_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TofuBinary:
    path = tmp_path / "bin" / "terraform"
    path.parent.mkdir()
    path.write_text(SHOW_ENV.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("GFW_TOFU_BIN", str(path))
    return find_binary()


async def seen_env(binary: TofuBinary, tmp_path: Path, environ: dict[str, str], cli: CliConfig | None = None
                   ) -> dict[str, str | None]:
    runner = TofuRunner(binary, cwd=tmp_path, data_dir=tmp_path / "data", plugin_cache_dir=tmp_path / "cache",
                        transcript=tmp_path / "t.log", environ=environ, cli=cli)
    assert (await runner.run("env")).ok
    line = next(x for x in (tmp_path / "t.log").read_text().splitlines() if x.startswith("{"))
    return json.loads(line)


def test_a_missing_file_is_replaced_by_gfwizards_own_with_the_plugin_cache(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope" / ".terraformrc")
    cache = tmp_path / 'cache "q"'
    cli = cli_config({"TF_CLI_CONFIG_FILE": missing}, plugin_cache_dir=cache, directory=tmp_path / "state")
    own = tmp_path / "state" / "cli-config.tfrc"
    assert cli.path == own and dict(cli.env) == {"TF_CLI_CONFIG_FILE": str(own)}
    assert own.read_text().splitlines()[-1] == f'plugin_cache_dir = "{tmp_path}/cache \\"q\\""'
    assert cli.note is not None and f"TF_CLI_CONFIG_FILE={missing}" in cli.note and str(own) in cli.note
    env = tofu_environment({"TF_CLI_CONFIG_FILE": missing}, data_dir=tmp_path / "d", plugin_cache_dir=cache, cli=cli)
    assert env["TF_CLI_CONFIG_FILE"] == str(own) and env["TF_PLUGIN_CACHE_DIR"] == str(cache)
    # Written once: a second run with the same cache leaves the file alone.
    mtime = own.stat().st_mtime_ns
    cli_config({"TF_CLI_CONFIG_FILE": missing}, plugin_cache_dir=cache, directory=tmp_path / "state")
    assert own.stat().st_mtime_ns == mtime


def test_tofu_and_terraform_variables_are_each_replaced_only_when_missing(tmp_path: Path) -> None:
    mine = tmp_path / "mine.tfrc"
    mine.write_text('plugin_cache_dir = "/somewhere"\n')
    cli = cli_config({"TOFU_CLI_CONFIG_FILE": str(tmp_path / "gone.tfrc"), "TF_CLI_CONFIG_FILE": str(mine)},
                     plugin_cache_dir=tmp_path / "c", directory=tmp_path / "state")
    assert dict(cli.env) == {"TOFU_CLI_CONFIG_FILE": str(tmp_path / "state" / "cli-config.tfrc")}
    assert cli.note is not None and "TOFU_CLI_CONFIG_FILE" in cli.note and "TF_CLI_CONFIG_FILE=" not in cli.note


@pytest.mark.parametrize("environ", [{}, {"TF_CLI_CONFIG_FILE": ""}, {"TF_CLI_CONFIG_FILE": "EXISTING"}])
def test_the_operators_file_or_the_default_is_respected_and_nothing_is_written(tmp_path: Path,
                                                                                environ: dict[str, str]) -> None:
    existing = tmp_path / "operator.tfrc"
    existing.write_text("disable_checkpoint = true\n")
    environ = {k: str(existing) if v == "EXISTING" else v for k, v in environ.items()}
    before = tree_digest(tmp_path)
    cli = cli_config(environ, plugin_cache_dir=tmp_path / "c", directory=tmp_path / "state")
    assert cli == CliConfig() and cli.note is None
    assert tree_digest(tmp_path) == before


def test_an_unwritable_state_dir_is_said_not_hidden(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    cli = cli_config({"TF_CLI_CONFIG_FILE": str(tmp_path / "gone")}, plugin_cache_dir=tmp_path / "c",
                     directory=blocked / "state")
    assert dict(cli.env) == {} and cli.note is not None and "could not write" in cli.note


async def test_runs_see_gfwizards_file_for_a_missing_one(env_bin: TofuBinary, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_STATE_DIR", str(tmp_path / "state"))
    seen = await seen_env(env_bin, tmp_path, {**os.environ, "TF_CLI_CONFIG_FILE": str(tmp_path / "missing.tfrc")})
    assert seen["TF_CLI_CONFIG_FILE"] == str(tmp_path / "state" / "cli-config.tfrc")
    assert seen["TF_PLUGIN_CACHE_DIR"] == str(tmp_path / "cache")


async def test_runs_see_the_operators_existing_file(env_bin: TofuBinary, tmp_path: Path) -> None:
    mine = tmp_path / "operator.tfrc"
    mine.write_text("disable_checkpoint = true\n")
    seen = await seen_env(env_bin, tmp_path, {**os.environ, "TF_CLI_CONFIG_FILE": str(mine)})
    assert seen["TF_CLI_CONFIG_FILE"] == str(mine) and seen["TF_PLUGIN_CACHE_DIR"] == str(tmp_path / "cache")


async def test_the_real_binary_prints_no_cli_config_warning(iac_bin: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFW_TOFU_BIN", iac_bin)
    monkeypatch.setenv("GFW_STATE_DIR", str(tmp_path / "state"))
    binary = find_binary()
    (tmp_path / "main.tf").write_text('output "x" { value = 1 }\n')
    for name, environ in (("missing", {"TF_CLI_CONFIG_FILE": str(tmp_path / "missing.tfrc")}),
                          ("operator", {"TF_CLI_CONFIG_FILE": str(tmp_path / "operator.tfrc")})):
        (tmp_path / "operator.tfrc").write_text("disable_checkpoint = true\n")
        runner = TofuRunner(binary, cwd=tmp_path, data_dir=tmp_path / f"data-{name}",
                            plugin_cache_dir=tmp_path / "cache", transcript=tmp_path / f"{name}.log",
                            environ={**os.environ, **environ})
        assert (await runner.run("init", "-backend=false", "-input=false")).ok
        assert (await runner.run("validate")).ok
        transcript = (tmp_path / f"{name}.log").read_text()
        assert "CLI configuration" not in transcript, transcript
    # The check is meaningful: without gfwizard's file the same binary does warn.
    runner = TofuRunner(binary, cwd=tmp_path, data_dir=tmp_path / "data-raw", plugin_cache_dir=tmp_path / "cache",
                        transcript=tmp_path / "raw.log",
                        environ={**os.environ, "TF_CLI_CONFIG_FILE": str(tmp_path / "missing.tfrc")},
                        cli=CliConfig())
    await runner.run("validate")
    assert "Unable to open CLI configuration file" in (tmp_path / "raw.log").read_text()
