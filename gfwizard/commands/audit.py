"""``gfwizard audit [PATH] [--json]``: a checkout against the decision's five exit criteria.

Exit 0 when no finding fails (legacy-labelled and info rows do not), 1 when any criterion fails,
2 when PATH is not a directory. Read-only: the audit never writes a file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gfwizard.commands._common import (EXIT_CHECK_FAILED, EXIT_OK, NonEmptyPath, echo, emit_json, handles_errors,
                                       json_option)

if TYPE_CHECKING:
    from gfwizard.audit_model import AuditReport


@click.command(name="audit")
@click.argument("path", required=False, type=NonEmptyPath(file_okay=True, dir_okay=True, path_type=Path))
@json_option
@handles_errors
def audit(path: Path | None, as_json: bool) -> None:
    """Check a checkout (default: this repo) against the deployment-authority exit criteria.

    One row per finding: criterion, severity, file:line, what was found and what the target is.
    """
    from gfwizard.audit import audit as run_audit
    from gfwizard.paths import repo_root

    report = run_audit(path if path is not None else repo_root())
    if as_json:
        emit_json({"path": report.path, "ok": report.ok,
                   "criteria": {str(n): v for n, v in report.criteria.items()},
                   "findings": [f.model_dump(mode="json") for f in report.findings]})
    else:
        _print_report(report)
    sys.exit(EXIT_OK if report.ok else EXIT_CHECK_FAILED)


def _print_report(report: AuditReport) -> None:
    from gfwizard.audit_model import CRITERIA, Severity

    echo(f"audit of {report.path}")
    colour = {Severity.FAIL: "red", Severity.LEGACY: "yellow", Severity.INFO: "cyan"}
    for f in report.findings:
        where = f"{f.file}:{f.line}" if f.line else f.file
        echo(f"  [{f.criterion}] {f.severity.value:<15} {where}", fg=colour[f.severity], bold=True)
        echo(f"      found:  {f.found}")
        echo(f"      target: {f.target}")
    if not report.findings:
        echo("  no findings")
    echo("")
    for number, verdict in report.criteria.items():
        echo(f"  criterion {number}: {verdict:<4}  {CRITERIA[number]}", fg="green" if verdict == "pass" else "red")
    echo("")
    failing = len(report.failing())
    echo("ok: every criterion passes" if report.ok else f"FAILED: {failing} failing finding(s)",
         fg="green" if report.ok else "red", bold=True)
