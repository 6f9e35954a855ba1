"""The wizard from Preflight to Done for env dev, driven only by keys, against the rehearsal honey and
S3 endpoint with real terraform: select the honey context, pin the fingerprint (with consent), create
a bucket that does not exist yet (with consent), render the backend files, write organization.yaml,
plan all, apply all (confirmed), reach Done; then the four state objects are in the bucket and the
twins' workloads are in the rehearsal API."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.rehearsal import WorkspaceFixture
from tests.functional import (  # noqa: F401 - unpinned_workspace is a fixture
    REPO,
    bucket_exists,
    make_app,
    modal_named,
    on_step,
    text_of,
    type_into,
    unpinned_workspace,
    wait_until,
)
from tests.helpers import tree_digest

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from screens.app import WizardApp

pytestmark = pytest.mark.timeout(240)

ORDER = ["attic", "arc-runners", "gitlab-runners", "runner-dashboard"]
KIND_PATHS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def api_get(ws: WorkspaceFixture, path: str) -> tuple[int, dict[str, Any]]:
    """GET ``path`` from the rehearsal API as admin."""
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cadata=ws.api.ca_pem.decode("ascii"))
    request = urllib.request.Request(ws.api.url + path, headers={"Authorization": f"Bearer {ws.api.admin_token}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


async def through_first_five_steps(pilot: "Pilot[None]", app: "WizardApp", ws: WorkspaceFixture,
                                   bucket: str) -> None:
    """Preflight → Kubeconfig (honey) → Validate (pin) → Backend (new bucket, render) → Config (write)."""
    await wait_until(pilot, lambda: on_step(app, "preflight") and app.screen.checks is not None, "preflight checks")
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
    assert app.screen.selected is not None and app.screen.selected.name == "honey"
    await pilot.press("enter")
    await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the pin consent dialog")
    assert ws.api.kube_system_uid in text_of(app.screen.query_one("#confirm-body"))
    await pilot.press("y")
    await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.blocked_reason() is None,
                     "validation after pinning")
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks")
    await type_into(pilot, "#s3_bucket", bucket)
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the create-bucket dialog")
    assert not bucket_exists(ws, bucket), "nothing is created before consent"
    await pilot.press("y")
    await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None
                     and all(c.ok for c in app.screen.checks), "backend checks after creating the bucket")
    await pilot.press("ctrl+w")
    await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the render dialog")
    await pilot.press("y")
    await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.blocked_reason() is None,
                     "rendered backend files")
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "the config diff")
    await pilot.press("ctrl+w")
    await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
    await pilot.press("y")
    await wait_until(pilot, lambda: on_step(app, "config") and app.session.config_written
                     and app.screen.blocked_reason() is None, "organization.yaml written")


async def test_preflight_to_done_deploys_the_four_twins(unpinned_workspace: WorkspaceFixture, iac_bin: str,
                                                         scratch_namespaces: list[str]) -> None:
    from gfwizard.orgconfig import load_config
    from screens.deploy_screen import DeployScreen
    from screens.stack_list import StackList

    ws = unpinned_workspace
    bucket = f"gfw-e2e-{secrets.token_hex(3)}"
    checkout = tree_digest(REPO / "tofu") | tree_digest(REPO / "config")
    app = make_app(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await through_first_five_steps(pilot, app, ws, bucket)
        cfg = load_config(ws.config_path)
        assert cfg.cluster.fingerprint is not None and cfg.state.s3 is not None and cfg.state.s3.bucket == bucket

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "deploy") and app.screen.rows, "the deploy engine")
        screen = app.screen
        assert isinstance(screen, DeployScreen)
        assert list(screen.rows) == ORDER
        assert app.screen.check_action("next", ()) is None, "Done is reachable before anything is applied"
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.busy is None and len(screen.plans) == 4, "plan all", timeout=120)
        assert all(plan.outcome == "planned" and plan.changes for plan in screen.plans.values()), screen.plans
        assert [screen.rows[s].state for s in ORDER] == ["planned"] * 4
        assert not [k for k in objects(ws, bucket) if k.endswith(".tfstate")], "planning wrote state"

        await pilot.press("A")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply consent dialog")
        body = text_of(app.screen.query_one("#confirm-body"))
        assert all(stack in body for stack in ORDER) and "dev" in body
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "deploy") and screen.busy is None
                         and set(screen.done) == set(ORDER), "apply all", timeout=150)
        assert [screen.rows[s].state for s in ORDER] == ["applied"] * 4
        table = screen.query_one(StackList)
        assert [table.get_cell(s, "state").plain for s in ORDER] == [screen.rows[s].label().plain for s in ORDER]
        # The log pane shows the selected stack's redacted terraform output, and where the transcript is.
        assert any("apply" in line.lower() for line in screen.log_pane.buffers["attic"])
        assert str(ws.dir / "transcripts" / "dev") in text_of(screen.query_one("#log-transcript"))
        assert app.screen.check_action("next", ()) is True

        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "done"), "the Done step")
        summary = app.screen.query_one("#summary")
        rows = [[str(cell) for cell in summary.get_row_at(i)] for i in range(summary.row_count)]
        assert [(r[0], r[1]) for r in rows] == [(s, "applied") for s in ORDER]
        directory = ws.dir / "transcripts" / "dev"
        assert str(directory) in text_of(app.screen.query_one("#transcripts-dir"))
        for stack, _, name in rows:
            assert name.endswith(f"-{stack}.log") and "$ terraform apply" in (directory / name).read_text()
        assert "gfwizard status" in text_of(app.screen.query_one("#next-steps"))

    keys = set(objects(ws, bucket))
    assert {f"gloriousflywheel/dev/{s}.tfstate" for s in ORDER} <= keys, keys
    assert not [k for k in keys if k.endswith(".tflock")], "a state lock was left behind"
    workloads = []
    for stack in ORDER:
        body = ws.s3.client().get_object(Bucket=bucket, Key=f"gloriousflywheel/dev/{stack}.tfstate")["Body"].read()
        outputs = json.loads(body)["outputs"]
        scratch_namespaces.extend(ns for ns in outputs["namespaces"]["value"] if ns not in scratch_namespaces)
        workloads += outputs["workloads"]["value"]
    assert len(workloads) >= 4
    written = {e["path"] for e in ws.api.request_log.entries() if e["method"] in ("POST", "PUT", "PATCH")}
    for workload in workloads:
        path = f"/apis/apps/v1/namespaces/{workload['namespace']}/{KIND_PATHS[workload['kind']]}/{workload['name']}"
        status, obj = api_get(ws, path)
        assert status == 200, f"{path} is not in the rehearsal API"
        assert obj["spec"]["template"]["spec"].get("nodeSelector") == workload["node_selector"]
        assert any(p.startswith(path.rsplit("/", 1)[0]) for p in written), f"{path} was not written by this run"
    status, listing = api_get(ws, "/apis/apps/v1/deployments")
    assert status == 200
    listed = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in listing["items"]}
    assert {(w["namespace"], w["name"]) for w in workloads if w["kind"] == "Deployment"} <= listed
    assert tree_digest(REPO / "tofu") | tree_digest(REPO / "config") == checkout, "the checkout was written to"


def objects(ws: WorkspaceFixture, bucket: str) -> list[str]:
    """Every key in ``bucket``."""
    client = ws.s3.client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", []) or []]
    return keys
