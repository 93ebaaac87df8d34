"""modeldeploy's container entrypoint (copied verbatim into every image; no user data in here).

  serve         start the MLflow scoring server on $MODELDEPLOY_PORT (default 8080): GET /ping,
                /health, /version, POST /invocations. `docker run IMAGE serve` is SageMaker's contract.
  predict I O   score the file I into O once (batch jobs); content type from $MODELDEPLOY_INPUT_TYPE.
  healthcheck   exit 0 when /ping answers 200 (used by HEALTHCHECK).

The environment is installed at build time; nothing is created or downloaded at start-up. Request
bodies larger than $MODELDEPLOY_MAX_BODY_BYTES are refused with 413 before the model sees them.
Kept compatible with Python 3.7+, the oldest python_version found in real MLmodel files.
"""

import os
import sys

MODEL_PATH = os.environ.get("MODELDEPLOY_MODEL_PATH", "/opt/ml/model")


def _int_env(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit("%s must be an integer" % name)


def cpu_limit(cgroup_root="/sys/fs/cgroup"):
    """The CPUs this container may use: its cgroup CPU quota (v2 cpu.max, else v1
    cpu.cfs_quota_us/cpu.cfs_period_us; rounded up), capped by the CPU affinity; without a quota the
    affinity (os.sched_getaffinity), else os.cpu_count(). At least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, cpus)


def _read(path):
    try:
        with open(path) as f:
            return f.read().split()
    except (OSError, ValueError):
        return None


def _cgroup_quota(root):
    """Whole CPUs of the cgroup quota, rounded up; None when there is none (or no cgroup files)."""
    words = _read(os.path.join(root, "cpu.max"))  # cgroup v2: "<quota|max> <period>"
    if words:
        quota, period = words[0], words[1] if len(words) > 1 else "100000"
    else:  # cgroup v1
        for folder in ("cpu", "cpu,cpuacct"):
            q = _read(os.path.join(root, folder, "cpu.cfs_quota_us"))
            p = _read(os.path.join(root, folder, "cpu.cfs_period_us"))
            if q and p:
                quota, period = q[0], p[0]
                break
        else:
            return None
    try:
        quota, period = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    if quota <= 0 or period <= 0:  # v1 writes -1 for no quota
        return None
    return -(-quota // period)


def _workers():
    """serving.workers when deploy.yaml sets it (MODELDEPLOY_WORKERS), else one per usable CPU."""
    if os.environ.get("MODELDEPLOY_WORKERS"):
        return _int_env("MODELDEPLOY_WORKERS", 1)
    return cpu_limit()


PORT = _int_env("MODELDEPLOY_PORT", 8080)
WORKERS = _workers()
TIMEOUT = _int_env("MODELDEPLOY_TIMEOUT_SECONDS", 60)
MAX_BODY = _int_env("MODELDEPLOY_MAX_BODY_BYTES", 100 * 1024 * 1024)


class AsgiBodyLimit(object):
    """Refuse requests whose body exceeds the limit (declared or streamed) with 413."""

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                return await self._too_large(send)
        seen = [0]

        async def limited_receive():
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > self.limit:
                raise _TooLarge()
            return message

        try:
            return await self.app(scope, limited_receive, send)
        except _TooLarge:
            return await self._too_large(send)

    async def _too_large(self, send):
        body = b'{"error_code": "REQUEST_TOO_LARGE", "message": "request body exceeds the limit"}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class WsgiBodyLimit(object):
    def __init__(self, app, limit):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > self.limit:
            start_response("413 Request Entity Too Large", [("Content-Type", "application/json")])
            return [b'{"error_code": "REQUEST_TOO_LARGE", "message": "request body exceeds the limit"}']
        return self.app(environ, start_response)


class _TooLarge(Exception):
    pass


def _mlflow_major():
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        import importlib_metadata as metadata
    for dist in ("mlflow", "mlflow-skinny"):
        try:
            return int(metadata.version(dist).split(".")[0])
        except Exception:
            continue
    return 0


def _serves_asgi():
    """Whether MLflow's scoring server is a FastAPI app (every 3.x, and 2.x from 2.21) or a Flask one
    (1.x, 2.x up to 2.20): the Flask versions make their app with ``flask.Flask(``, some of them
    importing flask inside functions. Read from the installed file, so the server process does not
    import mlflow itself."""
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        import importlib_metadata as metadata
    for dist in ("mlflow", "mlflow-skinny"):
        try:
            path = metadata.distribution(dist).locate_file("mlflow/pyfunc/scoring_server/__init__.py")
            with open(str(path)) as f:
                return "flask.Flask(" not in f.read()
        except Exception:
            continue
    return _mlflow_major() >= 3


def _asgi_app():
    """MLflow 3 serves with FastAPI under uvicorn; the model is loaded once per worker."""
    from mlflow import pyfunc
    from mlflow.pyfunc import scoring_server

    return AsgiBodyLimit(scoring_server.init(pyfunc.load_model(MODEL_PATH)), MAX_BODY)


def _nodelay_protocol():
    """uvicorn's HTTP protocol, with TCP_NODELAY set on every connection it accepts.

    With more than one worker uvicorn binds the socket itself without naming the protocol (proto 0),
    and asyncio then leaves Nagle's algorithm on for the connections it accepts: a response written
    as headers then body waits for the client's delayed ACK, ~40 ms per keep-alive request."""
    try:
        import httptools  # noqa: F401  (uvicorn's "auto" prefers it when installed)
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base
    import socket

    class NoDelayProtocol(Base):
        def connection_made(self, transport):
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
            super().connection_made(transport)

    return NoDelayProtocol


_PROTOCOL = []


def __getattr__(name):
    # uvicorn imports the protocol by name in each worker process ("entrypoint:NoDelayHTTPProtocol"),
    # so it is built on first use there and uvicorn stays unimported for predict and healthcheck.
    if name == "NoDelayHTTPProtocol":
        if not _PROTOCOL:
            _PROTOCOL.append(_nodelay_protocol())
        return _PROTOCOL[0]
    raise AttributeError(name)


def serve():
    os.environ.setdefault("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", str(TIMEOUT))
    if _serves_asgi():
        import uvicorn

        uvicorn.run("entrypoint:_asgi_app", factory=True, host="0.0.0.0", port=PORT, http="entrypoint:NoDelayHTTPProtocol",
                    workers=WORKERS, timeout_keep_alive=5, app_dir=os.path.dirname(os.path.abspath(__file__)))
        return
    # MLflow 1.x and early 2.x: a Flask app under gunicorn.
    from gunicorn.app.base import BaseApplication

    class App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", "0.0.0.0:%d" % PORT)
            self.cfg.set("workers", WORKERS)
            self.cfg.set("timeout", TIMEOUT)

        def load(self):
            from mlflow import pyfunc
            from mlflow.pyfunc import scoring_server

            return WsgiBodyLimit(scoring_server.init(pyfunc.load_model(MODEL_PATH)), MAX_BODY)

    App().run()


def predict(input_path, output_path):
    from mlflow.pyfunc import scoring_server

    content_type = os.environ.get("MODELDEPLOY_INPUT_TYPE", "csv")
    scoring_server._predict(MODEL_PATH, input_path, output_path, content_type)


def healthcheck():
    import urllib.request

    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/ping" % PORT, timeout=5) as resp:
            sys.exit(0 if resp.status == 200 else 1)
    except Exception:
        sys.exit(1)


SECRET_SUFFIX = "__SECRET_REF"


def resolve_secret_refs(environ):
    """NAME__SECRET_REF=secretsmanager:<secret id>#<key> (written by the SageMaker target, which has
    no secret references of its own) becomes NAME=<value> in this process only; the value is never
    printed or written anywhere."""
    refs = dict((k[: -len(SECRET_SUFFIX)], v) for k, v in environ.items() if k.endswith(SECRET_SUFFIX))
    if not refs:
        return
    try:
        import boto3
    except ImportError:
        sys.exit("secret references need boto3 in the image (docker target: extra_requirements: [boto3])")
    import json

    client = boto3.client("secretsmanager")
    cache = {}
    for name, ref in sorted(refs.items()):
        if not ref.startswith("secretsmanager:") or "#" not in ref:
            sys.exit("%s%s: expected secretsmanager:<secret>#<key>" % (name, SECRET_SUFFIX))
        secret_id, key = ref[len("secretsmanager:"):].rsplit("#", 1)
        if secret_id not in cache:
            cache[secret_id] = client.get_secret_value(SecretId=secret_id)["SecretString"]
        raw = cache[secret_id]
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            if key not in data:
                sys.exit("%s: key %r not found in secret %s" % (name, key, secret_id))
            environ[name] = str(data[key])
        else:
            environ[name] = raw
        del environ[name + SECRET_SUFFIX]


def main(argv):
    command = argv[1] if len(argv) > 1 else "serve"
    if command == "serve":
        print("modeldeploy: serving on port %d with %d worker(s)" % (PORT, WORKERS), file=sys.stderr, flush=True)
    if command in ("serve", "predict"):
        resolve_secret_refs(os.environ)
    if command == "serve":
        serve()
    elif command == "predict" and len(argv) == 4:
        predict(argv[2], argv[3])
    elif command == "healthcheck":
        healthcheck()
    else:
        sys.exit("usage: entrypoint.py serve | predict INPUT OUTPUT | healthcheck")


if __name__ == "__main__":
    main(sys.argv)
