"""An HTTP proxy on 127.0.0.1 that forwards to moto's server and fails chosen requests.

boto3 reaches it through ``AWS_ENDPOINT_URL`` like any AWS-compatible endpoint. Request number N
(1-based, counted over every HTTP request the clients send, retries included) can be made to:

* ``http500``  — answer 500 InternalFailure (JSON services) / InternalError (S3), without forwarding;
* ``throttle`` — answer 400 ThrottlingException (JSON services) / 503 SlowDown (S3), without forwarding;
* ``drop``     — close the connection without an answer, without forwarding;
* ``drop-after`` — forward (moto changes state), then close without an answer: the answer is lost.

``outage_from`` makes every request from N on answer 500 (a service down for good). ``delay`` holds
every answer back that many seconds (a slow network path), and ``matching`` fails every request
whose operation contains a given text (``{".modeldeploy-lease.json": "drop"}``: the lease's path).
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("http500", "throttle", "drop", "drop-after")


@dataclass
class Faults:
    at: dict[int, str] = field(default_factory=dict)
    outage_from: int | None = None
    delay: float = 0.0
    matching: dict[str, str] = field(default_factory=dict)
    count: int = 0
    injected: list[tuple[int, str, str]] = field(default_factory=list)  # (n, kind, operation)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, operation: str) -> str | None:
        with self.lock:
            self.count += 1
            self.log.append(operation)
            kind = self.at.get(self.count)
            if kind is None:
                kind = next((k for text, k in self.matching.items() if text in operation), None)
            if kind is None and self.outage_from is not None and self.count >= self.outage_from:
                kind = "http500"
            if kind:
                self.injected.append((self.count, kind, operation))
            return kind

    def reset(self, **kw: Any) -> None:
        with self.lock:
            self.at = dict(kw.get("at", {}))
            self.outage_from = kw.get("outage_from")
            self.delay = float(kw.get("delay", 0.0))
            self.matching = dict(kw.get("matching", {}))
            self.count = 0
            self.injected = []
            self.log = []


def _operation(handler: BaseHTTPRequestHandler) -> str:
    target = handler.headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    return f"s3:{handler.command} {handler.path.split('?')[0]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        server: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        kind = server.faults.next(_operation(self))
        json_service = bool(self.headers.get("X-Amz-Target"))
        if kind == "drop":
            self.close_connection = True
            return
        if kind in ("http500", "throttle"):
            if json_service:
                code, error = (500, "InternalFailure") if kind == "http500" else (400, "ThrottlingException")
                self._answer(
                    code,
                    {"Content-Type": "application/x-amz-json-1.1"},
                    ('{"__type": "' + error + '", "message": "injected by the fault proxy"}').encode(),
                )
            else:
                code, error = (500, "InternalError") if kind == "http500" else (503, "SlowDown")
                self._answer(
                    code,
                    {"Content-Type": "application/xml"},
                    f"<Error><Code>{error}</Code><Message>injected by the fault proxy</Message></Error>".encode(),
                )
            return
        status, headers, data = server.forward(self.command, self.path, dict(self.headers.items()), body)
        if server.faults.delay:
            import time

            time.sleep(server.faults.delay)
        if kind == "drop-after":
            self.close_connection = True
            return
        self._answer(status, headers, data)

    def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _serve

    def log_message(self, *args: Any) -> None:
        pass


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.faults = Faults()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.proxy = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k: v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def record(name: str, figures: dict[str, Any]) -> None:
    """Append one sweep's figures to $MODELDEPLOY_FAULT_FIGURES (a JSON-lines file) when set; the
    numbers in docs/faults.md come from such a run."""
    import json
    import os

    path = os.environ.get("MODELDEPLOY_FAULT_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"sweep": name, **figures}) + "\n")
