"""The credentials a kubeconfig user carries, registered with the redactor before anything can print them.

An inline ``token`` or ``password`` is a value of the kubeconfig itself; a ``tokenFile`` names a file
whose contents are the bearer token. Both are registered the moment gfwizard builds a client from the
user, and when a deploy hands the kubeconfig to terraform (whose kubernetes provider reads the token
file itself), so the token is masked in transcripts, the journal, errors and ``--json`` output.
"""

from __future__ import annotations

from typing import Any, Mapping

from gfwizard.cluster_errors import AccessKind, ClusterAccessError
from gfwizard.redact import register_secret


def refuse_unsendable_token(token: str, *, where: str, remedy: str, kind: AccessKind = "kubeconfig") -> None:
    """Raise :class:`ClusterAccessError` when ``token`` holds a control character (a line break, most
    often: a ``token: |`` block scalar, a pasted value): no HTTP header may carry one, so kubectl refuses
    it too, and the HTTP library's own error would quote the whole ``Authorization`` header in clear.

    ``where`` names the token (never its value); it is registered as a secret first either way, and so
    is each piece between its control characters (a printed piece is no line of the whole).
    """
    register_secret(token)
    if any(ch < " " and ch != "\t" or ch == "\x7f" for ch in token):
        import re

        register_secret(*re.split(r"[\x00-\x08\x0a-\x1f\x7f]+", token))
        raise ClusterAccessError(kind, f"{where} contains a line break or another control character, which no "
                                       "HTTP header can carry (kubectl cannot send it either)", remedy)


def read_token_file(path: str, *, user: str, kubeconfig_file: str) -> str:
    """The token in ``path`` (a user's ``tokenFile``), surrounding whitespace removed as client-go does,
    and registered as a secret.

    Raises :class:`ClusterAccessError` (kind ``kubeconfig``) when the file cannot be read, is not UTF-8
    text or is empty; the error names the file and never shows any of its contents.
    """
    where = f"tokenFile {path} of user {user!r} in {kubeconfig_file}"
    remedy = (f"point users[].user.tokenFile of user {user!r} in {kubeconfig_file} at a readable file holding "
              "the token, or get a fresh kubeconfig for honey")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ClusterAccessError("kubeconfig", f"{where} cannot be read: {exc.strerror or type(exc).__name__}",
                                 remedy) from None
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        # The exception's text quotes a byte of the file: never shown.
        raise ClusterAccessError("kubeconfig", f"{where} is not UTF-8 text", remedy) from None
    if not token:
        raise ClusterAccessError("kubeconfig", f"{where} is empty (kubectl refuses an empty token file too)",
                                 remedy)
    refuse_unsendable_token(token, where=f"the token in {where}", remedy=remedy)
    return token


def register_user_secrets(user: Mapping[str, Any], *, user_name: str, user_file: str) -> str | None:
    """Register the inline ``token`` and ``password`` of a kubeconfig ``user`` entry and the token of its
    ``tokenFile`` (an absolute path, as ``resolve_context`` leaves it); return that file's token.

    An unreadable ``tokenFile`` is an error (:func:`read_token_file`) only when it is the credential in
    use: an inline ``token`` wins over it (as in the Kubernetes clients), and then a readable file's
    token is still registered, since client-go rereads the file to refresh the token.
    """
    register_secret(_text(user.get("token")), _text(user.get("password")))
    path = user.get("tokenFile")
    if not path:
        return None
    try:
        return read_token_file(str(path), user=user_name, kubeconfig_file=user_file)
    except ClusterAccessError:
        if user.get("token"):
            return None
        raise


def register_context_secrets(kubeconfig: str | None, context: str, environ: Mapping[str, str] | None = None) -> None:
    """Best effort, for a deploy: register the credentials of ``context``'s user before terraform, which is
    handed the same kubeconfig, can print them. A kubeconfig that cannot be read is left to the deploy
    gates, which report it with a remedy."""
    from gfwizard.cluster_kubeconfig import resolve_context

    try:
        target, config = resolve_context(kubeconfig, context, environ)
        user = config["users"][0]["user"]
        register_user_secrets(user, user_name=target.user_name, user_file=target.user_file)
    except ClusterAccessError:
        return


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None if value is None else str(value)
