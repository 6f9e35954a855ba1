"""``gfwizard validate`` against the rehearsal honey with a credential in a file other local users can read:
a warning on the ``kubeconfig`` row (never a failure), in the text and JSON output, naming the file, its
mode and the credential (never its value), and the file never changed."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING


from gfwizard.checks import Level
from tests.helpers import run_cli
from tests.rehearsal.test_validate import _fresh_clients, Files, cli, levels, validate, write_files  # noqa: F401 (autouse)

if TYPE_CHECKING:
    from gfwizard.rehearsal.apiserver import RehearsalAPIServer

CHECKS = ("kubeconfig", "classification", "server", "network", "credentials", "reachable", "fingerprint",
          "placement", "rbac")


def state(path: Path) -> tuple[bytes, int]:
    """A file's bytes and permission bits: validate must leave both alone."""
    return path.read_bytes(), stat.S_IMODE(path.stat().st_mode)


def readable_by_others(files: Files, mode: int = 0o644) -> tuple[bytes, int]:
    files.kubeconfig.chmod(mode)
    return state(files.kubeconfig)


# -- a credential others can read ---------------------------------------------------------------------

def test_a_token_in_a_kubeconfig_others_can_read_is_a_warning_with_chmod_in_the_text_output(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    before = readable_by_others(files)
    digest = files.digest()
    out = cli(["validate", "--connect-timeout", "2", "--read-timeout", "5"], files)
    assert out.returncode == 0, out.stdout + out.stderr  # a warning never blocks
    row = next(line for line in out.stdout.splitlines() if line.lstrip().startswith("WARN  kubeconfig"))
    assert f"context 'honey' in {files.kubeconfig}: " in row
    assert row.endswith("(token auth); that file is mode 0644: every local user can read the token it holds inline"), row
    remedy = out.stdout.splitlines()[out.stdout.splitlines().index(row) + 1]
    assert remedy.strip() == f"remedy: chmod 600 {files.kubeconfig}", remedy
    assert honey.admin_token not in out.stdout + out.stderr
    assert state(files.kubeconfig) == before and files.digest() == digest


def test_the_json_output_carries_the_warning_and_every_other_check_still_passes(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)
    before = readable_by_others(files, 0o640)
    out = run_cli(["validate", "--json", "--connect-timeout", "2", "--read-timeout", "5"], env=files.env(), input="")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True
    checks = {c["name"]: c for c in data["checks"]}
    assert {n: c["level"] for n, c in checks.items()} == {n: "warn" if n == "kubeconfig" else "pass" for n in CHECKS}
    kube = checks["kubeconfig"]
    assert kube["detail"].startswith("context 'honey' in ")
    assert kube["detail"].endswith("; that file is mode 0640: the file's group can read the token it holds inline")
    assert kube["remedy"] == f"chmod 600 {files.kubeconfig}"
    assert honey.admin_token not in out.stdout + out.stderr
    assert state(files.kubeconfig) == before


def test_a_world_readable_token_file_is_named_while_the_kubeconfig_holding_its_path_is_not(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    token = tmp_path / "honey.token"
    token.write_text(honey.admin_token)
    token.chmod(0o644)
    files = write_files(tmp_path, honey, user={"tokenFile": str(token)})
    files.kubeconfig.chmod(0o644)  # holds only the path: nothing to leak
    before = state(files.kubeconfig), state(token)
    report = validate(files)
    check = report.check("kubeconfig")
    assert check is not None and check.level is Level.WARN
    assert check.detail.endswith(f"(token auth); tokenFile {token} is mode 0644: every local user can read the "
                                 "token in it")
    assert check.remedy == f"chmod 600 {token}"
    assert levels(report) == {n: "warn" if n == "kubeconfig" else "pass" for n in CHECKS}  # the token works
    assert honey.admin_token not in report.model_dump_json()
    assert (state(files.kubeconfig), state(token)) == before
    token.chmod(0o600)
    assert validate(files).check("kubeconfig").level is Level.PASS  # type: ignore[union-attr]


def test_a_kubeconfig_only_its_owner_can_read_passes_without_a_word_about_modes(
        tmp_path: Path, honey: "RehearsalAPIServer") -> None:
    files = write_files(tmp_path, honey)  # 0600, as kubectl (and the rehearsal) writes it
    check = validate(files).check("kubeconfig")
    assert check is not None and check.level is Level.PASS
    assert "mode" not in check.detail and not check.remedy
