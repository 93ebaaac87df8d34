"""boto3 clients (one per service per target instance) and error helpers.

Clients are created plainly with ``Session.client(service, region_name=..., config=...)`` on one
boto3 session per process (sharing its botocore session with request validation), so that boto3's
own configuration applies: credentials chain, ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_<SERVICE>`` (any AWS-compatible endpoint, moto's server in tests), profiles.
Throttling and transient errors are retried by botocore's ``standard`` retry mode.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from modeldeploy.errors import TargetError, missing_dependency

T = TypeVar("T")
MAX_ATTEMPTS = 8
# One client per service is shared by every deployment planned at once (--parallelism, up to 64) and
# the reads each observe runs side by side; botocore's default pool of 10 connections would make the
# rest open and drop a connection per call.
MAX_POOL_CONNECTIONS = 128
_NOT_FOUND_CODES = {
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NoSuchKey",
    "404",
    "NotFound",
    "NoSuchBucket",
    "NoSuchUpload",
}


class Clients:
    """Lazily created boto3 clients, cached per (service, region)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                client = self._cache[key] = _new_client(service, region)
            return client


_SESSION_LOCK = threading.Lock()
_SESSIONS: dict[str, Any] = {}


def botocore_session() -> Any:
    """The process's botocore session, shared by request validation (its service models) and the
    boto3 clients, so botocore's large service and endpoint JSON files are parsed once per process,
    not once for validation and again for the clients. It reads configuration and credentials as
    boto3's default session does (and, like it, keeps the credentials it first resolves)."""
    with _SESSION_LOCK:
        if "botocore" not in _SESSIONS:
            import botocore.session

            _SESSIONS["botocore"] = botocore.session.get_session()
        return _SESSIONS["botocore"]


def _boto3_session() -> Any:
    import boto3.session

    shared = botocore_session()
    with _SESSION_LOCK:
        if "boto3" not in _SESSIONS:
            _SESSIONS["boto3"] = boto3.session.Session(botocore_session=shared)
        return _SESSIONS["boto3"]


def _new_client(service: str, region: str) -> Any:
    try:
        import boto3  # noqa: F401  (the extra's marker: boto3 brings botocore)
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise missing_dependency(exc, ["boto3", "botocore.config"], "the sagemaker target needs boto3", "aws") from None
    config = Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        user_agent_extra="modeldeploy",
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    return _boto3_session().client(service, region_name=region, config=config)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message", "")) or str(exc)


def is_not_found(exc: BaseException) -> bool:
    """SageMaker reports a missing object as ValidationException "Could not find ..."."""
    code = error_code(exc)
    if code in _NOT_FOUND_CODES:
        return True
    return code in ("ValidationException", "ValidationError") and "could not find" in error_message(exc).lower()


NO_CREDENTIALS_HINT = (
    "run 'aws configure' or 'aws sso login', or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY); plan --against DIR or git:REF needs no credentials"
)
# The codes AWS answers a request with when the credentials themselves are wrong or expired.
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
}


def failure(what: str, exc: BaseException) -> TargetError:
    """One line for a failed SDK call naming ``what``: missing or rejected credentials say so with
    how to fix it (and that a plan against a folder or git ref needs none); anything else keeps the
    service's code and message."""
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return TargetError(f"{what}: no AWS credentials found", hint=NO_CREDENTIALS_HINT)
    if isinstance(exc, ClientError):
        if error_code(exc) in _BAD_CREDENTIALS:
            return TargetError(f"{what}: AWS refused the credentials: {error_message(exc)}", hint=NO_CREDENTIALS_HINT)
        return TargetError(f"{what}: {error_code(exc)}: {error_message(exc)}")
    return TargetError(f"{what}: {exc}")


def call(what: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call an SDK method; turn its failures into TargetError naming ``what`` (the resource)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise failure(what, exc) from None


def find(what: str, fn: Callable[..., T], /, **kwargs: Any) -> T | None:
    """Like :func:`call` but a missing object is ``None``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise failure(what, exc) from None
    except BotoCoreError as exc:
        raise failure(what, exc) from None
