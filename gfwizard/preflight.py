"""Preflight: is this machine ready to run the wizard? Tools, repo layout, existing config.

Cheap, local, read-only checks (no network). The wizard's first screen and ``gfwizard doctor``
both use them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from gfwizard.checks import Check, failed, passed, warned

STACKS = ("attic", "arc-runners", "gitlab-runners", "runner-dashboard")
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def kubectl_env() -> dict[str, str]:
    """The environment for asking kubectl its own version: no kubeconfig and no in-cluster config.

    ``kubectl version --client`` still asks the current context's server for its version, which would
    contact whatever cluster the ambient kubeconfig names (and run its credential plugin) before any
    context was chosen or validated.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env["KUBECONFIG"] = os.devnull
    return env


def _binary_version(binary: str, args: list[str], timeout: float = 10.0,
                    env: dict[str, str] | None = None) -> str | None:
    try:
        out = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, check=False,
                             env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_RE.search(out.stdout or out.stderr or "")
    return ".".join(match.groups()) if match else None


def iac_check(*, required: bool = True) -> Check:
    """The IaC binary: ``$GFW_TOFU_BIN``, else ``tofu``, else ``terraform``; use_lockfile needs >= 1.10.

    ``required=False`` (a rehearsal) makes a missing binary a warning: only the deploy step needs it.
    """
    override = os.environ.get("GFW_TOFU_BIN")
    candidates = [override] if override else ["tofu", "terraform"]
    for name in candidates:
        path = shutil.which(name) if name else None
        if not path:
            continue
        version = _binary_version(path, ["version"])
        if version is None:
            return failed("IaC binary", f"{path} did not report a version",
                          "Check that the binary runs: `" + path + " version`.")
        major, minor = (int(x) for x in version.split(".")[:2])
        label = f"{Path(path).name} {version} ({path})"
        if (major, minor) < (1, 10):
            return failed("IaC binary", f"{label} is older than 1.10; S3 use_lockfile needs 1.10+",
                          "Install OpenTofu >= 1.10 or Terraform >= 1.10.")
        return passed("IaC binary", label)
    wanted = override or "tofu or terraform"
    if not required:
        return warned("IaC binary", f"{wanted} not found on PATH: the deploy step needs it",
                      "Install OpenTofu or Terraform >= 1.10 on PATH (or set GFW_TOFU_BIN before starting "
                      "gfwizard) before the deploy step; the other steps work without it.")
    return failed("IaC binary", f"{wanted} not found on PATH",
                  "Install OpenTofu or Terraform >= 1.10 on PATH (or set GFW_TOFU_BIN before starting gfwizard).")


def kubectl_check() -> Check:
    """kubectl is optional: the wizard talks to the API itself; kubectl helps an operator look around."""
    path = shutil.which("kubectl")
    if not path:
        return warned("kubectl", "kubectl not found (optional)",
                      "Install kubectl to inspect honey by hand; the wizard does not need it.")
    version = _binary_version(path, ["version", "--client"], env=kubectl_env()) or "unknown version"
    return passed("kubectl", f"{version} ({path})")


def repo_check(repo: Path) -> Check:
    """The checkout holds the four stacks (real or rehearsal twins)."""
    missing = [s for s in STACKS if not (repo / "tofu" / "stacks" / s).is_dir()]
    if missing:
        return failed("repository layout", f"{repo}: missing tofu/stacks/{', '.join(missing)}",
                      "Run gfwizard from a GloriousFlywheel checkout, or set GFW_REPO to one.")
    return passed("repository layout", f"{repo}: the four stacks are present")


def config_check(config_path: Path) -> Check:
    """Whether organization.yaml exists yet (absent is normal on first run)."""
    if config_path.is_file():
        return passed("organization config", f"{config_path} found; the wizard will show changes before writing")
    return warned("organization config", f"{config_path} not found; the wizard will generate it",
                  "Nothing to do: the Config step writes it after showing it to you.")


def run_preflight(repo: Path, config_path: Path, *, rehearsal: bool = False) -> list[Check]:
    """All preflight checks, in display order; a ``rehearsal`` can be walked without the IaC binary."""
    return [iac_check(required=not rehearsal), kubectl_check(), repo_check(repo), config_check(config_path)]
