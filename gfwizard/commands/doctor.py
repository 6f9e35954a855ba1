"""``gfwizard doctor``: tools, config, cluster and backend checks in one non-interactive run — the
first thing to paste into a support thread. It never asks, never creates a bucket and never pins a
fingerprint; its one write is the S3 lock probe (a probe object, deleted again)."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gfwizard.commands._common import EXIT_CHECK_FAILED, EXIT_OK, config_option, echo, emit_json, json_option
from gfwizard.commands._common import handles_errors, resolve_config_path
from gfwizard.errors import GfwError, InputError

if TYPE_CHECKING:
    from gfwizard.checks import Check
    from gfwizard.orgconfig import OrgConfig

KUBECTL_TIMEOUT = 5.0
WRITES_NOTE = ("doctor writes nothing except the S3 lock probe: one object under "
               "<key_prefix>/.gfwizard-lock-probe/, deleted again with its versions")


@dataclass(frozen=True)
class SectionCheck:
    """A check and the section it belongs to (tools, config, cluster, backend)."""

    section: str
    check: "Check"


def tool_checks() -> "list[Check]":
    """The IaC binary (and its version), kubectl (optional) and this Python."""
    from gfwizard import __version__
    from gfwizard.checks import failed, passed, warned

    checks = [passed("gfwizard", f"gfwizard {__version__} on Python {platform.python_version()}")]
    try:
        from gfwizard.tofu import find_binary, require_lockfile_support

        binary = find_binary(save_cache=False)  # doctor's one write is the lock probe
        try:
            require_lockfile_support(binary)
        except GfwError as exc:
            checks.append(failed("iac binary", f"{binary.name} {binary.version} at {binary.path}: {exc.message}",
                                 exc.remedy or "install OpenTofu >= 1.10"))
        else:
            checks.append(passed("iac binary", f"{binary.name} {binary.version} at {binary.path}"))
    except GfwError as exc:
        checks.append(failed("iac binary", exc.message, exc.remedy or "install OpenTofu, or set GFW_TOFU_BIN"))
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        checks.append(warned("kubectl", "kubectl not found on PATH (optional: gfwizard does not need it)",
                             remedy="install kubectl to follow the runbooks by hand"))
    else:
        checks.append(_kubectl_version(kubectl))
    return checks


def _kubectl_version(path: str) -> "Check":
    from gfwizard.checks import passed, warned
    from gfwizard.preflight import kubectl_env

    try:
        out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                             timeout=KUBECTL_TIMEOUT, stdin=subprocess.DEVNULL, env=kubectl_env())
        version = json.loads(out.stdout or "{}").get("clientVersion", {}).get("gitVersion", "")
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return warned("kubectl", f"{path} did not report its version ({type(exc).__name__})",
                      remedy="check that kubectl runs on its own (`kubectl version --client`)")
    return passed("kubectl", f"kubectl {version or '(unknown version)'} at {path}")


def config_check(config_path: Path | None) -> "tuple[Check, OrgConfig | None]":
    """Load the config; an explicitly given path that does not exist is bad input (InputError)."""
    from gfwizard.checks import failed, passed
    from gfwizard.orgconfig import ConfigError, load_config

    path = resolve_config_path(config_path)
    try:
        missing = config_path is not None and not path.exists()
    except OSError as exc:  # a name too long for the file system, a directory above it that cannot be searched
        raise InputError(f"--config {path} cannot be read: {exc.strerror or exc}",
                         remedy="pass the organization.yaml file itself") from None
    if missing:
        raise InputError(f"--config {path}: no such file", remedy="pass an existing organization.yaml")
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        shown = "; ".join(str(p) for p in exc.problems[:5])
        more = f" (+{len(exc.problems) - 5} more)" if len(exc.problems) > 5 else ""
        return failed("config", f"{path}: {len(exc.problems)} problem(s): {shown}{more}", exc.remedy), None
    except InputError as exc:
        return failed("config", exc.message, exc.remedy), None
    return passed("config", f"{path} is valid ({len(cfg.stacks)} stacks, environments "
                            f"{', '.join(cfg.environments)}, state backend {cfg.state.backend})"), cfg


def cluster_checks(cfg: "OrgConfig") -> "list[Check]":
    """The cluster validation of ``cluster.context`` (read-only; nothing is pinned)."""
    from gfwizard.checks import failed

    try:
        from gfwizard.cluster import validate_context

        return list(validate_context(cfg).checks)
    except GfwError as exc:
        return [failed("cluster", exc.message, exc.remedy or "run `gfwizard validate` for details")]


def backend_checks(cfg: "OrgConfig") -> "list[Check]":
    """S3 checks for every environment (the lock probe once); a warning while state is on HTTP."""
    from gfwizard.backend import C_PREFIX, check_s3
    from gfwizard.checks import Check, warned

    checks: list[Check] = []
    if cfg.state.backend == "http":
        checks.append(warned("state backend", "state.backend is http: the transitional GitLab-era path",
                             remedy="migrate every stack still on HTTP: `gfwizard backend migrate --env E`, "
                                    "then set state.backend: s3"))
    if cfg.state.s3 is None:
        checks.append(warned("s3", "state.s3 is not configured: no S3 checks were run",
                             remedy="add state.s3 to organization.yaml"))
        return checks
    for index, env in enumerate(cfg.environments):
        try:
            result = check_s3(cfg, env, probe=index == 0)
        except GfwError as exc:
            from gfwizard.checks import failed

            checks.append(failed(f"s3 [{env}]", exc.message, exc.remedy or "run `gfwizard backend check`"))
            continue
        if index == 0:
            checks += result
        else:
            checks += [c.model_copy(update={"name": f"{c.name} [{env}]"}) for c in result
                       if c.name == C_PREFIX or not c.ok]
    return checks


@click.command(name="doctor")
@config_option
@json_option
@handles_errors
def doctor(config_path: Path | None, as_json: bool) -> None:
    """Tools, config, cluster and backend checks in one non-interactive run; exit 1 on any failure.

    Never asks, never creates a bucket, never pins anything. Its one write is the S3 lock probe.
    """
    from gfwizard.checks import warned

    results: list[SectionCheck] = [SectionCheck("tools", c) for c in tool_checks()]
    config, cfg = config_check(config_path)
    results.append(SectionCheck("config", config))
    if cfg is not None:
        from gfwizard.orgconfig_checks import config_warnings

        results += [SectionCheck("config", c) for c in config_warnings(cfg, str(resolve_config_path(config_path)))]
    if cfg is None:
        skipped = "skipped: the config could not be loaded"
        results += [SectionCheck("cluster", warned("cluster", skipped, remedy="fix the config first")),
                    SectionCheck("backend", warned("backend", skipped, remedy="fix the config first"))]
    else:
        results += [SectionCheck("cluster", c) for c in cluster_checks(cfg)]
        results += [SectionCheck("backend", c) for c in backend_checks(cfg)]
    ok = all(r.check.ok for r in results)
    if as_json:
        emit_json({"ok": ok, "writes": WRITES_NOTE,
                   "checks": [{"section": r.section, **r.check.model_dump(mode="json")} for r in results]})
    else:
        _print(results, ok)
    sys.exit(EXIT_OK if ok else EXIT_CHECK_FAILED)


def _print(results: list[SectionCheck], ok: bool) -> None:
    from gfwizard.commands._common import name_width, print_checks, verdict

    section = ""
    width = name_width([r.check for r in results])  # one column through every section
    for result in results:
        if result.section != section:
            section = result.section
            echo(section, bold=True)
        print_checks([result.check], width=width)
    echo(f"note: {WRITES_NOTE}")
    echo(f"doctor: {verdict([r.check for r in results], ok)}", fg="green" if ok else "red")
