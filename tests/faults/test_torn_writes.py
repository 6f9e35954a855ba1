"""Scenario 8: files are never half-written.

A child process rewrites ``organization.yaml`` (``save_config``) or the backend files
(``render_backends``) in a tight loop, alternating between two configs; it is SIGKILLed at a random
moment. Afterwards every file is exactly the old or the new content, never truncated or mixed, and
``organization.yaml.bak`` holds a complete earlier version.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.backend_doubles import make_cfg
from tests.helpers import REPO

KILLS_PER_RUN = 6

WRITER = textwrap.dedent('''\
    import json, sys
    from pathlib import Path
    from gfwizard.layout import layout_for
    from gfwizard.orgconfig import OrgConfig, save_config
    from gfwizard.backend import render_backends

    what, target, docs = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    cfgs = [OrgConfig.model_validate(d) for d in docs]
    # The checkout's rehearsal twins (render refuses a stack without one); every write goes to the workspace.
    layout = layout_for("loopback", environ={"GFW_WORKSPACE": str(target)})

    def write(cfg):
        if what == "config":
            save_config(cfg, target / "organization.yaml")
        else:
            render_backends(cfg, "dev", layout)

    write(cfgs[0])
    write(cfgs[1])  # a rewrite: from now on there is an old file (and a .bak) to lose
    print("ready", flush=True)
    i = 0
    while True:
        write(cfgs[i % 2])
        i += 1
''')


def _configs() -> list[dict[str, object]]:
    endpoint = "http://127.0.0.1:9"
    return [make_cfg(endpoint, bucket, stacks=("attic", "arc-runners", "gitlab-runners", "runner-dashboard"))
            .model_dump(mode="json") for bucket in ("state-old-" + "a" * 40, "state-new-" + "b" * 40)]


def _kill_while_writing(what: str, target: Path, docs: list[dict[str, object]], rng: random.Random) -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER, what, str(target), json.dumps(docs)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.4))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()


def _expected(what: str, tmp_path: Path, docs: list[dict[str, object]]) -> dict[str, set[bytes]]:
    """relative file -> the complete contents it may have (one per config)."""
    from gfwizard.layout import layout_for
    from gfwizard.orgconfig import OrgConfig, render_config
    from gfwizard.backend_render import planned_backends

    out: dict[str, set[bytes]] = {}
    for doc in docs:
        cfg = OrgConfig.model_validate(doc)
        if what == "config":
            out.setdefault("organization.yaml", set()).add(render_config(cfg).encode())
        else:
            layout = layout_for("loopback", repo=REPO, environ={"GFW_WORKSPACE": str(tmp_path / "w")})
            for _, _, path, text in planned_backends(cfg, "dev", layout):
                out.setdefault(path.relative_to(tmp_path / "w").as_posix(), set()).add(text.encode())
    return out


@pytest.mark.parametrize("what", ["config", "backends"])
def test_kill_during_a_rewrite_leaves_old_or_new_never_torn(run: int, what: str, tmp_path: Path) -> None:
    rng = random.Random(f"{what}-{run}")
    docs = _configs()
    target = tmp_path / "w"
    target.mkdir()
    expected = _expected(what, tmp_path, docs)
    assert all(len(v) == 2 for v in expected.values()), "the two configs must render differently"
    torn_tmp = 0
    for _ in range(KILLS_PER_RUN):
        _kill_while_writing(what, target, docs, rng)
        files = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*")
                 if p.is_file() and not p.name.endswith(".tmp")}
        for rel, allowed in expected.items():
            assert rel in files, f"{rel} vanished after a kill"
            assert files[rel] in allowed, f"{rel} is neither the old nor the new file ({len(files[rel])} bytes)"
        if what == "config":
            assert files["organization.yaml.bak"] in expected["organization.yaml"], "the .bak is torn"
        torn_tmp = len(list(target.rglob("*.tmp")))
    # Kills that landed inside a write leave only an unreferenced temp file behind.
    print(f"scenario 8 {what}: {KILLS_PER_RUN} kills, {torn_tmp} left a temp file (target intact)")
