"""`validate` and `render` of a file whose two environments would address one cloud object: refused,
located at the environment, naming both (docs/environments.md); by default they get their own names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = (
    "apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ./model}\n"
    "target: {kind: kubernetes, namespace: ml, image: registry.example.com/ml/iris:1}\n"
    "environments:\n  staging: {}\n  prod: {}\n"
)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_each_environment_renders_its_own_objects(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples" / "iris" / "model", tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(SPEC)
    assert cli("validate", "deploy.yaml", cwd=tmp_path).returncode == 0
    for env in ("staging", "prod"):
        r = cli("render", "deploy.yaml", "--env", env, "-o", "out", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        meta = json.loads((tmp_path / "out" / f"iris-{env}" / "modeldeploy.json").read_text())
        assert meta["name"] == f"iris-{env}"
        assert (
            f"name: iris-{env}\n  namespace: ml"
            in (tmp_path / "out" / f"iris-{env}" / "k8s" / "deployment.yaml").read_text()
        )


def test_two_environments_keeping_one_name_are_refused_located(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(
        SPEC.replace("staging: {}", "staging: {name: iris}").replace("prod: {}", "prod: {name: iris}")
    )
    r = cli("validate", "deploy.yaml", "--offline", cwd=tmp_path)
    assert r.returncode == 1
    assert (
        "deploy.yaml:7:3: error: (environment prod) environments.prod and environments.staging address the same "
        "Kubernetes objects ml/iris: applying one would overwrite the other [MD107]" in r.stderr.splitlines()
    )
    r = cli("render", "deploy.yaml", "--env", "staging", "-o", "out", cwd=tmp_path)
    assert r.returncode == 1 and "MD107" in r.stderr and not (tmp_path / "out").exists()
