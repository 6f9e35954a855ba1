"""The state backend service (DESIGN.md §5 "backend"): S3 preflight and lock probe, rendered partial
backend files, the lock objects, and the HTTP → S3 migration.

This module is the one import for callers; the work lives in small helpers:

* :mod:`gfwizard.backend_s3` — endpoint and credential resolution, ``s3_client``, error explanations;
* :mod:`gfwizard.backend_checks` — ``check_s3`` and ``lock_probe``;
* :mod:`gfwizard.backend_bucket` — ``create_state_bucket`` (always versioned; what ``check_s3`` creates with);
* :mod:`gfwizard.backend_render` — ``render_backends`` (``<env>.s3.tfbackend`` / ``<env>.http.tfbackend``);
* :mod:`gfwizard.backend_locks` — ``list_locks`` (read-only);
* :mod:`gfwizard.backend_migrate` — ``migrate_http_to_s3``.

botocore is imported only inside the functions that talk to S3. The deploy engine imports the two parts
it runs (``backend_render``, ``backend_checks.lock_probe``) directly: the migration and its kin are not
worth loading at every deploy's start.
"""

from __future__ import annotations

from typing import Mapping

from gfwizard.backend_bucket import create_action, create_state_bucket
from gfwizard.backend_checks import (
    C_BUCKET,
    C_CREDENTIALS,
    C_ENDPOINT,
    C_LOCK,
    C_PREFIX,
    C_SKEW,
    C_VERSIONING,
    MAX_SKEW_SECONDS,
    ConfirmFn,
    check_s3,
    lock_probe,
    probe_location,
)
from gfwizard.backend_locks import LockInfo, list_locks
from gfwizard.backend_migrate import MigrationReport, StateSummary, migrate_http_to_s3
from gfwizard.backend_render import (RenderedFile, planned_backends, render_backends, render_http_text, render_s3_text,
                                     rendered_already)
from gfwizard.backend_s3 import (
    DEFAULT_TIMEOUTS,
    CredentialSource,
    S3Target,
    credential_source,
    explain,
    s3_client,
    s3_target,
)


def http_credential_source(environ: Mapping[str, str], username_in_config: bool = False) -> str:
    """Where the HTTP backend's credentials come from (never their values): what the wizard shows."""
    have_user = bool(environ.get("TF_HTTP_USERNAME")) or username_in_config
    if environ.get("TF_HTTP_PASSWORD") and have_user:
        return ("environment (TF_HTTP_PASSWORD, and TF_HTTP_USERNAME or state.http.username); "
                "never written to a file")
    missing = [n for n, ok in (("TF_HTTP_USERNAME (or state.http.username)", have_user),
                               ("TF_HTTP_PASSWORD", bool(environ.get("TF_HTTP_PASSWORD")))) if not ok]
    return f"not set: export {' and '.join(missing)} before the first init (they never go into a file)"


__all__ = [
    "C_BUCKET", "C_CREDENTIALS", "C_ENDPOINT", "C_LOCK", "C_PREFIX", "C_SKEW", "C_VERSIONING", "DEFAULT_TIMEOUTS",
    "MAX_SKEW_SECONDS", "ConfirmFn", "CredentialSource", "LockInfo", "MigrationReport", "RenderedFile", "S3Target",
    "StateSummary", "check_s3", "create_action", "create_state_bucket", "credential_source", "explain",
    "http_credential_source", "list_locks", "lock_probe", "migrate_http_to_s3", "planned_backends", "probe_location",
    "render_backends", "render_http_text", "render_s3_text", "rendered_already", "s3_client", "s3_target",
]
