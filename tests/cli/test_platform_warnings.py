"""Defaults a platform reviewer accepts (docs/validate.md): the example values `init` writes are
flagged by validate until replaced (MD121), and an image a cluster or cloud would pull without a
registry host is a warning in validate and plan (MD140). Both are warnings: exit 0, located."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.targets.base import registry_host

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples" / "iris" / "model", tmp_path / "model")
    return tmp_path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_init_placeholders_are_flagged_until_replaced(project: Path) -> None:
    spec = project / "deploy.yaml"
    spec.write_text(cli("init", "./model", "--target", "sagemaker", cwd=project).stdout)
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "[MD121]" in line]
    assert [w.split(": warning: ")[0] for w in warnings] == [
        f"deploy.yaml:{_line_of(spec, 'execution_role_arn:')}:23",
        f"deploy.yaml:{_line_of(spec, '  registry:')}:13",
        f"deploy.yaml:{_line_of(spec, 'artifact_bucket:')}:20",
    ]
    assert "example AWS account 123456789012" in warnings[0]
    spec.write_text(
        spec.read_text().replace("123456789012", "210987654321").replace("my-model-artifacts", "ml-team-bucket")
    )
    r = cli("validate", "deploy.yaml", "--offline", cwd=project)
    assert r.returncode == 0 and "MD121" not in r.stderr


def test_azureml_zero_subscription_is_flagged_offline_too(project: Path) -> None:
    (project / "deploy.yaml").write_text(cli("init", "./model", "--target", "azureml", cwd=project).stdout)
    r = cli("validate", "deploy.yaml", "--offline", cwd=project)
    assert r.returncode == 0
    assert "target.subscription_id still holds the all-zero example subscription id" in r.stderr


def test_an_image_without_a_registry_host_is_a_warning_in_validate_and_plan(project: Path) -> None:
    spec = project / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ./model}\n"
        "target: {kind: kubernetes, namespace: ml, image: team/iris:1}\n"
    )
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.returncode == 0
    assert "deploy.yaml:4:50: warning: image 'team/iris:1' names no registry host" in r.stderr and "[MD140]" in r.stderr
    (project / "deployed").mkdir()
    r = cli("plan", "deploy.yaml", "--against", "deployed", "--format", "json", cwd=project)
    notes = json.loads(r.stdout)["plans"][0]["notes"]
    assert any(n.startswith("warning: image 'team/iris:1' names no registry host") for n in notes)
    spec.write_text(spec.read_text().replace("team/iris:1", "registry.example.com/team/iris:1"))
    r = cli("plan", "deploy.yaml", "--against", "deployed", "--format", "json", cwd=project)
    assert not any("registry host" in n for n in json.loads(r.stdout)["plans"][0]["notes"])


def test_the_default_kubernetes_image_is_warned_and_a_registry_is_not(project: Path) -> None:
    spec = project / "deploy.yaml"
    spec.write_text("apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ./model}\ntarget: {kind: kubernetes}\n")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert "warning: image 'iris:" in r.stderr and "give target.registry" in r.stderr
    spec.write_text(
        spec.read_text().replace("{kind: kubernetes}", "{kind: kubernetes, registry: registry.example.com/ml}")
    )
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.returncode == 0 and "MD140" not in r.stderr


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("iris:1", None),
        ("team/iris:1", None),
        ("library/iris", None),
        ("localhost/iris", "localhost"),
        ("127.0.0.1:5000/iris:1", "127.0.0.1:5000"),
        ("ghcr.io/org/iris@sha256:" + "a" * 64, "ghcr.io"),
        ("registry:5000/iris", "registry:5000"),
    ],
)
def test_registry_host_follows_the_reference_grammar(image: str, host: str | None) -> None:
    assert registry_host(image) == host
