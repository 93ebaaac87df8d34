"""Real peers for source tests: an `mlflow server` (sqlite backend, --serve-artifacts, 127.0.0.1, free
port) populated with mlflow's own client, plus small local HTTP helpers (a forwarding proxy that counts
or truncates artifact downloads, and a server that refuses credentials)."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MLFLOW = Path(sys.executable).parent / "mlflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("mlflow server did not become healthy")


@dataclass
class Registry:
    url: str
    run_id: str = ""
    logged_model_id: str = ""
    classic_run_path: str = "classic"
    stage_supported: bool = False
    versions: dict[str, str] = field(default_factory=dict)  # version -> logged model id


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MLFLOW.exists():
        pytest.skip("mlflow is not installed in this environment")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [
            str(MLFLOW),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (uvicorn workers)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def registry(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """Three versions of 'iris' (different weights), alias champion → 2, version 3 in Production if the
    server still supports stages; run 1 also holds an MLflow-2 style model folder under 'classic'."""
    import warnings

    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from sklearn.linear_model import LinearRegression

    from tests.modelfactory import make_sklearn_model

    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(mlflow_server)
    reg = Registry(url=mlflow_server)
    classic = make_sklearn_model(tmp_path_factory.mktemp("classic") / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in (1, 2, 3):
            model = LinearRegression().fit(np.array([[0.0], [1.0]]), np.array([0.0, float(i)]))
            with mlflow.start_run() as run:
                info = mlflow.sklearn.log_model(
                    model, name="model", registered_model_name="iris", pip_requirements=["scikit-learn"]
                )
                if i == 1:
                    mlflow.log_artifacts(str(classic), reg.classic_run_path)
                    reg.run_id = run.info.run_id
                    reg.logged_model_id = info.model_id
            reg.versions[str(i)] = info.model_id
        client.set_registered_model_alias("iris", "champion", "2")
        try:
            client.transition_model_version_stage("iris", "3", "Production")
            reg.stage_supported = True
        except Exception:
            reg.stage_supported = False
    mlflow.set_tracking_uri(None)
    return reg


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ProxyServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _forward(self) -> None:
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        is_download = self.command == "GET" and self.path.startswith("/api/2.0/mlflow-artifacts/artifacts/")
        if is_download:
            srv.downloads.append(self.path)
        if srv.refuse is not None:
            self.send_response(srv.refuse)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error_code": "PERMISSION_DENIED", "message": "refused by test server"}')
            srv.auth_headers.append(self.headers.get("Authorization"))
            return
        req = urllib.request.Request(srv.upstream + self.path, data=body, method=self.command)
        for k in ("Content-Type", "Authorization"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            resp = urllib.request.urlopen(req, timeout=30)
        except urllib.error.HTTPError as exc:
            resp = exc
        data = resp.read()
        self.send_response(resp.status if hasattr(resp, "status") else resp.code)
        self.send_header("Content-Type", resp.headers.get("Content-Type", "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if is_download and srv.truncate and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])  # then close: a connection cut mid-download
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


class ProxyServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, *, truncate: bool = False, refuse: int | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.truncate = truncate
        self.refuse = refuse
        self.downloads: list[str] = []
        self.auth_headers: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def make_proxy(mlflow_server: str):
    """A forwarding proxy in front of the real server: counts artifact downloads, can cut them short
    (``truncate=True``) or answer every request with an HTTP status (``refuse=401``)."""
    started: list[ProxyServer] = []

    def make(**kwargs) -> ProxyServer:
        srv = ProxyServer(mlflow_server, **kwargs)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.shutdown()
        srv.server_close()
