"""Run a kubeconfig ``exec`` credential plugin ourselves, with a deadline.

The Kubernetes client would run the plugin itself, with no timeout, and only log its failure. Here
the plugin runs in its own process group with stdin closed and ``interactive: false``; when it does
not finish in time the whole group is killed. Its stderr goes into the error, and when it prints
something that is not an ExecCredential, the start of that output does too: both redacted (the
output may hold a token), control characters escaped (it may be binary or hold terminal escapes)
and cut short (it may be huge).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

from gfwizard.cluster_errors import ClusterAccessError
from gfwizard.kubeconfig_secrets import refuse_unsendable_token
from gfwizard.redact import is_secret_name, redact, register_secret
from gfwizard.textsafe import printable

_STDERR_TAIL = 1500
#: How much of a plugin's stdout an error quotes: enough to recognise an HTML page, a banner or a wrong JSON.
_STDOUT_HEAD = 200
#: Redaction runs over a window this many times longer than what is shown, so a secret cut at the window's
#: edge lies wholly outside the part shown (and big outputs are not scanned whole).
_WINDOW = 4


@dataclass(frozen=True)
class ExecCredential:
    """What a plugin returned: a token, or a client certificate and key (PEM), and maybe an expiry."""

    token: str | None
    client_certificate_pem: str | None
    client_key_pem: str | None
    expires: dt.datetime | None
    stderr: str


def _decode(data: bytes | None) -> str:
    """A plugin's output as text: invalid UTF-8 (binary output) becomes U+FFFD instead of an exception."""
    return (data or b"").decode("utf-8", errors="replace")


def _tail(text: str) -> str:
    """The end of a plugin's stderr, safe to show: redacted, control characters escaped, at most
    :data:`_STDERR_TAIL` characters (the last lines say why it failed)."""
    text = text.strip()
    window = _STDERR_TAIL * _WINDOW
    text = printable(redact(text[-window:] if len(text) > window else text))
    return text if len(text) <= _STDERR_TAIL else "…" + text[-_STDERR_TAIL:]


def _head(text: str) -> str:
    """The start of a plugin's stdout, safe to quote: redacted, control characters escaped, at most
    :data:`_STDOUT_HEAD` characters and an ellipsis."""
    text = text.strip()
    window = _STDOUT_HEAD * _WINDOW
    text = printable(redact(text[:window] if len(text) > window else text))
    return text if len(text) <= _STDOUT_HEAD else text[:_STDOUT_HEAD] + "…"


def _not_a_credential(stdout: str) -> str:
    """Why ``stdout`` is not an ExecCredential with a ``status`` object ("" when it is one)."""
    if not stdout.strip():
        return "it printed nothing on stdout"
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        return f"its stdout is not JSON{where}"
    if not isinstance(data, dict):
        return f"its stdout is a JSON {type(data).__name__}, not an ExecCredential object"
    if "status" not in data:
        return "its JSON has no status (an ExecCredential carries its token or certificate there)"
    if not isinstance(data["status"], dict):
        return "the status of its JSON is not an object"
    return ""


def _parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def register_plugin_secrets(args: list[str], env_items: list[tuple[str, str]]) -> None:
    """Register the credentials a kubeconfig hands its exec plugin — the values of secret-named ``env``
    entries (``VAULT_TOKEN``, ``AWS_SECRET_ACCESS_KEY``) and of secret-named flags (``--token X``,
    ``--client-secret=X``) — so a plugin that echoes them on stderr does not put them in an error."""
    values = [value for name, value in env_items if is_secret_name(name)]
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        flag, eq, value = arg.partition("=")
        if not is_secret_name(flag):
            continue
        if eq:
            values.append(value)
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            values.append(args[i + 1])
    register_secret(*values)


def run_exec_plugin(exec_cfg: Mapping[str, Any], *, user: str, kubeconfig_file: str,
                    cluster: Mapping[str, Any] | None, timeout: float) -> ExecCredential:
    """Run the plugin described by a kubeconfig user's ``exec`` block and return its credential.

    Raises :class:`ClusterAccessError` (kind ``exec``) when the command is missing, exits non-zero,
    prints something that is not an ExecCredential, or does not finish within ``timeout`` seconds.
    """
    command = str(exec_cfg.get("command") or "")
    api_version = str(exec_cfg.get("apiVersion") or "client.authentication.k8s.io/v1")
    where = f"user {user!r} in {kubeconfig_file}"
    if not command:
        raise ClusterAccessError("exec", f"exec plugin of {where} has no command", "set users[].user.exec.command")
    if str(exec_cfg.get("interactiveMode") or "") == "Always":
        # client-go refuses such a plugin without a terminal on stdin, and the stacks' providers never have one.
        raise ClusterAccessError(
            "exec", f"exec plugin {command!r} of {where} has interactiveMode: Always, so it needs a terminal to prompt "
                    "on; gfwizard and the stacks' providers run it without one (kubectl refuses it too when stdin is "
                    "not a terminal)",
            f"set interactiveMode: IfAvailable in the exec block of {where} and log in first (run `{command}` or "
            "any kubectl command in a terminal), so the plugin can answer from its cached login")
    args = [command, *[str(a) for a in exec_cfg.get("args") or []]]
    env = dict(os.environ)
    env_items = [(str(item["name"]), str(item["value"])) for item in exec_cfg.get("env") or []]
    env.update(env_items)
    register_plugin_secrets(args[1:], env_items)
    info: dict[str, Any] = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    if exec_cfg.get("provideClusterInfo") and cluster is not None:
        info["spec"]["cluster"] = dict(cluster)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    cwd = os.path.dirname(os.path.abspath(kubeconfig_file)) if kubeconfig_file else None
    try:
        # Bytes, not text: a plugin printing binary must get an error quoting it, not a UnicodeDecodeError.
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=cwd, env=env, start_new_session=True)
    except OSError as exc:
        hint = str(exec_cfg.get("installHint") or "").strip()
        raise ClusterAccessError(
            "exec", f"exec plugin {command!r} of {where} cannot be started: {exc.strerror or exc}",
            hint or f"install {command!r} or fix the exec command of {where}") from exc
    try:
        out_bytes, err_bytes = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Kill the whole group: a plugin's helper holding our pipes would keep communicate() waiting.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            stderr = _decode(proc.communicate(timeout=2)[1])
        except subprocess.TimeoutExpired:
            stderr = ""
        detail = f"; stderr: {_tail(stderr)}" if stderr and stderr.strip() else ""
        raise ClusterAccessError(
            "exec", f"exec plugin {command!r} of {where} did not finish within {timeout:g}s and was killed{detail}",
            f"run `{command}` by hand to see what it waits for (a login prompt?), log in, then retry; "
            "raise --read-timeout if it is only slow") from None
    stdout, stderr = _decode(out_bytes), _decode(err_bytes)
    if proc.returncode != 0:
        detail = f": {_tail(stderr)}" if stderr.strip() else " (no stderr)"
        raise ClusterAccessError(
            "exec", f"exec plugin {command!r} of {where} exited with status {proc.returncode}{detail}",
            f"run `{command}` by hand and fix what it reports (often: log in again)")
    why = _not_a_credential(stdout)
    if why:
        printed = f"; it printed: {_head(stdout)}" if stdout.strip() else ""
        said = f"; stderr: {_tail(stderr)}" if stderr.strip() else ""
        raise ClusterAccessError(
            "exec", f"exec plugin {command!r} of {where} exited 0 but printed no valid ExecCredential ({why})"
                    f"{printed}{said}",
            f"run `{command}` by hand (with the args of the exec block of {where}) and look at what it prints: it "
            f"must print only an ExecCredential JSON ({api_version}) on stdout, with any message on stderr; a login "
            "page or banner there means it needs a login first or a flag that makes it print the credential")
    status = json.loads(stdout)["status"]
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if not token and not (cert and key):
        raise ClusterAccessError(
            "exec", f"exec plugin {command!r} of {where} returned neither a token nor a client certificate and key",
            f"check the configuration of `{command}`")
    register_secret(token, key)
    if isinstance(token, str):
        refuse_unsendable_token(token, where=f"the token exec plugin {command!r} of {where} returned",
                                remedy=f"check the configuration of `{command}` (its token must be one line)",
                                kind="exec")
    expires = _parse_time(str(status["expirationTimestamp"])) if status.get("expirationTimestamp") else None
    return ExecCredential(token=token, client_certificate_pem=cert, client_key_pem=key, expires=expires,
                          stderr=_tail(stderr))
