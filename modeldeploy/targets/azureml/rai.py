"""Azure ML's Responsible AI dashboard for a deployment with an ``evaluation:`` section: a pipeline
job of the official registry components (constructor → error analysis, explanation, counterfactual,
causal → gather → score card) at a pinned version, the held-out and training rows as MLTable folders,
the model as the version modeldeploy registers, and the gate's thresholds and sensitive features as the
score card's configuration.

Rendered files (beside the other specs under ``azureml/``):

- ``rai-dashboard.job.yml``: the pipeline job (``az ml job create -f`` or ``apply --rai-dashboard``);
- ``rai-data/train/MLTable`` + the training file, ``rai-data/test/MLTable`` + the held-out file;
- ``rai-scorecard.json``: the score card's ``pdf_generation_config``.

The job names the model as ``azureml:NAME@latest`` (render cannot know the version apply will
register); ``apply --rai-dashboard`` pins it to the exact ``NAME:VERSION`` it registered or found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_azure_yaml, dump_json

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

COMPONENT_VERSION = "0.18.0"
REGISTRY = "azureml://registries/azureml/components/{}/versions/" + COMPONENT_VERSION
JOB = "azureml/rai-dashboard.job.yml"
SCORECARD = "azureml/rai-scorecard.json"
DATA_DIR = "azureml/rai-data"
#: The components' environment (responsibleai-tabular): what the model must load in.
AZURE_SKLEARN = "1.5.1"
AZURE_PYTHON = "3.10"
TEST_ROWS_MAX = 5000  # the constructor's maximum_rows_for_test_dataset default

# Score card metric names (rai_tabular_score_card): MLflow's names where they agree.
_SCORECARD_METRICS = {
    "classification": {"accuracy_score", "precision_score", "recall_score", "f1_score"},
    "regression": {"mean_absolute_error", "mean_squared_error", "r2_score"},
}
_FAIRNESS_METRIC = {
    "accuracy_score": "accuracy_score",
    "error_rate": "accuracy_score",
    "selection_rate": "selection_rate",
    "mean_absolute_error": "mean_absolute_error",
    "root_mean_squared_error": "mean_squared_error",
}


def wanted(ctx: RenderContext) -> bool:
    return ctx.spec.evaluation is not None and ctx.spec.model.type == "mlflow"


def model_info_placeholder(model_name: str) -> str:
    return f"{model_name}@latest"


def _mltable(file_name: str) -> bytes:
    if file_name.lower().endswith((".parquet", ".pq")):
        transform: dict[str, Any] = {"read_parquet": {"include_path_column": False}}
    else:
        transform = {"read_delimited": {"delimiter": ",", "encoding": "utf8", "header": "all_files_same_headers"}}
    body = {
        "$schema": "https://azuremlschemas.azureedge.net/latest/MLTable.schema.json",
        "type": "mltable",
        "paths": [{"file": f"./{file_name}"}],
        "transformations": [transform],
    }
    return dump_azure_yaml(body)


def _data_artifacts(ctx: RenderContext, key: str, rel: str, folder: str) -> list[Artifact]:
    from modeldeploy.model.digest import file_sha256

    path = Path(ctx.base_dir) / rel
    if not path.is_file():
        raise RenderError(f"evaluation.{key}: {rel} not found next to deploy.yaml (the RAI dashboard job uploads it)")
    name = path.name
    return [
        Artifact(f"{DATA_DIR}/{folder}/MLTable", "application/yaml", _mltable(name)),
        Artifact.from_file(
            f"{DATA_DIR}/{folder}/{name}",
            "application/octet-stream",
            path,
            sha256=file_sha256(path),
            size=path.stat().st_size,
            source=rel,
        ),
    ]


def _features(ctx: RenderContext) -> list[str]:
    ev = ctx.spec.evaluation
    if ev.features:
        return list(ev.features)
    # Only the header is read (CSV): the causal step needs feature names.
    path = Path(ctx.base_dir) / ev.data
    if path.suffix.lower() == ".csv" and path.is_file():
        import csv

        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        return [h for h in header if h != ev.target]
    return []


def scorecard(ctx: RenderContext, model_name: str) -> dict[str, Any]:
    ev = ctx.spec.evaluation
    metrics: dict[str, Any] = {}
    for name, spec in ev.thresholds.items():
        if name not in _SCORECARD_METRICS[ev.task]:
            continue
        entry: dict[str, Any] = {}
        if spec.threshold is not None:
            entry["threshold"] = f"{'>=' if spec.greater_is_better else '<='}{spec.threshold:g}"
        metrics[name] = entry
    if not metrics:
        metrics = {("accuracy_score" if ev.task == "classification" else "mean_absolute_error"): {}}
    out: dict[str, Any] = {
        "Model": {
            "ModelName": model_name,
            "ModelType": "Classification" if ev.task == "classification" else "Regression",
            "ModelSummary": f"{ctx.spec.name}: the evaluation gate of deploy.yaml (modeldeploy)",
        },
        "Metrics": metrics,
        "FeatureImportance": {"top_n": 6},
    }
    heat = list(ev.heatmap.features or [])
    if heat:
        out["DataExplorer"] = {"features": heat}
    if ev.fairness is not None:
        fz = ev.fairness
        out["Fairness"] = {
            "metric": [
                _FAIRNESS_METRIC.get(
                    fz.metric, "accuracy_score" if ev.task == "classification" else "mean_absolute_error"
                )
            ],
            "sensitive_features": list(fz.sensitive_features),
            "fairness_evaluation_kind": fz.kind,
        }
    return out


def job(ctx: RenderContext, model_name: str) -> dict[str, Any]:
    ev = ctx.spec.evaluation
    t = ctx.spec.target
    features = _features(ctx)
    categorical = list(ev.categorical_features or [])
    comp = REGISTRY.format
    dash = "${{parent.jobs.create_rai_job.outputs.rai_insights_dashboard}}"
    jobs: dict[str, Any] = {
        "create_rai_job": {
            "type": "command",
            "component": comp("rai_tabular_insight_constructor"),
            "limits": {"timeout": 3600},
            "inputs": {
                "title": f"{ctx.spec.name} (modeldeploy)",
                "task_type": ev.task,
                "model_input": "${{parent.inputs.model}}",
                "model_info": model_info_placeholder(model_name),
                "train_dataset": "${{parent.inputs.train_data}}",
                "test_dataset": "${{parent.inputs.test_data}}",
                "target_column_name": "${{parent.inputs.target_column_name}}",
                "categorical_column_names": json.dumps(categorical),
                "maximum_rows_for_test_dataset": TEST_ROWS_MAX,
            },
        },
        "error_analysis_01": {
            "type": "command",
            "component": comp("rai_tabular_erroranalysis"),
            "limits": {"timeout": 7200},
            "inputs": {
                "rai_insights_dashboard": dash,
                "max_depth": ev.cohorts.max_depth,
                "min_child_samples": ev.cohorts.min_samples_leaf,
                "filter_features": json.dumps(list(ev.heatmap.features or [])),
            },
        },
        "explain_01": {
            "type": "command",
            "component": comp("rai_tabular_explanation"),
            "limits": {"timeout": 7200},
            "inputs": {"comment": f"{ctx.spec.name}: explanations", "rai_insights_dashboard": dash},
        },
    }
    insights = [
        "${{parent.jobs.error_analysis_01.outputs.error_analysis}}",
        "${{parent.jobs.explain_01.outputs.explanation}}",
    ]
    if ev.task == "classification":
        jobs["counterfactual_01"] = {
            "type": "command",
            "component": comp("rai_tabular_counterfactual"),
            "limits": {"timeout": 7200},
            "inputs": {
                "rai_insights_dashboard": dash,
                "total_CFs": 10,
                "desired_class": "opposite",
                "feature_importance": True,
            },
        }
        insights.append("${{parent.jobs.counterfactual_01.outputs.counterfactual}}")
    treatment = [f for f in (ev.heatmap.features or features[:2]) if f not in categorical]
    if treatment:
        jobs["causal_01"] = {
            "type": "command",
            "component": comp("rai_tabular_causal"),
            "limits": {"timeout": 7200},
            "inputs": {
                "rai_insights_dashboard": dash,
                "treatment_features": json.dumps(treatment),
                "heterogeneity_features": "[]",
                "nuisance_model": "linear",
                "skip_cat_limit_checks": True,
            },
        }
        insights.append("${{parent.jobs.causal_01.outputs.causal}}")
    jobs["gather_01"] = {
        "type": "command",
        "component": comp("rai_tabular_insight_gather"),
        "limits": {"timeout": 7200},
        "inputs": {"constructor": dash, **{f"insight_{i}": v for i, v in enumerate(insights, 1)}},
    }
    jobs["scorecard_01"] = {
        "type": "command",
        "component": comp("rai_tabular_score_card"),
        "inputs": {
            "dashboard": "${{parent.jobs.gather_01.outputs.dashboard}}",
            "pdf_generation_config": {"type": "uri_file", "path": "./rai-scorecard.json", "mode": "download"},
        },
    }
    body: dict[str, Any] = {
        "$schema": "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json",
        "type": "pipeline",
        "experiment_name": f"{ctx.spec.name}-rai",
        "display_name": f"{ctx.spec.name} Responsible AI dashboard",
        "tags": {"modeldeploy.name": ctx.spec.name, "modeldeploy.model-digest": ctx.ref.digest},
        "inputs": {
            "target_column_name": ev.target,
            "train_data": {"type": "mltable", "path": "./rai-data/train"},
            "test_data": {"type": "mltable", "path": "./rai-data/test"},
            "model": {"type": "mlflow_model", "path": f"azureml:{model_name}@latest"},
        },
        "jobs": jobs,
    }
    if t.compute:
        body["compute"] = f"azureml:{t.compute}"
    else:
        body["settings"] = {"default_compute": "azureml:serverless"}
    return body


def render(ctx: RenderContext, model_name: str) -> list[Artifact]:
    ev = ctx.spec.evaluation
    if not ev.train_data:
        raise RenderError(
            "evaluation.train_data is needed by Azure ML's Responsible AI dashboard job (the explainer and error analysis train on it)",
            hint="add evaluation.train_data: data/train.csv (relative to deploy.yaml)",
        )
    return [
        Artifact(JOB, "application/yaml", dump_azure_yaml(job(ctx, model_name))),
        Artifact(SCORECARD, "application/json", dump_json(scorecard(ctx, model_name))),
        *_data_artifacts(ctx, "train_data", ev.train_data, "train"),
        *_data_artifacts(ctx, "data", ev.data, "test"),
    ]


def pinned_job(job_file: Path, model_name: str, version: str) -> dict[str, Any]:
    """The rendered job with the model pinned to the version apply registered (or found)."""
    import yaml

    data = yaml.safe_load(job_file.read_text(encoding="utf-8"))
    data["inputs"]["model"]["path"] = f"azureml:{model_name}:{version}"
    data["jobs"]["create_rai_job"]["inputs"]["model_info"] = f"{model_name}:{version}"
    return data


def plan_notes(ctx: RenderContext) -> list[str]:
    """Where Azure's components cannot run the model: they load sklearn-flavor MLflow models only, in
    an environment with scikit-learn ~1.5.1 and Python 3.10."""
    if not wanted(ctx):
        return []
    notes = []
    flavors = set(getattr(ctx.model, "flavors", None) or ())
    if "sklearn" not in flavors:
        notes.append(
            f"Azure ML's Responsible AI components load sklearn-flavor MLflow models only; this model's flavors are "
            f"{', '.join(sorted(flavors)) or 'unknown'}: rai-dashboard.job.yml will fail in the constructor step"
        )
    wanted_sk = _requirement(ctx, "scikit-learn")
    if wanted_sk and not wanted_sk.startswith(AZURE_SKLEARN.rsplit(".", 1)[0]):
        notes.append(
            f"the model requires scikit-learn {wanted_sk}; Azure ML's Responsible AI environment has {AZURE_SKLEARN} "
            f"(components {COMPONENT_VERSION}, Python {AZURE_PYTHON}): the dashboard may not load or may score differently"
        )
    py = getattr(ctx.model, "python_version", None)
    if py and not str(py).startswith(AZURE_PYTHON):
        notes.append(
            f"the model was saved with Python {py}; Azure ML's Responsible AI environment runs Python {AZURE_PYTHON}"
        )
    return notes


def _requirement(ctx: RenderContext, package: str) -> str | None:
    """The version pinned for ``package`` in the model's requirements.txt (``==X`` only), else None."""
    import re

    for line in getattr(ctx.model, "requirements", None) or ():
        m = re.match(rf"^\s*{re.escape(package)}\s*==\s*([^\s;#]+)", str(line), re.I)
        if m:
            return m.group(1)
    return None
