"""SageMaker Clarify (optional) from the evaluation: section: the CreateProcessingJob request is
validated against botocore's service model (required members, types, patterns) and its analysis
config carries SHAP and the fairness section's bias facets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeldeploy.errors import RenderError
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl as _T  # noqa: F401  (import check)
from tests.unit.targets.sagemaker.sm_helpers import context, write_model

SPEC = """apiVersion: modeldeploy/v1
name: churn
model: {{source: ./model}}
target:
  kind: sagemaker
  region: eu-west-1
  execution_role_arn: arn:aws:iam::123456789012:role/sm
  artifact_bucket: my-bucket
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1
evaluation:
  data: data/test.csv
  target: label
  task: classification
  features: [x, y]
  fairness: {{sensitive_features: [x], metric: selection_rate, threshold: 0.1{positive}}}
{clarify}"""
CLARIFY = "  clarify: {image_uri: 131013547314.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-clarify-processing:1.0, data_s3_uri: 's3://my-bucket/data/test.csv'}\n"


def _render(tmp: Path, *, clarify: str = CLARIFY, positive: str = ", positive_label: '1'") -> dict[str, bytes]:
    from modeldeploy.targets import get_target

    write_model(tmp / "model")
    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "test.csv").write_text("x,y,sex,label\n0.1,0.2,f,0\n")
    (tmp / "deploy.yaml").write_text(SPEC.format(clarify=clarify, positive=positive))
    return {a.path: a.content for a in get_target("sagemaker").render(context(tmp / "deploy.yaml"))}


def test_processing_job_request_is_valid_for_botocore(tmp_path: Path) -> None:
    from modeldeploy.targets.sagemaker.validate import validate_request

    files = _render(tmp_path)
    job = json.loads(files["sagemaker/clarify/CreateProcessingJob.json"])
    validate_request("sagemaker", "CreateProcessingJob", job)  # again, explicitly
    assert job["ProcessingJobName"].startswith("churn-clarify-") and len(job["ProcessingJobName"]) <= 63
    assert [i["InputName"] for i in job["ProcessingInputs"]] == ["analysis_config", "dataset"]
    assert job["ProcessingInputs"][0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/config"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["OutputName"] == "analysis_result"
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/sm"
    config = json.loads(files["sagemaker/clarify/analysis_config.json"])
    model = json.loads(files["sagemaker/CreateModel.json"])
    assert config["predictor"]["model_name"] == model["ModelName"]
    assert config["headers"] == ["x", "y", "label"] and config["label"] == "label"
    assert set(config["methods"]) == {"shap", "pre_training_bias", "post_training_bias", "report"}
    assert config["facet"] == [{"name_or_index": "x"}] and config["label_values_or_threshold"] == ["1"]


def test_a_request_botocore_rejects_is_a_render_error(tmp_path: Path) -> None:
    bad = CLARIFY.replace("data_s3_uri: 's3://my-bucket/data/test.csv'", "data_s3_uri: 'not-an-s3-uri'")
    with pytest.raises(RenderError, match="CreateProcessingJob"):
        _render(tmp_path, clarify=bad)


def test_without_positive_label_only_shap(tmp_path: Path) -> None:
    config = json.loads(_render(tmp_path, positive="")["sagemaker/clarify/analysis_config.json"])
    assert set(config["methods"]) == {"shap", "report"} and "facet" not in config


def test_not_rendered_unless_asked(tmp_path: Path) -> None:
    assert not any("clarify" in p for p in _render(tmp_path, clarify=""))
