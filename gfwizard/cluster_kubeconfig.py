"""Read one context out of one or more kubeconfig files, without running anything or writing anything.

Files are merged by the rules of the Kubernetes client's ``KubeConfigMerger`` (first file to define
a name wins, as kubectl does), without importing the client. A file with no YAML document (empty, or only
whitespace or comments) is skipped as kubectl skips it, where that client would refuse the whole list; the
context remembers it, so the check that read it can say so. The chosen context is then cut out into
a standalone config dict: its cluster and user, with every relative file path made absolute against
the file that defined it, so the client can be built from the dict alone.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.cluster_tls import check_tls_material
from gfwizard.kubeconfig_env import TildeEntry, empty_files_note, entries, kubectl_path, no_file_note, tilde_entries
from gfwizard.kubeconfig_files import duplicate_name, unread_special
from gfwizard.kubeconfig_perms import ExposedCredential, exposed_credentials, exposure_note
from gfwizard.kubeconfig_secrets import refuse_unsendable_token
from gfwizard.paths import expand
from gfwizard.x509_der import first_certificate_der, not_valid_after

_PATH_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


@dataclass(frozen=True)
class ContextTarget:
    """What the kubeconfig says about one context. Holds no secret."""

    context: str
    files: tuple[str, ...]
    context_file: str
    cluster_name: str
    server: str
    user_name: str
    user_file: str
    auth_kind: str
    ca_pem: bytes | None
    ca_source: str
    insecure_skip_tls_verify: bool
    client_cert_not_after: dt.datetime | None
    exec_command: str | None
    #: ``KUBECONFIG`` entries written with a literal ``~``: kubectl (and so this resolution) did not read
    #: the file they were meant to name.
    unexpanded: tuple[TildeEntry, ...] = ()
    #: The cluster's ``proxy-url`` without any ``user:password@`` ("" when there is none).
    proxy_url: str = ""
    #: The file whose entry defines the cluster ("" when unknown: then the context's file).
    cluster_file: str = ""
    #: The cluster's ``tls-server-name`` ("" when there is none): the name the server's certificate is checked for.
    tls_server_name: str = ""
    #: Files holding the user's credential that other local users may read (mode only; see kubeconfig_perms).
    exposed: tuple[ExposedCredential, ...] = ()
    #: Kubeconfig files of the list that hold no YAML document (empty, only whitespace or comments): skipped,
    #: as kubectl skips them. Not in :attr:`files`.
    skipped_empty: tuple[str, ...] = ()

    @property
    def cluster_where(self) -> str:
        """The file to fix the cluster entry in (``cluster_file``, else the context's file)."""
        return self.cluster_file or self.context_file

    def unexpanded_note(self) -> tuple[str, str]:
        """``(detail, remedy)`` about :attr:`unexpanded` (empty strings when there is none)."""
        return tilde_note(self.unexpanded)

    def empty_note(self) -> tuple[str, str]:
        """``(detail, remedy)`` about :attr:`skipped_empty` (empty strings when there is none)."""
        return empty_files_note(self.skipped_empty)

    def exposure_note(self) -> tuple[str, str]:
        """``(detail, remedy)`` about :attr:`exposed` (empty strings when there is none), for a sentence that
        has already named :attr:`context_file`."""
        return exposure_note(self.exposed, named=self.context_file)

    @property
    def ca_sha256(self) -> str | None:
        """Hex SHA-256 of the DER encoding of the kubeconfig's cluster CA certificate (first in the bundle)."""
        return ca_sha256(self.ca_pem) if self.ca_pem else None


def ca_sha256(pem: bytes) -> str:
    """Hex SHA-256 of the DER encoding of the first certificate in ``pem`` (ValueError if there is none)."""
    return hashlib.sha256(first_certificate_der(pem)).hexdigest()


#: ``origin`` of a kubeconfig path taken from ``cluster.kubeconfig`` in organization.yaml.
CONFIG_ORIGIN = "cluster.kubeconfig"
#: ``origin`` of ``cluster.kubeconfig`` in the wizard's draft while no organization.yaml exists yet: there is no
#: field in a file to fix, so a remedy says where the wizard takes the kubeconfig from instead.
DRAFT_ORIGIN = "draft cluster.kubeconfig"
#: What to do about the draft's kubeconfig or context (:data:`DRAFT_ORIGIN`).
DRAFT_REMEDY = ("there is no organization.yaml yet to correct: go Back (Esc) to the wizard's Kubeconfig step and "
                "pick honey's context in the file that holds it, or write organization.yaml first with `gfwizard "
                "config init --plain` (it asks the kubeconfig file and the context), then start the wizard again "
                "(`gfwizard wizard`)")
#: ``context_origin`` of a context the operator named on the command line.
CONTEXT_FLAG = "--context"
#: ``origin`` of a kubeconfig path the operator named on the command line.
KUBECONFIG_FLAG = "--kubeconfig"


def kubeconfig_paths(kubeconfig: str | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """The kubeconfig files to merge: ``kubeconfig`` (may be a ``:``-list; ``~`` and ``$VAR`` expanded, as
    gfwizard's own setting), else ``$KUBECONFIG`` read exactly as kubectl reads it (nothing expanded,
    relative to the current directory: see :mod:`gfwizard.kubeconfig_env`), else ~/.kube/config."""
    environ = os.environ if environ is None else environ
    if kubeconfig:
        return [str(expand(p)) for p in kubeconfig.split(os.pathsep) if p]
    if environ.get("KUBECONFIG"):
        return [kubectl_path(entry) for entry in entries(environ["KUBECONFIG"])]
    return [str(Path.home() / ".kube" / "config")]


def tilde_note(tildes: tuple[TildeEntry, ...] | list[TildeEntry]) -> tuple[str, str]:
    """``(detail, remedy)`` for ``KUBECONFIG`` entries written with a literal ``~`` ("" when none)."""
    if not tildes:
        return "", ""
    return "; ".join(t.problem() for t in tildes), "; ".join(t.remedy() for t in tildes)


def file_stamp(paths: list[str]) -> tuple[float, ...]:
    """Modification times of ``paths`` (-1 for a missing file): a cached client is rebuilt when they change."""
    return tuple(os.stat(p).st_mtime if os.path.exists(p) else -1.0 for p in paths)


@dataclass
class _Node:
    """A merged kubeconfig value and the file it came from (the shape of the client's ``ConfigNode``)."""

    value: Any
    path: str


class _MergeError(Exception):
    """What the client's merger raises as ``ConfigException`` (``remedy``: what to do, when known)."""

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.remedy = remedy


def _refuse_duplicate_names(config: Any, path: str) -> None:
    """A file that names one cluster, context or user twice: the Python client keeps the first, but
    kubectl and the stacks' providers (client-go) refuse the whole file, so the deploy would fail."""
    if not isinstance(config, dict):
        return
    for item in ("clusters", "contexts", "users"):
        # An empty name counts here (client-go refuses two of them); discovery skips nameless entries instead.
        names = [entry.get("name") for entry in config.get(item) or [] if isinstance(entry, dict)]
        name = duplicate_name(n for n in names if isinstance(n, str))
        if name is not None:
            raise _MergeError(f"{path} names {item[:-1]} {name!r} twice: kubectl and the stacks' providers "
                              "(client-go) refuse such a file",
                              remedy=f"remove or rename one of the two {item[:-1]} entries {name!r} in {path}")


def _merge_files(paths: list[str]) -> tuple[_Node | None, list[str]]:
    """The Kubernetes client's ``KubeConfigMerger``, step for step, without importing the client (that
    import alone costs a deploy gate more than the rest of its work): the first file's document is the
    base; ``clusters``, ``contexts`` and ``users`` are merged by name, the first file to define a name
    winning; the last ``current-context`` is kept. Odd documents fail the way they fail there, except a
    file with no YAML document, which is skipped as kubectl skips it (the client refuses the whole list:
    "Invalid kube-config. <path> file is empty"). Returns the merged node (None when every file was
    skipped) and the files skipped."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    merged: _Node | None = None
    skipped: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            config = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
        if config is None:
            # client-go reads an empty file, or one of only whitespace or comments, as an empty config.
            skipped.append(path)
            continue
        if merged is None:
            base = copy.deepcopy(config)
            for item in ("clusters", "contexts", "users"):
                base[item] = []
            merged = _Node(base, path)
        _refuse_duplicate_names(config, path)
        for item in ("clusters", "contexts", "users"):
            for new_item in config.get(item, []) or []:
                for exists in merged.value[item]:
                    if "name" not in exists.value:
                        raise _MergeError(f"Invalid kube-config file. Expected key name in {exists.path}/{item}")
                    if exists.value["name"] == new_item["name"]:
                        break
                else:
                    merged.value[item].append(_Node(new_item, path))
        if "current-context" in config:
            merged.value["current-context"] = config["current-context"]
    return merged, skipped


def missing_file_remedy(missing: list[str], explicit: bool, origin: str = "") -> str:
    """What to do about kubeconfig files that do not exist, by where their names came from."""
    named = ", ".join(missing)
    if explicit and origin == DRAFT_ORIGIN:
        return f"the wizard's draft names {named}, which does not exist, as the kubeconfig: {DRAFT_REMEDY}"
    if explicit and origin == CONFIG_ORIGIN:
        # KUBECONFIG is not read while cluster.kubeconfig is set: exporting it cannot be the fix.
        return (f"cluster.kubeconfig in organization.yaml names {named}, which does not exist: fix cluster.kubeconfig, "
                "or empty it to use KUBECONFIG (ignored while cluster.kubeconfig is set)")
    if explicit:
        return f"{named} does not exist: point at an existing kubeconfig file (e.g. ~/.kube/kubeconfig-honey.yaml)"
    return ("set cluster.kubeconfig in organization.yaml or export KUBECONFIG (`gfwizard validate` also takes "
            "--kubeconfig PATH)")


def _directory_error(directory: str, explicit: bool, origin: str) -> ClusterAccessError:
    """A kubeconfig path that is a directory. kubectl and the stacks' providers (client-go) skip a missing
    file but refuse a list holding a directory ("read DIR: is a directory"), so it cannot be skipped here."""
    if explicit and origin == DRAFT_ORIGIN:
        remedy = f"the wizard's draft names the directory {directory} as the kubeconfig: {DRAFT_REMEDY}"
    elif explicit and origin == CONFIG_ORIGIN:
        remedy = f"point cluster.kubeconfig in organization.yaml at the kubeconfig file inside {directory}, not at it"
    elif explicit:
        remedy = f"name a kubeconfig file, not the directory {directory}"
    else:
        remedy = f"remove {directory} from KUBECONFIG, or name the kubeconfig file inside it"
    return ClusterAccessError(
        "kubeconfig", f"kubeconfig path {directory} is a directory, not a file: kubectl and the stacks' providers "
                      "(client-go) refuse a kubeconfig list that holds one", remedy)


def _special_error(path: str, kind: str, explicit: bool, origin: str) -> ClusterAccessError:
    """A kubeconfig path that is a FIFO, a device (but /dev/null) or a socket. gfwizard never opens it (the read
    could block or never end); kubectl and the stacks' providers read every file of the list, so they would wait
    on a FIFO nobody writes, and a pipe such as ``<(…)`` is used up by its first reader: it cannot be skipped
    as if it were missing."""
    file_remedy = "write the kubeconfig to a regular file first (mode 0600, e.g. ~/.kube/kubeconfig-honey.yaml)"
    if explicit and origin == DRAFT_ORIGIN:
        remedy = f"the wizard's draft names {path}, {kind}, as the kubeconfig: {DRAFT_REMEDY}"
    elif explicit and origin == CONFIG_ORIGIN:
        remedy = f"{file_remedy} and point cluster.kubeconfig in organization.yaml at it"
    elif explicit:
        remedy = f"{file_remedy} and name that file"
    else:
        remedy = f"{file_remedy} and put it in KUBECONFIG instead of {path}"
    return ClusterAccessError(
        "kubeconfig", f"kubeconfig path {path} is {kind}, not a regular file: it is not read (the read could block "
                      "or never end), and kubectl and the stacks' providers (client-go), which read every file of "
                      "the list, would wait on it (a pipe such as `<(…)` is used up by its first reader)", remedy)


def _load_merged(paths: list[str], explicit: bool, origin: str = "",
                 tildes: tuple[TildeEntry, ...] = ()) -> tuple[Any, list[str]]:
    """The merged kubeconfig of ``paths`` and the files skipped because they hold no YAML document."""
    import yaml

    directory = next((p for p in paths if os.path.isdir(p)), None)
    if directory is not None:
        raise _directory_error(directory, explicit, origin)
    special = next(((p, kind) for p in paths if (kind := unread_special(p))), None)
    if special is not None:
        raise _special_error(*special, explicit, origin)
    existing = [p for p in paths if os.path.isfile(p)]
    missing = [p for p in paths if not os.path.isfile(p)]
    if not existing or (explicit and missing):
        note, remedy = tilde_note(tildes)
        raise ClusterAccessError(
            "kubeconfig", f"kubeconfig file not found: {', '.join(missing or paths)}" + (f" ({note})" if note else ""),
            remedy or missing_file_remedy(missing or paths, explicit, origin))
    try:
        merged, skipped = _merge_files(existing)
    except yaml.MarkedYAMLError as exc:
        # One line naming the file at fault (the error's own text spreads the position over several lines).
        mark = exc.problem_mark or exc.context_mark
        where = f"{mark.name}: not valid YAML at line {mark.line + 1}, column {mark.column + 1}" if mark else \
            f"{', '.join(existing)}: not valid YAML"
        raise ClusterAccessError("kubeconfig", f"cannot read kubeconfig {where}: {exc.problem or exc.context}",
                                 "fix the YAML of the kubeconfig file (kubectl config view shows what it parses)"
                                 ) from exc
    except (yaml.YAMLError, _MergeError, OSError, UnicodeDecodeError) as exc:
        raise ClusterAccessError("kubeconfig", f"cannot read kubeconfig {', '.join(existing)}: {exc}",
                                 getattr(exc, "remedy", "") or
                                 "fix the YAML of the kubeconfig file (kubectl config view shows what it parses)") from exc
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        # The merger indexes whatever the YAML holds: a scalar or list document, a nameless entry.
        raise ClusterAccessError("kubeconfig", f"kubeconfig {', '.join(existing)} is not a kubeconfig mapping with "
                                               f"named clusters, contexts and users ({type(exc).__name__}: {exc})",
                                 "fix the kubeconfig file (kubectl config view shows what it parses)") from exc
    if merged is None:
        named = ", ".join(existing)
        what = "it is" if len(existing) == 1 else "they are"
        raise ClusterAccessError(
            "kubeconfig", f"kubeconfig {named} holds no configuration: {what} empty (no YAML document, only "
                          "whitespace or comments), and kubectl skips an empty file",
            f"put honey's kubeconfig into {named}, or " + (DRAFT_REMEDY if origin == DRAFT_ORIGIN else
                                                           "name the file that holds it (cluster.kubeconfig in "
                                                           "organization.yaml, KUBECONFIG or --kubeconfig)"))
    return merged, skipped


def _named(node: Any, section: str, name: str) -> Any | None:
    for item in node.value.get(section) or []:
        value = item.value if hasattr(item, "value") else item
        if isinstance(value, dict) and value.get("name") == name:
            return item
    return None


def _names(node: Any, section: str) -> str:
    """The names defined in one section of the merged kubeconfig, for a message ('none' when empty)."""
    entries = [item.value if hasattr(item, "value") else item for item in node.value.get(section) or []]
    return ", ".join(sorted(str(e.get("name")) for e in entries if isinstance(e, dict))) or "none"


def unauthorized_remedy(target: ContextTarget) -> str:
    """What to do when the API answers 401 for ``target``'s user (the same words from every client)."""
    where = target.user_file or target.context_file
    if target.auth_kind == "exec":
        return f"log in again with the exec plugin ({target.exec_command}) and retry"
    if target.auth_kind == "cert":
        return f"the client certificate of user {target.user_name!r} is not accepted: get a fresh kubeconfig for honey"
    if target.auth_kind == "none":
        who = f"user {target.user_name!r} in {where} has" if target.user_name else \
            f"context {target.context!r} in {where} names no user, so it has"
        return f"{who} no credentials (no token, client certificate or exec plugin): get a fresh kubeconfig for honey"
    return f"the token of user {target.user_name!r} in {where} is invalid or expired: get a fresh kubeconfig for honey"


def _mapping(value: Any, what: str, files: tuple[str, ...]) -> dict[str, Any]:
    """``value`` when it is a mapping (None counts as empty); a hand-edited kubeconfig may hold anything."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ClusterAccessError("kubeconfig", f"{what} in {', '.join(files)} is a {type(value).__name__}, "
                                               "not a mapping", "fix the kubeconfig file (kubectl config view shows "
                                                                "what it parses)")
    return value


def _absolutise(entry: dict[str, Any], base: str) -> dict[str, Any]:
    out = copy.deepcopy(entry)
    for key in _PATH_KEYS:
        if out.get(key) and not out.get(f"{key}-data"):
            out[key] = os.path.normpath(os.path.join(base, str(expand(out[key]))))
    return out


def _auth_kind(user: Mapping[str, Any]) -> str:
    if "exec" in user:
        return "exec"
    if "auth-provider" in user:
        provider = (user["auth-provider"] or {}).get("name", "")
        return "oidc" if provider == "oidc" else f"auth-provider:{provider}"
    if user.get("token") or user.get("tokenFile"):
        return "token"
    if user.get("client-certificate-data") or user.get("client-certificate"):
        return "cert"
    if user.get("username"):
        return "basic"
    return "none"


def _not_after(pem: bytes | None) -> dt.datetime | None:
    if not pem:
        return None
    try:
        return not_valid_after(first_certificate_der(pem))
    except ValueError:
        return None


def _proxy_url(value: Any) -> str:
    """A cluster's ``proxy-url`` to show: its password registered as a secret, its ``user:password@`` left out."""
    from urllib.parse import urlsplit

    from gfwizard.kubeconfig_files import _without_userinfo
    from gfwizard.redact import register_secret

    if not value:
        return ""
    text = str(value)
    try:
        register_secret(urlsplit(text).password)
    except ValueError:
        pass
    return _without_userinfo(text)


def _unknown_context_remedy(context: str, origin: str, context_origin: str) -> str:
    """Where to fix a context that is not in the kubeconfig: where its name, or the file, was given."""
    if context_origin == CONTEXT_FLAG:
        return (f"pass {CONTEXT_FLAG} one of those names (`gfwizard discover` lists every context and its file), or "
                f"leave {CONTEXT_FLAG} out to validate cluster.context")
    if origin == KUBECONFIG_FLAG:
        # The file came from the command line: organization.yaml's cluster.kubeconfig was not read at all.
        return (f"pass {KUBECONFIG_FLAG} a file that has context {context!r} (`gfwizard discover` lists every context "
                f"and its file), pick one of those names with {CONTEXT_FLAG} NAME, or leave {KUBECONFIG_FLAG} out to "
                "use cluster.kubeconfig / KUBECONFIG")
    if origin == DRAFT_ORIGIN:
        return DRAFT_REMEDY
    return ("set cluster.context in organization.yaml to one of those names (or fix cluster.kubeconfig); "
            "`gfwizard validate --context NAME` checks one first")


def resolve_context(kubeconfig: str | None, context: str, environ: Mapping[str, str] | None = None,
                    origin: str = "", context_origin: str = "") -> tuple[ContextTarget, dict[str, Any]]:
    """Find ``context`` in the kubeconfig files; return what they say and a standalone config dict.

    Raises :class:`ClusterAccessError` (kind ``kubeconfig``) when a file, the context, its cluster
    or the user it names is missing, naming what is there instead (kubectl refuses such a context too).
    A context that names no user is read as anonymous. ``origin`` is where ``kubeconfig`` came from
    (:data:`CONFIG_ORIGIN` for ``cluster.kubeconfig``, :data:`DRAFT_ORIGIN` for the wizard's draft of a file
    that does not exist yet, :data:`KUBECONFIG_FLAG` for the flag), so a missing
    file or context gets the right remedy;
    ``context_origin`` likewise for ``context`` (:data:`CONTEXT_FLAG` when the operator passed it).
    """
    environ = os.environ if environ is None else environ
    paths = kubeconfig_paths(kubeconfig, environ)
    # Entries written with a literal '~' are read as kubectl reads them; say so wherever it matters.
    tildes = () if kubeconfig else tuple(tilde_entries(environ))
    if not paths and not kubeconfig:
        raise ClusterAccessError("kubeconfig", *no_file_note(environ.get("KUBECONFIG", "")))
    merged, skipped = _load_merged(paths, explicit=bool(kubeconfig), origin=origin, tildes=tildes)
    files = tuple(p for p in paths if os.path.isfile(p) and p not in skipped)
    ctx_node = _named(merged, "contexts", context)
    if ctx_node is None:
        note, remedy = tilde_note(tildes)
        empty, _ = empty_files_note(skipped)
        raise ClusterAccessError(
            "kubeconfig", f"context {context!r} not found in {', '.join(files)} (contexts there: "
                          f"{_names(merged, 'contexts')})" + "".join(f"; {n}" for n in (note, empty) if n),
            remedy or _unknown_context_remedy(context, origin, context_origin))
    ctx = _mapping(ctx_node.value.get("context"), f"context {context!r}", files)
    ctx_file = getattr(ctx_node, "path", None) or files[0]
    cluster_name = str(ctx.get("cluster") or "")
    cluster_node = _named(merged, "clusters", cluster_name) if cluster_name else None
    if cluster_node is None:
        # kubectl refuses such a context ("cluster ... was not found"); never guess a server for it.
        named = f"names cluster {cluster_name!r}, which has no entry" if cluster_name else "names no cluster"
        raise ClusterAccessError(
            "kubeconfig", f"context {context!r} in {ctx_file} {named} in {', '.join(files)} "
                          f"(clusters there: {_names(merged, 'clusters')})",
            f"add the cluster entry {cluster_name or 'honey'!r} (server, certificate-authority-data) to {ctx_file}, "
            "or point the context at one of the clusters there")
    cluster_file = getattr(cluster_node, "path", None) or ctx_file
    cluster_body = _mapping(cluster_node.value.get("cluster"), f"cluster {cluster_name!r}", files)
    if not cluster_body.get("server"):
        raise ClusterAccessError(
            "kubeconfig", f"context {context!r} names cluster {cluster_name!r}, whose entry in {cluster_file} has no "
                          "server", f"add honey's server URL to cluster {cluster_name!r} in {cluster_file}")
    cluster = _absolutise(cluster_body, os.path.dirname(os.path.abspath(cluster_file)))
    user_name = str(ctx.get("user") or "")
    user_node = _named(merged, "users", user_name) if user_name else None
    if user_name and user_node is None:
        # kubectl refuses such a context (user "..." was not found); the Python client would send the
        # requests without credentials instead.
        raise ClusterAccessError(
            "kubeconfig", f"context {context!r} in {ctx_file} names user {user_name!r}, which has no entry in "
                          f"{', '.join(files)} (users there: {_names(merged, 'users')})",
            f"add the user entry {user_name!r} (its token, client certificate or exec plugin) to {ctx_file}, or get "
            "a fresh kubeconfig for honey")
    user_file = (getattr(user_node, "path", None) or ctx_file) if user_node is not None else ""
    user = (_absolutise(_mapping(user_node.value.get("user"), f"user {user_name!r}", files),
                        os.path.dirname(os.path.abspath(user_file)))
            if user_node is not None else {})
    if isinstance(user.get("token"), str):
        refuse_unsendable_token(
            user["token"], where=f"the token of user {user_name!r} in {user_file}",
            remedy=f"remove the line break from users[].user.token of user {user_name!r} in {user_file} (a YAML "
                   "block scalar written with `|` keeps a final one; `|-` or a plain one-line value does not), "
                   "or get a fresh kubeconfig for honey")
    tls = check_tls_material(cluster, user, cluster_name=cluster_name, cluster_file=cluster_file,
                             user_name=user_name, user_file=user_file)
    exec_cfg = _mapping(user.get("exec"), f"user {user_name!r} exec", files)
    auth_kind = _auth_kind(user)
    target = ContextTarget(
        context=context, files=files, context_file=ctx_file, cluster_name=cluster_name,
        server=str(cluster["server"]).rstrip("/"), user_name=user_name, user_file=user_file,
        auth_kind=auth_kind, ca_pem=tls.ca_pem,
        ca_source=f"{tls.ca_source} of cluster {cluster_name!r} in {cluster_file}" if tls.ca_source else "",
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        client_cert_not_after=_not_after(tls.cert_pem), exec_command=exec_cfg.get("command"), unexpanded=tildes,
        proxy_url=_proxy_url(cluster.get("proxy-url")), cluster_file=cluster_file,
        tls_server_name=str(cluster.get("tls-server-name") or ""),
        exposed=exposed_credentials(user, user_file=user_file, auth_kind=auth_kind),
        skipped_empty=tuple(skipped),
    )
    standalone = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [{"name": user_name or "anonymous", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": user_name or "anonymous"}}],
    }
    return target, standalone
