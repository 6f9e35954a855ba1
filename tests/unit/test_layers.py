"""The core never imports the UI, and the fast commands never import heavy clients."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import gfwizard
from tests.helpers import REPO


def _all_core_modules() -> list[str]:
    names = ["gfwizard"]
    for info in pkgutil.walk_packages(gfwizard.__path__, prefix="gfwizard."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_modules_never_import_textual_or_screens() -> None:
    modules = _all_core_modules()
    assert "gfwizard.cli" in modules and "gfwizard.redact" in modules
    loaded = _imported_after("\n".join(f"import {m}" for m in modules))
    offenders = sorted(m for m in loaded if m == "textual" or m.startswith(("textual.", "screens")))
    assert offenders == [], f"core imported UI modules: {offenders[:10]}"


def _cli_imports(args: list[str]) -> set[str]:
    code = (
        "import sys\nfrom gfwizard.cli import cli\n"
        f"try:\n    cli.main(args={args!r}, prog_name='gfwizard', standalone_mode=False)\n"
        "except SystemExit:\n    pass\n"
    )
    return _imported_after(code)


def test_discover_and_config_validate_stay_light(tmp_path) -> None:
    heavy = ("kubernetes.client", "boto3", "textual")
    for args in (["discover", "--json"], ["config", "validate", str(tmp_path / "missing.yaml")]):
        loaded = _cli_imports(args)
        bad = sorted(m for m in loaded if m.startswith(heavy))
        assert bad == [], f"gfwizard {' '.join(args)} imported {bad[:10]}"


def test_the_checkout_is_found_from_anywhere_when_gfwizard_runs_from_one(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gfwizard.paths import REPO_ENV, repo_root
    from tests.helpers import REPO

    monkeypatch.delenv(REPO_ENV, raising=False)
    assert repo_root(tmp_path) == REPO.resolve(), "outside any checkout, gfwizard's own checkout is the repo"
    other = tmp_path / "other"
    (other / "tofu" / "stacks").mkdir(parents=True)
    assert repo_root(other / "tofu") == other, "a checkout around the working directory comes first"
    monkeypatch.setenv(REPO_ENV, str(tmp_path))
    assert repo_root(other) == tmp_path.resolve()
