"""What a newcomer meets first: `init` piped into a file, every --help at 80 columns, and shell
completion of option values (through typer's own completion entry point, in a real process)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"
COMMANDS = [
    "validate",
    "render",
    "build",
    "inspect",
    "schema",
    "init",
    "plan",
    "apply",
    "destroy",
    "evaluate",
    "signature diff",
    "signature show",
    "signature rules",
]
_CLI = "import sys; from modeldeploy.cli.app import app; sys.argv[0] = 'modeldeploy'; app(prog_name='modeldeploy')"


def cli(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, stdout=subprocess.PIPE
) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args], cwd=cwd, env=full, stdout=stdout, stderr=subprocess.PIPE, text=True
    )


def test_init_redirected_to_deploy_yaml_writes_it(tmp_path: Path) -> None:
    """`modeldeploy init ./model > deploy.yaml`: the shell creates the file first; init must write
    the scaffold to the redirected stdout instead of refusing because deploy.yaml exists."""
    shutil.copytree(EXAMPLE / "model", tmp_path / "iris" / "model")
    project = tmp_path / "iris"
    with open(project / "deploy.yaml", "w") as fh:
        proc = cli("init", "./model", cwd=project, stdout=fh)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load((project / "deploy.yaml").read_text())
    assert data["model"]["source"] == "./model"
    assert data["name"] == "iris"  # the folder is called `model`, which is not a name: its parent's is
    assert cli("validate", "deploy.yaml", cwd=project).returncode == 0


def test_init_default_name_prefers_the_logged_name(tmp_path: Path) -> None:
    from modeldeploy.cli.init import default_name

    model = tmp_path / "model"
    assert default_name({"name": "Fraud_Scorer"}, model) == "fraud-scorer"
    assert default_name({"artifact_path": "churn-model"}, model) == "churn-model"
    assert default_name({}, tmp_path / "churn" / "model") == "churn"
    assert default_name({}, tmp_path / "resnet50") == "resnet50"
    assert default_name({"artifact_path": "model"}, Path("/model")) == "model"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_as_words_and_examples_do_not_break_in_a_flag(command: str) -> None:
    proc = cli(*command.split(), "--help")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for internal in ("<str>", "<path>", "<int", "list[", "{", "<bool>", "<float>"):
        assert internal not in text, f"{command} --help shows {internal!r}"
    assert all(len(line) <= 80 for line in text.splitlines()), text
    lines = text.splitlines()
    examples = [i for i, line in enumerate(lines) if re.match(r"^\s+([A-Z_]+=\S+ )?modeldeploy ", line)]
    assert examples, f"{command} --help has no example"
    for i, line in enumerate(lines):
        # no word torn at a hyphen by wrapping ("--detailed-" / "exitcode")
        assert not re.search(r"\s--?[a-z][\w-]*-$", line), line
        if line.rstrip().endswith("\\"):
            assert lines[i + 1].lstrip().startswith(("-", ">", "|")), (line, lines[i + 1])


def _complete(words: str, cwd: Path = REPO) -> list[str]:
    parts = words.split(" ")
    proc = cli(
        env={"_MODELDEPLOY_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}, cwd=cwd
    )
    return proc.stdout.split()


def test_completion_offers_option_values_and_environment_names(tmp_path: Path) -> None:
    assert _complete("modeldeploy plan deploy.yaml --format ") == ["text", "markdown", "json"]
    assert _complete("modeldeploy init --target ") == ["docker", "kubernetes", "sagemaker", "azureml"]
    assert _complete("modeldeploy init --target k") == ["kubernetes"]
    assert _complete("modeldeploy signature show m --format ") == ["text", "json"]
    spec = EXAMPLE / "deploy.yaml"
    envs = sorted(yaml.safe_load(spec.read_text())["environments"])
    assert _complete(f"modeldeploy plan {spec} --env ") == envs
    assert _complete(f"modeldeploy validate {spec} -e {envs[0][:2]}") == [envs[0]]
    (tmp_path / "deploy.yaml").write_text("name: x\nenvironments: {blue: {}, green: {}}\n")
    assert _complete("modeldeploy validate --env ", cwd=tmp_path) == ["blue", "green"]
    (tmp_path / "deploy.yaml").write_text("name: [unclosed\n")
    assert _complete("modeldeploy validate --env ", cwd=tmp_path) == []
