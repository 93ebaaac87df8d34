"""The mistakes a person makes in the first hour, as the CLI reports them: one located line, a fix,
the same code for the same problem in every command, and no machine paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE / "model", tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: iris\nmodel:\n  source: ./model\n  type: mlflow\n"
        "target:\n  kind: docker\nenvironments:\n  prod: {}\n  staging: {}\n"
    )
    return tmp_path


def edit(project: Path, old: str, new: str) -> None:
    spec = project / "deploy.yaml"
    spec.write_text(spec.read_text().replace(old, new))


def test_a_misspelt_model_folder_is_located_with_a_did_you_mean(project: Path) -> None:
    edit(project, "./model", "./modle")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "deploy.yaml:4:11: error: model folder './modle' not found [MD300]",
        "hint: did you mean './model'? model.source is relative to the folder of deploy.yaml",
    ]


def test_init_of_a_missing_folder_is_the_same_error_code(project: Path) -> None:
    r = cli("init", "./modle", "-o", "x.yaml", cwd=project)
    assert r.returncode == 1
    assert "model folder 'modle' not found [MD300]" in r.stderr and "did you mean 'model'?" in r.stderr


def test_the_mlmodel_file_instead_of_its_folder_says_which_folder(project: Path) -> None:
    edit(project, "./model", "./model/MLmodel")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.stderr.splitlines() == [
        "deploy.yaml:4:11: error: model source './model/MLmodel' is a file, not a model folder [MD300]",
        "hint: use the folder that holds it: './model'",
    ]


def test_a_model_folder_missing_from_git_does_not_leak_a_scratch_path(project: Path) -> None:
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    (project / ".gitignore").write_text("model/\n")
    subprocess.run([*git, "add", ".gitignore", "deploy.yaml"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "spec only"], cwd=project, check=True)
    r = cli("plan", "deploy.yaml", "--against", "git:HEAD", cwd=project)
    assert r.returncode == 1
    assert "modeldeploy-git-" not in r.stderr and "/tmp" not in r.stderr
    assert r.stderr.splitlines()[0] == (
        "deploy.yaml@HEAD:4:11: error: model folder './model' is not in git at HEAD (not committed, or ignored by .gitignore) [MD300]"
    )
    assert r.stderr.splitlines()[1].startswith("hint: ")


def test_a_misspelt_kind_environment_and_name_suggest_the_fix(project: Path) -> None:
    edit(project, "kind: docker", "kind: dokcer")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert "deploy.yaml:7:9: error: target.kind must be one of" in r.stderr and "not 'dokcer'; did you mean 'docker'?" in r.stderr
    edit(project, "kind: dokcer", "kind: docker")
    r = cli("validate", "deploy.yaml", "--env", "prdo", cwd=project)
    assert "environment 'prdo' is not defined; did you mean 'prod'?" in r.stderr
    assert "hint: pass --env prod, or add environments.prdo to deploy.yaml" in r.stderr
    edit(project, "name: iris", "name: Iris_Model")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert "deploy.yaml:2:7: error: name: must be a DNS-1123 label" in r.stderr and "try 'iris-model'" in r.stderr


def test_a_misspelt_required_key_is_one_error_not_two(project: Path) -> None:
    edit(project, "  source:", "  sorce:")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.stderr.splitlines() == ["deploy.yaml:4:3: error: unknown key 'model.sorce'; did you mean 'source'? [MD110]"]
    # a key that is simply missing is still reported
    edit(project, "  sorce: ./model\n", "")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert "missing required key 'model.source' [MD111]" in r.stderr
