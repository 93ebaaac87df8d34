"""One retry policy for every service modeldeploy talks to, and one classifier of transient errors.

Transient (retried): throttling, HTTP 408/429/5xx, timeouts and dropped or refused connections.
Permanent (raised at once, with the service's own message kept by the caller): everything else —
validation errors, 4xx answers, auth failures, TLS certificate errors, missing objects.

Backoff is capped exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"): before attempt ``n + 1`` sleep ``random() * min(cap, base * 2**(n - 1))``, raised to a
server's ``Retry-After`` (itself capped). A policy gives up after ``max_attempts`` calls or when the
next sleep would pass ``max_elapsed`` seconds since the first call; the last error is re-raised with a
note saying how many attempts were made (see :func:`gave_up`).

Where an SDK already retries each HTTP request with backoff (botocore's ``standard`` mode for
SageMaker/S3/Application Auto Scaling, azure-core's RetryPolicy inside MLClient), calls are NOT
wrapped again — that would multiply the attempts. This policy is used where nothing retries: the
Kubernetes API (urllib3's own retries are turned off in ``targets/kubernetes/api.py``), MLflow REST
GETs, and re-issuing Azure ML long-running operations whose poller died on a transient error.

SDK exception classes are recognised by module name first, so classifying never imports an SDK.
"""

from __future__ import annotations

import email.utils
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# Error codes AWS services use for throttling and transient server trouble (botocore's own lists in
# botocore/retries/standard.py and special.py, plus S3's SlowDown).
AWS_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
AWS_TRANSIENT = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "IDPCommunicationError",
    }
)
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Verdict:
    """What to do with an error: retry it (``transient``) or not; ``reason`` is for progress lines."""

    transient: bool
    reason: str = ""
    retry_after: float | None = None


PERMANENT = Verdict(False)
Classifier = Callable[[BaseException], Verdict]


# -- classifiers -----------------------------------------------------------------------------------


def _module(exc: BaseException) -> str:
    return type(exc).__module__ or ""


def retry_after_seconds(value: Any) -> float | None:
    """A ``Retry-After`` header value (seconds or an HTTP date) as seconds; None when absent/bad."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _header(headers: Any, name: str) -> Any:
    if not headers:
        return None
    try:
        return headers.get(name) or headers.get(name.lower())
    except AttributeError:
        return None


def classify_botocore(exc: BaseException) -> Verdict:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        response = getattr(exc, "response", None) or {}
        code = str((response.get("Error") or {}).get("Code", ""))
        meta = response.get("ResponseMetadata") or {}
        status = int(meta.get("HTTPStatusCode") or 0)
        after = retry_after_seconds(_header(meta.get("HTTPHeaders"), "retry-after"))
        if code in AWS_THROTTLING:
            return Verdict(True, f"throttled ({code})", after)
        if code in AWS_TRANSIENT or status in TRANSIENT_STATUS:
            return Verdict(True, f"{code or 'HTTP'} {status}".strip(), after)
        return PERMANENT
    if isinstance(exc, bx.SSLError):  # a certificate problem does not go away by itself
        return PERMANENT
    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError)):  # refused, dropped, read/connect timeouts
        return Verdict(True, type(exc).__name__)
    return PERMANENT


def classify_kubernetes(exc: BaseException) -> Verdict:
    status = int(getattr(exc, "status", 0) or 0)
    if status in TRANSIENT_STATUS:
        after = retry_after_seconds(_header(getattr(exc, "headers", None), "Retry-After"))
        return Verdict(True, "throttled (429)" if status == 429 else f"HTTP {status}", after)
    return PERMANENT


def classify_urllib3(exc: BaseException) -> Verdict:
    from urllib3 import exceptions as ux

    if isinstance(exc, ux.SSLError):
        return PERMANENT
    if isinstance(exc, ux.MaxRetryError):
        inner = exc.reason
        return classify(inner) if isinstance(inner, BaseException) else Verdict(True, "MaxRetryError")
    if isinstance(exc, (ux.ProtocolError, ux.TimeoutError, ux.NewConnectionError, ux.ProxyError)):
        return Verdict(True, type(exc).__name__)
    return PERMANENT


def classify_azure(exc: BaseException) -> Verdict:
    from azure.core import exceptions as ax

    if isinstance(exc, (ax.ServiceRequestError, ax.ServiceResponseError)):  # includes their timeouts
        return Verdict(True, type(exc).__name__)
    if isinstance(exc, ax.ClientAuthenticationError) or isinstance(exc, ax.ResourceNotFoundError):
        return PERMANENT
    if isinstance(exc, ax.HttpResponseError):
        status = int(getattr(exc, "status_code", 0) or 0)
        if status in TRANSIENT_STATUS:
            response = getattr(exc, "response", None)
            after = retry_after_seconds(_header(getattr(response, "headers", None), "Retry-After"))
            return Verdict(True, "throttled (429)" if status == 429 else f"HTTP {status}", after)
    return PERMANENT


def classify_stdlib(exc: BaseException) -> Verdict:
    """urllib / http.client / socket errors (the MLflow REST client)."""
    import http.client
    import ssl
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in TRANSIENT_STATUS:
            after = retry_after_seconds(_header(exc.headers, "Retry-After"))
            return Verdict(True, "throttled (429)" if exc.code == 429 else f"HTTP {exc.code}", after)
        return PERMANENT
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return classify_stdlib(reason) if isinstance(reason, BaseException) else PERMANENT
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PERMANENT
    if isinstance(exc, (ConnectionError, TimeoutError, http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return Verdict(True, type(exc).__name__)
    return PERMANENT


def classify(exc: BaseException) -> Verdict:
    """Transient or permanent, for any SDK modeldeploy uses (recognised by the exception's module)."""
    module = _module(exc)
    if module.startswith("botocore") or module.startswith("boto3"):
        return classify_botocore(exc)
    if module.startswith("kubernetes"):
        return classify_kubernetes(exc)
    if module.startswith("urllib3"):
        return classify_urllib3(exc)
    if module.startswith("azure"):
        return classify_azure(exc)
    return classify_stdlib(exc)


# -- policy ----------------------------------------------------------------------------------------


def gave_up(exc: BaseException) -> str:
    """``" (after N attempts)"`` when a policy retried ``exc`` before giving up, else ``""``."""
    attempts = getattr(exc, "_modeldeploy_attempts", 0)
    return f" (after {attempts} attempts)" if attempts > 1 else ""


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter. ``sleep``, ``clock`` and ``random`` are injectable
    so tests run without waiting and can check every delay."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 20.0
    max_elapsed: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    random: Callable[[], float] = field(default=_random.random, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        delay = self.random() * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        return delay

    def call(
        self,
        fn: Callable[[], T],
        *,
        classifier: Classifier = classify,
        on_retry: Callable[[int, float, Verdict, BaseException], None] | None = None,
    ) -> T:
        """``fn()``, retried while it fails transiently; permanent errors and KeyboardInterrupt
        propagate at once. The last transient error is re-raised when the policy gives up."""
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as exc:
                verdict = classifier(exc)
                if not verdict.transient:
                    raise
                wait = self.delay(attempt, verdict.retry_after)
                if attempt >= self.max_attempts or (self.clock() - start) + wait > self.max_elapsed:
                    try:
                        exc._modeldeploy_attempts = attempt  # type: ignore[attr-defined]
                    except AttributeError:  # pragma: no cover - exceptions with __slots__
                        pass
                    raise
                if on_retry is not None:
                    on_retry(attempt, wait, verdict, exc)
                self.sleep(wait)


def default_policy(service: str = "") -> RetryPolicy:
    """The policy targets use unless given one (tests replace this function to avoid real sleeps).
    ``service`` lets a caller ask for a service-specific variant; all use the same numbers today."""
    return RetryPolicy()
