"""Scenario 7: secret canaries through a whole rehearsal flow.

Canary values stand in for every secret an operator's environment holds: the AWS secret key (the
rehearsal S3 accepts any key, so the canary IS the key every S3 client signs with), the kubeconfig's
bearer token (a rehearsal user whose token is the one every API call carries), ``TF_HTTP_PASSWORD``
and a sensitive tfvar (``TF_VAR_rehearsal_runner_token``, which the gitlab-runners twin stores in
state). ``gfwizard deploy --json`` runs in a fresh interpreter, then the wizard is driven with Pilot
from preflight through deploy. Afterwards every file either wrote (workspace, journal, transcripts,
backend files, config and its .bak, data dirs, plugin cache, HOME, the checkout copy) and every
captured output (stdout, stderr, the UI's log pane, notifications, a screenshot, log records) is
scanned: zero occurrences of any canary.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gfwizard.rehearsal.k8s_rbac import ADMIN_RULES
from tests.faults import helpers as h
from tests.functional import modal_named, on_step, run_every_backend_check, text_of, wait_until

pytestmark = pytest.mark.integration

STACKS = ("attic", "gitlab-runners")


def _canaries(ws: Any) -> dict[str, str]:
    tag = secrets.token_hex(6)
    user = f"canary-{tag}"
    token = ws.api.set_policy(user, ADMIN_RULES)
    doc = ws.api.kubeconfig_dict(user=user)
    ws.kubeconfig_path.write_text(yaml.safe_dump(doc))
    return {
        "AWS_SECRET_ACCESS_KEY": f"CanaryAwsSecret{tag}Zq81",
        "bearer token": token,
        "TF_HTTP_PASSWORD": f"CanaryHttpPassword{tag}Wd27",
        "TF_VAR_rehearsal_runner_token": f"glrt-CanaryRunnerToken{tag}",
    }


async def _wizard_through_deploy(app: Any) -> dict[str, str]:
    """Preflight → Kubeconfig → Validate → Backend (render) → Config (write) → Deploy (plan, apply all).
    Returns what the UI showed: the log pane's lines, the notifications and a screenshot."""
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: on_step(app, "preflight") and app.screen.checks is not None, "preflight")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "kubeconfig") and app.screen.discovery is not None, "discovery")
        assert app.screen.selected is not None and app.screen.selected.name == "honey"
        await pilot.press("enter")
        await wait_until(pilot, lambda: on_step(app, "validate") and app.screen.report is not None
                         and app.screen.blocked_reason() is None, "validation", timeout=40)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.checks is not None, "backend checks",
                         timeout=40)
        await run_every_backend_check(pilot, app, "every backend check", timeout=40)
        await pilot.press("ctrl+w")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the render dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: on_step(app, "backend") and app.screen.blocked_reason() is None, "rendering")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "config") and app.screen.new_text is not None, "config diff")
        if app.screen.blocked_reason() is not None:  # the file differs from what the wizard would write
            await pilot.press("ctrl+w")
            await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the write dialog")
            await pilot.press("y")
            await wait_until(pilot, lambda: on_step(app, "config") and app.screen.blocked_reason() is None, "written")
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: on_step(app, "deploy") and app.screen.engine is not None
                         and app.screen.rows, "the deploy engine", timeout=40)
        screen = app.screen
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.plans and screen.busy is None, "plans", timeout=120)
        assert all(p.ready for p in screen.plans.values()), {s: (p.outcome, p.error) for s, p in screen.plans.items()}
        await pilot.press("A")
        await wait_until(pilot, lambda: modal_named(app, "ConfirmModal"), "the apply dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.busy is None and set(screen.done) == set(screen.rows),
                         "every stack applied", timeout=180)
        await pilot.pause()
        shown = {
            "log pane": "\n".join(line for buf in screen.query_one("#log-pane").buffers.values() for line in buf),
            "notifications": "\n".join(f"{n.title} {n.message}" for n in app._notifications),
            "status line": text_of(screen.query_one("#step-status")),
            "screenshot": app.export_screenshot(),
            "outcomes": repr(app.session.deploy_outcomes),
        }
        assert app.session.deploy_outcomes and all(
            o in ("applied", "no changes") for o in app.session.deploy_outcomes.values()), app.session.deploy_outcomes
    return shown


async def test_no_canary_in_any_file_or_output(run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path,
                                               isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    from screens.launch import build_app

    ws = rehearsal_workspace
    canaries = _canaries(ws)
    kubeconfig_before = ws.kubeconfig_path.read_bytes()
    env_canaries = {k: v for k, v in canaries.items() if k != "bearer token"}
    for key, value in env_canaries.items():
        monkeypatch.setenv(key, value)
    ws.env.update(env_canaries)  # the wizard's session environment is the rehearsal's exports

    cli = h.run_deploy(["--env", "dev", "--yes", "--json"] + [a for s in STACKS for a in ("--stack", s)],
                       dict(os.environ))
    assert cli.proc.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    # The sensitive variable really flowed through plan, apply and into the state object.
    state = h.current_state(ws.s3.client(), ws.bucket, "dev", "gitlab-runners")
    assert canaries["TF_VAR_rehearsal_runner_token"] in str(state), "the canary tfvar never reached terraform"

    caplog.set_level(logging.DEBUG)
    shown = await _wizard_through_deploy(build_app(rehearsal=ws, repo=checkout))  # type: ignore[arg-type]
    assert "runner-dashboard" in shown["outcomes"]

    # The API saw the canary token on every call (it authenticated as the canary user).
    users = {e["user"] for e in ws.api.request_log.entries()}
    assert any(u and u.startswith("canary-") for u in users), users
    assert ws.kubeconfig_path.read_bytes() == kubeconfig_before, "a kubeconfig was written"

    written = h.files_under(ws.dir, isolated_home, checkout)
    written = [p for p in written if p != ws.kubeconfig_path]  # the test's own input (checked unchanged)
    assert any("transcripts" in p.parts for p in written) and any(p.suffix == ".jsonl" for p in written)
    assert any(p.name.endswith(".tfbackend") for p in written)
    texts = {"cli stdout": cli.stdout, "cli stderr": cli.stderr, "log records": caplog.text, **shown}
    hits = h.canary_hits(canaries, written, texts)
    assert hits == [], hits
    print(f"scenario 7: {len(canaries)} canaries, {len(written)} files and {len(texts)} outputs scanned, 0 hits")


_DEBUGGING_TERRAFORM = """#!{python}
import os, sys
# What the kubernetes provider does with TF_LOG=debug: it reads the user's tokenFile itself and logs it.
if sys.argv[1:2] != ["version"]:
    with open({token_file!r}) as fh:
        sys.stderr.write("[DEBUG] provider.kubernetes: loaded credentials " + fh.read().strip() + " for honey\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def test_token_file_canary_never_reaches_a_deploy_transcript_journal_or_json(
        run: int, rehearsal_workspace: Any, iac_bin: str, checkout: Path, isolated_home: Path, tmp_path: Path) -> None:
    """A kubeconfig user with ``tokenFile`` instead of ``token``. Terraform is handed the same kubeconfig and
    prints the file's token from its first run (``init``), before the deploy gates have read the file: the
    deploy registers that token up front, so ``deploy --json``, its transcripts and journal never show it."""
    ws = rehearsal_workspace
    user = f"canary-file-{secrets.token_hex(6)}"
    token = ws.api.set_policy(user, ADMIN_RULES)
    doc = ws.api.kubeconfig_dict(user=user)
    token_file = ws.kubeconfig_path.with_name("honey.token")
    token_file.write_text(token + "\n")
    doc["users"][0]["user"] = {"tokenFile": token_file.name}  # relative to the kubeconfig, as kubectl reads it
    ws.kubeconfig_path.write_text(yaml.safe_dump(doc))
    inputs = {p: p.read_bytes() for p in (ws.kubeconfig_path, token_file)}
    terraform = tmp_path / "bin" / "terraform"
    terraform.parent.mkdir()
    terraform.write_text(_DEBUGGING_TERRAFORM.format(python=sys.executable, token_file=str(token_file), real=iac_bin))
    terraform.chmod(0o755)

    cli = h.run_deploy(["--env", "dev", "--yes", "--json", "--stack", "attic"],
                       {**os.environ, "GFW_TOFU_BIN": str(terraform)})
    assert cli.proc.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    # The token file was the credential in use (gates and materialise authenticated as the canary user) ...
    assert user in {e["user"] for e in ws.api.request_log.entries()}
    assert {p: p.read_bytes() for p in inputs} == inputs, "an input was rewritten"
    written = [p for p in h.files_under(ws.dir, isolated_home, checkout) if p not in inputs]
    transcript = [p for p in written if "transcripts" in p.parts and p.name.endswith("-attic.log")]
    assert len(transcript) == 1, written
    lines = transcript[0].read_text(errors="replace").splitlines()
    # ... terraform really printed it, from its first run on, and it was masked there ...
    assert lines[0].startswith("$ terraform init ") or lines[0].startswith("$ tofu init "), lines[:3]
    assert lines[1] == "[stderr] [DEBUG] provider.kubernetes: loaded credentials [REDACTED] for honey", lines[:3]
    assert h.journal_entries(ws.dir)
    # ... and it is nowhere: not in any file written, nor in --json stdout or stderr.
    hits = h.canary_hits({"tokenFile token": token}, written, {"cli stdout": cli.stdout, "cli stderr": cli.stderr})
    assert hits == [], hits
