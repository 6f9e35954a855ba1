"""The state dir and the rehearsal workspace must be this user's own: another local user who owns one, or
may write to it, could read what gfwizard writes there and plant files or links for it to follow."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from gfwizard.errors import InputError
from gfwizard.paths import require_dir, require_state_dir
from tests.helpers import run_cli


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _shared(path: Path, mode: int) -> Path:
    path.mkdir()
    path.chmod(mode)
    return path


def test_a_new_state_dir_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            permissive_umask: None) -> None:
    monkeypatch.setenv("GFW_STATE_DIR", str(tmp_path / "state"))
    assert require_state_dir() == tmp_path / "state"
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_an_own_state_dir_that_others_can_only_read_is_used_as_it_is(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    own = _shared(tmp_path / "state", 0o755)
    monkeypatch.setenv("GFW_STATE_DIR", str(own))
    assert require_state_dir() == own
    assert stat.S_IMODE(own.stat().st_mode) == 0o755


def test_a_world_writable_state_dir_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = _shared(tmp_path / "shared", 0o1777)
    monkeypatch.setenv("GFW_STATE_DIR", str(shared))
    with pytest.raises(InputError) as err:
        require_state_dir()
    assert str(err.value) == (f"the gfwizard state directory {shared} (from $GFW_STATE_DIR) cannot be used: every "
                              "local user may write to it (mode 1777) and so plant files or links in it; nothing "
                              "was run")
    assert err.value.remedy.startswith("point GFW_STATE_DIR at a writable directory of your own")
    assert list(shared.iterdir()) == []


def test_a_state_dir_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = _shared(tmp_path / "theirs", 0o755)
    owner = theirs.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)  # as seen by a user who does not own it
    with pytest.raises(InputError) as err:
        require_dir(theirs, "the rehearsal workspace", "$GFW_WORKSPACE", "point GFW_WORKSPACE elsewhere")
    assert (f"cannot be used: it belongs to another user (uid {owner}), who could read and plant files in it; "
            "nothing was run") in str(err.value)
    assert list(theirs.iterdir()) == []


def test_group_write_is_refused_only_for_a_group_that_is_not_ours(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    shared = _shared(tmp_path / "shared", 0o770)
    monkeypatch.setenv("GFW_STATE_DIR", str(shared))
    group = shared.stat().st_gid
    monkeypatch.setattr(os, "getegid", lambda: group)  # a user-private group (umask 002): fine
    assert require_state_dir() == shared
    monkeypatch.setattr(os, "getegid", lambda: group + 1)
    with pytest.raises(InputError, match=rf"group {group} may write to it \(mode 0770\)"):
        require_state_dir()
    assert list(shared.iterdir()) == []


def test_deploy_refuses_a_world_writable_state_dir_and_writes_nothing(tmp_path: Path) -> None:
    from gfwizard.orgconfig import save_config
    from gfwizard.rehearsal.workspace import org_config

    config = tmp_path / "organization.yaml"  # loopback addresses only: nothing real is ever contacted
    save_config(org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=tmp_path / "kubeconfig",
                           s3_endpoint="http://127.0.0.1:9000", bucket="state"), config)
    shared = _shared(tmp_path / "shared", 0o777)
    workspace = _shared(tmp_path / "ws", 0o700)
    done = run_cli(["deploy", "--env", "dev", "--yes", "--json", "--config", str(config)],
                   env={"GFW_STATE_DIR": str(shared), "GFW_WORKSPACE": str(workspace)}, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    error = json.loads(done.stdout.splitlines()[0])["error"]
    assert error["message"] == (f"the gfwizard state directory {shared} (from $GFW_STATE_DIR) cannot be used: every "
                                "local user may write to it (mode 0777) and so plant files or links in it; nothing "
                                "was run")
    assert list(shared.iterdir()) == [] and list(workspace.iterdir()) == []
