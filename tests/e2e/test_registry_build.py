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
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker-registry"],
            check=True,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        exe = shutil.which("docker-registry")
    if exe is None:
        pytest.fail("docker-registry is not installed (apt-get install docker-registry)")
    d = tmp_path_factory.mktemp("registry")
    port = eng.free_port()
    (d / "config.yml").write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(d / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
                "log": {"level": "error"},
            }
        )
    )
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
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args],
        capture_output=True,
        text=True,
        cwd=eng.REPO,
        env={**os.environ, "PYTHONPATH": str(eng.REPO)},
        timeout=eng.BUILD_TIMEOUT,
    )


def test_build_pushes_then_skips_when_the_registry_has_the_tag(tmp_path, registry):
    from modeldeploy.targets.docker.build import registry_has

    spec = {
        "apiVersion": "modeldeploy/v1",
        "name": "iris-reg",
        "model": {"source": str(eng.REPO / "examples" / "iris" / "model")},
        "target": {"kind": "kubernetes", "namespace": "models", "registry": registry, "build": {"network": "host"}},
    }
    deploy = tmp_path / "deploy.yaml"
    deploy.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    r = _cli("render", str(deploy), "-o", str(out))
    assert r.returncode == 0, r.stderr
    rendered = out / "iris-reg"
    image = yaml.safe_load((rendered / "k8s" / "deployment.yaml").read_text())["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
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


def test_plan_shows_the_image_and_apply_pushes_it_before_the_manifests(tmp_path, registry):
    """The image as a plan resource, against the real registry and engine, with the Kubernetes API
    stand-in (tests/integration/kubernetes/fakeapi.py: no kube-apiserver runs here; it has no Lease API,
    so apply runs with --lease-seconds 0) as the cluster:
    a live plan shows it to create, apply builds and pushes it before any manifest reaches the
    cluster, and the next plan shows it unchanged."""
    import json

    from modeldeploy.targets.docker.build import registry_has
    from tests.integration.kubernetes.fakeapi import FakeApiServer

    spec = {
        "apiVersion": "modeldeploy/v1",
        "name": "iris-live",
        "model": {"source": str(eng.REPO / "examples" / "iris" / "model")},
        "target": {"kind": "kubernetes", "namespace": "models", "registry": registry, "build": {"network": "host"}},
    }
    deploy = tmp_path / "deploy.yaml"
    deploy.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    assert _cli("render", str(deploy), "-o", str(out)).returncode == 0
    rendered = out / "iris-live"
    image = yaml.safe_load((rendered / "k8s" / "deployment.yaml").read_text())["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    for base in eng.from_images(rendered / "image" / "Dockerfile"):
        eng.tag_base(base)

    with FakeApiServer() as server:
        seen: list[bool] = []

        def controller(obj):
            # The cluster's view: whenever it is asked for the Deployment, is the image pullable?
            seen.append(registry_has(image))
            n = obj["spec"].get("replicas", 1)
            obj["status"] = {
                "observedGeneration": obj["metadata"]["generation"],
                "replicas": n,
                "updatedReplicas": n,
                "availableReplicas": n,
                "readyReplicas": n,
            }

        server.cluster.controllers["Deployment"] = controller
        env = {"KUBECONFIG": server.kubeconfig(tmp_path / "kubeconfig")}

        def cli(*args):
            return subprocess.run(
                [sys.executable, "-m", "modeldeploy", *args],
                capture_output=True,
                text=True,
                cwd=eng.REPO,
                env={**os.environ, "PYTHONPATH": str(eng.REPO), **env},
                timeout=eng.BUILD_TIMEOUT,
            )

        def image_change():
            r = cli("plan", str(deploy), "--against", "live", "--format", "json")
            assert r.returncode == 0, r.stderr
            changes = json.loads(r.stdout)["plans"][0]["changes"]
            assert changes[0]["address"] == "image.iris-live", "the image comes first"
            return changes[0]

        first = image_change()
        assert (first["action"], first["name"], first["after"]) == ("create", image, {"reference": image})
        text = cli("plan", str(deploy), "--against", "live")
        assert "+ image.iris-live" in text.stdout and f"+reference: {image}" in text.stdout, text.stdout

        applied = cli("apply", str(deploy), "--against", "live", "--auto-approve", "--lease-seconds", "0")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        log = applied.stderr
        assert log.index("docker push") < log.index("deployment.models.iris-live"), log
        assert registry_has(image)
        assert server.cluster.applies(), "the manifests reached the cluster"
        assert seen and all(seen), "the cluster never saw a Deployment whose image the registry lacked"

        again = image_change()
        assert (again["action"], again["name"]) == ("no-op", image)
        nothing = cli("apply", str(deploy), "--against", "live", "--auto-approve", "--lease-seconds", "0")
        assert nothing.returncode == 0 and "docker build" not in nothing.stderr, nothing.stderr
