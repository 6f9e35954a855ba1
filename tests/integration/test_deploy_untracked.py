"""The ``running without state`` gate with real terraform: a stack whose S3 state object is gone while its
workloads still run on honey is stopped before any apply (a plan-only preview too), nothing is written
anywhere, and restoring the object's previous version lets the same deploy through with nothing to
change. Another environment's workloads never stop a first deploy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_deploy_support import PREFIX, api_get, deploy, events, journal, objects, of, state_keys

pytestmark = pytest.mark.integration

KEY = f"{PREFIX}/dev/attic.tfstate"
DEPLOYMENT = "/apis/apps/v1/namespaces/attic-dev/deployments/attic"


def _versions(ws: Any) -> list[tuple[str, str, bool]]:
    """(version id, kind, is latest) of every version and delete marker of attic's dev state (its lock
    file, which the plan takes and releases, shares the prefix and is left out)."""
    answer = ws.s3.client().list_object_versions(Bucket=ws.bucket, Prefix=KEY)
    rows = [(v["VersionId"], "version", v["IsLatest"]) for v in answer.get("Versions", []) if v["Key"] == KEY]
    rows += [(m["VersionId"], "marker", m["IsLatest"]) for m in answer.get("DeleteMarkers", []) if m["Key"] == KEY]
    return sorted(rows)


def _gate(evs: list[dict[str, Any]]) -> dict[str, Any]:
    [gate] = of(evs, "gate_checked")
    return next(c for c in gate["checks"] if c["name"] == "running without state")


def test_a_stack_whose_state_was_deleted_while_it_runs_is_stopped_and_nothing_changes(rehearsal_workspace: Any,
                                                                                     iac_bin: str) -> None:
    ws = rehearsal_workspace
    first = deploy("--env", "dev", "--stack", "attic", "--yes", "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _gate(events(first))["level"] == "pass"
    ws.s3.client().delete_object(Bucket=ws.bucket, Key=KEY)  # a delete marker: the versions stay
    assert "attic" not in state_keys(ws)
    status, running = api_get(ws.api, DEPLOYMENT)
    assert status == 200
    versions, bucket, lines = _versions(ws), objects(ws), len(journal(ws))
    ws.api.request_log.clear()

    proc = deploy("--env", "dev", "--stack", "attic", "--yes", "--json")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    evs = events(proc)
    assert evs[-1]["outcome"] == "gate-failed" and not of(evs, "apply_started")
    gate = _gate(evs)
    assert gate["level"] == "fail"
    assert gate["detail"] == ("attic has no state in S3 for dev, yet its workloads run on honey (attic: Deployment "
                              "attic-dev/attic): applying would create them again from empty state")
    assert "`gfwizard backend migrate --env dev --stack attic`" in gate["remedy"]
    assert f"restore the previous version of {KEY} in bucket {ws.bucket}" in gate["remedy"]
    assert "`gfwizard status --env dev`" in gate["remedy"]
    stopped = [e for e in journal(ws)[lines:] if e["action"] == "apply"]
    assert [(e["stack"], e["outcome"]) for e in stopped] == [("attic", "gate-failed")]
    assert "a safety gate failed (running without state)" in stopped[0]["error"]
    # Nothing written: no state object, no new version, no lock left, the workload untouched, and the
    # cluster only read.
    assert _versions(ws) == versions and objects(ws) == bucket
    assert api_get(ws.api, DEPLOYMENT)[1]["metadata"]["resourceVersion"] == running["metadata"]["resourceVersion"]
    assert [e for e in ws.api.request_log.entries() if e["method"] != "GET"] == []

    preview = deploy("--env", "dev", "--stack", "attic", "--plan-only")
    assert preview.returncode == 1, preview.stdout + preview.stderr
    assert "result: gate-failed" in preview.stdout and "running without state" in preview.stdout, preview.stdout
    assert _versions(ws) == versions and objects(ws) == bucket

    # The remedy works: the delete marker removed, the previous version is the state again.
    marker = next(v for v, kind, _ in versions if kind == "marker")
    ws.s3.client().delete_object(Bucket=ws.bucket, Key=KEY, VersionId=marker)
    again = deploy("--env", "dev", "--stack", "attic", "--yes", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    result = events(again)[-1]
    assert [(s["stack"], s["outcome"]) for s in result["stacks"]] == [("attic", "no-changes")]
    assert _gate(events(again))["detail"] == "every stack of this run has its state in S3 for dev"


def test_another_environments_workloads_do_not_stop_a_first_deploy(rehearsal_workspace: Any, iac_bin: str) -> None:
    ws = rehearsal_workspace
    # prod's attic runs in namespace attic, labelled prod; dev has never been deployed.
    prod = deploy("--env", "prod", "--stack", "attic", "--yes", "--json")
    assert prod.returncode == 0, prod.stdout + prod.stderr
    assert api_get(ws.api, "/apis/apps/v1/namespaces/attic/deployments/attic")[0] == 200
    proc = deploy("--env", "dev", "--stack", "attic", "--yes", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _gate(events(proc)) == {
        "name": "running without state", "level": "pass", "remedy": "",
        "detail": "attic has no state in S3 for dev yet, and nothing of it runs on honey (a first deploy)"}
    assert "attic" in state_keys(ws)
