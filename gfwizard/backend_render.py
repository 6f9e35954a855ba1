"""Rendering the partial backend files: ``<env>.s3.tfbackend`` (the target) and, while a stack is still
on the transitional HTTP state, ``<env>.http.tfbackend``.

No file ever holds a credential: the S3 backend takes its keys from the AWS environment/profile and
the HTTP backend its password from ``TF_HTTP_PASSWORD``. Files are written atomically and only when
their content changes, so re-rendering an unchanged config leaves every file (and its mtime) alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gfwizard.atomic import holds, write_if_changed
from gfwizard.errors import InputError

if TYPE_CHECKING:
    from gfwizard.layout import Layout
    from gfwizard.orgconfig import OrgConfig

HEADER = ("# Rendered by `gfwizard backend render` from organization.yaml; edits are overwritten.\n"
          "# No credentials here: {where}.\n")


@dataclass(frozen=True)
class RenderedFile:
    """One rendered backend file and whether this render changed it."""

    path: Path
    changed: bool
    stack: str = ""
    kind: str = "s3"


def _hcl(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # JSON string escapes are valid HCL; "${" and "%{" would start a template, so escape them.
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def render_s3_text(cfg: "OrgConfig", env: str, stack: str) -> str:
    """The content of ``<env>.s3.tfbackend`` for ``stack``."""
    spec = cfg.state.s3
    if spec is None:
        raise InputError("state.s3 is not configured", remedy="add state.s3 to organization.yaml")
    lines = [HEADER.format(where="the S3 backend reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"),
             f"bucket = {_hcl(spec.bucket)}",
             f"key    = {_hcl(cfg.state_key(env, stack))}",
             f"region = {_hcl(spec.region)}"]
    custom = bool(spec.endpoint)
    if custom:
        lines += ["", "endpoints = {", f"  s3 = {_hcl(spec.endpoint.rstrip('/'))}", "}"]
    lines += ["", f"use_path_style = {_hcl(spec.use_path_style)}", f"use_lockfile   = {_hcl(spec.use_lockfile)}"]
    if custom:
        # An S3-compatible store (RustFS) has no STS, IAM, instance metadata or AWS region list, and
        # older builds reject the SDK's default upload checksums.
        lines += ["", "skip_credentials_validation = true", "skip_region_validation      = true",
                  "skip_requesting_account_id  = true", "skip_metadata_api_check     = true",
                  "skip_s3_checksum            = true"]
    return "\n".join(lines) + "\n"


def render_http_text(cfg: "OrgConfig", env: str, stack: str) -> str:
    """The content of ``<env>.http.tfbackend`` for ``stack`` (transitional; no password)."""
    spec = cfg.state.http
    if spec is None:
        raise InputError("state.http is not configured", remedy="add state.http to organization.yaml")
    lines = [HEADER.format(where="the HTTP backend reads TF_HTTP_PASSWORD (and TF_HTTP_USERNAME)"),
             "# Transitional (legacy-current) HTTP state; the target is the S3 backend.",
             f"address        = {_hcl(spec.address_for(env, stack))}"]
    lock, unlock = spec.lock_address_for(env, stack), spec.unlock_address_for(env, stack)
    if lock:
        lines += [f"lock_address   = {_hcl(lock)}", 'lock_method    = "POST"']
    if unlock:
        lines += [f"unlock_address = {_hcl(unlock)}", 'unlock_method  = "DELETE"']
    if spec.username:
        lines.append(f"username       = {_hcl(spec.username)}")
    return "\n".join(lines) + "\n"


def planned_backends(cfg: "OrgConfig", env: str, layout: "Layout") -> list[tuple[str, str, Path, str]]:
    """``(stack, kind, path, text)`` for every file :func:`render_backends` would write."""
    cfg.environment(env)
    kinds = [k for k, spec in (("s3", cfg.state.s3), ("http", cfg.state.http)) if spec is not None]
    out: list[tuple[str, str, Path, str]] = []
    for stack in cfg.stack_order():
        # A rehearsal renders into the workspace, but it deploys the twin, so a stack without one is
        # refused as firmly as on honey (rendering it would only fail later, in deploy).
        if not layout.stack_dir(stack).is_dir():
            where = (f"a rehearsal deploys the provider-free twins in {layout.stacks_root}: add one for {stack!r}"
                     if layout.rehearsal else "run from a GloriousFlywheel checkout (or set GFW_REPO)")
            raise InputError(f"stack directory {layout.stack_dir(stack)} does not exist; nothing was rendered",
                             remedy=f"{where}, or fix stacks: in organization.yaml")
        for kind in kinds:
            text = render_s3_text(cfg, env, stack) if kind == "s3" else render_http_text(cfg, env, stack)
            out.append((stack, kind, layout.backend_file(stack, env, kind), text))
    return out


def backends_to_write(cfg: "OrgConfig", env: str, layout: "Layout") -> list[Path]:
    """The backend files :func:`render_backends` would create or change for ``env`` (what to ask about)."""
    return [path for _stack, _kind, path, text in planned_backends(cfg, env, layout) if not holds(path, text)]


def rendered_already(cfg: "OrgConfig", env: str, layout: "Layout") -> list[RenderedFile] | None:
    """Every backend file of ``env`` as :func:`render_backends` would report it with nothing to write, when
    each one already holds exactly what it would write; None when one is missing or differs (read only).
    Raises :class:`~gfwizard.errors.InputError` as :func:`planned_backends` does."""
    planned = planned_backends(cfg, env, layout)
    if not planned or not all(holds(path, text) for _stack, _kind, path, text in planned):
        return None
    return [RenderedFile(path=path, changed=False, stack=stack, kind=kind) for stack, kind, path, _ in planned]


def render_backends(cfg: "OrgConfig", env: str, layout: "Layout") -> list[RenderedFile]:
    """Render every stack's backend file(s) for ``env``: ``<env>.s3.tfbackend`` when ``state.s3`` is
    set and ``<env>.http.tfbackend`` when ``state.http`` is set. Everything is validated before the
    first write; unchanged files are not touched."""
    plan = planned_backends(cfg, env, layout)
    return [RenderedFile(path=path, changed=write_if_changed(path, text), stack=stack, kind=kind)
            for stack, kind, path, text in plan]
