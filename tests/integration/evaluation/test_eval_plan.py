"""The evaluation gate inside ``plan`` on real MLflow models scored by a real interpreter (this Python):
text, markdown and JSON show each metric with candidate/baseline/threshold, the worst cohorts in feature
terms and fairness by group; a failing gate exits 3 and ``apply`` refuses it; waivers are on record;
``baseline: deployed`` is found the way the signature policy finds the deployed version (a rendered
folder's lock file, a git ref) and scored the same way; nothing deployed is said in words; a deployed
model that cannot be read is an error, never a pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.errors import EvaluationError, PolicyViolation
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.printers import format_json, format_markdown, format_text

REPO = Path(__file__).resolve().parents[3]
OPTS = ObserveOptions(extra={"eval_python": sys.executable})

SPEC = """apiVersion: modeldeploy/v1
name: {name}
model: {{source: ./models/{model}}}
target: {{kind: docker}}
evaluation:
  data: data/test.csv
  target: label
  task: classification
  features: [x1, x2, region]
  thresholds:
    accuracy_score: {{threshold: 0.9, min_absolute_change: 0.0, greater_is_better: true}}
  cohorts: {{max_error_rate: 0.3, max_regression: 0.05}}
  baseline: {baseline}
  fairness: {{sensitive_features: [sex], metric: error_rate, kind: difference, threshold: 0.05}}
{waivers}"""


def _world(eval_world: Path, tmp: Path, model: str = "good", baseline: str = "deployed", waivers: str = "") -> Path:
    """A project folder (deploy.yaml, data/, models/ copied from the session's world)."""
    root = tmp / "project"
    if not root.exists():
        shutil.copytree(eval_world / "data", root / "data")
        shutil.copytree(eval_world / "models", root / "models")
    (root / "deploy.yaml").write_text(SPEC.format(name="clf", model=model, baseline=baseline, waivers=waivers))
    return root / "deploy.yaml"


def _render_into(spec: Path, folder: Path) -> None:
    from modeldeploy.rendering.write import write_tree

    dep = api.load(spec)
    write_tree(folder / dep.name, api.render(dep).artifacts)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "import sys; from modeldeploy.cli.app import main; sys.argv = ['modeldeploy', *sys.argv[1:]]; main()"
    env = {k: v for k, v in os.environ.items() if k != "MODELDEPLOY_EVAL_PYTHON"}
    env.update(PYTHONPATH=str(REPO), DOCKER_HOST="unix:///nonexistent/docker.sock", NO_COLOR="1")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_nothing_deployed_is_said_in_every_format(eval_world: Path, tmp_path: Path) -> None:
    spec = _world(eval_world, tmp_path)
    (tmp_path / "empty").mkdir()  # an existing empty folder: nothing deployed
    plan, _ = api.plan(api.load(spec), f"dir:{tmp_path / 'empty'}", options=OPTS)
    ev = plan.evaluation
    assert ev is not None and ev["passed"], ev["findings"]
    assert "nothing is deployed yet" in ev["baseline"]
    assert any("min_absolute_change" in n and "not checked" in n for n in ev["notes"])
    text = format_text([plan], color=False)
    md = format_markdown([plan])
    js = json.loads(format_json([plan]))["plans"][0]["evaluation"]
    for out in (text, md, js["baseline"]):
        assert "nothing is deployed yet" in out
    # each metric with candidate, baseline and threshold; cohorts in feature terms; fairness by group
    assert "accuracy_score: candidate 0.9" in text and "baseline -" in text and ">= 0.9" in text
    assert "| ✅ | `accuracy_score` |" in md
    assert js["metrics"][0]["metric"] == "accuracy_score" and js["metrics"][0]["baseline"] is None
    assert " wrong" in text and "worst cohorts (max_error_rate 0.3)" in text
    assert "error_rate by sex: difference" in text and "f " in text and "(n=" in text
    assert js["fairness"][0]["feature"] == "sex" and {g["group"] for g in js["fairness"][0]["groups"]} == {"f", "m"}
    # the JSON plan is valid against the published schema
    import jsonschema

    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(json.loads(format_json([plan])), schema)


def test_bad_model_against_the_deployed_folder_fails_and_names_the_cohort(eval_world: Path, tmp_path: Path) -> None:
    spec = _world(eval_world, tmp_path, model="good")
    rendered = tmp_path / "rendered"
    _render_into(spec, rendered)  # what is deployed: the good model (the lock file records it)
    _world(eval_world, tmp_path, model="bad")
    plan, _ = api.plan(api.load(spec), f"dir:{rendered}", options=OPTS)
    ev = plan.evaluation
    assert ev["baseline"].startswith("deployed (dir:") and ev["baseline"].endswith("models/good")
    assert ev["metrics"][0]["baseline"] is not None and ev["metrics"][0]["baseline"] > ev["metrics"][0]["candidate"]
    rules = {f["rule"] for f in plan.evaluation_failing}
    assert "EVAL202" in rules, ev["findings"]
    assert any("region == north" in f["field"] for f in plan.evaluation_failing)
    text = format_text([plan], color=False)
    assert "evaluation gate: FAILED" in text and "Evaluation gate:" in text and "(baseline " in text
    assert "❌ Evaluation gate" in format_markdown([plan])
    with pytest.raises(PolicyViolation, match="evaluation gate fails"):
        api.enforce_policy([plan])
    # the CLI: plan exits 3; apply refuses before writing anything
    out = _cli("plan", str(spec), "--against", str(rendered), "--eval-python", sys.executable, cwd=spec.parent)
    assert out.returncode == 3, out.stderr
    assert "region == north" in out.stdout
    before = sorted(p.name for p in (rendered / "clf").iterdir())
    lock_before = (rendered / "clf" / "modeldeploy.json").read_bytes()
    out = _cli(
        "apply",
        str(spec),
        "--against",
        str(rendered),
        "--auto-approve",
        "--eval-python",
        sys.executable,
        cwd=spec.parent,
    )
    assert out.returncode == 3, out.stderr
    assert "evaluation gate fails" in out.stderr
    assert sorted(p.name for p in (rendered / "clf").iterdir()) == before
    assert (rendered / "clf" / "modeldeploy.json").read_bytes() == lock_before


def test_waivers_are_on_record_and_let_the_plan_pass(eval_world: Path, tmp_path: Path) -> None:
    spec = _world(eval_world, tmp_path, model="good")
    rendered = tmp_path / "rendered"
    _render_into(spec, rendered)
    waivers = (
        "  waivers:\n"
        "    - {rule: EVAL202, reason: 'north cohort re-labelled on purpose; ML-7'}\n"
        "    - {rule: EVAL102, reason: 'accepted for the north re-labelling; ML-7'}\n"
        "    - {rule: EVAL201, reason: 'north cohort re-labelled on purpose; ML-7'}\n"
    )
    _world(eval_world, tmp_path, model="bad", waivers=waivers)
    plan, _ = api.plan(api.load(spec), f"dir:{rendered}", options=OPTS)
    assert plan.evaluation_failing == [] and plan.evaluation["findings"]
    api.enforce_policy([plan])  # waived: no refusal
    text, md = format_text([plan], color=False), format_markdown([plan])
    js = json.loads(format_json([plan]))["plans"][0]["evaluation"]
    for out in (text, md):
        assert "waived" in out and "ML-7" in out
    assert all(f["waived"].endswith("ML-7") for f in js["findings"])
    out = _cli("plan", str(spec), "--against", str(rendered), "--eval-python", sys.executable, cwd=spec.parent)
    assert out.returncode == 0, out.stderr
    assert "waived" in out.stdout


def test_deployed_model_that_cannot_be_read_is_an_error(eval_world: Path, tmp_path: Path) -> None:
    """The lock says ./models/good was deployed, but that folder now holds other files: the baseline
    cannot be read — an error, not a pass and not a comparison with the wrong model."""
    spec = _world(eval_world, tmp_path, model="good")
    rendered = tmp_path / "rendered"
    _render_into(spec, rendered)
    root = spec.parent
    shutil.rmtree(root / "models" / "good")
    shutil.copytree(root / "models" / "bad", root / "models" / "good")
    _world(eval_world, tmp_path, model="bad")
    with pytest.raises(EvaluationError) as info:
        api.plan(api.load(spec), f"dir:{rendered}", options=OPTS)
    assert "MD903" in str(info.value.lines()) and "deploy.yaml:" in "\n".join(info.value.lines())
    out = _cli("plan", str(spec), "--against", str(rendered), "--eval-python", sys.executable, cwd=root)
    assert out.returncode == 1 and "MD903" in out.stderr


def test_deployed_at_a_git_ref_is_the_baseline(eval_world: Path, tmp_path: Path) -> None:
    """The same local model folder changed since the ref: the ref's files are the baseline."""
    spec = _world(eval_world, tmp_path, model="current")
    root = spec.parent
    shutil.copytree(root / "models" / "good", root / "models" / "current")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "deployed"], cwd=root, check=True)
    shutil.rmtree(root / "models" / "current")
    shutil.copytree(root / "models" / "bad", root / "models" / "current")
    plan, _ = api.plan(api.load(spec), "git:main", options=OPTS)
    ev = plan.evaluation
    assert ev["baseline"].startswith("deployed (git:main)")
    assert any(f["rule"] == "EVAL202" for f in plan.evaluation_failing), ev["findings"]


def test_plan_without_evaluation_loads_no_analysis_stack(tmp_path: Path) -> None:
    """A plan of a spec without evaluation: imports none of numpy, pandas, sklearn (nor mlflow)."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    python_version: 3.11.0\n"
    )
    (model / "requirements.txt").write_text("mlflow\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: light\nmodel: {source: ./model}\ntarget: {kind: docker}\nsignature: {required: false}\n"
    )
    code = (
        "import sys\n"
        "from modeldeploy import api\n"
        "from modeldeploy.planning.printers import format_text\n"
        f"p, _ = api.plan(api.load({str(tmp_path / 'deploy.yaml')!r}), 'dir:' + {str(tmp_path / 'out')!r})\n"
        "print(format_text([p], color=False))\n"
        "print('loaded:', ','.join(m for m in ('numpy', 'pandas', 'sklearn', 'mlflow', 'modeldeploy.evaluation.analysis') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "light (docker)" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "loaded:", proc.stdout
