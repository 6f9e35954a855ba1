"""The summary caches: unchanged files are not parsed again, changed ones are, and the on-disk cache
never holds a secret."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from gfwizard import kubeconfig_files
from gfwizard.kubeconfig_cache import cache_file
from gfwizard.kubeconfig_files import clear_memo
from tests.unit.test_kubeconfig_helpers import b64, client_cert_pem, kubeconfig, run_discover, simple

SECRETS = ("tok-never-cache-0123456789", "cGFzc3dvcmQtbmV2ZXItY2FjaGU=", "hunter2-never-cached", "exec-arg-secret-42")


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every file that really gets parsed."""
    clear_memo()
    calls: list[str] = []
    real = kubeconfig_files.read_summary

    def spy(path: str):  # type: ignore[no-untyped-def]
        calls.append(path)
        return real(path)

    monkeypatch.setattr("gfwizard.kubeconfig_cache.read_summary", spy)
    yield calls
    clear_memo()


def _secret_file(path: Path) -> None:
    pem = client_cert_pem(dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc))
    path.write_text(kubeconfig(
        [("a", "c", "ua"), ("b", "c", "ub"), ("x", "c", "ux")],
        {"c": "https://user:hunter2-never-cached@10.0.0.1:6443"},
        {"ua": {"token": SECRETS[0]},
         "ub": {"client-certificate-data": b64(pem), "client-key-data": SECRETS[1]},
         "ux": {"exec": {"command": "/opt/bin/plugin", "args": ["--token", SECRETS[3]]}}},
    ))


def test_disk_cache_skips_parsing_and_holds_no_secret(tmp_path: Path, counted: list[str]) -> None:
    path = tmp_path / "k.yaml"
    _secret_file(path)
    env = {"KUBECONFIG": str(path)}
    first = run_discover([tmp_path], env)
    assert counted == [str(path)]
    text = cache_file().read_text()
    for secret in SECRETS:
        assert secret not in text
    assert "2030-01-02T00:00:00Z" in text
    assert oct(cache_file().stat().st_mode & 0o777) == "0o600"
    clear_memo()  # a new process: only the disk cache is left
    second = run_discover([tmp_path], env)
    assert counted == [str(path)], "an unchanged file was parsed again"
    assert second.to_dict() == first.to_dict()


def test_changed_file_is_parsed_again(tmp_path: Path, counted: list[str]) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(simple("before"))
    env = {"KUBECONFIG": str(path)}
    assert [c.name for c in run_discover([tmp_path], env).contexts] == ["before"]
    path.write_text(simple("after!"))  # same size, new content
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime, ctime moved
    assert [c.name for c in run_discover([tmp_path], env).contexts] == ["after!"]
    assert counted == [str(path), str(path)]


def test_in_process_cache_without_the_disk_cache(tmp_path: Path, counted: list[str]) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(simple("one"))
    env = {"KUBECONFIG": str(path), "GFW_DISCOVER_CACHE": "0"}
    run_discover([tmp_path], env)
    run_discover([tmp_path], env)
    assert counted == [str(path)]
    assert not cache_file().exists()


def test_broken_cache_file_is_ignored_and_replaced(tmp_path: Path, counted: list[str]) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(simple("one"))
    cache_file().parent.mkdir(parents=True)
    cache_file().write_text("{not json")
    result = run_discover([tmp_path], {"KUBECONFIG": str(path)})
    assert [c.name for c in result.contexts] == ["one"]
    assert cache_file().read_text().startswith('{"version":')


def test_expired_flag_is_computed_at_discovery_time_not_cached(tmp_path: Path, counted: list[str]) -> None:
    path = tmp_path / "k.yaml"
    pem = client_cert_pem(dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
    path.write_text(simple("c", user={"client-certificate-data": b64(pem), "client-key-data": "eA=="}))
    env = {"KUBECONFIG": str(path)}
    early = run_discover([tmp_path], env, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    clear_memo()
    late = run_discover([tmp_path], env, now=dt.datetime(2032, 1, 1, tzinfo=dt.timezone.utc))
    assert (early.contexts[0].cert_expired, late.contexts[0].cert_expired) == (False, True)
    assert len(counted) == 1
