"""The inputs of one stack in one environment: the cluster contract variables, and a hash of
everything that decides what a plan will contain (what ``--resume`` compares)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from gfwizard.paths import expand
from gfwizard.redact import is_secret_name

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: Files of a stack directory that cannot change its plan: docs, and what the binary or gfwizard write there
#: (state an apply could not save, rendered backend files: an environment's own one is hashed on its own).
#: Every other file counts, not only ``.tf``: ``file()`` and ``templatefile()`` read templates and values
#: files (Helm values, scripts) whose change changes the plan, so a resume must not skip that stack.
_NOT_INPUT_SUFFIXES = (".md", ".tfstate", ".tfstate.backup", ".tfplan", ".tfbackend", ".lock.info", "crash.log")
#: Environment variables whose values may be secrets in a ``TF_VAR_`` name.


@dataclass(frozen=True)
class ClusterContract:
    """The contract variables passed to every stack, and extra environment for the providers."""

    k8s_config_path: str
    cluster_context: str
    extra_env: tuple[tuple[str, str], ...] = ()

    def var_args(self) -> list[str]:
        """``-var k8s_config_path=... -var cluster_context=...``."""
        return ["-var", f"k8s_config_path={self.k8s_config_path}", "-var", f"cluster_context={self.cluster_context}"]


def cluster_contract(cfg: "OrgConfig", environ: Mapping[str, str] | None = None) -> ClusterContract:
    """The kubeconfig and context every stack gets.

    An explicit ``cluster.kubeconfig`` is passed expanded. When it is empty (ambient ``KUBECONFIG``),
    ``k8s_config_path`` stays empty and ``KUBE_CONFIG_PATHS`` is pointed at the files kubectl reads for
    ``$KUBECONFIG`` (or ``~/.kube/config``), because the hashicorp providers do not read ``KUBECONFIG``
    themselves. Each entry is passed as kubectl reads it, made absolute: the providers would expand a
    literal ``~`` that kubectl and the deploy gates do not, and tofu runs in the stack's directory, where a
    relative entry names another file.
    """
    environ = os.environ if environ is None else environ
    if cfg.cluster.kubeconfig:
        return ClusterContract(str(expand(cfg.cluster.kubeconfig)), cfg.cluster.context)
    return ClusterContract("", cfg.cluster.context, (("KUBE_CONFIG_PATHS", os.pathsep.join(_ambient(environ))),))


def _ambient(environ: Mapping[str, str]) -> list[str]:
    """The files kubectl reads with this environment: ``$KUBECONFIG``'s entries, else ``~/.kube/config``."""
    from gfwizard.kubeconfig_env import entries, kubectl_path

    if environ.get("KUBECONFIG"):
        return [kubectl_path(entry) for entry in entries(environ["KUBECONFIG"])]
    return [str(Path(environ.get("HOME", str(Path.home()))) / ".kube" / "config")]


def kubeconfig_file(cfg: "OrgConfig", environ: Mapping[str, str] | None = None) -> Path:
    """The one kubeconfig file the contract names (the first ``KUBECONFIG`` entry, as kubectl reads it, when ambient)."""
    environ = os.environ if environ is None else environ
    if cfg.cluster.kubeconfig:
        return expand(cfg.cluster.kubeconfig)
    ambient = _ambient(environ)
    return Path(ambient[0]) if ambient else Path(environ.get("HOME", str(Path.home()))) / ".kube" / "config"


def _code_files(stack_dir: Path) -> Iterable[Path]:
    for path in sorted(stack_dir.rglob("*")):
        rel = path.relative_to(stack_dir)
        if ".terraform" in rel.parts:
            continue
        if path.is_file() and not path.name.endswith(_NOT_INPUT_SUFFIXES):
            yield path


def inputs_hash(stack_dir: Path, *, backend_file: Path, var_args: Iterable[str],
                environ: Mapping[str, str] | None = None) -> str:
    """SHA-256 over the stack's code and tfvars, its backend file, the ``-var`` arguments and every
    ``TF_VAR_*`` in the environment. Equal hashes mean a new plan would start from the same inputs."""
    environ = os.environ if environ is None else environ
    digest = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    for path in _code_files(stack_dir):
        feed("file:" + path.relative_to(stack_dir).as_posix(), path.read_bytes())
    feed("backend", backend_file.read_bytes() if backend_file.exists() else b"<missing>")
    feed("vars", "\0".join(var_args).encode())
    for name in sorted(k for k in environ if k.startswith("TF_VAR_")):
        feed("env:" + name, environ[name].encode())
    return "sha256:" + digest.hexdigest()


def secret_tf_vars(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of ``TF_VAR_*`` variables whose names look like secrets (registered with the redactor)."""
    environ = os.environ if environ is None else environ
    return [v for k, v in environ.items()
            if k.startswith("TF_VAR_") and is_secret_name(k) and v]
