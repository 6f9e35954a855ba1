"""The S3 side of the state backend: which endpoint and credentials are used, a client with
explicit timeouts, and plain-language explanations of what went wrong.

botocore is imported inside functions so that importing :mod:`gfwizard.backend` stays cheap.
Credentials come from the AWS environment or a profile only: the instance-metadata and container
credential providers are removed from the chain (they would make a laptop wait on 169.254.169.254),
and no credential value is ever put into a message.
"""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

from gfwizard.backend_endpoint import CA_BUNDLE_ENV, CABundleError, NotHTTPError, ProbeReadTimeout, tls_context
from gfwizard.errors import CheckFailure, GfwError, InputError
from gfwizard.redact import redact

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: (connect, read) seconds for every S3 call.
DEFAULT_TIMEOUTS: tuple[float, float] = (3.0, 10.0)
#: Total attempts per S3 call (the first one included).
MAX_ATTEMPTS = 2
ENDPOINT_ENV = "AWS_ENDPOINT_URL_S3"
#: How :attr:`S3Target.endpoint_source` begins when ``AWS_ENDPOINT_URL_S3`` replaces a configured endpoint.
ENDPOINT_OVERRIDE = f"{ENDPOINT_ENV} (overrides state.s3.endpoint "


@dataclass(frozen=True)
class S3Target:
    """Where the state lives and how it is addressed."""

    endpoint: str
    #: Where ``endpoint`` came from, in words (shown in check output).
    endpoint_source: str
    #: True when the endpoint is an S3-compatible store (not AWS): the rendered backend skips AWS-only calls.
    custom_endpoint: bool
    config_endpoint: str
    bucket: str
    region: str
    key_prefix: str
    path_style: bool
    use_lockfile: bool

    @property
    def overrides_config(self) -> bool:
        """True when ``AWS_ENDPOINT_URL_S3`` replaces a configured endpoint: gfwizard's own S3 calls go to
        ``endpoint``, while the binary uses ``config_endpoint`` (the rendered backend files name it)."""
        return bool(self.config_endpoint) and self.endpoint != self.config_endpoint

    @property
    def override_note(self) -> str:
        """`` (that endpoint is AWS_ENDPOINT_URL_S3 (overrides state.s3.endpoint …))``, to follow a failure at
        ``endpoint`` that organization.yaml does not name (the operator would go and check that one); else ``""``."""
        return f" (that endpoint is {self.endpoint_source})" if self.overrides_config else ""


@dataclass(frozen=True)
class CredentialSource:
    """Where the AWS credentials come from — never their values."""

    #: ``env``, ``profile``, ``other`` or ``none``.
    kind: str
    #: e.g. ``environment (AWS_ACCESS_KEY_ID)`` or ``profile 'rustfs' (~/.aws/credentials)``.
    detail: str
    #: What to do when ``kind`` is ``none`` because the AWS configuration itself is broken (else ``""``).
    remedy: str = ""


def s3_target(cfg: "OrgConfig", environ: Mapping[str, str] | None = None) -> S3Target:
    """The S3 state location of ``cfg``; ``AWS_ENDPOINT_URL_S3`` overrides the configured endpoint."""
    environ = os.environ if environ is None else environ
    spec = cfg.state.s3
    if spec is None:
        raise InputError(
            "the organization config has no state.s3 section, so there is no S3 state backend to use",
            remedy="add state.s3 (endpoint, bucket, region, key_prefix) to organization.yaml "
                   "or run `gfwizard config init`",
        )
    configured = (spec.endpoint or "").strip().rstrip("/")
    override = (environ.get(ENDPOINT_ENV) or "").strip().rstrip("/")
    if override and override != configured:
        endpoint = override
        source = f"{ENDPOINT_OVERRIDE}{configured})" if configured else ENDPOINT_ENV
    elif configured:
        endpoint, source = configured, "state.s3.endpoint"
    elif override:
        endpoint, source = override, ENDPOINT_ENV
    else:
        endpoint, source = f"https://s3.{spec.region}.amazonaws.com", "AWS default for the region"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"S3 endpoint {endpoint!r} ({source}) is not an http(s) URL",
                         remedy="set state.s3.endpoint to e.g. https://rustfs.honey.ts.net:9000")
    return S3Target(
        endpoint=endpoint, endpoint_source=source, custom_endpoint=bool(configured or override),
        config_endpoint=configured, bucket=spec.bucket, region=spec.region,
        key_prefix=spec.key_prefix.strip("/"), path_style=spec.use_path_style, use_lockfile=spec.use_lockfile,
    )


_shared_loader: Any = None


def _botocore_session() -> Any:
    """A fresh session (credentials are resolved anew each time) sharing one model loader, so the
    S3 service model is parsed once per process rather than once per client."""
    import botocore.session

    global _shared_loader
    session = botocore.session.Session()
    if _shared_loader is None:
        _shared_loader = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _shared_loader)
    resolver = session.get_component("credential_provider")
    for name in ("container-role", "iam-role"):
        try:
            resolver.remove(name)
        except Exception:  # noqa: BLE001 - absent in some botocore versions; nothing to remove then
            pass
    return session


def credential_source() -> CredentialSource:
    """Which AWS credentials a client would use (kind and where from), without their values."""
    from botocore.exceptions import BotoCoreError

    try:
        session = _botocore_session()
        creds = session.get_credentials()
        profile = session.get_config_variable("profile") or "default"
    except BotoCoreError as exc:
        detail, remedy = explain_aws_config_error(exc)
        return CredentialSource("none", detail, remedy)
    if creds is None:
        return CredentialSource("none", "no AWS credentials in the environment or any profile")
    method = getattr(creds, "method", "") or ""
    if method == "env":
        return CredentialSource("env", "environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
    if method in ("shared-credentials-file", "config-file", "assume-role", "sso", "custom-process",
                  "assume-role-with-web-identity", "login"):
        return CredentialSource("profile", f"profile {profile!r} ({method})")
    return CredentialSource("other", method or "unknown provider")


def s3_client(cfg: "OrgConfig", *, timeouts: tuple[float, float] = DEFAULT_TIMEOUTS,
              max_attempts: int = MAX_ATTEMPTS, environ: Mapping[str, str] | None = None) -> Any:
    """A botocore S3 client for ``cfg``'s state bucket: explicit timeouts, limited retries, the
    configured addressing style, credentials from the environment/profile only."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    target = s3_target(cfg, environ)
    config = Config(
        connect_timeout=timeouts[0], read_timeout=timeouts[1],
        retries={"max_attempts": max_attempts, "mode": "standard"},
        s3={"addressing_style": "path" if target.path_style else "virtual"},
        signature_version="s3v4",
        # S3-compatible stores (RustFS, older MinIO) reject the newer default checksum headers.
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
    )
    try:
        return _botocore_session().create_client("s3", region_name=target.region, endpoint_url=target.endpoint,
                                                 config=config)
    except BotoCoreError as exc:  # the AWS profile/credential configuration, read before any request
        raise CheckFailure(*explain_aws_config_error(exc)) from None


def explain_aws_config_error(exc: BaseException) -> tuple[str, str]:
    """``(detail, remedy)`` for an AWS configuration problem botocore finds before any request is sent: an
    unknown profile, half a key pair, an unparsable config file, a credential process that failed."""
    from botocore.exceptions import (ConfigParseError, CredentialRetrievalError, NoCredentialsError,
                                     PartialCredentialsError, ProfileNotFound)

    kwargs: dict[str, Any] = getattr(exc, "kwargs", {}) or {}
    pair = "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or set AWS_PROFILE to a profile that has both"
    if isinstance(exc, ProfileNotFound):
        return (f"AWS profile {kwargs.get('profile')!r} (AWS_PROFILE) is not defined in the AWS config or "
                "credentials file", "set AWS_PROFILE to a profile that exists (`aws configure list-profiles`), "
                "or unset it and export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, PartialCredentialsError):
        provider, missing = kwargs.get("provider"), kwargs.get("cred_var")
        where = "the environment" if provider == "env" else f"the {provider}"
        return (f"incomplete AWS credentials in {where}: {missing} is missing",
                f"set {missing} as well, or remove the half-set key; {pair}")
    if isinstance(exc, ConfigParseError):
        return (f"the AWS config file {kwargs.get('path')} cannot be parsed",
                "fix its INI syntax ([profile] headers, key = value lines), or point AWS_CONFIG_FILE / "
                "AWS_SHARED_CREDENTIALS_FILE at a valid file")
    if isinstance(exc, CredentialRetrievalError):
        return (f"AWS credentials could not be retrieved from {kwargs.get('provider')}: "
                f"{redact(str(kwargs.get('error_msg') or '').strip())}",
                f"renew the profile's login (e.g. `aws sso login`) or fix its credential_process; or {pair}")
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials in the environment or any profile", pair
    return (f"the AWS configuration could not be loaded: {type(exc).__name__}: {redact(str(exc))}",
            f"check AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE; or {pair}")


def skew_seconds(server_date: str, now: float) -> float:
    """Server time minus local time, from an HTTP ``Date`` header."""
    return parsedate_to_datetime(server_date).timestamp() - now


def explain_os_error(exc: BaseException, endpoint: str, timeouts: tuple[float, float],
                     environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(detail, remedy)`` for a failed connection to ``endpoint``."""
    environ = os.environ if environ is None else environ
    where = f"state.s3.endpoint (or {ENDPOINT_ENV})"
    if isinstance(exc, CABundleError):
        return (f"{CA_BUNDLE_ENV} {exc.path} cannot be used: {exc.reason}",
                f"point {CA_BUNDLE_ENV} at the PEM file of the CA that signed the S3 endpoint's certificate, "
                "or unset it")
    if isinstance(exc, NotHTTPError):
        return (f"{endpoint} answered, but not with HTTP ({exc.answer!r}): that port belongs to another service",
                f"check the port and scheme in {where}: the S3 API (RustFS: port 9000 by default), and https:// "
                "when it speaks TLS")
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return (f"connection refused by {endpoint}: nothing is listening there",
                f"check {where} and that the S3 service (RustFS on honey) is running")
    if isinstance(exc, ConnectionResetError) or "connection reset" in str(exc).lower():
        return (f"{endpoint} accepted the connection, then reset it",
                f"if the store speaks TLS, use https:// in {where}; otherwise check the S3 service's health and "
                "any proxy or firewall in between")
    if isinstance(exc, ProbeReadTimeout):
        return (f"{endpoint} accepted the connection but did not answer within {timeouts[1]:g}s "
                "(endpoint timeout)", "check the S3 service's health on honey, and that the port is the S3 API's; "
                "retry")
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in str(exc).lower():
        return (f"{endpoint} did not answer within {timeouts[0]:g}s (endpoint timeout)",
                "check the tailnet/VPN connection and that the endpoint host is up; "
                f"check {where}")
    if isinstance(exc, socket.gaierror) or "name or service not known" in str(exc).lower():
        return (f"the host of {endpoint} does not resolve (DNS)",
                f"check the host name in {where} and that MagicDNS/tailnet is up")
    if isinstance(exc, ssl.SSLError) or "certificate" in str(exc).lower():
        bundle = environ.get(CA_BUNDLE_ENV)
        if bundle:
            try:
                tls_context(environ)
            except CABundleError as unusable:  # botocore's SSLError for a missing bundle says only "No such file"
                return explain_os_error(unusable, endpoint, timeouts, environ)
        if bundle and "verify failed" in str(exc).lower():
            return (f"TLS handshake with {endpoint} failed: {exc}",
                    f"{CA_BUNDLE_ENV} ({bundle}) does not hold the CA that signed this certificate: point it at that "
                    "CA's PEM file (and check the endpoint's host name matches the certificate)")
        return (f"TLS handshake with {endpoint} failed: {exc}",
                f"use the endpoint's correct scheme (http vs https) and trust its CA ({CA_BUNDLE_ENV})")
    return (f"cannot connect to {endpoint}: {type(exc).__name__}: {exc}", f"check {where} and the network")


#: S3 error code -> (what it means, what to do). ``{bucket}``/``{endpoint}`` are filled in.
_CLIENT_ERRORS: dict[str, tuple[str, str]] = {
    "NoSuchBucket": ("bucket {bucket!r} does not exist at {endpoint}",
                     "create it: `gfwizard backend check --env {env} --create-bucket`"),
    "AccessDenied": ("access denied: the credentials are valid but not allowed to {action} on bucket {bucket!r}",
                     "grant the key s3:GetObject/PutObject/DeleteObject/ListBucket (and GetBucketVersioning) "
                     "on the bucket, or use a key that has them"),
    "SignatureDoesNotMatch": ("signature does not match: the secret access key is wrong for this access key id",
                              "export the matching AWS_SECRET_ACCESS_KEY (or fix the profile's secret)"),
    "InvalidAccessKeyId": ("the access key id is unknown to {endpoint}",
                           "export an access key that exists on this store (AWS_ACCESS_KEY_ID / AWS_PROFILE)"),
    "RequestTimeTooSkewed": ("the store refused the request: this machine's clock differs from the store's by "
                             "more than it allows (RequestTimeTooSkewed)",
                             "sync this machine's clock (timedatectl set-ntp true / chronyc makestep)"),
    "ExpiredToken": ("the session token (AWS_SESSION_TOKEN or the profile's) has expired",
                     "get fresh temporary credentials (e.g. `aws sso login`, or export a new AWS_ACCESS_KEY_ID, "
                     "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN together); a static key needs no session token: "
                     "unset AWS_SESSION_TOKEN"),
    "InvalidToken": ("the store rejected the session token (AWS_SESSION_TOKEN or the profile's): it is malformed or "
                     "does not belong to this access key",
                     "export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the same session; a "
                     "static key needs no session token: unset AWS_SESSION_TOKEN"),
    "PermanentRedirect": ("bucket {bucket!r} lives in another region or needs another addressing style",
                          "set state.s3.region to the bucket's region; check state.s3.use_path_style"),
    "AuthorizationHeaderMalformed": ("the store rejected the request's region ({region})",
                                     "set state.s3.region to the region the store expects"),
}


#: Codes whose explanation keeps the store's own message (redacted).
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


def explain_client_error(exc: Any, *, target: S3Target, env: str = "<env>", action: str = "read") -> tuple[str, str]:
    """``(detail, remedy)`` for a botocore ``ClientError``."""
    error = exc.response.get("Error", {}) if hasattr(exc, "response") else {}
    code = str(error.get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if hasattr(exc, "response") else None
    # HEAD requests carry no error body: map the bare status codes.
    code = {"404": "NoSuchBucket", "403": "AccessDenied", "301": "PermanentRedirect"}.get(code, code)
    fields = {"bucket": target.bucket, "endpoint": target.endpoint, "env": env, "action": action,
              "region": target.region}
    message = redact(str(error.get("Message") or "").strip())
    if code in _CLIENT_ERRORS:
        detail, remedy = _CLIENT_ERRORS[code]
        # Which token, or why, is the store's to say (e.g. the session it expected); other codes say it all.
        said = f" ({message})" if message and code in _TOKEN_ERRORS else ""
        return detail.format(**fields) + said, remedy.format(**fields)
    if code == "MissingUploadObjectWithObjectLockHeaders" or "object lock" in message.lower():
        return (f"bucket {target.bucket!r} has Object Lock with a default retention: it refuses writes without an "
                f"upload checksum ({code}), and the rendered backend sends none (skip_s3_checksum, for "
                "S3-compatible stores), so state writes would fail the same way",
                "use a state bucket without Object Lock default retention (versioning already keeps every state), "
                "or remove the bucket's default retention rule")
    return (f"{target.endpoint} answered {status or '?'} {code or 'error'}" + (f": {message}" if message else ""),
            "check the endpoint, bucket and credentials; the store's own logs say more")


def explain(exc: BaseException, *, target: S3Target, timeouts: tuple[float, float] = DEFAULT_TIMEOUTS,
            env: str = "<env>", action: str = "read") -> tuple[str, str]:
    """``(detail, remedy)`` for anything an S3 call raised."""
    from botocore.exceptions import (
        ClientError,
        ConfigParseError,
        ConnectTimeoutError,
        CredentialRetrievalError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    if isinstance(exc, GfwError):  # already worded (s3_client's credential configuration problems)
        return exc.message, exc.remedy
    if isinstance(exc, ClientError):
        return explain_client_error(exc, target=target, env=env, action=action)
    if isinstance(exc, NoCredentialsError):
        return ("no usable AWS credentials in the environment or profile",
                "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or set AWS_PROFILE to a profile that has them")
    if isinstance(exc, (PartialCredentialsError, ProfileNotFound, ConfigParseError, CredentialRetrievalError)):
        return explain_aws_config_error(exc)
    if isinstance(exc, ConnectTimeoutError):
        return explain_os_error(TimeoutError("timed out"), target.endpoint, timeouts)
    if isinstance(exc, ReadTimeoutError):
        return (f"{target.endpoint} accepted the connection but did not answer within {timeouts[1]:g}s "
                "(endpoint timeout)", "check the S3 service's health on honey; retry")
    if isinstance(exc, EndpointConnectionError):
        cause = exc.kwargs.get("error") if hasattr(exc, "kwargs") else None
        detail, remedy = explain_os_error(cause if isinstance(cause, BaseException) else exc, target.endpoint, timeouts)
        host = urlsplit(str(exc.kwargs.get("endpoint_url") or "")).hostname if hasattr(exc, "kwargs") else None
        endpoint_host = urlsplit(target.endpoint).hostname
        if "does not resolve" in detail and host and host != endpoint_host and not target.path_style:
            # Virtual-hosted addressing put the bucket in front of the host; the endpoint itself resolved.
            return (f"the bucket's virtual-hosted address {host} does not resolve (DNS): state.s3.use_path_style is "
                    f"false, so requests go to <bucket>.{endpoint_host}",
                    f"set state.s3.use_path_style: true (RustFS and most self-hosted stores need it), or add a "
                    f"wildcard DNS record *.{endpoint_host}")
        return detail, remedy
    if isinstance(exc, OSError):
        return explain_os_error(exc, target.endpoint, timeouts)
    return (f"{type(exc).__name__}: {exc}", "check the endpoint, bucket and credentials")


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code") or "")


def object_exists(client: Any, bucket: str, key: str) -> bool:
    """Whether ``key`` exists (``head_object`` of a botocore client or a ``DirectS3``; a 404 is False,
    any other failure raises)."""
    try:
        client.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return False
        raise
    return True


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None
