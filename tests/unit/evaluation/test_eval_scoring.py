"""How the model gets scored, and that every way it cannot be scored (or its baseline cannot be read)
ends in an error — the gate never passes unchecked. Uses the repository's iris example model and the
iris rows shipped inside scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.errors import EvaluationError, ModelDeployError
from modeldeploy.evaluation.run import evaluate
from modeldeploy.evaluation.scoring import DockerScorer, InterpreterScorer, choose_scorer, docker_engine

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture()
def iris(tmp_path: Path):
    """deploy.yaml + data/test.csv beside a copy of examples/iris/model; returns a writer."""
    import shutil

    from sklearn.datasets import load_iris

    shutil.copytree(REPO / "examples" / "iris" / "model", tmp_path / "model")
    data = load_iris(as_frame=True)
    frame = data.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = data.target
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data" / "test.csv", index=False)

    def write(extra: str = "") -> Path:
        p = tmp_path / "deploy.yaml"
        p.write_text(
            "apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ./model}\ntarget: {kind: docker}\n"
            "evaluation:\n  data: data/test.csv\n  target: species\n  task: classification\n" + extra
        )
        return p

    return write


def test_explicit_interpreter_wins_over_the_environment() -> None:
    s = choose_scorer(
        "/opt/a/python", {"MODELDEPLOY_EVAL_PYTHON": "/opt/b/python"}, image="x:1", display="d.yaml", where=(3, 1)
    )
    assert isinstance(s, InterpreterScorer) and s.python == "/opt/a/python"
    s = choose_scorer(None, {"MODELDEPLOY_EVAL_PYTHON": "/opt/b/python"}, image="x:1", display="d.yaml", where=(3, 1))
    assert isinstance(s, InterpreterScorer) and s.python == "/opt/b/python"


def test_no_way_to_score_is_a_located_error_naming_both() -> None:
    with pytest.raises(EvaluationError) as info:
        choose_scorer(
            None, {}, image="iris:abc", display="deploy.yaml", where=(5, 3), engine_probe=lambda _docker: None
        )
    lines = info.value.lines()
    assert lines[0].startswith("deploy.yaml:5:3: error: evaluation: no way to score the model")
    assert "--eval-python" in lines[0] and "$MODELDEPLOY_EVAL_PYTHON" in lines[0] and "Docker engine" in lines[0]
    assert lines[1].startswith("hint: ")


def test_interpreter_that_fails_fails_the_evaluation(iris) -> None:
    dep = api.load(iris())
    with pytest.raises(EvaluationError, match=r"scoring with /bin/false failed \(exit 1\)"):
        evaluate(dep, eval_python="/bin/false")
    with pytest.raises(EvaluationError, match="does not exist"):
        evaluate(dep, eval_python="/nonexistent/python3")


def test_interpreter_without_mlflow_is_reported(iris, tmp_path: Path) -> None:
    """A bare venv (no mlflow): the script's ImportError comes back as the error's text."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    with pytest.raises(EvaluationError) as info:
        evaluate(api.load(iris()), eval_python=str(venv / "bin" / "python"))
    assert "ModuleNotFoundError" in info.value.message and "mlflow" in info.value.hint


def test_unreadable_baseline_fails_closed(iris) -> None:
    with pytest.raises(EvaluationError) as info:
        evaluate(api.load(iris("  baseline: ./no-such-model\n")), eval_python=sys.executable)
    line = info.value.lines()[0]
    assert ":9:13: error: evaluation.baseline: './no-such-model' cannot be read" in line
    with pytest.raises(EvaluationError) as info:
        evaluate(api.load(iris("  baseline: deployed\n")), eval_python=sys.executable)
    assert "does not pass" in info.value.lines()[0]


def test_missing_column_is_located(iris) -> None:
    with pytest.raises(ModelDeployError) as info:
        evaluate(
            api.load(iris("  fairness: {sensitive_features: [sex], threshold: 0.1}\n")), eval_python=sys.executable
        )
    assert (
        ":9:35: error: evaluation.fairness.sensitive_features: column 'sex' is not in data/test.csv"
        in info.value.lines()[0]
    )


def test_startup_path_stays_light() -> None:
    """`modeldeploy --help` and validate of a spec with evaluation: load no numpy/pandas/sklearn."""
    code = (
        "import sys\n"
        "from modeldeploy.cli.app import main\n"
        "from modeldeploy.spec import evaluation\n"
        "sys.argv = ['modeldeploy', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('loaded:', ','.join(m for m in ('numpy', 'pandas', 'sklearn', 'mlflow', 'modeldeploy.evaluation.analysis') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout.strip().splitlines()[-1] == "loaded:", proc.stdout + proc.stderr
    assert "evaluate" in proc.stdout


@pytest.mark.skipif(docker_engine() is None, reason="no Docker engine reachable: the image path is untested here")
def test_docker_path_refuses_an_image_that_is_not_built() -> None:
    docker = docker_engine()
    s = DockerScorer("modeldeploy-eval-test-absent:0", docker)
    with pytest.raises(EvaluationError, match="is not on the Docker engine"):
        s.check_image()
