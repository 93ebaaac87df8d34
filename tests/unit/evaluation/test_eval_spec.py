"""deploy.yaml ``evaluation:``: the issue's contract loads; mistakes are located errors; data paths are
checked by validate (relative to deploy.yaml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import load_spec

REPO = Path(__file__).resolve().parents[3]

BASE = """\
apiVersion: modeldeploy/v1
name: iris
model: {source: ./model}
target: {kind: docker}
"""

ISSUE_EXAMPLE = """\
evaluation:
  data: data/test.csv            # CSV or Parquet, relative to deploy.yaml: the held-out rows
  train_data: data/train.csv     # needed by the Azure ML RAI job; optional for the local gate
  target: species                # label column
  task: classification           # classification | regression
  thresholds:                    # MLflow MetricThreshold semantics
    accuracy_score: {threshold: 0.9, min_absolute_change: 0.0, greater_is_better: true}
  cohorts:
    max_error_rate: 0.2          # the worst discovered cohort may not be worse than this
    max_depth: 3                 # error-tree settings (defaults as Azure's error analysis: 3 / 20)
    min_samples_leaf: 20
    max_regression: 0.02         # candidate vs baseline on the same cohorts
  baseline: deployed             # deployed | a model source | none
  fairness: {sensitive_features: [sex], metric: error_rate, kind: difference, threshold: 0.05}
"""


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "deploy.yaml"
    p.write_text(BASE + body)
    return p


def errors(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, body))
    return info.value.lines()


def test_the_issue_example_loads(tmp_path: Path) -> None:
    ev = load_spec(write(tmp_path, ISSUE_EXAMPLE)).spec.evaluation
    assert ev.task == "classification" and ev.baseline == "deployed"
    t = ev.thresholds["accuracy_score"]
    assert (t.threshold, t.min_absolute_change, t.greater_is_better) == (0.9, 0.0, True)
    assert (ev.cohorts.max_depth, ev.cohorts.min_samples_leaf, ev.cohorts.max_regression) == (3, 20, 0.02)
    assert ev.fairness.sensitive_features == ["sex"] and ev.fairness.kind == "difference"


def test_defaults_are_azures_error_analysis(tmp_path: Path) -> None:
    ev = load_spec(write(tmp_path, "evaluation: {data: t.csv, target: y, task: regression}\n")).spec.evaluation
    assert (ev.cohorts.max_depth, ev.cohorts.min_samples_leaf, ev.baseline) == (3, 20, "none")


@pytest.mark.parametrize(
    "body, where, text",
    [
        ("evaluation:\n  data: t.csv\n  target: y\n  task: clasification\n", "deploy.yaml:8:9", "evaluation.task"),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  treshold: {}\n",
            "deploy.yaml:9:3",
            "did you mean 'thresholds'",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  thresholds:\n    acc: {threshold: 0.9, greater_is_better: true}\n",
            "deploy.yaml:6:3",
            "unknown classification metric 'acc'",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  thresholds:\n    accuracy_score: {threshold: 0.9}\n",
            "deploy.yaml:10:21",
            "greater_is_better",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  thresholds:\n    accuracy_score: {greater_is_better: true}\n",
            "deploy.yaml:10:21",
            "no threshold was specified",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  thresholds:\n    accuracy_score: {threshold: true, greater_is_better: true}\n",
            "deploy.yaml:10:33",
            "not a boolean",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  thresholds:\n    accuracy_score: {min_relative_change: 1.5, greater_is_better: true}\n",
            "deploy.yaml:10:43",
            "less than or equal to 1",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  thresholds:\n    f1_score: {min_absolute_change: 0.01, greater_is_better: true}\n",
            "deploy.yaml:6:3",
            "baseline is none",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: regression\n  cohorts: {max_error_rate: 0.1}\n",
            "deploy.yaml:6:3",
            "cohorts.error_threshold",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  fairness: {sensitive_features: [sex], metric: r2_score, threshold: 0.1}\n",
            "deploy.yaml:6:3",
            "not a per-group classification metric",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  waivers: [{rule: SIG101, reason: x}]\n",
            "deploy.yaml:9:20",
            "unknown rule 'SIG101'",
        ),
        (
            "evaluation:\n  data: t.csv\n  target: y\n  task: classification\n  waivers: [{rule: EVAL201}]\n",
            "deploy.yaml:9:13",
            "reason",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, body: str, where: str, text: str) -> None:
    lines = errors(tmp_path, body)
    joined = "\n".join(lines)
    assert any(f"/{where}:" in line for line in lines), joined
    assert text in joined


def _validate(path: Path) -> subprocess.CompletedProcess:
    code = "import sys; from modeldeploy.cli.app import main; sys.argv = ['modeldeploy', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "validate", "--offline", str(path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )


def test_validate_checks_the_data_files_exist(tmp_path: Path) -> None:
    body = "evaluation:\n  data: data/test.csv\n  train_data: data/train.parquet\n  target: y\n  task: classification\n"
    p = write(tmp_path, body)
    proc = _validate(p)
    assert proc.returncode == 1
    assert (
        f"{p}:6:9: error: evaluation.data: 'data/test.csv' does not exist (relative to deploy.yaml) [MD130]"
        in proc.stderr
    )
    assert f"{p}:7:15: error: evaluation.train_data: 'data/train.parquet' does not exist" in proc.stderr
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test.csv").write_text("a,y\n1,0\n")
    (tmp_path / "data" / "train.parquet").mkdir()  # a folder is not a file
    proc = _validate(p)
    assert (
        proc.returncode == 1 and "'data/train.parquet' is not a file" in proc.stderr and "test.csv" not in proc.stderr
    )
    (tmp_path / "data" / "train.parquet").rmdir()
    (tmp_path / "data" / "train.parquet").write_bytes(b"PAR1")
    proc = _validate(p)
    assert proc.returncode == 0, proc.stderr


def test_unknown_data_format_is_located(tmp_path: Path) -> None:
    p = write(tmp_path, "evaluation:\n  data: rows.xlsx\n  target: y\n  task: classification\n")
    (tmp_path / "rows.xlsx").write_text("x")
    proc = _validate(p)
    assert (
        proc.returncode == 1
        and ":6:9: error: evaluation.data: 'rows.xlsx' is not a .csv or .parquet file" in proc.stderr
    )
