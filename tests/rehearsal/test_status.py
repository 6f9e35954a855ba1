"""``gfwizard status`` against the rehearsal honey and S3: after a rehearsal deploy it shows the
materialised workloads, the state object, the journal and the locks; exit codes follow health; a
read-only or limited RBAC user still gets a report naming what it could not read; nothing is written."""

from __future__ import annotations

import json
import shutil
import subprocess
import os
import time
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gfwizard.status import StatusOptions, StatusSource, collect_once, load_status_config
from gfwizard.rehearsal.workspace import write_kubeconfig
from tests.helpers import REPO, run_cli, tree_digest
from tests.status_support import journal_applied, put_lock, seed_deploy, state_document, twin_outputs


def _api_writes(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in entries if e["method"] != "GET"]


def _s3_writes(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in entries if e["method"] in ("PUT", "POST", "DELETE", "PATCH")]


def test_once_after_a_rehearsal_deploy(rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"), serial=5)
    journal_applied(ws.dir, "dev", "attic")
    ws.api.request_log.clear()
    ws.s3.request_log.clear()
    before = tree_digest(ws.dir), tree_digest(REPO / "config")

    done = run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["healthy"] is True and doc["envs"] == ["dev"] and doc["cluster"]["fingerprint"] == "match"
    attic = next(s for s in doc["stacks"] if s["stack"] == "attic")
    assert attic["source"] == "state" and attic["state"]["serial"] == 5 and attic["state"]["exists"]
    assert attic["last_apply"]["outcome"] == "applied" and attic["last_apply"]["operator"] == "alice@laptop"
    assert [(w["namespace"], w["name"], w["ready"], w["desired"], w["found"]) for w in attic["workloads"]] == [
        ("attic-dev", "attic", 1, 1, True)]
    assert {n["role"] for n in doc["nodes"]} == {"bumble", "sting", "control-plane"}
    bumble = next(n for n in doc["nodes"] if n["name"] == "bumble")
    assert bumble["cpu_requested_m"] >= 100  # the materialised attic pod runs there
    assert all(s["source"] == "none" for s in doc["stacks"] if s["stack"] != "attic")

    assert _api_writes(ws.api.request_log.entries()) == []
    assert _s3_writes(ws.s3.request_log.entries()) == []
    assert any(e["method"] == "GET" for e in ws.s3.request_log.entries())
    assert (tree_digest(ws.dir), tree_digest(REPO / "config")) == before


def test_skipped_journal_lines_are_said_not_hidden(rehearsal_workspace: Any) -> None:
    """A journal line that does not parse (torn by a crash, edited by hand) is skipped, as deploy skips it, and
    status says so under 'Could not read' instead of showing a shorter history silently; it never edits it."""
    ws = rehearsal_workspace
    journal_applied(ws.dir, "dev", "attic")
    path = ws.dir / "journal" / "dev.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + '{"run_id": "torn\n' + "".join(lines[1:]))
    before = tree_digest(ws.dir)

    doc = json.loads(run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env).stdout)
    attic = next(s for s in doc["stacks"] if s["stack"] == "attic")
    assert attic["last_apply"]["outcome"] == "applied"  # the readable lines still count
    [note] = [u for u in doc["unreadable"] if u["what"] == f"journal {path}"]
    assert note["pane"] == "stacks" and note["detail"] == "1 unreadable line skipped (line 2)"
    assert f"look at them in {path}" in note["remedy"] and "never rewrites the journal" in note["remedy"]

    text = run_cli(["status", "--once", "--env", "dev"], env={**ws.env, "COLUMNS": "250"})  # the note unwrapped
    assert text.returncode == 0, text.stdout + text.stderr  # a skipped history line is not an unhealthy cluster
    assert f"could not read: journal {path}: 1 unreadable line skipped (line 2)" in text.stdout
    assert "healthy as far as could be read" in text.stdout
    assert tree_digest(ws.dir) == before


def test_a_journal_that_cannot_be_read_says_why_and_what_to_do(rehearsal_workspace: Any) -> None:
    """A directory where dev's journal belongs: status said only Python's `[Errno 21] Is a directory: '…'`, with no
    remedy; now the reason and the remedy a deploy gives (move it aside), and it moves nothing itself."""
    ws = rehearsal_workspace
    path = ws.dir / "journal" / "dev.jsonl"
    path.mkdir(parents=True)
    before = tree_digest(ws.dir)
    doc = json.loads(run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env).stdout)
    [note] = [u for u in doc["unreadable"] if u["what"] == f"journal {path}"]
    assert note["pane"] == "stacks" and note["detail"] == "Is a directory"
    assert note["remedy"].startswith(f"fix its permissions, or move it aside (`mv {path} {path}.aside`)")
    text = run_cli(["status", "--once", "--env", "dev"], env={**ws.env, "COLUMNS": "400"})
    assert f"could not read: journal {path}: Is a directory" in text.stdout and "Errno" not in text.stdout
    assert f"remedy: fix its permissions, or move it aside (`mv {path} {path}.aside`)" in text.stdout
    assert path.is_dir() and tree_digest(ws.dir) == before


#: A workload name and a lock holder in wide characters (two terminal cells each).
WIDE_WORKLOAD = "キャッシュ本番用ワークロード"
WIDE_HOLDER = "運用担当者@ノートパソコン"


def _cells(line: str) -> int:
    """Terminal cells of ``line`` (wide characters two, marks and format characters none)."""
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


@pytest.mark.parametrize("wide", [False, True], ids=["ascii", "wide-names"])
@pytest.mark.parametrize("width", [80, 200])
def test_once_fits_the_width_columns_gives(rehearsal_workspace: Any, scratch_namespaces: list[str], width: int,
                                           wide: bool) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"), serial=5)
    if wide:  # in the state only: status says the workload is missing, under its name
        ws.s3.client().put_object(Bucket=ws.bucket, Key="gloriousflywheel/dev/attic.tfstate", Body=state_document(
            twin_outputs("attic", "dev", "attic-dev", "attic") | {"workloads": twin_outputs(
                "attic", "dev", "attic-dev", WIDE_WORKLOAD)["workloads"]}, serial=5))
    journal_applied(ws.dir, "dev", "attic")
    lock_id = put_lock(ws, "dev", "gitlab-runners", age=timedelta(minutes=90), **({"who": WIDE_HOLDER} if wide else {}))
    before = tree_digest(ws.dir), tree_digest(REPO / "config")
    done = run_cli(["status", "--once", "--env", "dev"], env={**ws.env, "COLUMNS": str(width)})
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in lines if _cells(line) > width] == [], done.stdout
    if wide:
        flat = "".join(done.stdout.split())
        assert f"Deployment/attic-dev/{WIDE_WORKLOAD}" in flat and WIDE_HOLDER in flat, done.stdout
    doc = json.loads(run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env).stdout)
    for stack in doc["stacks"]:
        # Each stack's row names it and says its state whole (serial 5 / not applied).
        row = next(line for line in lines if line.split()[:2] == ["dev", stack["stack"]])
        assert ("serial 5," if stack["stack"] == "attic" else "not applied") in row, row
    assert any(lock_id in line for line in lines) and "OLD" in done.stdout
    flat = " ".join(done.stdout.split())
    remedy = next(p["remedy"] for p in doc["problems"] if p["kind"] == "old-lock")
    assert f"remedy: {' '.join(remedy.split())}" in flat
    assert (tree_digest(ws.dir), tree_digest(REPO / "config")) == before


def test_old_lock_makes_it_unhealthy_until_the_threshold_allows_it(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    lock_id = put_lock(ws, "dev", "gitlab-runners", age=timedelta(minutes=90))
    done = run_cli(["status", "--once", "--env", "dev"], env=ws.env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "old-lock: dev/gitlab-runners" in done.stdout and "bob@ci-runner" in done.stdout
    assert lock_id in done.stdout and "OLD" in done.stdout
    relaxed = run_cli(["status", "--once", "--json", "--env", "dev", "--lock-age-threshold", "120"], env=ws.env)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    lock = json.loads(relaxed.stdout)["locks"][0]
    assert (lock["stack"], lock["id"], lock["old"]) == ("gitlab-runners", lock_id, False)
    assert 89 * 60 < lock["age_seconds"] < 95 * 60
    # The lock is still there: status never takes, breaks or deletes a lock.
    assert ws.s3.client().get_object(Bucket=ws.bucket, Key="gloriousflywheel/dev/gitlab-runners.tfstate.tflock")


@pytest.mark.parametrize("args,message", [
    (["status", "--once", "--env", "staging"], "unknown environment 'staging' (known: dev, prod)"),
    (["status", "--once", "--lock-age-threshold", "0"], "Invalid value for '--lock-age-threshold'"),
    (["status", "--json"], "--json prints one snapshot: use it with --once"),
    (["status", "--once", "--refresh", "5"],
     "--refresh works with the live view only: --once prints one snapshot and exits; nothing was probed"),
    (["status", "--once", "--json", "--refresh", "2"],
     "--refresh works with the live view only: --once prints one snapshot and exits; nothing was probed"),
])
def test_bad_input_exits_2_and_writes_nothing(rehearsal_workspace: Any, args: list[str], message: str) -> None:
    ws = rehearsal_workspace
    before = tree_digest(ws.dir)
    ws.api.request_log.clear()
    ws.s3.request_log.clear()
    done = run_cli(args, env=ws.env)
    assert done.returncode == 2, done.stdout + done.stderr
    # With --json the usage error is the JSON error object on stdout; otherwise the message is on stderr.
    assert message in (json.loads(done.stdout)["error"]["message"] if "--json" in args else done.stderr)
    assert tree_digest(ws.dir) == before and ws.api.request_log.entries() == []
    assert ws.s3.request_log.entries() == []
    if "--refresh" in args:  # the remedy names both ways out; the same object with --json
        remedy = (json.loads(done.stdout)["error"]["remedy"] if "--json" in args else done.stderr)
        assert "drop --refresh for one snapshot (`gfwizard status --once`)" in remedy
        assert "drop --once for the live view (`gfwizard status --refresh SECONDS`)" in remedy


def test_missing_config_is_an_input_error(tmp_path: Path) -> None:
    done = run_cli(["status", "--once", "--config", str(tmp_path / "nope.yaml")])
    assert done.returncode == 2 and "nope.yaml" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_readonly_rbac_user_sees_everything(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    write_kubeconfig(ws.kubeconfig_path, server=ws.api.url, ca_pem=ws.api.ca_pem, token=ws.api.readonly_token)
    snap = collect_once(load_status_config(ws.config_path), config_path=ws.config_path, environ=ws.env,
                        options=StatusOptions(envs=("dev",)))
    assert snap.unreadable == [] and snap.cluster.reachable and snap.cluster.fingerprint == "match"
    assert {n.name for n in snap.nodes} >= {"honey", "bumble", "sting"} and snap.events


def test_limited_rbac_user_gets_a_report_naming_what_it_could_not_read(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    token = ws.api.set_policy("status-limited", [
        {"verbs": ["get", "list", "watch"], "apiGroups": ["", "apps"],
         "resources": ["nodes", "pods", "deployments", "statefulsets", "daemonsets"]},
        {"verbs": ["get"], "nonResourceURLs": ["*"]},
    ])
    write_kubeconfig(ws.kubeconfig_path, server=ws.api.url, ca_pem=ws.api.ca_pem, token=token)
    done = run_cli(["status", "--once", "--env", "dev"], env=ws.env)
    assert done.returncode == 0, done.stdout + done.stderr  # what it could read is healthy
    assert "could not read: events (403)" in done.stdout
    assert "could not read: namespaces/kube-system (403)" in done.stdout
    assert "fingerprint: unknown" in done.stdout
    doc = json.loads(run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env).stdout)
    assert {(u["pane"], u["what"], u["status"]) for u in doc["unreadable"]} == {
        ("events", "events", 403), ("cluster", "namespaces/kube-system", 403)}
    assert doc["nodes"] and doc["events"] == []


def test_an_empty_file_in_the_kubeconfig_list_is_skipped_with_a_warning(rehearsal_workspace: Any,
                                                                        tmp_path: Path) -> None:
    # cluster.kubeconfig "empty:good": kubectl skips the empty file; status reads the cluster as from good alone
    # and the API pane and the text report say which file was skipped.
    from gfwizard.status_text import render_text

    ws = rehearsal_workspace
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here yet\n")
    cfg = load_status_config(ws.config_path)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(
        update={"kubeconfig": f"{empty}{os.pathsep}{ws.kubeconfig_path}"})})
    before = tree_digest(ws.dir), empty.read_text()
    snap = collect_once(cfg, environ=ws.env, options=StatusOptions(envs=("dev",)))
    note = (f"{empty} is empty (no YAML document: no bytes, or only whitespace or comments): skipped, as kubectl "
            "skips it")
    assert snap.cluster.reachable and snap.cluster.fingerprint == "match" and snap.cluster.error == ""
    assert snap.cluster.kubeconfig_note == note
    assert f"  WARN kubeconfig: {note}" in render_text(snap).splitlines()
    assert (tree_digest(ws.dir), empty.read_text()) == before


def test_unreadable_state_bucket_is_named_not_fatal(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    cfg = load_status_config(ws.config_path)
    assert cfg.state.s3 is not None
    cfg = cfg.model_copy(update={"state": cfg.state.model_copy(update={
        "s3": cfg.state.s3.model_copy(update={"bucket": "gfw-status-no-such-bucket"})})})
    snap = collect_once(cfg, environ=ws.env, options=StatusOptions(envs=("dev",)))
    notes = {(u.pane, u.what, u.status) for u in snap.unreadable}
    assert ("locks", "locks of dev", 404) in notes
    assert ("stacks", "state gloriousflywheel/dev/attic.tfstate", 404) in notes
    assert all(s.source == "defaults" for s in snap.stacks)
    assert snap.cluster.reachable and snap.nodes
    # The expected workloads are named as each stack names them in dev (its dev.tfvars), not as in prod.
    assert {s.stack: [(w.namespace, w.name) for w in s.workloads] for s in snap.stacks} == {
        "attic": [("attic-dev", "attic")], "arc-runners": [("arc-systems-dev", "arc-dev-gha-rs-controller")],
        "gitlab-runners": [("gitlab-runners-dev", "gitlab-runner")],
        "runner-dashboard": [("runner-dashboard-dev", "runner-dashboard")]}
    prod = collect_once(cfg, environ=ws.env, options=StatusOptions(envs=("prod",)))
    assert [(w.namespace, w.name) for s in prod.stacks if s.stack == "arc-runners" for w in s.workloads] == [
        ("arc-systems", "arc-prod-gha-rs-controller")]


def test_a_state_store_that_hangs_costs_one_timeout_not_one_per_object(rehearsal_workspace: Any) -> None:
    # The endpoint accepts connections and never answers (RustFS hung, a half-dead tailnet path): the first
    # read times out, and the other 9 state objects and lock listings are not each left to time out too.
    import time

    from tests.backend_doubles import Blackhole

    ws = rehearsal_workspace
    cfg = load_status_config(ws.config_path)
    before = tree_digest(ws.dir)
    with Blackhole() as hole:
        started = time.monotonic()
        snap = collect_once(cfg, environ={**ws.env, "AWS_ENDPOINT_URL_S3": hole.endpoint},
                            options=StatusOptions(timeouts=(1.0, 1.0)))
        took = time.monotonic() - started
    assert took < 6, f"status --once waited {took:.1f}s on a hung state store"
    assert snap.cluster.reachable and snap.nodes
    notes = [u for u in snap.unreadable if u.pane in ("stacks", "locks")]
    assert len([u for u in notes if u.pane == "stacks"]) == 8 and len([u for u in notes if u.pane == "locks"]) == 2
    assert all(u.outage for u in notes), notes
    assert "did not answer" in notes[0].detail and "not tried" not in notes[0].detail
    assert all(u.detail.startswith("not tried, an earlier read got no answer: ") or "locks of" in u.detail
               for u in notes[1:]), notes
    assert snap.notes_for("stacks") == ["could not read: 8 state objects (S3 not answering)"]
    problem = next(p for p in snap.problems if p.kind == "state-unreachable")
    assert "did not answer" in problem.detail and "not tried" not in problem.detail
    assert all(s.source == "defaults" for s in snap.stacks)
    assert tree_digest(ws.dir) == before


def test_a_state_store_down_at_the_aws_endpoint_url_s3_override_says_so(rehearsal_workspace: Any) -> None:
    # organization.yaml names the (healthy) store; AWS_ENDPOINT_URL_S3, left over in the shell, points
    # elsewhere: the operator must not be sent to check RustFS's pods when unsetting the variable is the fix.
    from tests.backend_doubles import free_port_endpoint

    ws = rehearsal_workspace
    dead = free_port_endpoint()
    env = {**ws.env, "AWS_ENDPOINT_URL_S3": dead}
    before = tree_digest(ws.dir), ws.config_path.read_bytes()

    done = run_cli(["status", "--once", "--json", "--env", "dev"], env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    problem = next(p for p in json.loads(done.stdout)["problems"] if p["kind"] == "state-unreachable")
    assert f"(that endpoint is AWS_ENDPOINT_URL_S3 (overrides state.s3.endpoint {ws.s3.endpoint}))" in problem["detail"]
    assert problem["remedy"].startswith("the endpoint that did not answer is AWS_ENDPOINT_URL_S3's, not "
                                        "state.s3.endpoint's: unset it"), problem["remedy"]
    human = run_cli(["status", "--once", "--env", "dev"], env=env).stdout
    assert "remedy: the endpoint that did not answer is AWS_ENDPOINT_URL_S3's" in human, human
    assert (tree_digest(ws.dir), ws.config_path.read_bytes()) == before


def test_http_state_backend_reads_as_state_unreadable_and_names_the_migration(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"))
    text = ws.config_path.read_text()
    assert "  backend: s3\n" in text
    ws.config_path.write_text(text.replace("  backend: s3\n", "  backend: http\n", 1))

    done = run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env)
    doc = json.loads(done.stdout)
    # Not "nothing applied": the state could not be read, so the expected workloads are shown.
    assert {s["source"] for s in doc["stacks"]} == {"defaults"}, doc["stacks"]
    for stack in doc["stacks"]:
        assert "state.backend: http" in stack["state"]["error"] and "S3" in stack["state"]["error"]
    attic = next(s for s in doc["stacks"] if s["stack"] == "attic")
    assert [(w["name"], w["found"], w["ready"]) for w in attic["workloads"]] == [("attic", True, 1)]
    entry = next(u for u in doc["unreadable"] if u["pane"] == "stacks")
    assert "gfwizard backend migrate" in entry["remedy"] and "state.backend: http" in entry["detail"]
    human = run_cli(["status", "--once", "--env", "dev"], env=ws.env).stdout
    assert "not applied" not in human and "remedy: move the state of every stack still on HTTP to S3" in human, human
    assert "unreadable" in human


def test_a_state_store_that_does_not_answer_is_a_problem_not_an_empty_pane(
        rehearsal_workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.backend_doubles import free_port_endpoint

    ws = rehearsal_workspace
    text = ws.config_path.read_text()
    endpoint = ws.s3.endpoint
    assert endpoint in text
    config = tmp_path / "s3-down.yaml"
    config.write_text(text.replace(endpoint, free_port_endpoint()))
    env = {k: v for k, v in ws.env.items() if k != "AWS_ENDPOINT_URL_S3"}
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)  # it would win over the config's endpoint
    before = tree_digest(ws.dir), config.read_bytes()
    ws.api.request_log.clear()

    done = run_cli(["status", "--once", "--json", "--env", "dev", "--config", str(config)], env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    problem = next(p for p in doc["problems"] if p["kind"] == "state-unreachable")
    assert problem["subject"] == "S3 state bucket" and "connection refused" in problem["detail"]
    assert {(u["pane"], u["outage"]) for u in doc["unreadable"]} == {("stacks", True), ("locks", True)}
    assert doc["locks"] == [] and all(s["source"] == "defaults" for s in doc["stacks"])

    human = run_cli(["status", "--once", "--env", "dev", "--config", str(config)], env=env)
    assert human.returncode == 1
    assert "UNHEALTHY (1 problem(s))" in human.stdout and "none held" not in human.stdout
    assert "unknown: the locks could not be listed" in human.stdout
    assert "Deployment/attic-dev/attic (expected: state unreadable)" in human.stdout
    assert "remedy: the state store (RustFS on honey)" in human.stdout
    assert "AWS_ENDPOINT_URL_S3" not in human.stdout  # the configured endpoint is the one down
    assert (tree_digest(ws.dir), config.read_bytes()) == before
    assert _api_writes(ws.api.request_log.entries()) == []


def test_not_ready_node_exits_1() -> None:
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    with RehearsalEnvironment(nodes=3) as env:
        assert env.api is not None
        env.api.add_node("sting-2", "sting", ready=False)
        done = run_cli(["status", "--once", "--json"], env=env.env)
    assert done.returncode == 1, done.stdout + done.stderr
    problems = json.loads(done.stdout)["problems"]
    assert {"kind": "node-not-ready", "subject": "node sting-2",
            "detail": "not Ready (role sting; unreachable: its kubelet stopped posting status)",
            "remedy": "check the node (`kubectl describe node`); its role's workloads cannot be scheduled there"} \
        in problems


@pytest.mark.parametrize(("ready", "why", "taint"), [
    (False, "unreachable: its kubelet stopped posting status", "node.kubernetes.io/unreachable"),
    ("False", "its kubelet reports NotReady", "node.kubernetes.io/not-ready"),
], ids=["unreachable", "kubelet-not-ready"])
def test_a_role_node_going_not_ready_reads_once_with_its_taints(ready: Any, why: str, taint: str) -> None:
    """The node named after its role (sting) goes NotReady: the problem names it once (not "role sting node
    sting"), says why from the lifecycle taints, and the node row carries those taints."""
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    with RehearsalEnvironment(nodes=3) as env:
        assert env.api is not None
        env.api.set_node_ready("sting", ready)
        done = run_cli(["status", "--once", "--json"], env=env.env)
        human = run_cli(["status", "--once"], env=env.env)
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    (problem,) = [p for p in doc["problems"] if p["kind"] == "node-not-ready"]
    assert (problem["subject"], problem["detail"]) == ("node sting", f"not Ready (role sting; {why})")
    sting = next(n for n in doc["nodes"] if n["name"] == "sting")
    assert (sting["role"], sting["ready"], sting["taints"]) == ("sting", False,
                                                                [f"{taint}:NoSchedule", f"{taint}:NoExecute"])
    assert human.returncode == 1
    assert "node-not-ready: node sting: not Ready (role sting; " in human.stdout
    assert "role sting node sting" not in human.stdout + done.stdout


@pytest.mark.parametrize(("other_sting", "ready", "problems"), [
    (False, 0, ["node-not-ready", "workload-below-desired"]),
    (True, 1, ["node-not-ready"]),
], ids=["replacement-pending", "replacement-elsewhere"])
def test_after_the_toleration_status_shows_the_evicted_pods_replacement(other_sting: bool, ready: int,
                                                                         problems: list[str]) -> None:
    """sting stays unreachable past its pods' (shortened) 300 s: arc-runners' pod is evicted, as on a cluster. With
    no other node of role sting its replacement is Pending and the Events pane says why; with one it runs there.
    sting keeps only its DaemonSet pod."""
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

    with RehearsalEnvironment(nodes=3) as env:
        assert env.api is not None
        api = env.api
        seed_deploy(env, "dev", "arc-runners",
                    twin_outputs("arc-runners", "dev", "arc-runners-dev", "arc-runners", role="sting"))
        if other_sting:
            api.add_node("sting-2", "sting")
        api.set_node_ready("sting", False)
        api.toleration_scale = 0.001
        deadline = time.monotonic() + 30
        while any(p.key[0] == "arc-runners-dev" for p in api.store.pods_on_node("sting")):
            assert time.monotonic() < deadline, "gave up waiting for the eviction"
            time.sleep(0.02)
        done = run_cli(["status", "--once", "--json"], env=env.env)
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert [p["kind"] for p in doc["problems"]] == problems
    (arc,) = [s for s in doc["stacks"] if (s["env"], s["stack"]) == ("dev", "arc-runners")]
    assert [(w["name"], w["ready"], w["desired"], w["pods"]) for w in arc["workloads"]] == [
        ("arc-runners", ready, 1, 1)]
    assert {n["name"]: n["pods"] for n in doc["nodes"]}["sting"] == 1  # kube-proxy, a DaemonSet's: never evicted
    scheduling = [e["message"] for e in doc["events"]
                  if (e["namespace"], e["reason"]) == ("arc-runners-dev", "FailedScheduling")]
    if other_sting:
        assert not scheduling
    else:
        (message,) = scheduling
        assert "1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }" in message


@pytest.mark.integration
def test_real_twin_apply_then_status_shows_its_workloads(iac_bin: str, rehearsal_workspace: Any, tmp_path: Path,
                                                          scratch_namespaces: list[str]) -> None:
    """A rehearsal deploy of the attic twin (real init/apply against the embedded S3), materialised,
    then status: the stack's state, serial and workload come from what the apply left behind."""
    from gfwizard.rehearsal.materialise import materialise_with_kubeconfig

    ws = rehearsal_workspace
    scratch_namespaces.append("attic-dev")
    stack = tmp_path / "attic"
    shutil.copytree(REPO / "tofu" / "rehearsal" / "attic", stack, ignore=shutil.ignore_patterns(".terraform*"))
    env = {**os.environ, "TF_DATA_DIR": str(tmp_path / "tfdata"), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    backend = [f"-backend-config={k}={v}" for k, v in {
        "bucket": ws.bucket, "key": "gloriousflywheel/dev/attic.tfstate", "region": "us-east-1",
        "use_path_style": "true", "use_lockfile": "true", "skip_credentials_validation": "true",
        "skip_requesting_account_id": "true", "skip_metadata_api_check": "true", "skip_region_validation": "true",
    }.items()]

    def run(*args: str) -> str:
        done = subprocess.run([iac_bin, *args], cwd=stack, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("init", "-input=false", "-no-color", *backend)
    run("apply", "-auto-approve", "-input=false", "-no-color", "-var-file=dev.tfvars")
    materialise_with_kubeconfig(ws.kubeconfig_path, json.loads(run("output", "-json")))

    snap = collect_once(load_status_config(ws.config_path), config_path=ws.config_path, environ=ws.env,
                        options=StatusOptions(envs=("dev",)))
    attic = next(s for s in snap.stacks if s.stack == "attic")
    assert attic.source == "state" and attic.state.exists and (attic.state.serial or 0) >= 1
    assert [(w.namespace, w.name, w.ready, w.desired) for w in attic.workloads] == [("attic-dev", "attic", 1, 1)]
    assert not [lk for lk in snap.locks if lk.stack == "attic"]  # the apply released its lock
    assert snap.healthy


def test_unreachable_api_is_reported_and_exits_1(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    write_kubeconfig(ws.kubeconfig_path, server="https://127.0.0.1:1", ca_pem=ws.api.ca_pem,
                     token=ws.api.admin_token)
    done = run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env)
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["cluster"]["reachable"] is False and "cannot reach https://127.0.0.1:1" in doc["cluster"]["error"]
    assert [p["kind"] for p in doc["problems"]] == ["api-unreachable"]
    assert {u["what"] for u in doc["unreadable"]} >= {"nodes", "pods"}
    assert ws.api.admin_token not in done.stdout + done.stderr


def _seeded_attic(ws: Any, scratch_namespaces: list[str]) -> None:
    scratch_namespaces.append("attic-dev")
    seed_deploy(ws, "dev", "attic", twin_outputs("attic", "dev", "attic-dev", "attic"), serial=5)


def test_an_unreachable_api_claims_no_workload_missing_and_no_pane_empty(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    _seeded_attic(ws, scratch_namespaces)
    write_kubeconfig(ws.kubeconfig_path, server="https://127.0.0.1:1", ca_pem=ws.api.ca_pem,
                     token=ws.api.admin_token)
    before = tree_digest(ws.dir)
    done = run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env)
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert [p["kind"] for p in doc["problems"]] == ["api-unreachable"], doc["problems"]
    attic = next(s for s in doc["stacks"] if s["stack"] == "attic")
    assert attic["source"] == "state"
    assert [(w["name"], w["found"], w["known"], w["pods_known"]) for w in attic["workloads"]] == [
        ("attic", False, False, False)]

    text = run_cli(["status", "--once", "--env", "dev"], env=ws.env)
    assert text.returncode == 1
    out = text.stdout
    assert "Nodes\n  unknown: the nodes could not be read (see 'Could not read')" in out
    # At 80 columns (a pipe's width) the workload's cells are said under its row: readiness unknown, restarts '?'.
    row = out.splitlines().index(next(line for line in out.splitlines() if line.split()[:2] == ["dev", "attic"]))
    assert out.splitlines()[row].endswith(" unknown") and "missing" not in out, out
    assert out.splitlines()[row + 1].strip().startswith("workload Deployment/attic-dev/attic · restarts ? "), out
    assert "unknown: the events could not be read" in out
    assert tree_digest(ws.dir) == before


def test_an_unusable_kubeconfig_names_it_and_contacts_nothing(
        rehearsal_workspace: Any, scratch_namespaces: list[str]) -> None:
    ws = rehearsal_workspace
    _seeded_attic(ws, scratch_namespaces)
    ws.kubeconfig_path.write_text("apiVersion: v1\nclusters: [\n")
    ws.api.request_log.clear()
    before = tree_digest(ws.dir)
    done = run_cli(["status", "--once", "--env", "dev"], env=ws.env)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "kubeconfig unusable: no API client: " in out
    assert "api-unreachable:" in out and "remedy: fix the kubeconfig and context organization.yaml names" in out
    assert "workload-below-desired" not in out and " unknown\n       workload Deployment/attic-dev/attic" in out
    assert "[nodes] could not read: nodes: no API client: " in out
    assert ws.api.request_log.entries() == [], "the API was contacted"
    assert tree_digest(ws.dir) == before


def test_the_live_view_without_a_terminal_refuses_and_names_once(rehearsal_workspace: Any) -> None:
    ws = rehearsal_workspace
    before = tree_digest(ws.dir)
    ws.api.request_log.clear()
    done = run_cli(["status", "--config", str(ws.config_path)], env=ws.env, input="")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: the live status view needs a terminal (stdin and stdout)" in done.stderr
    assert "gfwizard status --once" in done.stderr and "\x1b[" not in done.stdout
    assert tree_digest(ws.dir) == before and ws.api.request_log.entries() == []


def test_hostile_event_and_lock_text_is_shown_escaped_by_status_and_backend_locks(rehearsal_workspace: Any) -> None:
    from gfwizard.rehearsal import k8s_objects as ko

    ws = rehearsal_workspace
    hostile = "ok\x1b[2J\x1b[32mALL HEALTHY\x1b[0m\nfake line"
    node = ws.api.store.get("nodes", "", "sting").obj
    ws.api.store.put("events", ko.event(node, "Injected", hostile, type_="Warning", namespace="default"))
    put_lock(ws, "dev", "gitlab-runners", age=timedelta(minutes=5), who="eve\x1b[31mRED\x1b[0m\nFAKE LINE: all clear")
    before = tree_digest(ws.dir)
    for args in (["status", "--once", "--env", "dev"], ["backend", "locks", "--env", "dev"]):
        done = run_cli(args, env=ws.env)
        assert "\x1b" not in done.stdout + done.stderr, args
        assert not [line for line in done.stdout.splitlines() if line.startswith(("fake line", "FAKE LINE"))], args
        assert "eve\\x1b[31mRED\\x1b[0m\\nFAKE LINE: all clear" in done.stdout, (args, done.stdout)
    assert "ok\\x1b[2J\\x1b[32mALL HEALTHY" in run_cli(["status", "--once"], env=ws.env).stdout
    # The JSON keeps the values (JSON escapes control characters itself).
    doc = json.loads(run_cli(["backend", "locks", "--env", "dev", "--json"], env=ws.env).stdout)
    assert doc["locks"][0]["who"] == "eve\x1b[31mRED\x1b[0m\nFAKE LINE: all clear"
    assert tree_digest(ws.dir) == before


def test_a_silent_api_is_stale_within_one_refresh_and_one_probe_timeout(rehearsal_workspace: Any) -> None:
    # A black-holed API (connections accepted, never answered) while the other reads keep their long read
    # timeout and the state store is slow: STALE must still come within one refresh plus the probe's
    # timeout, dated from the unanswered probe's send, not from when it gave up.
    ws = rehearsal_workspace
    opts = StatusOptions(refresh_seconds=0.5, state_refresh_seconds=0.2, probe_timeout=1.0, timeouts=(1.0, 10.0),
                         watch_timeout=120, backoff_initial=0.1, backoff_cap=0.5)
    source = StatusSource(load_status_config(ws.config_path), config_path=ws.config_path, environ=ws.env,
                          options=opts)
    source.start()
    try:
        assert source.snapshot().stale_since is None
        assert source.state is not None
        poll = source.state.poll
        source.state.poll = lambda: (time.sleep(3), poll())[1]  # type: ignore[method-assign]
        silent_at = time.time()
        ws.api.faults.blackhole(True)
        deadline = time.monotonic() + 10
        while source.snapshot().stale_since is None and time.monotonic() < deadline:
            time.sleep(0.05)
        seen_after = time.time() - silent_at
        snap = source.snapshot()
        assert snap.stale_since is not None, "never marked stale"
        bound = opts.refresh_seconds + opts.probe_timeout
        assert seen_after <= bound + 1.5, f"STALE after {seen_after:.1f}s, bound {bound:.1f}s"
        since = snap.stale_since.timestamp()
        # (margin for a loaded machine; without the fix it takes the 10 s read timeout.)
        # The probe sent into the silence (within one refresh of it), not the moment it timed out.
        assert silent_at - 0.05 <= since <= silent_at + opts.refresh_seconds + 0.05, (since - silent_at)
        assert "API" in snap.stale_reason and "/version" in snap.stale_reason
    finally:
        ws.api.faults.blackhole(False)
        source.stop()


def test_a_rehearsed_crash_loop_and_not_ready_node_show_as_on_a_cluster(rehearsal_workspace: Any,
                                                                         scratch_namespaces: list[str]) -> None:
    """docs/status-mode.md "Rehearse an incident": the incidents induced through the API (the fault annotation,
    a node status PATCH; what kubectl sends) read in ``status --once --json`` as real ones, and undoing them
    makes status healthy again."""
    from kubernetes import client as k8s

    from gfwizard.rehearsal.k8s_faults import FAULT_ANNOTATION
    from tests.rehearsal.test_apiserver import TIMEOUT, client

    ws = rehearsal_workspace
    _seeded_attic(ws, scratch_namespaces)
    journal_applied(ws.dir, "dev", "attic")
    apps, core = k8s.AppsV1Api(client(ws.api)), k8s.CoreV1Api(client(ws.api))

    def annotate(value: str | None) -> None:
        apps.patch_namespaced_deployment("attic", "attic-dev", {"metadata": {"annotations": {FAULT_ANNOTATION: value}}},
                                         _request_timeout=TIMEOUT)

    def node_ready(status: str) -> None:
        core.patch_node_status("sting", {"status": {"conditions": [{"type": "Ready", "status": status}]}},
                               _request_timeout=TIMEOUT)

    try:
        annotate("crashloop")
        node_ready("Unknown")
        done = run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env)
    finally:
        node_ready("True")
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    (pod,) = [s.key[1] for s in ws.api.store.all("pods", "attic-dev")]
    (attic,) = [w for s in doc["stacks"] if s["stack"] == "attic" for w in s["workloads"]]
    assert (attic["ready"], attic["desired"], attic["crash_looping"]) == (0, 1, [pod])
    assert attic["restarts"] >= 1
    assert {(p["kind"], p["subject"]) for p in doc["problems"]} == {
        ("node-not-ready", "node sting"), ("crash-looping", "dev/attic Deployment attic-dev/attic"),
        ("workload-below-desired", "dev/attic Deployment attic-dev/attic")}
    assert next(p for p in doc["problems"] if p["kind"] == "crash-looping")["remedy"].startswith(
        f"`kubectl --context honey -n attic-dev logs {pod} --previous`")
    sting = next(n for n in doc["nodes"] if n["name"] == "sting")
    assert (sting["ready"], sting["taints"]) == (False, ["node.kubernetes.io/unreachable:NoSchedule",
                                                         "node.kubernetes.io/unreachable:NoExecute"])
    assert any(e["reason"] == "BackOff" and e["object"] == f"Pod/{pod}" for e in doc["events"])

    annotate(None)
    healed = run_cli(["status", "--once", "--json", "--env", "dev"], env=ws.env)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    (attic,) = [w for s in json.loads(healed.stdout)["stacks"] if s["stack"] == "attic" for w in s["workloads"]]
    assert (attic["ready"], attic["crash_looping"]) == (1, [])
