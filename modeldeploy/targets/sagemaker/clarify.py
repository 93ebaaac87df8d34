"""SageMaker Clarify from the evaluation: section (optional: AWS no longer opens Clarify to new
customers). ``evaluation.clarify`` on a sagemaker target renders:

- ``sagemaker/clarify/analysis_config.json``: SHAP explainability, and pre/post-training bias for the
  fairness section's sensitive features (classification with ``fairness.positive_label``);
- ``sagemaker/clarify/CreateProcessingJob.json``: the processing job request (inputs
  ``analysis_config`` and ``dataset``, output ``analysis_result``), validated against botocore's
  service model like every other request.

The predictor is the model modeldeploy creates (CreateModel's ``ModelName``); Clarify starts a shadow
endpoint of it and sends it headerless CSV rows. Nothing is submitted by apply: upload the analysis
config beside the output prefix and call ``aws sagemaker create-processing-job --cli-input-json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_json

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

CONFIG = "sagemaker/clarify/analysis_config.json"
JOB = "sagemaker/clarify/CreateProcessingJob.json"


def wanted(ctx: RenderContext) -> bool:
    ev = ctx.spec.evaluation
    return ev is not None and ev.clarify is not None


def _headers(ctx: RenderContext) -> list[str]:
    """The CSV's columns (the label included), from evaluation.data's header row."""
    import csv
    from pathlib import Path

    ev = ctx.spec.evaluation
    path = Path(ctx.base_dir) / ev.data
    if path.suffix.lower() != ".csv" or not path.is_file():
        raise RenderError(
            "evaluation.clarify needs evaluation.data as a CSV file next to deploy.yaml (Clarify reads CSV with these headers)"
        )
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    cols = [c for c in header if c == ev.target or not ev.features or c in ev.features]
    if ev.target not in cols:
        raise RenderError(f"evaluation.clarify: {ev.data} has no column {ev.target!r}")
    # Clarify wants the label with the features; other columns (sensitive features that are not model
    # inputs) would be sent to the model, so only features + label are kept.
    return cols


def analysis_config(ctx: RenderContext, model_name: str) -> dict[str, Any]:
    ev = ctx.spec.evaluation
    cl = ev.clarify
    headers = _headers(ctx)
    methods: dict[str, Any] = {
        "shap": {
            "num_samples": cl.shap_samples,
            "agg_method": "mean_abs",
            "use_logit": False,
            "save_local_shap_values": True,
        },
        "report": {"name": "report", "title": f"{ctx.spec.name}: Clarify analysis"},
    }
    config: dict[str, Any] = {
        "dataset_type": "text/csv",
        "headers": headers,
        "label": ev.target,
        "methods": methods,
        "predictor": {
            "model_name": model_name,
            "instance_type": cl.instance_type,
            "initial_instance_count": 1,
            "content_type": "text/csv",
            "accept_type": "text/csv",
        },
    }
    fz = ev.fairness
    if fz is not None and ev.task == "classification" and fz.positive_label is not None:
        facets = [f for f in fz.sensitive_features if f in headers]
        if facets:
            config["facet"] = [{"name_or_index": f} for f in facets]
            config["label_values_or_threshold"] = [fz.positive_label]
            methods["pre_training_bias"] = {"methods": "all"}
            methods["post_training_bias"] = {"methods": "all"}
    return config


def requests(ctx: RenderContext, model_name: str, role_arn: str, tags: list[dict[str, str]]) -> list[Artifact]:
    from modeldeploy.targets.sagemaker.naming import object_name
    from modeldeploy.targets.sagemaker.validate import validate_request

    t = ctx.spec.target
    cl = ctx.spec.evaluation.clarify
    config = analysis_config(ctx, model_name)
    prefix = f"s3://{t.artifact_bucket}/{t.artifact_prefix}/{ctx.spec.name}/clarify"
    output = cl.output_s3_uri or f"{prefix}/output"
    body: dict[str, Any] = {
        "RoleArn": role_arn,
        "AppSpecification": {"ImageUri": cl.image_uri},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": cl.instance_count,
                "InstanceType": cl.instance_type,
                "VolumeSizeInGB": 30,
            }
        },
        "ProcessingInputs": [
            {
                "InputName": "analysis_config",
                "S3Input": {
                    "S3Uri": f"{prefix}/analysis_config.json",
                    "LocalPath": "/opt/ml/processing/input/config",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
            {
                "InputName": "dataset",
                "S3Input": {
                    "S3Uri": cl.data_s3_uri,
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "analysis_result",
                    "S3Output": {"S3Uri": output, "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"},
                }
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": tags,
    }
    body = {"ProcessingJobName": object_name(f"{ctx.spec.name}-clarify", ctx.ref.digest, body), **body}
    validate_request("sagemaker", "CreateProcessingJob", body, where=JOB)
    return [Artifact(CONFIG, "application/json", dump_json(config)), Artifact(JOB, "application/json", dump_json(body))]
