"""``render_backends``: content, no secrets, atomic and idempotent writes, bad input writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import hcl2
import pytest

from gfwizard.backend import render_backends
from gfwizard.errors import InputError
from gfwizard.layout import Layout, layout_for
from tests.backend_doubles import make_cfg
from tests.helpers import tree_digest

SECRET = "s3cr3t-Value-That-Must-Never-Land-In-A-File"
HTTP = "https://gitlab.example.com/api/v4/projects/42/terraform/state/{stack}-{env}"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    for stack in ("attic", "arc-runners"):
        (tmp_path / "tofu" / "stacks" / stack).mkdir(parents=True)
    return tmp_path


@pytest.fixture
def real_layout(checkout: Path) -> Layout:
    return layout_for("tailnet", repo=checkout)


@pytest.fixture(autouse=True)
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "GFWTESTACCESSKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("TF_HTTP_PASSWORD", SECRET + "-http")


def _parse(path: Path) -> dict:
    with path.open() as fh:
        doc = hcl2.load(fh)
    doc.pop("__comments__", None)
    return doc


def _unquote(value: object) -> object:
    return value[1:-1] if isinstance(value, str) and value.startswith('"') and value.endswith('"') else value


def test_s3_file_content_per_stack(real_layout: Layout, checkout: Path) -> None:
    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "gloriousflywheel-state", network="tailnet")
    files = render_backends(cfg, "dev", real_layout)
    assert [(f.stack, f.kind, f.changed) for f in files] == [("attic", "s3", True), ("arc-runners", "s3", True)]
    assert files[0].path == checkout / "tofu" / "stacks" / "attic" / "dev.s3.tfbackend"
    doc = {k: _unquote(v) for k, v in _parse(files[0].path).items()}
    assert doc["bucket"] == "gloriousflywheel-state"
    assert doc["key"] == "gloriousflywheel/dev/attic.tfstate"
    assert doc["region"] == "us-east-1"
    assert _unquote(doc["endpoints"]["s3"]) == "https://rustfs.honey.ts.net:9000"
    for flag in ("use_path_style", "use_lockfile", "skip_credentials_validation", "skip_region_validation",
                 "skip_requesting_account_id", "skip_metadata_api_check", "skip_s3_checksum"):
        assert doc[flag] is True, flag
    assert not {"access_key", "secret_key", "token", "profile"} & set(doc)
    assert _unquote(_parse(files[1].path)["key"]) == "gloriousflywheel/dev/arc-runners.tfstate"


def test_http_file_is_gitlab_shaped_without_password(real_layout: Layout) -> None:
    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "gloriousflywheel-state", http_address=HTTP, network="tailnet",
                   envs=("dev", "prod"))
    files = render_backends(cfg, "prod", real_layout)
    http = [f for f in files if f.kind == "http" and f.stack == "attic"][0]
    assert http.path.name == "prod.http.tfbackend"
    doc = {k: _unquote(v) for k, v in _parse(http.path).items()}
    address = "https://gitlab.example.com/api/v4/projects/42/terraform/state/attic-prod"
    assert doc == {"address": address, "lock_address": address + "/lock", "lock_method": "POST",
                   "unlock_address": address + "/lock", "unlock_method": "DELETE", "username": "rehearsal"}


def test_no_secret_in_any_rendered_file(real_layout: Layout, checkout: Path) -> None:
    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "gloriousflywheel-state", http_address=HTTP, network="tailnet")
    files = render_backends(cfg, "dev", real_layout)
    assert len(files) == 4
    for f in files:
        text = f.path.read_text()
        assert SECRET not in text and "GFWTESTACCESSKEY" not in text
        assert "password" not in text.lower().replace("tf_http_password", "")


def test_unchanged_rerender_touches_nothing(real_layout: Layout) -> None:
    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "gloriousflywheel-state", network="tailnet")
    first = render_backends(cfg, "dev", real_layout)
    past = 1_600_000_000
    for f in first:
        os.utime(f.path, ns=(past * 10**9, past * 10**9))
    inodes = {f.path: f.path.stat().st_ino for f in first}
    second = render_backends(cfg, "dev", real_layout)
    assert [f.changed for f in second] == [False, False]
    for f in second:
        assert f.path.stat().st_mtime_ns == past * 10**9
        assert f.path.stat().st_ino == inodes[f.path]


def test_rendered_already_is_only_files_that_hold_exactly_the_render(real_layout: Layout, checkout: Path) -> None:
    from gfwizard.backend import rendered_already

    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "gloriousflywheel-state", network="tailnet")
    before = tree_digest(checkout)
    assert rendered_already(cfg, "dev", real_layout) is None  # nothing rendered yet
    assert tree_digest(checkout) == before, "asking wrote something"
    first = render_backends(cfg, "dev", real_layout)
    current = rendered_already(cfg, "dev", real_layout)
    assert current is not None and [(f.path, f.stack, f.kind, f.changed) for f in current] == [
        (f.path, f.stack, f.kind, False) for f in first]
    # One file edited by hand, or a config that changed since: not up to date, and nothing is rewritten.
    first[1].path.write_text(first[1].path.read_text() + "# edited\n")
    after_edit = tree_digest(checkout)
    assert rendered_already(cfg, "dev", real_layout) is None
    render_backends(cfg, "dev", real_layout)
    other = make_cfg("https://rustfs.honey.ts.net:9000", "another-bucket", network="tailnet")
    assert rendered_already(other, "dev", real_layout) is None
    assert tree_digest(checkout) != after_edit  # only the render above wrote
    assert rendered_already(cfg, "dev", real_layout) is not None


def test_changed_config_rewrites_atomically(real_layout: Layout) -> None:
    render_backends(make_cfg("https://rustfs.honey.ts.net:9000", "state-a", network="tailnet"), "dev", real_layout)
    files = render_backends(make_cfg("https://rustfs.honey.ts.net:9000", "state-b", network="tailnet"), "dev",
                            real_layout)
    assert all(f.changed for f in files)
    assert all('bucket = "state-b"' in f.path.read_text() for f in files)
    leftovers = [p for p in files[0].path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def _rehearsal_workspace(tmp_path: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A rehearsal workspace (``GFW_WORKSPACE``) and twins for attic and arc-runners in ``checkout``."""
    workspace = tmp_path / "ws"
    monkeypatch.setenv("GFW_WORKSPACE", str(workspace))
    for stack in ("attic", "arc-runners"):
        (checkout / "tofu" / "rehearsal" / stack).mkdir(parents=True)
    return workspace


def test_rehearsal_layout_writes_into_the_workspace_only(tmp_path: Path, checkout: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = _rehearsal_workspace(tmp_path, checkout, monkeypatch)
    before = tree_digest(checkout / "tofu")
    files = render_backends(make_cfg("http://127.0.0.1:9000", "b-rehearsal"), "dev", layout_for("loopback",
                                                                                             repo=checkout))
    assert files[0].path == workspace / "backends" / "attic" / "dev.s3.tfbackend"
    assert tree_digest(checkout / "tofu") == before


def test_unknown_env_writes_nothing(real_layout: Layout, checkout: Path) -> None:
    before = tree_digest(checkout)
    with pytest.raises(InputError, match=r"unknown environment 'qa' \(known: dev\)"):
        render_backends(make_cfg("https://rustfs.honey.ts.net:9000", "state", network="tailnet"), "qa", real_layout)
    assert tree_digest(checkout) == before


def test_missing_stack_directory_writes_nothing(real_layout: Layout, checkout: Path) -> None:
    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "state", network="tailnet",
                   stacks=("attic", "arc-runners", "runner-dashboard"))
    before = tree_digest(checkout)
    with pytest.raises(InputError, match=r"stack directory .*runner-dashboard does not exist; nothing was rendered"):
        render_backends(cfg, "dev", real_layout)
    assert tree_digest(checkout) == before


def test_rehearsal_stack_without_a_twin_writes_nothing(tmp_path: Path, checkout: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = _rehearsal_workspace(tmp_path, checkout, monkeypatch)
    layout = layout_for("loopback", repo=checkout)
    render_backends(make_cfg("http://127.0.0.1:9000", "b-old"), "dev", layout)
    before = tree_digest(tmp_path)
    cfg = make_cfg("http://127.0.0.1:9000", "b-new", stacks=("attic", "arc-runners", "zzz-new"))
    with pytest.raises(InputError) as raised:
        render_backends(cfg, "dev", layout)
    assert raised.value.message == (f"stack directory {checkout / 'tofu' / 'rehearsal' / 'zzz-new'} does not exist; "
                                    "nothing was rendered")
    assert raised.value.remedy == (f"a rehearsal deploys the provider-free twins in {checkout / 'tofu' / 'rehearsal'}: "
                                   "add one for 'zzz-new', or fix stacks: in organization.yaml")
    assert tree_digest(tmp_path) == before  # the other stacks' files keep the old bucket
    assert not (workspace / "backends" / "zzz-new").exists()


def test_template_characters_are_escaped() -> None:
    from gfwizard.backend import render_http_text

    cfg = make_cfg("https://rustfs.honey.ts.net:9000", "state", network="tailnet", http_address=HTTP)
    cfg = cfg.model_copy(update={"state": cfg.state.model_copy(
        update={"http": cfg.state.http.model_copy(update={"username": 'ci-${user}-%{x}"q'})})})
    text = render_http_text(cfg, "dev", "attic")
    assert 'username       = "ci-$${user}-%%{x}\\"q"' in text
