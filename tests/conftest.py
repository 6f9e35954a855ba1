"""Root fixtures. Every test runs with HOME, KUBECONFIG, the config path, the state dir and the AWS
environment pointed at temp dirs, so no test ever reads the developer's own ~/.kube, ~/.aws or
config/organization.yaml."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.rehearsal"]

# Loopback only: this process and (through PYTHONPATH) every Python subprocess refuse any other
# address and record the attempt; pytest_sessionfinish fails the run when anything was recorded.
_NETGUARD_DIR = str(Path(__file__).resolve().parent / "netguard")
sys.path.insert(0, _NETGUARD_DIR)
import netguard  # noqa: E402,F401

os.environ.setdefault("GFW_NETGUARD_LOG", os.path.join(tempfile.gettempdir(), f"gfw-netguard-{os.getpid()}.log"))
_NETGUARD_LOG = os.environ["GFW_NETGUARD_LOG"]
_PYTHONPATH = os.pathsep.join(p for p in (_NETGUARD_DIR, os.environ.get("PYTHONPATH", "")) if p)
os.environ["PYTHONPATH"] = _PYTHONPATH
# The text reports fit $COLUMNS when it is set: the commands under test lay out for 80 (a pipe) unless a
# test gives a width, whatever the terminal pytest runs in.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any test process tried to reach a non-loopback address."""
    if hasattr(session.config, "workerinput"):
        return  # the controller reads the shared log once, at the very end
    try:
        attempts = Path(_NETGUARD_LOG).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    Path(_NETGUARD_LOG).unlink(missing_ok=True)
    if attempts:
        print(f"\nnetwork guard: {len(attempts)} connection attempt(s) to non-loopback addresses:")
        for line in attempts[:20]:
            print("  " + line)
        session.exitstatus = 1

_ISOLATED_PREFIXES = ("AWS_", "KUBE", "GFW_", "TF_", "XDG_", "GITLAB_", "GL_", "CI_JOB_TOKEN", "GH_", "GITHUB_TOKEN")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME for each test with nothing in ~/.kube or ~/.aws, and no ambient credentials."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GFW_CONFIG", str(home / "no-config" / "organization.yaml"))
    monkeypatch.setenv("GFW_STATE_DIR", str(home / ".local" / "state" / "gfwizard"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    monkeypatch.setenv("GFW_NETGUARD_LOG", _NETGUARD_LOG)
    monkeypatch.setenv("PYTHONPATH", _PYTHONPATH)
    return home


@pytest.fixture(autouse=True)
def no_remembered_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no ``--config`` (nor a command's options) remembered: in-process CLI runs set
    module globals that would otherwise add one test's config to the next test's remedies."""
    from gfwizard.commands import _common

    monkeypatch.setattr(_common, "_explicit_config", None)
    monkeypatch.setattr(_common, "_own_options", None)


def iac_binary() -> str | None:
    """The IaC binary tests use: $GFW_TOFU_BIN, tofu, or terraform."""
    return os.environ.get("GFW_TOFU_BIN") or shutil.which("tofu") or shutil.which("terraform")


@pytest.fixture
def iac_bin() -> str:
    """Skip (with a reason) when neither tofu nor terraform is installed."""
    found = iac_binary()
    if not found:
        pytest.skip("needs tofu or terraform on PATH (or $GFW_TOFU_BIN); none found")
    return found
