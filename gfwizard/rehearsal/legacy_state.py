"""An environment still on HTTP state, for rehearsing the move to S3 (``rehearse --legacy-http-state``).

For each stack, the binary applies the stack's rehearsal twin with an ``http`` backend pointed at the
rehearsal's GitLab-style HTTP state server, and the twin's workloads are materialised in the
rehearsal API: what an environment deployed before the move looks like. The twin's code is copied to
a scratch directory with a backend override (the checkout is never written). The Backend step's
Ctrl+T and ``gfwizard backend migrate`` then have real state to move, and a deploy after the move
finds the stacks deployed. Rehearsal only: the HTTP server and the API must be on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from gfwizard.errors import InputError
from gfwizard.redact import redact

if TYPE_CHECKING:
    from gfwizard.rehearsal.workspace import RehearsalEnvironment

#: Seconds one init, apply or output of a twin may take.
STEP_TIMEOUT = 120.0
_OVERRIDE = 'terraform {\n  backend "http" {}\n}\n'


@dataclass(frozen=True)
class LegacyStack:
    """One stack deployed on HTTP state: where its state lives and what was materialised."""

    stack: str
    env: str
    address: str
    workloads: int


def seed_legacy_http_state(rehearsal: "RehearsalEnvironment", *, environment: str = "dev",
                           stacks: Sequence[str] | None = None,
                           environ: Mapping[str, str] | None = None) -> list[LegacyStack]:
    """Deploy ``stacks`` (default: all, in order) of ``environment`` onto the rehearsal's HTTP state
    server and materialise them; raises :class:`InputError` when a step fails (nothing is left half
    done on the S3 side: S3 is not touched at all)."""
    from gfwizard.backend_render import render_backends
    from gfwizard.layout import layout_for
    from gfwizard.orgconfig import load_config
    from gfwizard.rehearsal.materialise import materialise_in
    from gfwizard.stacks_inputs import cluster_contract
    from gfwizard.tofu import cli_config, default_plugin_cache_dir, find_binary, tofu_environment

    http_server = rehearsal.http_state
    if http_server is None:
        raise InputError("the rehearsal environment is not running", remedy="start it first")
    base = {**os.environ, **rehearsal.env} if environ is None else dict(environ)
    cfg = load_config(rehearsal.config_path)
    if cfg.state.http is None:
        raise InputError("the rehearsal config has no state.http section", remedy="start a new rehearsal")
    layout = layout_for(cfg.cluster.network, environ=base)
    binary = find_binary(base)
    tfvars = cfg.environment(environment).tfvars
    contract = cluster_contract(cfg, base)
    render_backends(cfg, environment, layout)
    plugin_cache = default_plugin_cache_dir()
    plugin_cache.mkdir(parents=True, exist_ok=True)
    seeded: list[LegacyStack] = []
    for stack in stacks or cfg.stack_order():
        scratch = Path(tempfile.mkdtemp(prefix=f"gfw-legacy-{stack}-"))
        try:
            code = scratch / "code"
            # The twins link the real stacks' variables: copy what the links point at.
            shutil.copytree(layout.stack_dir(stack), code, symlinks=False,
                            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"))
            (code / "gfw_legacy_backend_override.tf").write_text(_OVERRIDE)
            env = tofu_environment(base, data_dir=scratch / "data", plugin_cache_dir=plugin_cache,
                                   cli=cli_config(base, plugin_cache_dir=plugin_cache, directory=scratch))
            env.update(TF_HTTP_USERNAME=http_server.username, TF_HTTP_PASSWORD=http_server.password)
            backend = layout.backend_file(stack, environment, "http")
            _run(binary.path, ["init", "-input=false", "-no-color", f"-backend-config={backend}"], code, env, stack)
            _run(binary.path, ["apply", "-auto-approve", "-input=false", "-no-color", f"-var-file={tfvars}",
                               *contract.var_args()], code, env, stack)
            outputs = json.loads(_run(binary.path, ["output", "-json"], code, env, stack) or "{}")
            summary = materialise_in(rehearsal, outputs)
            seeded.append(LegacyStack(stack, environment, cfg.state.http.address_for(environment, stack),
                                      len(summary.workloads)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return seeded


def _run(binary: str, args: list[str], cwd: Path, env: Mapping[str, str], stack: str) -> str:
    try:
        done = subprocess.run([binary, *args], cwd=cwd, env=dict(env), capture_output=True, text=True,
                              timeout=STEP_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InputError(f"seeding the legacy HTTP state of {stack}: `{args[0]}` took over {STEP_TIMEOUT:g} s",
                         remedy="start the rehearsal again, or without --legacy-http-state") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        tail = redact(output.splitlines()[-1] if output else f"exit {done.returncode}")
        raise InputError(f"seeding the legacy HTTP state of {stack}: `{args[0]}` failed: {tail}",
                         remedy="start the rehearsal again, or without --legacy-http-state")
    return done.stdout
