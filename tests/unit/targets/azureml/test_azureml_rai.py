"""Azure ML's Responsible AI dashboard job rendered from the evaluation: section.

The job is loaded back with azure-ai-ml's own ``load_job`` (offline; it checks local paths), and
compared with Azure's programmer-regression example (tests/data/azureml-rai/, components 0.18.0): the
same registry components and input names. Submitting it and waiting is tested at the adapter seam:
FakeWorkspace for the apply flow, and ``create_autospec(JobOperations)`` for the SDK calls (no Azure ML
service can run here)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
import yaml

from modeldeploy.errors import ApplyError, RenderError
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.progress import Progress
from modeldeploy.targets.azureml.target import AzureMLTargetImpl
from tests.unit.targets.azureml.az_fake import FakeWorkspace
from tests.unit.targets.azureml.az_helpers import REPO, context, product_plan, write_spec

aml = pytest.importorskip("azure.ai.ml")

EXAMPLE = REPO / "tests" / "data" / "azureml-rai"
EVAL = """evaluation:
  data: data/test.csv
{train}  target: label
  task: classification
  categorical_features: [region]
  thresholds:
    accuracy_score: {{threshold: 0.9, greater_is_better: true}}
    error_rate: {{threshold: 0.1, greater_is_better: false}}
  cohorts: {{max_error_rate: 0.3, max_depth: 4, min_samples_leaf: 25}}
  heatmap: {{features: [x1, x2]}}
  fairness: {{sensitive_features: [sex], metric: error_rate, kind: difference, threshold: 0.05}}
"""


def _spec(tmp: Path, *, train: bool = True, fmt: str = "csv") -> Path:
    (tmp / "data").mkdir(exist_ok=True)
    rows = "x1,x2,region,sex,label\n0.1,0.2,north,f,0\n0.9,0.8,south,m,1\n"
    for name in ("test", "train"):
        (tmp / "data" / f"{name}.{fmt}").write_text(rows)
    body = EVAL.format(train="  train_data: data/train.csv\n" if train else "")
    if fmt != "csv":
        body = body.replace(".csv", f".{fmt}")
    return write_spec(tmp, extra=body)


def _rendered(tmp: Path, spec: Path) -> tuple[Path, list]:
    from modeldeploy.targets.azureml.validate import write_tree

    arts = AzureMLTargetImpl(lambda ctx: FakeWorkspace()).render(context(spec))
    out = tmp / "out"
    write_tree(out, arts)
    return out / "azureml", arts


def test_job_uses_the_pinned_registry_components_and_loads_with_the_sdk(tmp_path: Path) -> None:
    base, arts = _rendered(tmp_path, _spec(tmp_path))
    paths = {a.path for a in arts}
    assert {
        "azureml/rai-dashboard.job.yml",
        "azureml/rai-scorecard.json",
        "azureml/rai-data/train/MLTable",
        "azureml/rai-data/train/train.csv",
        "azureml/rai-data/test/MLTable",
        "azureml/rai-data/test/test.csv",
    } <= paths
    job = aml.load_job(str(base / "rai-dashboard.job.yml"))  # the SDK accepts it
    assert job.type == "pipeline"
    components = {name: str(j.component) for name, j in job.jobs.items()}
    for comp in (
        "insight_constructor",
        "erroranalysis",
        "explanation",
        "counterfactual",
        "causal",
        "insight_gather",
        "score_card",
    ):
        assert any(
            c == f"azureml://registries/azureml/components/rai_tabular_{comp}/versions/0.18.0"
            for c in components.values()
        ), comp
    data = yaml.safe_load((base / "rai-dashboard.job.yml").read_text())
    ctor = data["jobs"]["create_rai_job"]["inputs"]
    assert data["inputs"]["model"] == {"type": "mlflow_model", "path": "azureml:iris-classifier@latest"}
    assert ctor["model_info"] == "iris-classifier@latest" and ctor["task_type"] == "classification"
    assert json.loads(ctor["categorical_column_names"]) == ["region"]
    assert data["inputs"]["train_data"] == {"type": "mltable", "path": "./rai-data/train"}
    ea = data["jobs"]["error_analysis_01"]["inputs"]
    assert (ea["max_depth"], ea["min_child_samples"], json.loads(ea["filter_features"])) == (4, 25, ["x1", "x2"])
    assert json.loads(data["jobs"]["causal_01"]["inputs"]["treatment_features"]) == ["x1", "x2"]
    assert data["settings"] == {"default_compute": "azureml:serverless"}
    mltable = yaml.safe_load((base / "rai-data" / "test" / "MLTable").read_text())
    assert mltable["paths"] == [{"file": "./test.csv"}] and "read_delimited" in mltable["transformations"][0]
    assert (base / "rai-data" / "test" / "test.csv").read_text().startswith("x1,x2,region,sex,label")


def test_thresholds_and_fairness_become_the_scorecard_config(tmp_path: Path) -> None:
    base, _ = _rendered(tmp_path, _spec(tmp_path))
    card = json.loads((base / "rai-scorecard.json").read_text())
    # error_rate is not a score card metric: only accuracy_score goes there, with MLflow's direction
    assert card["Metrics"] == {"accuracy_score": {"threshold": ">=0.9"}}
    assert card["Fairness"] == {
        "metric": ["accuracy_score"],
        "sensitive_features": ["sex"],
        "fairness_evaluation_kind": "difference",
    }
    assert card["Model"]["ModelType"] == "Classification" and card["DataExplorer"] == {"features": ["x1", "x2"]}
    # the same top-level shape as Azure's own example config
    example = json.loads((EXAMPLE / "pdf_gen.json").read_text())
    assert set(card) <= set(example) and set(card["Fairness"]) == set(example["Fairness"])


def test_same_components_and_input_names_as_azures_example(tmp_path: Path) -> None:
    base, _ = _rendered(tmp_path, _spec(tmp_path))
    ours = yaml.safe_load((base / "rai-dashboard.job.yml").read_text())["jobs"]
    theirs = yaml.safe_load((EXAMPLE / "programmer-regression.yml").read_text())["jobs"]
    by_component = {
        j["component"]: j for j in theirs.values() if "component" in j and j["component"].startswith("azureml://")
    }
    for job in ours.values():
        ref = by_component.get(job["component"])
        assert ref is not None, job["component"]
        # every input Azure's example uses for this component that we also need has the same name
        shared = set(job["inputs"]) & set(ref["inputs"])
        assert shared, job["component"]
    ctor_ref = by_component["azureml://registries/azureml/components/rai_tabular_insight_constructor/versions/0.18.0"][
        "inputs"
    ]
    assert {
        "title",
        "task_type",
        "train_dataset",
        "test_dataset",
        "target_column_name",
        "categorical_column_names",
    } <= set(ours["create_rai_job"]["inputs"])
    assert set(ctor_ref) - {"model_info_path"} <= set(ours["create_rai_job"]["inputs"])


def test_parquet_data_is_read_as_parquet(tmp_path: Path) -> None:
    base, _ = _rendered(tmp_path, _spec(tmp_path, fmt="parquet"))
    mltable = yaml.safe_load((base / "rai-data" / "train" / "MLTable").read_text())
    assert "read_parquet" in mltable["transformations"][0]


def test_no_train_data_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="train_data"):
        _rendered(tmp_path, _spec(tmp_path, train=False))


def test_plan_notes_where_azure_cannot_run_the_model(tmp_path: Path) -> None:
    ctx = context(_spec(tmp_path))
    notes = AzureMLTargetImpl(lambda c: FakeWorkspace()).plan_notes(ctx)
    assert any("Python 3.11.7" in n and "3.10" in n for n in notes), notes
    # an sklearn-flavor model: no flavor note
    assert not any("sklearn-flavor MLflow models only" in n for n in notes)
    (tmp_path / "x").mkdir()
    no_eval = context(write_spec(tmp_path / "x"))
    assert not any("Responsible AI" in n for n in AzureMLTargetImpl(lambda c: FakeWorkspace()).plan_notes(no_eval))


def test_apply_submits_the_job_pinned_to_the_registered_version_and_waits(tmp_path: Path) -> None:
    ws = FakeWorkspace()
    target = AzureMLTargetImpl(lambda ctx: ws, sleep=lambda s: None, clock=lambda: 0.0)
    ctx = context(_spec(tmp_path))
    artifacts = target.render(ctx)
    desired = target.desired(ctx, artifacts)
    plan = product_plan(desired, target.observe(ctx, desired, ObserveOptions()))
    result = target.apply(ctx, plan, artifacts, Progress(), ObserveOptions(extra={"rai_dashboard": True}))
    assert result.outputs["rai_dashboard_job"] == "rai-1"
    spec = ws.jobs["rai-1"]["spec"]
    assert spec["inputs"]["model"]["path"] == "azureml:iris-classifier:1"
    assert spec["jobs"]["create_rai_job"]["inputs"]["model_info"] == "iris-classifier:1"
    assert ws.calls[-2:] == ["submit job rai-1", "wait job rai-1"]
    # without the flag nothing is submitted; a failed job fails apply
    ws2 = FakeWorkspace()
    ws2.job_outcome = "Failed"
    t2 = AzureMLTargetImpl(lambda ctx: ws2, sleep=lambda s: None, clock=lambda: 0.0)
    p2 = product_plan(desired, t2.observe(ctx, desired, ObserveOptions()))
    t2.apply(ctx, p2, artifacts, Progress())
    assert not getattr(ws2, "jobs", None)
    with pytest.raises(ApplyError, match="ended Failed"):
        t2.apply(
            ctx,
            product_plan(desired, t2.observe(ctx, desired, ObserveOptions())),
            artifacts,
            Progress(),
            ObserveOptions(extra={"rai_dashboard": True}),
        )


def test_adapter_submits_with_the_sdks_job_operations(tmp_path: Path) -> None:
    from azure.ai.ml.operations import JobOperations

    from modeldeploy.targets.azureml.client import AzureMLClient
    from modeldeploy.targets.azureml.rai import pinned_job

    base, _ = _rendered(tmp_path, _spec(tmp_path))
    pinned = base / "pinned.job.yml"
    pinned.write_text(yaml.safe_dump(pinned_job(base / "rai-dashboard.job.yml", "iris-classifier", "3")))
    jobs = create_autospec(JobOperations, instance=True)
    jobs.create_or_update.side_effect = lambda job, **kw: SimpleNamespace(name="rai-xyz", status="NotStarted")
    states = iter(["Running", "Completed"])
    jobs.get.side_effect = lambda name: SimpleNamespace(name=name, status=next(states))
    client = AzureMLClient(SimpleNamespace(jobs=jobs), "managed", poll_seconds=0)
    assert client.submit_job(pinned) == "rai-xyz"
    sent = jobs.create_or_update.call_args.args[0]
    assert sent.inputs["model"].path in ("azureml:iris-classifier:3", "iris-classifier:3")  # the SDK drops the prefix
    seen: list[str] = []
    assert client.wait_job("rai-xyz", on_status=seen.append) == "Completed"
    assert seen == ["Running", "Completed"]
    jobs.get.side_effect = lambda name: SimpleNamespace(name=name, status="Failed")
    with pytest.raises(ApplyError, match="ended Failed"):
        client.wait_job("rai-xyz")


def test_rendering_the_job_prints_nothing_of_the_sdks_experimental_classes(tmp_path: Path) -> None:
    """The SDK logs "Class X: This is an experimental class…" once per process when its loaders build
    the job's classes. A fresh CLI process (the SDK remembers what it printed) renders the job and its
    stderr holds none of it: six such lines broke into the CLI's output before."""
    import os
    import subprocess
    import sys

    spec = _spec(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "MODELDEPLOY_EVAL_PYTHON": sys.executable}
    proc = subprocess.run(
        [sys.executable, "-m", "modeldeploy", "render", str(spec), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "out" / "iris-classifier" / "azureml" / "rai-dashboard.job.yml").is_file(), proc.stdout
    assert "experimental class" not in proc.stderr, proc.stderr
