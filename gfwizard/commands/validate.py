"""``gfwizard validate``: check a kubeconfig context against the configured cluster, and pin its
fingerprint (``--pin``) with explicit consent."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gfwizard.commands._common import (EXIT_CHECK_FAILED, EXIT_OK, FiniteFloatRange, ask_yes_no, command_line,
                                       config_option, echo, emit_json, given_options, handles_errors, json_option,
                                       name_width, print_checks, remember_options, resolve_config_path, verdict)
from gfwizard.errors import GfwError, InputError

if TYPE_CHECKING:
    from gfwizard.cluster import ValidationReport
    from gfwizard.orgconfig import OrgConfig


def _print_report(report: "ValidationReport") -> None:
    echo(f"context {report.context!r} ({', '.join(report.kubeconfig) or 'no kubeconfig file found'})", bold=True)
    print_checks(report.checks, width=name_width(report.checks, floor=15), skipped_remedies=False)


def _check_flags(context: str | None, kubeconfig: str | None) -> None:
    """Input errors in --context / --kubeconfig (exit 2), before anything is read or contacted."""
    from gfwizard.cluster_kubeconfig import kubeconfig_paths

    if context is not None and not context.strip():
        raise InputError("--context is empty", "give a context name (`gfwizard discover` lists them), or leave "
                                               "--context out to validate cluster.context")
    if kubeconfig is None:
        return
    # Checked before kubeconfig_paths: given "", it would fall back to KUBECONFIG without a word.
    paths = kubeconfig_paths(kubeconfig) if kubeconfig.strip(os.pathsep + " ") else []
    if not paths:
        raise InputError("--kubeconfig is empty", "give a kubeconfig file, or leave --kubeconfig out to use "
                                                  "cluster.kubeconfig / KUBECONFIG")
    for path in paths:
        if not os.path.isfile(path):
            what = "does not exist" if not os.path.exists(path) else "is not a regular file"
            raise InputError(f"--kubeconfig {path}: the file {what}",
                             "pass --kubeconfig an existing kubeconfig file (e.g. ~/.kube/kubeconfig-honey.yaml), or "
                             "leave --kubeconfig out to use cluster.kubeconfig / KUBECONFIG")


def _same_options(context: str | None, kubeconfig: str | None) -> list[tuple[str, str | None]]:
    """The options of this run that choose what is checked (the timeouts only say how long to wait)."""
    return [(flag, value) for flag, value in (("--context", context), ("--kubeconfig", kubeconfig)) if value is not None]


def _pin(cfg: "OrgConfig", config_path: Path, report: "ValidationReport", yes: bool, as_json: bool
         ) -> tuple["ValidationReport", dict[str, Any]]:
    """Pin the observed fingerprint after consent; return the updated report and what happened.

    Raises :class:`CheckFailure` when there is nothing trustworthy to pin, :class:`SafetyStop` when a
    different fingerprint is already pinned, :class:`InputError` when consent cannot be asked for.
    """
    from gfwizard.checks import passed
    from gfwizard.cluster import pin_fingerprint
    from gfwizard.errors import CheckFailure

    observed = report.observed_fingerprint
    if observed is None:
        why = report.check("fingerprint")
        raise CheckFailure("cannot pin: no fingerprint was observed" + (f" ({why.detail})" if why else ""),
                           "fix the failing checks, then run `gfwizard validate --pin` again")
    blockers = [c.name for c in report.checks
                if c.name in ("kubeconfig", "classification", "server", "network") and not c.ok]
    if blockers:
        raise CheckFailure(f"refusing to pin: the context failed {', '.join(blockers)}, so what it reaches may not "
                           "be honey", "fix those checks first")
    from gfwizard.orgconfig_write import backup_path

    kept = backup_path(config_path)  # beside the file a symlinked config points to: the one written
    kept_as = kept.name if kept.parent == config_path.parent else str(kept)
    if cfg.cluster.fingerprint is None:
        # With the question, on its stream (stderr): stdout may be redirected, and the operator must see
        # what the answer agrees to.
        echo(f"--pin will write into {config_path} (previous file kept as {kept_as}):\n"
             f"  cluster.fingerprint.kube_system_uid: {observed.kube_system_uid}\n"
             f"  cluster.fingerprint.ca_sha256: {observed.ca_sha256}", err=as_json or not yes)
        if not yes:
            if not sys.stdin.isatty():
                # The command as run plus --yes: the timeouts and --json too, not only what chooses the context.
                again = command_line("validate", given_options(plus=["--yes"]))
                raise InputError("--pin needs --yes when there is no terminal to ask on",
                                 f"after reading what will be written, re-run with --yes: `{again}`")
            if not ask_yes_no("Pin this fingerprint?"):
                return report, {"path": str(config_path), "written": False, "reason": "declined"}
    _, written = pin_fingerprint(cfg, config_path, observed)  # SafetyStop when another fingerprint is pinned
    if not written:
        return report, {"path": str(config_path), "written": False, "reason": "already pinned"}
    checks = [passed("fingerprint", f"pinned now: kube-system UID {observed.kube_system_uid}, CA sha256 "
                                    f"{observed.ca_sha256}") if c.name == "fingerprint" else c for c in report.checks]
    return report.model_copy(update={"checks": checks}), {
        "path": str(config_path), "written": True, "reason": f"pinned (previous file kept as {kept_as})"}


@click.command(name="validate")
@click.option("--context", "context", default=None, help="Kubeconfig context (default: cluster.context).")
@click.option("--kubeconfig", "kubeconfig", default=None,
              help="Kubeconfig file(s), ':'-separated (default: cluster.kubeconfig, then $KUBECONFIG, "
                   "then ~/.kube/config).")
@config_option
@click.option("--pin", is_flag=True, help="Pin the observed cluster fingerprint into organization.yaml (asks first).")
@click.option("--yes", is_flag=True, help="Agree to --pin without a prompt (needed without a terminal).")
@click.option("--connect-timeout", type=FiniteFloatRange(min=0.1), default=3.0, show_default=True,
              help="Seconds to wait for a connection to the API server.")
@click.option("--read-timeout", type=FiniteFloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for an answer (and for an exec credential plugin).")
@json_option
@handles_errors
def validate(context: str | None, kubeconfig: str | None, config_path: Path | None, pin: bool, yes: bool,
             connect_timeout: float, read_timeout: float, as_json: bool) -> None:
    """Validate a kubeconfig context against the cluster in organization.yaml.

    Checks: the context's classification, server URL, network policy, credentials, reachability,
    cluster fingerprint, a Ready node per placement role, and RBAC for what the stacks create.
    Kubeconfig files are only read. Exit 1 when a check fails.
    """
    from gfwizard.cluster import validate_context
    from gfwizard.cluster_client import Timeouts
    from gfwizard.cluster_kubeconfig import CONTEXT_FLAG, KUBECONFIG_FLAG
    from gfwizard.orgconfig import load_config

    _check_flags(context, kubeconfig)
    # A `gfwizard validate` a remedy names checks what this run checked: the same context and files.
    remember_options("validate", _same_options(context, kubeconfig))
    path = resolve_config_path(config_path)
    cfg = load_config(path)
    report = validate_context(cfg, kubeconfig=kubeconfig, context=context,
                              timeouts=Timeouts(connect=connect_timeout, read=read_timeout),
                              context_origin=CONTEXT_FLAG if context is not None else "",
                              kubeconfig_origin=KUBECONFIG_FLAG if kubeconfig is not None else "")
    pinned: dict[str, Any] | None = None
    if not as_json:
        _print_report(report)
    if pin:
        try:
            report, pinned = _pin(cfg, path, report, yes, as_json)
        except GfwError as exc:
            if exc.exit_code != EXIT_CHECK_FAILED:
                raise
            pinned = {"path": str(path), "written": False, "reason": f"refused: {exc.message}", "remedy": exc.remedy}
    if as_json:
        data = report.model_dump(mode="json")
        data["ok"] = report.ok and not (pinned and pinned["reason"].startswith("refused"))
        data["pin"] = pinned
        emit_json(data)
    else:
        if pinned is not None:
            refused = pinned["reason"].startswith("refused")
            echo(f"pin: {pinned['reason']} ({pinned['path']})", fg="red" if refused else None)
            if refused:
                echo(f"remedy: {pinned['remedy']}")
        echo(verdict(report.checks, report.ok), fg="green" if report.ok else "red")
    failed_pin = bool(pinned and pinned["reason"].startswith("refused"))
    sys.exit(EXIT_OK if report.ok and not failed_pin else EXIT_CHECK_FAILED)
