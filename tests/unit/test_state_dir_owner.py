"""The state dir and the rehearsal workspace must be this user's own: another local user who owns one, or
may write to it, could read what gfwizard writes there and plant files or links for it to follow."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Iterator

import pytest

from gfwizard.errors import InputError
from gfwizard.paths import require_dir, require_state_dir
from tests.helpers import run_cli, tree_digest, umask


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    with umask(0):
        yield


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


def test_deploy_refuses_a_file_where_the_provider_cache_belongs_and_writes_nothing(tmp_path: Path) -> None:
    # Every run of the binary creates <state dir>/plugin-cache: a file there failed the first run with a traceback
    # and "internal error: FileExistsError", after the run had started. Now it stops before, with the mv to do.
    from gfwizard.orgconfig import save_config
    from gfwizard.rehearsal.workspace import org_config

    config = tmp_path / "organization.yaml"  # loopback addresses only: nothing real is ever contacted
    save_config(org_config(api_url="https://127.0.0.1:6443", kubeconfig_path=tmp_path / "kubeconfig",
                           s3_endpoint="http://127.0.0.1:9000", bucket="state"), config)
    state = _shared(tmp_path / "state", 0o700)
    (state / "plugin-cache").write_text("")
    workspace = _shared(tmp_path / "ws", 0o700)
    before = tree_digest(tmp_path)
    done = run_cli(["deploy", "--env", "dev", "--plan-only", "--json", "--config", str(config)],
                   env={"GFW_STATE_DIR": str(state), "GFW_WORKSPACE": str(workspace)}, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    error = json.loads(done.stdout.splitlines()[0])["error"]
    cache = state / "plugin-cache"
    assert error["message"] == (f"the provider plugin cache {cache} (from the gfwizard state directory) cannot be "
                                "used: it is a file, not a directory; nothing was run")
    assert error["remedy"].startswith(f"move what is there aside (`mv {cache} {cache}.aside`)")
    assert "Traceback" not in done.stderr and tree_digest(tmp_path) == before and list(workspace.iterdir()) == []


# Every command that creates the state dir makes it 0700 through paths.own_dir_problem(), not only deploy and
# rehearse: discover's kubeconfig summary cache and the binary-version cache (deploy, the wizard) create it when
# they are the first to write there. validate and doctor never create it (doctor writes nothing but its lock
# probe; validate only reads), which the last test pins.


@pytest.fixture
def usual_umask() -> Iterator[None]:
    with umask(0o022):
        yield


def _kubeconfig(tmp_path: Path) -> Path:
    from tests.unit.test_kubeconfig_helpers import kubeconfig

    path = tmp_path / "kubeconfig-honey.yaml"
    path.write_text(kubeconfig([("honey", "honey", "admin")], {"honey": "https://100.113.89.12:6443"},
                               {"admin": {"client-certificate": "/dev/null"}}))
    return path


def _discover(kubeconfig: Path, state: Path) -> list[str]:
    done = run_cli(["discover", "--json"], env={"KUBECONFIG": str(kubeconfig), "GFW_STATE_DIR": str(state)})
    assert done.returncode == 0, done.stdout + done.stderr
    return [c["name"] for c in json.loads(done.stdout)["contexts"]]


def test_discover_creates_a_missing_state_dir_private(tmp_path: Path, usual_umask: None) -> None:
    state = tmp_path / "state"
    assert _discover(_kubeconfig(tmp_path), state) == ["honey"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert (state / "cache" / "kubeconfig-summaries.json").is_file()  # its one write


def test_discover_neither_reads_nor_writes_its_cache_in_a_state_dir_others_control(tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(tmp_path)
    own = tmp_path / "own"
    _discover(kubeconfig, own)
    # Whoever may write to the shared dir plants a summary of the same (unchanged) file that renames its context.
    shared = _shared(tmp_path / "shared", 0o777)
    (shared / "cache").mkdir()
    planted = (own / "cache" / "kubeconfig-summaries.json").read_text().replace('"honey"', '"planted"')
    (shared / "cache" / "kubeconfig-summaries.json").write_text(planted)
    before = tree_digest(shared)
    assert _discover(kubeconfig, shared) == ["honey"]
    assert tree_digest(shared) == before and sorted(p.name for p in shared.rglob("*")) == [
        "cache", "kubeconfig-summaries.json"]


def _fake_binary(tmp_path: Path) -> Path:
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'{"terraform_version": "1.11.4"}\'\n')
    fake.chmod(0o755)
    return fake


def test_the_binary_version_cache_creates_a_missing_state_dir_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     usual_umask: None) -> None:
    from gfwizard.tofu import find_binary

    state = tmp_path / "state"
    monkeypatch.setenv("GFW_STATE_DIR", str(state))
    fake = _fake_binary(tmp_path)
    assert find_binary({"GFW_TOFU_BIN": str(fake)}).version == "1.11.4"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert str(fake) in json.loads((state / "binaries.json").read_text())


def test_the_binary_version_cache_in_a_state_dir_others_control_is_not_used(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from gfwizard.tofu import find_binary

    fake = _fake_binary(tmp_path)
    shared = _shared(tmp_path / "shared", 0o777)
    st = fake.stat()
    (shared / "binaries.json").write_text(json.dumps({str(fake): {"mtime_ns": st.st_mtime_ns, "size": st.st_size,
                                                                   "name": "tofu", "version": "1.99.0"}}))
    before = tree_digest(shared)
    monkeypatch.setenv("GFW_STATE_DIR", str(shared))
    binary = find_binary({"GFW_TOFU_BIN": str(fake)})
    assert (binary.name, binary.version) == ("terraform", "1.11.4")  # asked, not taken from the planted file
    assert tree_digest(shared) == before


@pytest.mark.parametrize("command", [["validate", "--json"], ["doctor", "--json"]], ids=" ".join)
def test_validate_and_doctor_do_not_create_the_state_dir(rehearsal_workspace: Any, tmp_path: Path,
                                                         usual_umask: None, command: list[str]) -> None:
    state = tmp_path / "state"
    done = run_cli(command, env={**rehearsal_workspace.env, "GFW_STATE_DIR": str(state)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert not state.exists()
