"""`modeldeploy build --push` against a real OCI registry (Debian's docker-registry on 127.0.0.1,
storage in a temporary folder) with the real Docker engine: build, push, and skip when present."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.e2e import engine as eng

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]


@pytest.fixture(scope="module")
def registry(tmp_path_factory, docker_engine):
    exe = shutil.which("docker-registry")
    if exe is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker-registry"],
                       check=True, capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        exe = shutil.which("docker-registry")
    if exe is None:
        pytest.fail("docker-registry is not installed (apt-get install docker-registry)")
    d = tmp_path_factory.mktemp("registry")
    port = eng.free_port()
    (d / "config.yml").write_text(yaml.safe_dump({
        "version": 0.1, "storage": {"filesystem": {"rootdirectory": str(d / "data")}},
        "http": {"addr": f"127.0.0.1:{port}"}, "log": {"level": "error"},
    }))
    proc = subprocess.Popen([exe, "serve", str(d / "config.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("docker-registry did not start")
                time.sleep(0.3)
        yield f"127.0.0.1:{port}/ml"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modeldeploy", *args], capture_output=True, text=True, cwd=eng.REPO,
                          env={**os.environ, "PYTHONPATH": str(eng.REPO)}, timeout=eng.BUILD_TIMEOUT)


def test_build_pushes_then_skips_when_the_registry_has_the_tag(tmp_path, registry):
    from modeldeploy.targets.docker.build import registry_has

    spec = {
        "apiVersion": "modeldeploy/v1", "name": "iris-reg",
        "model": {"source": str(eng.REPO / "examples" / "iris" / "model")},
        "target": {"kind": "kubernetes", "namespace": "models", "registry": registry, "build": {"network": "host"}},
    }
    deploy = tmp_path / "deploy.yaml"
    deploy.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    r = _cli("render", str(deploy), "-o", str(out))
    assert r.returncode == 0, r.stderr
    rendered = out / "iris-reg"
    image = yaml.safe_load((rendered / "k8s" / "deployment.yaml").read_text())["spec"]["template"]["spec"]["containers"][0]["image"]
    for base in eng.from_images(rendered / "image" / "Dockerfile"):
        eng.tag_base(base)
    assert not registry_has(image)

    first = _cli("build", str(deploy), "--push")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip() == image
    assert "docker push" in first.stderr and "pushed" in first.stderr
    assert registry_has(image)

    second = _cli("build", str(deploy), "--push")
    assert second.returncode == 0, second.stderr
    assert "already in the registry" in second.stderr and "docker build" not in second.stderr
