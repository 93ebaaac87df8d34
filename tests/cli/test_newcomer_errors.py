"""The mistakes a person makes in the first hour, as the CLI reports them: one located line, a fix,
the same code for the same problem in every command, and no machine paths."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


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
    assert (
        "deploy.yaml:7:9: error: target.kind must be one of" in r.stderr
        and "not 'dokcer'; did you mean 'docker'?" in r.stderr
    )
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
    assert r.stderr.splitlines() == [
        "deploy.yaml:4:3: error: unknown key 'model.sorce'; did you mean 'source'? [MD110]"
    ]
    # a key that is simply missing is still reported
    edit(project, "  sorce: ./model\n", "")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert "missing required key 'model.source' [MD111]" in r.stderr


@pytest.mark.parametrize(
    ("kind", "module", "package", "extra"),
    [
        ("kubernetes", "kubernetes_validate", "kubernetes-validate", "kubernetes"),
        ("sagemaker", "botocore", "botocore", "aws"),
        ("azureml", "azure.ai.ml", "azure-ai-ml", "azure"),
    ],
)
def test_validate_says_the_targets_extra_is_missing_as_render_does(
    project: Path, kind: str, module: str, package: str, extra: str
) -> None:
    """The extra is made unimportable in the child process only: a sitecustomize on its PYTHONPATH sets
    ``sys.modules[module] = None``, which is what Python does for a package that is not installed
    as far as an import is concerned (the venv itself keeps it)."""
    example = (REPO / "examples" / kind / "deploy.yaml").read_text().replace("../iris/model", "./model")
    (project / "deploy.yaml").write_text(example)
    shim = project / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(shim)])}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "modeldeploy", *args], cwd=project, env=env, capture_output=True, text=True
        )

    kind_line = next(i for i, line in enumerate(example.splitlines(), 1) if line.strip() == f"kind: {kind}")
    expected = [
        f"deploy.yaml:{kind_line}:9: error: the {kind} target needs {package} to render, and it is not installed [MD701]",
        f"hint: pip install 'modeldeploy[{extra}]'",
    ]
    for args in (
        ("validate", "deploy.yaml"),
        ("validate", "deploy.yaml", "--offline"),
        ("render", "deploy.yaml", "-o", "out"),
    ):
        r = run(*args)
        assert (r.returncode, r.stderr.splitlines()) == (1, expected), args
    # with the extra importable the same file validates
    assert cli("validate", "deploy.yaml", cwd=project).returncode == 0


def test_a_missing_or_wrong_model_folder_is_one_error_in_every_command(project: Path) -> None:
    """inspect, signature show, init and validate say the same words and code for the same folder; a
    hint about deploy.yaml appears only where the path came from deploy.yaml."""
    (project / "empty").mkdir()
    missing = ["error: model folder './modle' not found [MD300]", "hint: did you mean './model'?"]
    assert cli("inspect", "./modle", cwd=project).stderr.splitlines() == missing
    assert cli("signature", "show", "./modle", cwd=project).stderr.splitlines() == missing
    no_mlmodel = "model folder 'empty' has no MLmodel file [MD200]"
    hint = "hint: name the folder that holds the MLmodel file (the one mlflow.<flavor>.save_model writes)"
    for args in (("inspect", "empty"), ("signature", "show", "empty"), ("init", "empty")):
        r = cli(*args, cwd=project)
        assert r.returncode == 1 and r.stderr.splitlines()[0] == f"error: {no_mlmodel}", args
        assert r.stderr.splitlines()[1].startswith(hint), args
    edit(project, "./model", "./empty")
    r = cli("validate", "deploy.yaml", cwd=project)
    assert r.stderr.splitlines() == [f"deploy.yaml:4:11: error: {no_mlmodel}", hint]
    # init refuses the MLmodel file as validate does, instead of writing a deploy.yaml that fails
    r = cli("init", "model/MLmodel", cwd=project)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "error: model source 'model/MLmodel' is a file, not a model folder [MD300]",
        "hint: use the folder that holds it: 'model'",
    ]


def test_validate_shows_a_findings_change_once(project: Path) -> None:
    """validate prints a signature finding as plan does: the field, old → new, then the message."""
    mlmodel = project / "model" / "MLmodel"
    text, n = re.subn(
        r'"type":\s+"double", "name": "sepal_width"', '"type": "long", "name": "sepal_width"', mlmodel.read_text()
    )
    assert n == 1
    mlmodel.write_text(text)
    r = cli("validate", "deploy.yaml", "--env", "prod", cwd=project)
    assert r.returncode == 3
    assert r.stderr.splitlines() == [
        "error: deploy.yaml [prod]: SIG903 example.inputs.sepal_width: long → number: input example row 0 would be rejected [MD500]"
    ]


@pytest.mark.parametrize("kind", ["sagemaker", "kubernetes"])
def test_a_cloud_plan_without_credentials_is_one_line_and_a_hint(project: Path, kind: str) -> None:
    """No credentials at all, for real: the AWS chain finds none (the instance-metadata probe is
    switched off, as it is on any machine that is not in EC2) and no kubeconfig exists — the error
    comes before any request, so nothing here needs a network."""
    (project / "deploy.yaml").write_text(
        (REPO / "examples" / kind / "deploy.yaml").read_text().replace("../iris/model", "./model")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBE"))}
    env.update(
        PYTHONPATH=str(REPO),
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(project),
        AWS_CONFIG_FILE=str(project / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(project / "none"),
        KUBECONFIG=str(project / "none"),
    )
    r = subprocess.run(
        [sys.executable, "-m", "modeldeploy", "plan", "deploy.yaml", "--env", "prod"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 2, r.stderr
    assert lines[0].endswith("[MD700]") and (
        "no AWS credentials found" in lines[0] or "no Kubernetes credentials" in lines[0]
    )
    assert lines[1].startswith("hint: ") and "plan --against DIR or git:REF" in lines[1]


def test_validate_names_the_model_as_deploy_yaml_does(project: Path) -> None:
    r = cli("validate", "deploy.yaml", "--env", "prod", cwd=project)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"deploy\.yaml \[prod\]: valid \(model \./model, sha256:[0-9a-f]{12}…\)", r.stderr.strip()), (
        r.stderr
    )
    edit(project, "./model", "../" + project.name + "/model")  # leaves deploy.yaml's folder: pinned to the digest
    r = cli("validate", "deploy.yaml", "--env", "prod", cwd=project)
    assert f"valid (model ../{project.name}/model, sha256:" in r.stderr and r.stderr.count("sha256:") == 1, r.stderr
