"""moto's server with injected latency: a WSGI middleware around moto's own app.

    python bench/latency_moto.py [--port 0] [--latency-ms 50]    # prints "READY <host> <port>"

The middleware (not a proxy: one hop less to measure) wraps moto's ``DomainDispatcherApplication``
as ``ThreadedMotoServer`` builds it, in werkzeug's threaded server on 127.0.0.1. Every AWS request
sleeps the configured latency before moto handles it, and the middleware counts requests and the
most that were in flight at once.

Connections: AWS endpoints speak HTTP/1.1 and keep connections open, and botocore reuses them; so
does this server by default (werkzeug's handler with ``protocol_version = "HTTP/1.1"``). moto's own
``ThreadedMotoServer`` answers HTTP/1.0 and closes the connection after every response, so each call
also pays a TCP connect and a new server thread; ``/__bench/keepalive/0`` switches to that, for
comparison. Control endpoints (not AWS calls, never delayed):

    POST /__bench/latency/<ms>     set the injected latency
    POST /__bench/keepalive/<0|1>  close connections after each response (0) or keep them (1)
    GET  /__bench/stats            {"requests": n, "max_in_flight": n, "in_flight": n}
    POST /__bench/reset            zero the counters
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


class LatencyMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]], latency: float = 0.0, handler: Any = None):
        self.app = app
        self.latency = latency
        self.handler = handler  # the request handler class; its protocol_version decides keep-alive
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "max_in_flight": self.max_in_flight,
                "in_flight": self.in_flight,
                "latency_ms": round(self.latency * 1000),
                "keepalive": getattr(self.handler, "protocol_version", "") == "HTTP/1.1",
            }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__bench/"):
            return self._control(path, start_response)
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.in_flight -= 1

    def _control(self, path: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if path.startswith("/__bench/latency/"):
            self.latency = float(path.rsplit("/", 1)[1]) / 1000
        elif path.startswith("/__bench/keepalive/") and self.handler is not None:
            self.handler.protocol_version = "HTTP/1.1" if path.endswith("/1") else "HTTP/1.0"
        elif path == "/__bench/reset":
            with self.lock:
                self.requests = self.max_in_flight = 0
        body = json.dumps(self.stats()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def make_server(port: int = 0, latency: float = 0.0):
    """(werkzeug server, middleware) on 127.0.0.1, built the way ThreadedMotoServer builds its own."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server as werkzeug_server

    class Handler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints; /__bench/keepalive/0 for moto's own

    middleware = LatencyMiddleware(DomainDispatcherApplication(create_backend_app), latency, Handler)
    server = werkzeug_server("127.0.0.1", port, middleware, threaded=True, request_handler=Handler)
    return server, middleware


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server, _ = make_server(args.port, args.latency_ms / 1000)
    host, port = server.server_address[:2]
    print(f"READY {host} {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
