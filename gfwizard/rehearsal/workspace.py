"""The rehearsal workspace: the embedded honey, S3 endpoint and HTTP state server, plus the files an
operator (or a test) points gfwizard at.

A workspace directory holds:

* ``kubeconfig-honey.yaml`` — cluster/context/user ``honey`` for the loopback API (CA data, admin
  bearer token), mode 0600;
* ``organization.yaml`` — ``network: loopback``, ``api_server`` = the loopback URL, ``kubeconfig`` =
  the file above, S3 state on the embedded endpoint (a fresh versioned bucket), the HTTP state
  server as the transitional ``state.http`` section, environments ``dev`` and ``prod`` (prod asks
  for confirmation), the four stacks and their placement roles;
* ``api-requests.log``, ``s3-requests.log``, ``http-state-requests.log`` — JSON lines, one per request;
* whatever the deploy engine writes there (backend files, plans, journals: see :mod:`gfwizard.layout`).

AWS credentials are never written to a file: they live only in :attr:`RehearsalEnvironment.env`.
Nothing under ``~/.kube``, ``~/.aws`` or the checkout's ``config/`` is read or written.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gfwizard.atomic import atomic_write
from gfwizard.errors import InputError
from gfwizard.layout import WORKSPACE_ENV
from gfwizard.paths import CONFIG_ENV

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.rehearsal.apiserver import RehearsalAPIServer
    from gfwizard.rehearsal.httpstate import HttpStateServer
    from gfwizard.rehearsal.legacy_state import LegacyStack
    from gfwizard.rehearsal.s3 import RehearsalS3

CLUSTER = "honey"
CONTEXT = "honey"
KUBE_USER = "honey-admin"
KUBECONFIG_NAME = "kubeconfig-honey.yaml"
CONFIG_NAME = "organization.yaml"
API_LOG_NAME = "api-requests.log"
S3_LOG_NAME = "s3-requests.log"
HTTP_STATE_LOG_NAME = "http-state-requests.log"
#: The label the rehearsal API puts on every node; it scales to any node count, unlike hostnames.
ROLE_LABEL = "gloriousflywheel.io/role"
#: DESIGN.md §4: the stacks and their dependencies, in a valid order.
STACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("attic", ()),
    ("arc-runners", ("attic",)),
    ("gitlab-runners", ("attic",)),
    ("runner-dashboard", ("arc-runners", "gitlab-runners")),
)
STACK_ROLES: dict[str, str] = {"attic": "bumble", "arc-runners": "sting", "gitlab-runners": "sting",
                               "runner-dashboard": "bumble"}
#: Variables holding the HTTP state server's address and credentials (for migration rehearsals).
HTTP_STATE_URL_ENV = "GFW_HTTP_STATE_URL"
HTTP_STATE_ADDRESS_ENV = "GFW_HTTP_STATE_ADDRESS"
HTTP_STATE_USERNAME_ENV = "GFW_HTTP_STATE_USERNAME"
HTTP_STATE_PASSWORD_ENV = "GFW_HTTP_STATE_PASSWORD"


@dataclass(frozen=True)
class WorkspaceFiles:
    """What :func:`prepare_workspace` wrote, and the environment that goes with it."""

    dir: Path
    kubeconfig_path: Path
    config_path: Path
    bucket: str
    env: dict[str, str] = field(default_factory=dict)


def kubeconfig_document(*, server: str, ca_pem: bytes, token: str) -> dict[str, Any]:
    """A kubeconfig with cluster, user and context ``honey`` (current) for ``server``."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CLUSTER, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
        }}],
        "users": [{"name": KUBE_USER, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CLUSTER, "user": KUBE_USER}}],
        "current-context": CONTEXT,
    }


def write_private_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically with mode 0600 (never readable by others, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text, 0o600, sync_dir=False)  # the temp file is created 0600 too
    return path


def write_kubeconfig(path: Path, *, server: str, ca_pem: bytes, token: str) -> Path:
    """Write the rehearsal kubeconfig (:func:`kubeconfig_document`) to ``path``, mode 0600."""
    import yaml

    return write_private_file(path, yaml.safe_dump(kubeconfig_document(server=server, ca_pem=ca_pem, token=token),
                                                   sort_keys=False))


def org_config(*, api_url: str, kubeconfig_path: Path, s3_endpoint: str, bucket: str,
               http_address: str | None = None, http_username: str | None = None,
               fingerprint: tuple[str, str] | None = None) -> "OrgConfig":
    """The rehearsal organization config (validated by :class:`gfwizard.orgconfig.OrgConfig`).

    ``fingerprint`` is ``(kube_system_uid, ca_sha256)`` to pin, or None to leave pinning to the wizard.
    """
    from gfwizard.orgconfig import OrgConfig

    roles = {role: {"node_selector": {ROLE_LABEL: role}} for role in ("bumble", "sting")}
    state: dict[str, Any] = {
        "backend": "s3",
        "s3": {"endpoint": s3_endpoint, "bucket": bucket, "region": "us-east-1",
               "key_prefix": "gloriousflywheel", "use_lockfile": True, "use_path_style": True},
    }
    if http_address:
        state["http"] = {"address": http_address, "lock_address": http_address + "/lock",
                         "unlock_address": http_address + "/lock", "username": http_username}
    document: dict[str, Any] = {
        "version": 1,
        "organization": {"name": "tinyland", "full_name": "Tinyland (rehearsal)"},
        "cluster": {
            "name": CLUSTER,
            "context": CONTEXT,
            "kubeconfig": str(kubeconfig_path),
            "api_server": api_url,
            "network": "loopback",
            "fingerprint": ({"kube_system_uid": fingerprint[0], "ca_sha256": fingerprint[1]}
                            if fingerprint else None),
            "legacy_contexts": ["tinyland-civo-dev"],
        },
        "placement": {"roles": roles, "stacks": dict(STACK_ROLES)},
        "state": state,
        "environments": {
            "dev": {"cluster": CLUSTER, "tfvars": "dev.tfvars"},
            "prod": {"cluster": CLUSTER, "tfvars": "prod.tfvars", "require_confirmation": True},
        },
        "stacks": [{"name": name, "depends_on": list(deps)} for name, deps in STACKS],
    }
    return OrgConfig.model_validate(document)


def rehearsal_env(*, workspace: Path, kubeconfig_path: Path, config_path: Path, s3: "RehearsalS3",
                  http_state: "HttpStateServer | None" = None) -> dict[str, str]:
    """The environment variables that point gfwizard, kubectl, boto3 and tofu at the rehearsal."""
    env = {
        "KUBECONFIG": str(kubeconfig_path),
        CONFIG_ENV: str(config_path),
        WORKSPACE_ENV: str(workspace),
        **s3.env(),
        # boto3 reads AWS_DEFAULT_REGION, terraform and the AWS CLI v2 read AWS_REGION.
        "AWS_DEFAULT_REGION": s3.region,
        # Keep every AWS client (boto3, tofu) away from ~/.aws and the instance metadata service.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if http_state is not None:
        env[HTTP_STATE_URL_ENV] = http_state.url
        env[HTTP_STATE_ADDRESS_ENV] = http_state.address_template
        env[HTTP_STATE_USERNAME_ENV] = http_state.username
        env[HTTP_STATE_PASSWORD_ENV] = http_state.password
    return env


def prepare_workspace(directory: Path, *, api: "RehearsalAPIServer", s3: "RehearsalS3",
                      http_state: "HttpStateServer | None" = None, bucket: str | None = None,
                      pin_fingerprint: bool = True) -> WorkspaceFiles:
    """Create a bucket (fresh name unless given; versioned) and write the kubeconfig and
    organization.yaml for running servers into ``directory``. Returns the paths and the env."""
    from gfwizard.orgconfig import save_config

    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()
    bucket = s3.create_bucket(bucket, versioning=True)
    kubeconfig_path = write_kubeconfig(directory / KUBECONFIG_NAME, server=api.url, ca_pem=api.ca_pem,
                                       token=api.admin_token)
    cfg = org_config(
        api_url=api.url, kubeconfig_path=kubeconfig_path, s3_endpoint=s3.endpoint, bucket=bucket,
        http_address=http_state.address_template if http_state is not None else None,
        http_username=http_state.username if http_state is not None else None,
        fingerprint=(api.kube_system_uid, api.ca_sha256) if pin_fingerprint else None,
    )
    config_path = save_config(cfg, directory / CONFIG_NAME)
    env = rehearsal_env(workspace=directory, kubeconfig_path=kubeconfig_path, config_path=config_path,
                        s3=s3, http_state=http_state)
    return WorkspaceFiles(dir=directory, kubeconfig_path=kubeconfig_path, config_path=config_path,
                          bucket=bucket, env=env)


class RehearsalEnvironment:
    """The whole rehearsal: API server, S3 endpoint, HTTP state server and a workspace.

    ``workspace`` None means a new temp directory. A given directory must be empty or absent, and its
    parent must exist (no parents are created); it is emptied (or removed, if this environment created
    it) on :meth:`stop` unless ``keep`` is True.
    :attr:`dir` keeps naming the workspace after :meth:`stop`.
    """

    def __init__(self, workspace: Path | None = None, nodes: int = 3, pods: int = 0, keep: bool = False,
                 *, latency: float = 0.0, pin_fingerprint: bool = True) -> None:
        if nodes < 1:
            raise InputError(f"--nodes must be at least 1 (got {nodes})", remedy="pass --nodes 3 (the default)")
        if pods < 0:
            raise InputError(f"--pods must not be negative (got {pods})", remedy="pass --pods 0 (the default)")
        self.requested_dir = workspace
        self.nodes = nodes
        self.pods = pods
        self.keep = keep
        self.latency = latency
        self.pin_fingerprint = pin_fingerprint
        self.dir: Path | None = None
        self.files: WorkspaceFiles | None = None
        self.api: RehearsalAPIServer | None = None
        self.s3: RehearsalS3 | None = None
        self.http_state: HttpStateServer | None = None
        self._created_dir = False

    # -- the workspace's files --------------------------------------------------------------

    def _require(self) -> WorkspaceFiles:
        if self.files is None:
            raise InputError("the rehearsal environment is not running", remedy="call start() first")
        return self.files

    @property
    def kubeconfig_path(self) -> Path:
        """``<workspace>/kubeconfig-honey.yaml``."""
        return self._require().kubeconfig_path

    @property
    def config_path(self) -> Path:
        """``<workspace>/organization.yaml``."""
        return self._require().config_path

    @property
    def bucket(self) -> str:
        """The state bucket created on the embedded S3 endpoint."""
        return self._require().bucket

    @property
    def env(self) -> dict[str, str]:
        """KUBECONFIG, GFW_CONFIG, GFW_WORKSPACE, AWS_* and GFW_HTTP_STATE_* for this rehearsal."""
        return dict(self._require().env)

    # -- lifecycle ---------------------------------------------------------------------------

    def _make_dir(self) -> Path:
        if self.requested_dir is None:
            self._created_dir = True
            return Path(tempfile.mkdtemp(prefix="gfw-rehearsal-")).resolve()
        target = self.requested_dir.expanduser()
        try:
            exists = target.exists()
        except OSError as exc:  # a name too long for the file system, a directory above it that cannot be searched
            raise InputError(f"rehearsal workspace {target} cannot be used: {exc.strerror or exc}; nothing was "
                             "started", remedy="pass a new or empty directory in a writable place, or omit "
                                               "--workspace for a temp directory") from None
        if exists:
            if not target.is_dir():
                raise InputError(f"rehearsal workspace {target} exists and is not a directory",
                                 remedy="pass a new or empty directory, or omit it for a temp directory")
            if any(target.iterdir()):
                raise InputError(f"rehearsal workspace {target} is not empty; nothing was written",
                                 remedy="pass a new or empty directory, or omit it for a temp directory")
        else:
            if not target.parent.exists():
                # Only the workspace itself is removed at shutdown: parents made for it would be left behind.
                raise InputError(f"rehearsal workspace {target}: directory {target.parent} does not exist; nothing "
                                 "was started", remedy="create the directory first, pass a workspace in an existing "
                                                       "directory, or omit --workspace for a temp directory")
            try:
                target.mkdir(mode=0o700)
            except OSError as exc:  # a file further up, no permission, a read-only file system
                raise InputError(f"cannot create rehearsal workspace {target}: {exc.strerror or exc}; nothing was "
                                 "started", remedy="pass a new or empty directory in a writable place, or omit "
                                                   "--workspace for a temp directory") from None
            self._created_dir = True
        return target.resolve()

    def start(self) -> "RehearsalEnvironment":
        """Start the three servers and write the workspace; on any failure, undo what was started."""
        if self.files is not None:
            return self
        self._created_dir = False
        self.dir = self._make_dir()
        try:
            from gfwizard.rehearsal.apiserver import RehearsalAPIServer
            from gfwizard.rehearsal.httpstate import HttpStateServer
            from gfwizard.rehearsal.s3 import RehearsalS3

            self.api = RehearsalAPIServer(nodes=self.nodes, pods=self.pods, latency=self.latency,
                                          log_path=self.dir / API_LOG_NAME).start()
            self.s3 = RehearsalS3(log_path=self.dir / S3_LOG_NAME).start()
            self.http_state = HttpStateServer(username="rehearsal", password=secrets.token_urlsafe(24),
                                              log_path=self.dir / HTTP_STATE_LOG_NAME).start()
            self.files = prepare_workspace(self.dir, api=self.api, s3=self.s3, http_state=self.http_state,
                                           pin_fingerprint=self.pin_fingerprint)
        except BaseException:
            self.stop()
            raise
        return self

    def seed_legacy_http_state(self, environment: str = "dev") -> list["LegacyStack"]:
        """Deploy every stack of ``environment`` onto the HTTP state server, as an environment not yet
        moved to S3 (:mod:`gfwizard.rehearsal.legacy_state`), and add ``TF_HTTP_USERNAME`` and
        ``TF_HTTP_PASSWORD`` (what ``backend migrate`` and the Backend step read) to :attr:`env`."""
        from gfwizard.rehearsal.legacy_state import seed_legacy_http_state

        files = self._require()
        assert self.http_state is not None
        seeded = seed_legacy_http_state(self, environment=environment)
        files.env.update(TF_HTTP_USERNAME=self.http_state.username, TF_HTTP_PASSWORD=self.http_state.password)
        return seeded

    def stop(self) -> None:
        """Stop every server (ports freed) and remove the workspace unless kept (idempotent)."""
        servers = (self.http_state, self.s3, self.api)
        self.http_state = self.s3 = self.api = None
        self.files = None
        for server in servers:
            if server is not None:
                server.stop()
        if self.dir is None or self.keep or not self.dir.exists():
            return
        if self._created_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        # A directory the caller gave us was empty: everything in it is ours.
        for child in self.dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def __enter__(self) -> "RehearsalEnvironment":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
