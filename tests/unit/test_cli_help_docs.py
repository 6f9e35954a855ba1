"""``--help`` says what the operator docs say about an option: an operator reads one or the other."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gfwizard.cli import cli


def _option_help(args: list[str], option: str) -> str:
    """The help text of ``option`` in ``gfwizard ARGS --help``, its wrapped lines joined."""
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    entries: list[str] = []
    for line in result.output.splitlines():
        if line.startswith("  -"):
            entries.append(line)
        elif entries and line.startswith("    "):
            entries[-1] += line
    entry = next(e for e in entries if e.split()[0] == option)
    return " ".join(entry.split())


@pytest.mark.parametrize("args,option,says", [
    # docs/operator-guide.md: without a terminal either flag needs --yes, or the command exits 2.
    (["backend", "check"], "--create-bucket", "without a terminal, needs --yes"),
    (["backend", "check"], "--enable-versioning", "without a terminal, needs --yes"),
    # docs/operator-guide.md: --create-bucket creates the bucket with versioning on.
    (["backend", "check"], "--create-bucket", "with versioning on"),
    # docs/status-mode.md: `--json` needs `--once` (exit 2 otherwise).
    (["status"], "--json", "needs --once"),
    # docs/operator-guide.md: the kubeconfig defaults to cluster.kubeconfig, then $KUBECONFIG, then ~/.kube/config.
    (["validate"], "--kubeconfig", "cluster.kubeconfig, then $KUBECONFIG, then ~/.kube/config"),
], ids=["check-create-bucket", "check-enable-versioning", "check-create-bucket-versioned", "status-json",
        "validate-kubeconfig"])
def test_help_of_an_option_says_what_the_docs_say(args: list[str], option: str, says: str) -> None:
    entry = _option_help(args, option)
    assert says in entry, f"`gfwizard {' '.join(args)} --help` on {option}: {entry!r}"
