"""Plumbing for the end-to-end tests that build and run rendered images on a real Docker engine.

The engine itself is started by ``tests/docker/engine.sh run -- …`` (which ``make test`` uses): it
exports DOCKER_HOST (a private socket) and MODELDEPLOY_TEST_BASE_IMAGE (Debian's python3 made into
a local image, since no registry may be reachable). Here: tag that base to every ``FROM`` a rendered
Dockerfile asks for, build with ``--network host`` (the engine runs without a bridge), run
containers on their own port of 127.0.0.1, and stop them again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 1200
LABEL = "io.modeldeploy.test=e2e"


def docker_cli() -> str | None:
    return shutil.which("docker")


def unavailable_reason() -> str | None:
    """Why no engine can be used here, or None when one answers on DOCKER_HOST."""
    if os.environ.get("MODELDEPLOY_DOCKER_UNAVAILABLE"):
        return os.environ["MODELDEPLOY_DOCKER_UNAVAILABLE"]
    if not os.environ.get("DOCKER_HOST"):
        return (
            "no Docker engine: run the tests under tests/docker/engine.sh run -- … "
            "(make test does), which starts a private one"
        )
    cli = docker_cli()
    if cli is None:
        return "no docker client on PATH"
    proc = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"the Docker engine at {os.environ['DOCKER_HOST']} does not answer: {proc.stderr.strip()[-300:]}"
    if not os.environ.get("MODELDEPLOY_TEST_BASE_IMAGE"):
        return "MODELDEPLOY_TEST_BASE_IMAGE is not set (engine.sh sets it to the local base image)"
    return None


def docker(
    *args: str, check: bool = True, timeout: float = 300, input: str | None = None
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [docker_cli() or "docker", *args], capture_output=True, text=True, timeout=timeout, input=input
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def from_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile starts from (stage aliases left out)."""
    stages: set[str] = set()
    images = []
    for line in dockerfile.read_text().splitlines():
        m = re.match(r"\s*FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if m:
            if m.group(1) not in stages:
                images.append(m.group(1))
            if m.group(2):
                stages.add(m.group(2))
    return images


def tag_base(image: str) -> None:
    """Make ``image`` (e.g. python:3.11.7-slim) the local Debian base, if its Python is 3.11.

    The local base has Debian's Python 3.11; a Dockerfile asking for another minor version would
    test a different interpreter than it names, so that is refused rather than faked.
    """
    m = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?(?:-slim)?", image)
    if not m:
        pytest.fail(f"the rendered Dockerfile starts FROM {image}, which the local engine cannot provide")
    if (m.group(1), m.group(2)) != ("3", "11"):
        pytest.fail(f"FROM {image}: the local base image has Python 3.11 only")
    docker("tag", os.environ["MODELDEPLOY_TEST_BASE_IMAGE"], image)


def build(context: Path, tag: str) -> float:
    """``docker build`` the rendered folder; returns the seconds it took."""
    for image in from_images(context / "Dockerfile"):
        tag_base(image)
    start = time.monotonic()
    docker("build", "--network", "host", "--label", LABEL, "-t", tag, str(context), timeout=BUILD_TIMEOUT)
    return time.monotonic() - start


def render(deploy_yaml: Path, out: Path, env: str | None = None) -> Path:
    """``modeldeploy render`` as a user runs it; returns the rendered folder of the one deployment."""
    cmd = [sys.executable, "-m", "modeldeploy", "render", str(deploy_yaml), "-o", str(out)]
    if env:
        cmd += ["--env", env]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folders = [p for p in out.iterdir() if (p / "Dockerfile").is_file()]
    assert len(folders) == 1, folders
    return folders[0]


def mlflow_context(model: Path, dest: Path) -> Path:
    """MLflow's own build context for ``model`` (``mlflow models generate-dockerfile``, local env
    manager), the peer the benchmarks compare with; RuntimeError with MLflow's stderr if it fails."""
    cmd = [sys.executable, "-m", "mlflow", "models", "generate-dockerfile", "-m", str(model), "-d", str(dest)]
    proc = subprocess.run([*cmd, "--env-manager", "local"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    """One running container; ``url`` answers on 127.0.0.1 (host network, its own port)."""

    def __init__(
        self,
        image: str,
        *args: str,
        env: dict[str, str] | None = None,
        network: str = "host",
        port: int | None = None,
        run_args: tuple[str, ...] = (),
    ):
        self.name = f"md-e2e-{uuid.uuid4().hex[:10]}"
        self.port = port if port is not None else free_port()
        env = dict(env or {})
        if network == "host":
            env.setdefault("MODELDEPLOY_PORT", str(self.port))
        flags = ["--detach", "--name", self.name, "--label", LABEL, "--network", network, *run_args]
        for key, value in env.items():
            flags += ["-e", f"{key}={value}"]
        docker("run", *flags, image, *args)
        self.url = f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        proc = docker("logs", self.name, check=False)
        return (proc.stdout + proc.stderr)[-4000:]

    def inspect(self) -> dict:
        return json.loads(docker("inspect", self.name).stdout)[0]

    def wait_ready(self, path: str = "/ping", timeout: float = 180) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.inspect()["State"]
            if not state["Running"]:
                raise AssertionError(f"container exited ({state['ExitCode']}):\n{self.logs()}")
            try:
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{self.url}{path} did not answer within {timeout} s:\n{self.logs()}")

    def stop(self) -> None:
        docker("rm", "--force", self.name, check=False)
