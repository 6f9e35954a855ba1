"""Status mode is read-only by construction: the Kubernetes wrapper refuses every write before any
I/O, the S3 reader refuses every non-read operation, nothing that runs tofu or takes a lock is
importable from the status modules, and the status app has no mutating action."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from gfwizard.status_readonly import SSAR_PATH, ReadOnlyKube, ReadOnlyViolation
from tests.helpers import REPO

HOST = "https://127.0.0.1:9"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class _FakeResponse:
    def __init__(self, body: bytes = b'{"kind":"NamespaceList","items":[]}', status: int = 200) -> None:
        self.status = status
        self.reason = "OK"
        self.data = body
        self.headers = {"content-type": "application/json"}

    def release_conn(self) -> None:
        return None


class RecordingPool:
    """Stands in for urllib3's PoolManager: records every call, answers 200 with an empty list."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> _FakeResponse:
        self.calls.append((method, url))
        return _FakeResponse()

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> _FakeResponse:
        self.calls.append((method, url))
        return _FakeResponse()

    def clear(self) -> None:
        return None


@pytest.fixture
def wrapped() -> tuple[ReadOnlyKube, Any, RecordingPool]:
    from kubernetes.client import ApiClient, Configuration

    conf = Configuration(host=HOST)
    conf.api_key = {"authorization": "test-token-not-a-secret"}
    conf.api_key_prefix = {"authorization": "Bearer"}
    client = ApiClient(configuration=conf)
    pool = RecordingPool()
    client.rest_client.pool_manager = pool
    return ReadOnlyKube(client, timeouts=(1, 1)), client, pool


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_every_non_get_raises_before_any_io_at_every_layer(wrapped: Any, method: str) -> None:
    ro, original, pool = wrapped
    url = HOST + "/api/v1/namespaces/default/configmaps"
    attempts = [
        lambda: ro.request(method, "/api/v1/namespaces/default/configmaps", body={"a": 1}),
        lambda: ro.api_client.call_api(method, url, {}, {"a": 1}, None, _request_timeout=(1, 1)),
        lambda: ro.api_client.rest_client.request(method, url, headers={}, body={"a": 1}),
        lambda: ro.api_client.rest_client.pool_manager.request(method, url),
        lambda: ro.api_client.rest_client.pool_manager.urlopen(method, url),
        # The caller's own client was handed over: its transport is guarded too.
        lambda: original.rest_client.pool_manager.request(method, url),
    ]
    for attempt in attempts:
        with pytest.raises(ReadOnlyViolation) as info:
            attempt()
        assert f"refused {method}" in info.value.message and "read-only" in info.value.message
        assert info.value.remedy
    assert pool.calls == []


def test_generated_api_writes_raise_before_any_io(wrapped: Any) -> None:
    from kubernetes.client import AppsV1Api, CoreV1Api, V1Namespace, V1ObjectMeta

    ro, _original, pool = wrapped
    core, apps = CoreV1Api(ro.api_client), AppsV1Api(ro.api_client)
    writes = [
        lambda: core.create_namespace(V1Namespace(metadata=V1ObjectMeta(name="x")), _request_timeout=(1, 1)),
        lambda: core.delete_namespace("attic", _request_timeout=(1, 1)),
        lambda: core.patch_node("sting", {"spec": {"unschedulable": True}}, _request_timeout=(1, 1)),
        lambda: core.delete_collection_namespaced_pod("attic", _request_timeout=(1, 1)),
        lambda: core.create_namespaced_pod_eviction("p", "attic", {"metadata": {"name": "p"}},
                                                    _request_timeout=(1, 1)),
        lambda: apps.patch_namespaced_deployment_scale("attic", "attic", {"spec": {"replicas": 0}},
                                                       _request_timeout=(1, 1)),
        lambda: apps.delete_namespaced_deployment("attic", "attic", _request_timeout=(1, 1)),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyViolation):
            write()
    assert pool.calls == []
    # Reads go through (so the guard is not simply refusing everything).
    assert core.list_namespace(_request_timeout=(1, 1)).items == []
    assert pool.calls == [("GET", HOST + "/api/v1/namespaces")]


@pytest.mark.parametrize("path", [
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/../../../../api/v1/namespaces",
    "/api/v1/namespaces?x=" + SSAR_PATH,
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
])
def test_only_the_exact_access_review_post_is_allowed(wrapped: Any, path: str) -> None:
    ro, _original, pool = wrapped
    with pytest.raises(ReadOnlyViolation):
        ro.request("POST", path, body={"spec": {}})
    assert pool.calls == []
    ro.request("POST", SSAR_PATH, body={"spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}})
    assert pool.calls == [("POST", HOST + SSAR_PATH)]


def test_client_is_built_without_persisting_and_with_timeouts(wrapped: Any) -> None:
    ro, _original, _pool = wrapped
    assert ro.timeouts == (1.0, 1.0)


def test_s3_hooks_refuse_writes_before_sending() -> None:
    from types import SimpleNamespace

    from gfwizard.status_state import _refuse_non_read_method, _refuse_non_read_operation

    for name, method in (("PutObject", "PUT"), ("DeleteObject", "DELETE"), ("DeleteObjects", "POST"),
                         ("CopyObject", "PUT"), ("CreateBucket", "PUT"), ("PutBucketVersioning", "PUT"),
                         ("GetObject", "PUT")):
        with pytest.raises(ReadOnlyViolation):
            _refuse_non_read_operation(model=SimpleNamespace(name=name, http={"method": method}))
    _refuse_non_read_operation(model=SimpleNamespace(name="GetObject", http={"method": "GET"}))
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        with pytest.raises(ReadOnlyViolation):
            _refuse_non_read_method(request=SimpleNamespace(method=method, url="http://s3/b/k"))
    _refuse_non_read_method(request=SimpleNamespace(method="HEAD", url="http://s3/b/k"))


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, cwd=REPO, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


#: Modules that run the IaC binary, take or break a lock, write backend files, or write to the API.
FORBIDDEN = ("gfwizard.tofu", "gfwizard.stacks", "gfwizard.stacks_worker", "gfwizard.stacks_locks",
             "gfwizard.stacks_apply", "gfwizard.stacks_gates", "gfwizard.stacks_journaling", "gfwizard.stacks_resume",
             "gfwizard.backend", "gfwizard.backend_migrate", "gfwizard.backend_checks", "gfwizard.backend_render",
             "gfwizard.gates", "gfwizard.rehearsal.materialise", "screens.deploy_screen", "screens.deploy_bridge",
             "screens.deploy_dialogs", "screens.deploy_events", "screens.deploy_journal_stop", "screens.deploy_plans",
             "screens.backend_screen")


def test_no_import_path_from_status_to_tofu_locks_or_writers() -> None:
    import pkgutil

    import gfwizard
    import screens

    status_modules = sorted(
        {f"gfwizard.{m.name}" for m in pkgutil.iter_modules(gfwizard.__path__) if m.name.startswith("status")}
        | {f"screens.{m.name}" for m in pkgutil.iter_modules(screens.__path__) if m.name.startswith("status")}
        | {"gfwizard.commands.status"})
    assert {"gfwizard.status", "gfwizard.status_readonly", "screens.status_app"} <= set(status_modules)
    loaded = _loaded_after("\n".join(f"import {m}" for m in status_modules))
    assert set(status_modules) <= loaded
    assert sorted(m for m in loaded if m in FORBIDDEN) == []


def test_status_app_has_no_mutating_actions() -> None:
    from screens.status_app import READ_ONLY_ACTIONS, StatusApp
    from screens.status_workload import WorkloadScreen
    from tests.status_support import FixedFeed, fixed_snapshot

    bound = {b.action.split("(")[0] for b in [*StatusApp.BINDINGS, *WorkloadScreen.BINDINGS]}
    assert bound == {"quit", "refresh", "show_pane", "cycle_env", "back", "next_container"}
    assert StatusApp.ENABLE_COMMAND_PALETTE is False
    app = StatusApp(FixedFeed(fixed_snapshot()))
    for action in ("screenshot", "command_palette", "change_theme", "toggle_dark", "push_screen", "simulate_key",
                   "suspend_process", "deploy", "unlock", "apply"):
        assert app.check_action(action, ()) is False, action
    assert all(app.check_action(a, ()) for a in READ_ONLY_ACTIONS)
