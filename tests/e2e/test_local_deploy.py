"""Deploy locally (docker target with ``run``), as a user runs it from the CLI, on the real engine.

One module-scoped copy of the iris example with ``target.run`` set; the image is built once by the
first apply (later builds are cache hits). The engine of the test harness has no bridge network, so
the deployment uses ``build.network: host`` and ``run.network: host`` (the server then listens on
``run.port`` itself); ``--publish`` with a bridge is the default for users and is covered by the
unit tests of the ``docker run`` arguments only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e import engine as eng

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

SECRET = "md-secret-" + uuid.uuid4().hex
NAME = "iris-classifier"
LABEL = "io.modeldeploy.deployment=" + NAME


def _deploy_yaml(folder: Path, port: int) -> Path:
    path = folder / "deploy.yaml"
    path.write_text(
        "apiVersion: modeldeploy/v1\n"
        f"name: {NAME}\n"
        "model: {source: ./model, type: mlflow}\n"
        "serving:\n"
        "  env: {LOG_LEVEL: info}\n"
        "  secrets: {API_TOKEN: {secret: md-secrets, key: token}}\n"
        "target:\n"
        "  kind: docker\n"
        "  build: {network: host}\n"
        f"  run: {{port: {port}, network: host}}\n"
    )
    return path


def _edit_run(deploy: Path, change) -> None:
    lines = deploy.read_text().splitlines(keepends=True)
    deploy.write_text("".join(change(line) if line.startswith("  run:") else line for line in lines))


def _cli(
    *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 1500
) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "API_TOKEN"}
    environ.update(PYTHONPATH=str(eng.REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=timeout,
    )


def _ours() -> list[str]:
    return eng.docker("ps", "-a", "--filter", "label=" + LABEL, "--format", "{{.Names}}").stdout.split()


@pytest.fixture(scope="module")
def project(docker_engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("local")
    shutil.copytree(eng.REPO / "examples" / "iris" / "model", folder / "model")
    deploy = _deploy_yaml(folder, eng.free_port())
    rendered = eng.render(deploy, folder / "rendered")
    for image in eng.from_images(rendered / "Dockerfile"):
        eng.tag_base(image)
    shutil.rmtree(folder / "rendered")
    yield folder
    for name in _ours():
        eng.docker("rm", "--force", name, check=False)


def _example() -> dict:
    return json.loads((eng.REPO / "examples/iris/model/serving_input_example.json").read_text())


def test_missing_secret_is_refused_before_anything_starts(project):
    proc = _cli("apply", str(project / "deploy.yaml"), "--auto-approve")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "API_TOKEN" in proc.stderr and "not set" in proc.stderr, proc.stderr
    assert _ours() == []


def test_apply_plan_replace_destroy(project):
    deploy = project / "deploy.yaml"
    other = eng.docker(
        "create",
        "--label",
        eng.LABEL,
        "--name",
        f"not-ours-{uuid.uuid4().hex[:6]}",
        os.environ["MODELDEPLOY_TEST_BASE_IMAGE"],
        "true",
    ).stdout.strip()
    try:
        port = int(deploy.read_text().split("port: ")[1].split(",")[0])
        proc = _cli("apply", str(deploy), "--auto-approve", env={"API_TOKEN": SECRET})
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        url = f"http://127.0.0.1:{port}"
        assert url in out and "smoke test" in out
        assert SECRET not in out
        assert _ours() == [NAME]

        resp = requests.post(url + "/invocations", json=_example(), timeout=30)
        assert resp.status_code == 200, resp.text
        assert len(resp.json()["predictions"]) == len(_example()["dataframe_split"]["data"])

        # The secret reached the scoring server's process, and only its environment.
        environ = eng.docker("exec", NAME, "python", "-c", "print(open('/proc/1/environ','rb').read().decode())").stdout
        assert f"API_TOKEN={SECRET}" in environ.split("\x00")
        container = json.loads(eng.docker("inspect", NAME).stdout)[0]
        image = json.loads(eng.docker("image", "inspect", container["Config"]["Image"]).stdout)[0]
        assert SECRET not in json.dumps(image["Config"]) and SECRET not in json.dumps(container["Config"]["Labels"])
        assert SECRET not in eng.docker("history", "--no-trunc", container["Config"]["Image"]).stdout
        assert SECRET not in " ".join(container["Args"] + [container["Path"]])
        for path in project.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path

        plan = _cli("plan", str(deploy), "--against", "live", "--detailed-exitcode")
        assert plan.returncode == 0, plan.stdout + plan.stderr

        new_port = eng.free_port()
        deploy.write_text(deploy.read_text().replace(f"port: {port}", f"port: {new_port}"))
        plan = _cli("plan", str(deploy), "--detailed-exitcode")
        assert plan.returncode == 2, plan.stdout + plan.stderr
        text = plan.stdout + plan.stderr
        assert "replace" in text.lower() and "port" in text, text

        proc = _cli("apply", str(deploy), "--auto-approve", env={"API_TOKEN": SECRET})
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
        assert requests.get(f"http://127.0.0.1:{new_port}/ping", timeout=10).status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/ping", timeout=5)
        assert _ours() == [NAME]
        assert _cli("plan", str(deploy), "--detailed-exitcode").returncode == 0

        proc = _cli("destroy", str(deploy), "--auto-approve")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _ours() == []
        assert eng.docker("container", "inspect", other, check=False).returncode == 0, (
            "destroy removed another container"
        )
    finally:
        eng.docker("rm", "--force", other, check=False)


def test_failed_replacement_keeps_the_old_container(project, tmp_path):
    """A new container that cannot start (its env_file sets an invalid worker count) is removed and
    the running one answers again."""
    deploy = project / "deploy.yaml"
    port = int(deploy.read_text().split("port: ")[1].split(",")[0])
    assert _cli("apply", str(deploy), "--auto-approve", env={"API_TOKEN": SECRET}).returncode == 0
    try:
        old_id = eng.docker("inspect", "--format", "{{.Id}}", NAME).stdout.strip()
        (project / "bad.env").write_text("MODELDEPLOY_WORKERS=not-a-number\n")
        _edit_run(deploy, lambda run: run.replace("}", ", env_file: bad.env}"))
        proc = _cli("apply", str(deploy), "--auto-approve", "--timeout", "120", env={"API_TOKEN": SECRET})
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "previous" in proc.stderr
        assert eng.docker("inspect", "--format", "{{.Id}}", NAME).stdout.strip() == old_id
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=3).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(1)
        else:
            pytest.fail("the old container did not answer again")
        assert _ours() == [NAME]
    finally:
        _edit_run(deploy, lambda run: run.replace(", env_file: bad.env", ""))
        _cli("destroy", str(deploy), "--auto-approve")
    assert _ours() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_in_the_foreground_stops_and_removes_the_container(project, sig):
    port = eng.free_port()
    environ = {k: v for k, v in os.environ.items() if k != "API_TOKEN"}
    environ.update(PYTHONPATH=str(eng.REPO), API_TOKEN=SECRET)
    # SIGINT back to its default in the child: a test run started as a background job (SIGINT ignored,
    # which the child would inherit) must still see what Ctrl-C does.
    proc = subprocess.Popen(
        [sys.executable, "-m", "modeldeploy", "serve", str(project / "deploy.yaml"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 600
        answered = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answered = requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200
            except requests.RequestException:
                pass
            if answered:
                break
            time.sleep(1)
        assert answered, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert _ours() == [f"{NAME}-serve"]
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out[-3000:]
        assert "worker(s)" in out  # the container's own log lines were streamed
        assert SECRET not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            eng.docker("rm", "--force", f"{NAME}-serve", check=False)  # so one failure does not fail the next case
    assert _ours() == []


def test_workers_follow_the_container_cpu_limit(project):
    """serving.workers unset: the entrypoint sizes workers from the cgroup CPU quota (docker run --cpus;
    this engine has cgroup v1, the v2 file is read by the same code, unit-tested) or the affinity
    (--cpuset-cpus); an explicit MODELDEPLOY_WORKERS (serving.workers) wins."""
    image = eng.docker("images", "--filter", "reference=" + NAME, "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert image, "the image is built by the apply tests above"
    c = eng.Container(image[0], "serve", run_args=("--cpus", "1"), env={"API_TOKEN": "x"})
    try:
        c.wait_ready()
        assert "with 1 worker(s)" in c.logs()
    finally:
        c.stop()
    c = eng.Container(image[0], "serve", run_args=("--cpuset-cpus", "0"), env={"API_TOKEN": "x"})
    try:
        c.wait_ready()
        assert "with 1 worker(s)" in c.logs()
    finally:
        c.stop()
    c = eng.Container(image[0], "serve", run_args=("--cpus", "1"), env={"API_TOKEN": "x", "MODELDEPLOY_WORKERS": "2"})
    try:
        c.wait_ready()
        assert "with 2 worker(s)" in c.logs()
    finally:
        c.stop()
