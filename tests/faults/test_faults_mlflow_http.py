"""The MLflow REST client retries GETs on transient failures and never re-sends writes.

A small HTTP server on 127.0.0.1 plays the tracking server and answers from a script per request;
the real MlflowRest client (urllib) talks to it. The retry policy's sleeps are recorded, not slept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modeldeploy import retry
from modeldeploy.errors import SourceError
from modeldeploy.model.sources.http import MlflowRest


class Script:
    def __init__(self) -> None:
        self.answers: list[Any] = []  # int status, "drop", or None for 200
        self.seen: list[str] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append(self.command)
            answer = script.answers.pop(0) if script.answers else None
            if answer == "drop":
                self.close_connection = True
                return
            status = answer or 200
            body = json.dumps(
                {"registered_model": {"name": "iris"}}
                if status == 200
                else {
                    "error_code": "TEMPORARILY_UNAVAILABLE" if status >= 500 else "RESOURCE_DOES_NOT_EXIST",
                    "message": f"status {status} from the test server",
                }
            ).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "2")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    out: list[float] = []
    monkeypatch.setattr(
        retry, "default_policy", lambda service="": retry.RetryPolicy(sleep=out.append, random=lambda: 1.0)
    )
    return out


def client(url: str) -> MlflowRest:
    return MlflowRest.connect(url, {}, uri="models:/iris/1")


@pytest.mark.parametrize("faults", [[503], [502, 500], ["drop"], [429], ["drop", 504, "drop"]], ids=str)
def test_gets_are_retried_through_transient_failures(server: Any, sleeps: list[float], faults: list[Any]) -> None:
    url, script = server
    script.answers = list(faults)
    assert client(url).get("registered-models/get", name="iris") == {"registered_model": {"name": "iris"}}
    assert len(script.seen) == len(faults) + 1
    expected = [2.0 if f == 429 else 0.5 * 2**i for i, f in enumerate(faults)]  # Retry-After: 2 wins
    assert sleeps == expected


def test_a_permanent_error_stops_at_once_with_the_servers_message(server: Any, sleeps: list[float]) -> None:
    url, script = server
    script.answers = [404]
    with pytest.raises(SourceError, match="status 404 from the test server") as info:
        client(url).get("registered-models/get", name="iris")
    assert script.seen == ["GET"] and sleeps == [] and info.value.not_found


def test_giving_up_says_how_many_attempts_were_made(server: Any, sleeps: list[float]) -> None:
    url, script = server
    script.answers = [503] * 10
    with pytest.raises(SourceError, match=r"status 503 from the test server .*\(after 6 attempts\)"):
        client(url).get("registered-models/get", name="iris")
    assert len(script.seen) == 6


def test_writes_are_never_resent(server: Any, sleeps: list[float]) -> None:
    url, script = server
    script.answers = [503]
    with pytest.raises(SourceError, match="status 503"):
        client(url).post("model-versions/create", {"name": "iris"})
    assert script.seen == ["POST"] and sleeps == []
