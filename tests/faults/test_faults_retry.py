"""The retry policy and the transient/permanent classifier, with real SDK exception objects.

Sleep, clock and random are injected, so every delay the policy chose is checked exactly; the
exceptions are the SDKs' own classes built the way the SDKs build them (botocore ClientError from a
parsed response, kubernetes ApiException from an HTTP response, azure-core errors, urllib's HTTPError).
"""

from __future__ import annotations

import io
import urllib.error
from email.message import Message
from typing import Any

import pytest

from modeldeploy.retry import RetryPolicy, classify, gave_up


class Recorder:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


def policy(rec: Recorder, **kw: Any) -> RetryPolicy:
    return RetryPolicy(sleep=rec.sleep, clock=rec.clock, random=lambda: 1.0, **kw)


def client_error(code: str, status: int, headers: dict[str, str] | None = None) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} says no"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
        },
        "CreateModel",
    )


def api_exception(status: int, retry_after: str | None = None) -> Exception:
    from kubernetes.client.exceptions import ApiException

    exc = ApiException(status=status, reason="x")
    exc.headers = {"Retry-After": retry_after} if retry_after else {}
    return exc


def http_error(code: int, retry_after: str | None = None) -> Exception:
    headers = Message()
    if retry_after:
        headers["Retry-After"] = retry_after
    return urllib.error.HTTPError("http://127.0.0.1/x", code, "x", headers, io.BytesIO(b"{}"))


def azure_http(status: int) -> Exception:
    from azure.core.exceptions import HttpResponseError

    exc = HttpResponseError(message=f"status {status}")
    exc.status_code = status
    return exc


def transient_cases() -> list[tuple[str, Any]]:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
    from urllib3.exceptions import NewConnectionError, ProtocolError
    from urllib3.exceptions import ReadTimeoutError as U3ReadTimeout

    return [
        ("aws throttling", client_error("ThrottlingException", 400)),
        ("s3 slowdown", client_error("SlowDown", 503)),
        ("aws 500", client_error("InternalFailure", 500)),
        ("aws 503 unknown code", client_error("Whatever", 503)),
        ("endpoint connection", EndpointConnectionError(endpoint_url="http://127.0.0.1:1")),
        ("read timeout", ReadTimeoutError(endpoint_url="http://127.0.0.1:1")),
        ("connection closed", ConnectionClosedError(endpoint_url="http://127.0.0.1:1")),
        ("k8s 429", api_exception(429)),
        ("k8s 503", api_exception(503)),
        ("urllib3 protocol", ProtocolError("Connection aborted.", ConnectionResetError())),
        ("urllib3 refused", NewConnectionError(None, "refused")),
        ("urllib3 read timeout", U3ReadTimeout(None, "/x", "read timed out")),
        ("azure request", ServiceRequestError("dns")),
        ("azure response", ServiceResponseError("reset")),
        ("azure 429", azure_http(429)),
        ("azure 502", azure_http(502)),
        ("http 503", http_error(503)),
        ("url refused", urllib.error.URLError(ConnectionRefusedError(111, "refused"))),
        ("reset", ConnectionResetError()),
        ("timeout", TimeoutError()),
    ]


def permanent_cases() -> list[tuple[str, Any]]:
    from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
    from botocore.exceptions import NoCredentialsError, SSLError

    return [
        ("aws validation", client_error("ValidationException", 400)),
        ("aws quota", client_error("ResourceLimitExceeded", 400)),
        ("aws access", client_error("AccessDeniedException", 403)),
        ("aws tls", SSLError(endpoint_url="https://x", error="bad cert")),
        ("aws creds", NoCredentialsError()),
        ("k8s 422", api_exception(422)),
        ("k8s 403", api_exception(403)),
        ("k8s 409", api_exception(409)),
        ("azure auth", ClientAuthenticationError("no")),
        ("azure 404", ResourceNotFoundError("gone")),
        ("azure 400", azure_http(400)),
        ("http 404", http_error(404)),
        ("http 401", http_error(401)),
        ("value", ValueError("bug")),
    ]


@pytest.mark.parametrize("name,exc", transient_cases(), ids=[n for n, _ in transient_cases()])
def test_transient_errors_are_retried(name: str, exc: Exception) -> None:
    assert classify(exc).transient, name
    rec = Recorder()
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise exc
        return "ok"

    assert policy(rec).call(flaky) == "ok"
    assert len(calls) == 3 and rec.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("name,exc", permanent_cases(), ids=[n for n, _ in permanent_cases()])
def test_permanent_errors_stop_at_once(name: str, exc: Exception) -> None:
    assert not classify(exc).transient, name
    rec = Recorder()
    calls = []

    def broken() -> None:
        calls.append(1)
        raise exc

    with pytest.raises(type(exc)):
        policy(rec).call(broken)
    assert len(calls) == 1 and rec.sleeps == []


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rec = Recorder()
    p = RetryPolicy(
        base=0.5, cap=4.0, max_attempts=7, max_elapsed=1e9, sleep=rec.sleep, clock=rec.clock, random=lambda: 1.0
    )
    with pytest.raises(ConnectionResetError) as info:
        p.call(lambda: (_ for _ in ()).throw(ConnectionResetError()))
    assert rec.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]  # 6 sleeps between 7 attempts, capped at 4
    assert gave_up(info.value) == " (after 7 attempts)"
    # full jitter: the random factor scales the whole ceiling
    half = RetryPolicy(base=0.5, cap=4.0, random=lambda: 0.25)
    assert [half.delay(n) for n in (1, 2, 3, 4, 5)] == [0.125, 0.25, 0.5, 1.0, 1.0]


def test_max_elapsed_stops_before_a_sleep_would_pass_it() -> None:
    rec = Recorder()
    p = policy(rec, base=1.0, cap=100.0, max_attempts=100, max_elapsed=10.0)
    with pytest.raises(TimeoutError):
        p.call(lambda: (_ for _ in ()).throw(TimeoutError()))
    assert rec.sleeps == [1.0, 2.0, 4.0] and sum(rec.sleeps) <= 10.0


@pytest.mark.parametrize(
    "exc",
    [api_exception(429, "3"), client_error("Throttling", 400, {"retry-after": "3"}), http_error(429, "3")],
    ids=["kubernetes", "botocore", "urllib"],
)
def test_retry_after_is_honoured_up_to_the_cap(exc: Exception) -> None:
    assert classify(exc).retry_after == 3.0
    rec = Recorder()
    calls = []

    def throttled() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return "ok"

    policy(rec).call(throttled)
    assert rec.sleeps == [3.0]
    assert RetryPolicy(cap=2.0, random=lambda: 0.0).delay(1, retry_after=30.0) == 2.0


def test_keyboard_interrupt_is_never_retried() -> None:
    rec = Recorder()
    calls = []

    def interrupted() -> None:
        calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        policy(rec).call(interrupted)
    assert len(calls) == 1
