"""modeldeploy's scoring server for custom models (copied verbatim into every custom image; no user data).

It serves your module — ``init()`` once at start, ``run(data)`` per request, the same contract as an
Azure ML scoring script — behind the HTTP contract of every modeldeploy image:

  GET  /ping, /health   200 once init() has returned
  POST /invocations     run(body): the body as text (UTF-8) for JSON/text content types, else bytes;
                        the return value as JSON (bytes are returned as they are)

  serve         start the server on $MODELDEPLOY_PORT (default 8080; 0 picks a free port and prints it).
                `docker run IMAGE serve` is SageMaker's contract.
  healthcheck   exit 0 when /ping answers 200 (used by HEALTHCHECK).

Settings: MODELDEPLOY_CODE_PATH (folder put first on sys.path), MODELDEPLOY_ENTRY (module name),
MODELDEPLOY_MAX_BODY_BYTES (413 above it, before run sees anything), MODELDEPLOY_TIMEOUT_SECONDS (504
when run takes longer), MODELDEPLOY_WORKERS (concurrent run() calls), MODELDEPLOY_HOST (default
0.0.0.0). Standard library only; compatible with Python 3.7+.
"""

import importlib
import json
import os
import signal
import sys
import threading
import traceback

try:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
except ImportError:  # Python < 3.7 has no ThreadingHTTPServer
    sys.exit("the modeldeploy custom server needs Python 3.7 or later")


def _int_env(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit("%s must be an integer" % name)


PORT = _int_env("MODELDEPLOY_PORT", 8080)
HOST = os.environ.get("MODELDEPLOY_HOST", "0.0.0.0")
WORKERS = max(1, _int_env("MODELDEPLOY_WORKERS", 1))
TIMEOUT = max(1, _int_env("MODELDEPLOY_TIMEOUT_SECONDS", 60))
MAX_BODY = _int_env("MODELDEPLOY_MAX_BODY_BYTES", 100 * 1024 * 1024)
CODE_PATH = os.environ.get("MODELDEPLOY_CODE_PATH", "/opt/ml/code")
ENTRY = os.environ.get("MODELDEPLOY_ENTRY", "score")
TEXT_TYPES = ("application/json", "text/", "application/x-ndjson", "application/jsonlines")


def _error_body(code, message):
    return json.dumps({"error_code": code, "message": message}).encode("utf-8")


class Scorer(object):
    """The user's module, loaded once; run() calls are bounded by WORKERS and TIMEOUT."""

    def __init__(self, module):
        self.module = module
        self.slots = threading.BoundedSemaphore(WORKERS)

    @classmethod
    def load(cls):
        if CODE_PATH not in sys.path:
            sys.path.insert(0, CODE_PATH)
        module = importlib.import_module(ENTRY)
        for name in ("init", "run"):
            if not callable(getattr(module, name, None)):
                sys.exit("%s has no %s() function (a scoring module defines init() and run(data))" % (ENTRY, name))
        module.init()
        return cls(module)

    def run(self, data):
        """(status, body, content type). The call runs in its own thread so a slow run() is cut off."""
        if not self.slots.acquire(timeout=TIMEOUT):
            return 503, _error_body("BUSY", "all %d workers are busy" % WORKERS), "application/json"
        result = {}

        def call():
            try:
                result["value"] = self.module.run(data)
            except Exception as exc:  # the user's error: logged in full, answered in one line
                traceback.print_exc()
                result["error"] = "%s: %s" % (type(exc).__name__, exc)
            finally:
                self.slots.release()

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(TIMEOUT)
        if worker.is_alive():
            return 504, _error_body("TIMEOUT", "run() took longer than %d s" % TIMEOUT), "application/json"
        if "error" in result:
            return 500, _error_body("INTERNAL_ERROR", result["error"]), "application/json"
        value = result.get("value")
        if isinstance(value, (bytes, bytearray)):
            return 200, bytes(value), "application/octet-stream"
        try:
            return 200, json.dumps(value).encode("utf-8"), "application/json"
        except (TypeError, ValueError) as exc:
            return 500, _error_body("BAD_RESULT", "run() returned a value that is not JSON: %s" % exc), "application/json"


def make_handler(scorer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "modeldeploy-custom"
        sys_version = ""
        timeout = TIMEOUT  # reading a request may not take longer than scoring it
        protocol_version = "HTTP/1.1"

        def _send(self, status, body, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.split("?", 1)[0] in ("/ping", "/health"):
                return self._send(200, b'{"status": "ok"}')
            return self._send(404, _error_body("NOT_FOUND", "GET /ping or POST /invocations"))

        def do_POST(self):
            if self.path.split("?", 1)[0] != "/invocations":
                return self._send(404, _error_body("NOT_FOUND", "POST /invocations"))
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self.close_connection = True
                return self._send(411, _error_body("LENGTH_REQUIRED", "send Content-Length"))
            if int(length) > MAX_BODY:
                self.close_connection = True
                return self._send(413, _error_body("REQUEST_TOO_LARGE", "request body exceeds the limit"))
            raw = self.rfile.read(int(length))
            content_type = (self.headers.get("Content-Type") or "application/json").lower()
            data = raw
            if content_type.startswith(TEXT_TYPES):
                try:
                    data = raw.decode("utf-8")
                except UnicodeDecodeError:
                    return self._send(400, _error_body("BAD_REQUEST", "body is not UTF-8 text"))
            status, body, ctype = scorer.run(data)
            return self._send(status, body, ctype)

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    return Handler


def serve():
    try:
        from entrypoint import resolve_secret_refs  # SageMaker secret references, shared with MLflow images
    except ImportError:
        resolve_secret_refs = None
    if resolve_secret_refs is not None:
        resolve_secret_refs(os.environ)
    scorer = Scorer.load()
    server = ThreadingHTTPServer((HOST, PORT), make_handler(scorer))
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print("modeldeploy custom server listening on %s:%d" % server.server_address[:2], flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def healthcheck():
    import urllib.request

    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/ping" % PORT, timeout=5) as resp:
            sys.exit(0 if resp.status == 200 else 1)
    except Exception:
        sys.exit(1)


def main(argv):
    command = argv[1] if len(argv) > 1 else "serve"
    if command == "serve":
        serve()
    elif command == "healthcheck":
        healthcheck()
    else:
        sys.exit("usage: server.py serve | healthcheck")


if __name__ == "__main__":
    main(sys.argv)
