"""The CLI as a new user meets it: exit codes, located errors on stderr, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modeldeploy.cli.app import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"
runner = CliRunner()


def run(*args: str, cwd: Path | None = None):
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the example, so tests may edit it."""
    shutil.copytree(EXAMPLE, tmp_path / "iris", ignore=shutil.ignore_patterns("make_model.py"))
    return tmp_path / "iris"


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("modeldeploy ")
    out = run("--help").stdout
    for cmd in ("validate", "render", "plan", "apply", "destroy", "inspect", "init", "schema"):
        assert cmd in out
    assert "Examples:" in out


def test_validate_ok_checks_base_and_every_environment(project: Path) -> None:
    r = run("validate", str(project / "deploy.yaml"))
    assert r.exit_code == 0, r.stderr
    assert "[prod]" in r.stderr and "[staging]" in r.stderr


def test_validate_invalid_is_exit_1_with_located_errors(project: Path) -> None:
    spec = project / "deploy.yaml"
    spec.write_text(spec.read_text().replace("compatibility: backward", "compatibility: sideways"))
    r = run("validate", str(spec))
    assert r.exit_code == 1
    assert f"{spec}:10:18: error: signature.compatibility" in r.stderr


def test_validate_requires_signature_exit_3(project: Path, tmp_path: Path) -> None:
    mlmodel = project / "model" / "MLmodel"
    data = yaml.safe_load(mlmodel.read_text())
    data.pop("signature")
    data.pop("saved_input_example_info")
    mlmodel.write_text(yaml.safe_dump(data))
    r = run("validate", str(project / "deploy.yaml"), "--env", "prod")
    assert r.exit_code == 3, (r.stdout, r.stderr)
    assert "no signature" in r.stderr


def test_render_writes_name_folder_and_is_idempotent(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run("render", str(project / "deploy.yaml"), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert (out / "iris-classifier" / "Dockerfile").is_file()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "iris-classifier" / "stale.txt").write_text("old")
    r = run("render", str(project / "deploy.yaml"), "-o", str(out))
    assert "(1 changed)" in r.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_render_many_files_in_one_call_and_duplicate_names(project: Path, tmp_path: Path) -> None:
    other = project.parent / "other"
    other.mkdir()
    (other / "deploy.yaml").write_text(
        (project / "deploy.yaml")
        .read_text()
        .replace("./model", "../iris/model")
        .replace("name: iris-classifier", "name: iris-two")
    )
    r = run("render", str(project.parent), "-o", str(tmp_path / "out"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "out" / "iris-two" / "Dockerfile").is_file() and (tmp_path / "out" / "iris-classifier").is_dir()
    (other / "deploy.yaml").write_text(
        (other / "deploy.yaml").read_text().replace("name: iris-two", "name: iris-classifier")
    )
    r = run("render", str(project.parent), "-o", str(tmp_path / "out2"))
    assert r.exit_code == 1 and "names must be unique" in r.stderr
    assert not (tmp_path / "out2").exists()  # both trees were staged, neither is written


def test_inspect_text_and_json() -> None:
    r = run("inspect", str(EXAMPLE / "model"))
    assert r.exit_code == 0 and "sepal_length" in r.stdout and "double" in r.stdout
    facts = json.loads(run("inspect", str(EXAMPLE / "model"), "--format", "json").stdout)
    assert facts["python_version"] == "3.11.7" and facts["signature"]["inputs"][0]["name"] == "sepal_length"


def test_inspect_missing_model_is_one_line() -> None:
    r = run("inspect", "/nonexistent/model")
    assert r.exit_code == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") <= 2


def test_schema_matches_committed_file() -> None:
    assert run("schema").stdout == (REPO / "schemas" / "deploy.schema.json").read_text()


def test_init_writes_a_valid_commented_file(tmp_path: Path) -> None:
    for kind in ("docker", "kubernetes", "sagemaker", "azureml"):
        out = tmp_path / kind / "deploy.yaml"
        out.parent.mkdir()
        r = run("init", str(EXAMPLE / "model"), "--target", kind, "-o", str(out))
        assert r.exit_code == 0, r.stderr
        text = out.read_text()
        assert text.startswith("# yaml-language-server: $schema=")
        data = yaml.safe_load(text)
        assert data["target"]["kind"] == kind and data["signature"]["required"] is True
        assert (out.parent / data["model"]["source"]).resolve() == (EXAMPLE / "model").resolve()
    r = run("init", str(EXAMPLE / "model"), "-o", str(tmp_path / "docker" / "deploy.yaml"))
    assert r.exit_code == 1 and "--force" in r.stderr


def test_no_traceback_from_a_real_process_on_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "deploy.yaml"
    bad.write_bytes(b"apiVersion: modeldeploy/v1\nname: !!python/object/apply:os.system [id]\n\xff\n")
    proc = subprocess.run(
        [sys.executable, "-m", "modeldeploy", "validate", str(bad)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "deploy.yaml:3:1: error" in proc.stderr


def test_custom_model_needs_no_signature_unless_required_explicitly(tmp_path: Path) -> None:
    example = REPO / "examples" / "custom"
    shutil.copytree(example, tmp_path / "custom")
    spec = tmp_path / "custom" / "deploy.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("signature:\n  required: false  # custom models carry no signature\n", ""))
    r = run("validate", str(spec), "--env", "sagemaker")
    assert r.exit_code == 0, r.stderr
    spec.write_text(text.replace("required: false", "required: true"))
    r = run("validate", str(spec), "--env", "sagemaker")
    assert r.exit_code == 3 and "SIG901" in r.stderr


def test_pre_commit_hooks_and_ci_example_call_real_commands() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        args = hook["entry"].split()[1:]
        assert run(*args, "--help").exit_code == 0, hook["id"]
    workflow = yaml.safe_load((REPO / "examples" / "ci" / "modeldeploy.yml").read_text())
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("--detailed-exitcode" in s and "--format markdown" in s for s in steps)


def test_missing_optional_extra_is_an_install_hint_not_an_internal_error(tmp_path: Path) -> None:
    """boto3/botocore blocked from importing, as on an install without the aws extra."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('boto3', 'botocore'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from modeldeploy.cli.app import main\n"
        f"sys.argv = ['modeldeploy', 'render', {str(REPO / 'examples' / 'sagemaker' / 'deploy.yaml')!r}, '-o', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    assert "pip install 'modeldeploy[aws]'" in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["validate", "--offline", "examples/iris/deploy.yaml"],
        ["validate", "--offline", "examples/sagemaker/deploy.yaml"],
    ],
)
def test_startup_imports_only_what_the_command_needs(argv: list[str]) -> None:
    """Start-up cost is mostly imports: checking a file must not load the SDKs, the plan/apply engine
    (modeldeploy.api) or the Target machinery. Speed itself is measured in bench/, not asserted here."""
    code = (
        "import sys\n"
        "from modeldeploy.cli.app import main\n"
        f"sys.argv = ['modeldeploy', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    heavy = ('boto3', 'botocore', 'azure', 'kubernetes', 'kubernetes_validate', 'jsonschema', 'rich',\n"
        "             'mlflow', 'requests', 'modeldeploy.api', 'modeldeploy.targets.base', 'modeldeploy.rendering')\n"
        "    print('loaded:', ','.join(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "loaded:", proc.stdout
