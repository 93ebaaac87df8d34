"""Request validation: botocore's own ParamValidator plus the max/enum/pattern checks derived from the
service model's shape metadata. Real botocore service models, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.errors import RenderError
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from modeldeploy.targets.sagemaker.validate import skipped_patterns, validate_request
from tests.unit.targets.sagemaker.sm_helpers import FIXED_DIGEST, context, write_model

GOOD_MODEL = {
    "ModelName": "iris-abababababab-12345678",
    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sm",
    "PrimaryContainer": {"Image": "repo/iris:1", "ModelDataUrl": "s3://b/k/model.tar.gz"},
}


def test_a_valid_body_passes() -> None:
    validate_request("sagemaker", "CreateModel", GOOD_MODEL)


def test_too_long_name_is_caught() -> None:
    body = {**GOOD_MODEL, "ModelName": "m" * 64}
    with pytest.raises(RenderError, match=r"CreateModel.*ModelName.*at most 63"):
        validate_request("sagemaker", "CreateModel", body)


def test_bad_pattern_is_caught() -> None:
    body = {**GOOD_MODEL, "ModelName": "iris_classifier"}
    with pytest.raises(RenderError, match=r"CreateModel.*ModelName.*'iris_classifier' does not match"):
        validate_request("sagemaker", "CreateModel", body)


def test_bad_enum_is_caught() -> None:
    body = {
        "EndpointConfigName": "c",
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.bogus.huge", "InitialInstanceCount": 1}
        ],
    }
    with pytest.raises(
        RenderError, match=r"CreateEndpointConfig.*ProductionVariants\[0\]\.InstanceType.*'ml.bogus.huge' is not one of"
    ):
        validate_request("sagemaker", "CreateEndpointConfig", body)


def test_number_above_max_is_caught() -> None:
    body = {
        "EndpointConfigName": "c",
        "ProductionVariants": [
            {"VariantName": "v", "ModelName": "m", "ServerlessConfig": {"MemorySizeInMB": 8192, "MaxConcurrency": 5}}
        ],
    }
    with pytest.raises(RenderError, match=r"MemorySizeInMB: 8192 is above the maximum 6144"):
        validate_request("sagemaker", "CreateEndpointConfig", body)


def test_map_entries_are_checked() -> None:
    body = {**GOOD_MODEL, "PrimaryContainer": {**GOOD_MODEL["PrimaryContainer"], "Environment": {"X": "v" * 1025}}}
    with pytest.raises(RenderError, match=r"Environment\['X'\].*at most 1024"):
        validate_request("sagemaker", "CreateModel", body)


def test_botocore_structural_errors_name_the_operation() -> None:
    with pytest.raises(RenderError, match=r"CreateModel.*ModelName"):
        validate_request("sagemaker", "CreateModel", {k: v for k, v in GOOD_MODEL.items() if k != "ModelName"})
    with pytest.raises(RenderError, match=r"RegisterScalableTarget.*Unknown parameter"):
        validate_request(
            "application-autoscaling",
            "RegisterScalableTarget",
            {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "x",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "Bogus": 1,
            },
        )


def test_uncompilable_java_patterns_are_skipped_and_noted() -> None:
    validate_request("sagemaker", "CreateModel", {**GOOD_MODEL, "Tags": [{"Key": "team", "Value": "ml"}]})
    assert any(r"\p{L}" in p for p in skipped_patterns())


def _render(tmp_path: Path, target_extra: str, top_extra: str = "") -> list:
    write_model(tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(f"""\
apiVersion: modeldeploy/v1
name: iris
model: {{source: ./model}}
{top_extra}target:
  kind: sagemaker
  region: us-east-1
  execution_role_arn: arn:aws:iam::123456789012:role/sm
  image: repo/iris:1
  artifact_bucket: b
{target_extra}""")
    return SageMakerTargetImpl().render(context(tmp_path / "deploy.yaml", digest=FIXED_DIGEST))


def test_render_reports_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(
        RenderError, match=r"sagemaker/CreateEndpointConfig.json: invalid CreateEndpointConfig.*InstanceType"
    ):
        _render(tmp_path, "  instance_type: ml.nope\n")
    with pytest.raises(
        RenderError, match=r"sagemaker/CreateEndpointConfig.json.*EndpointConfigName.*bad_endpoint!.*does not match"
    ):
        _render(tmp_path, "  endpoint_name: bad_endpoint!\n")
    with pytest.raises(RenderError, match=r"EndpointName.*at most 63"):
        _render(tmp_path, f"  endpoint_name: {'e' * 70}\n")
    with pytest.raises(RenderError, match=r"CreateTransformJob.*TransformResources.InstanceType"):
        _render(
            tmp_path,
            "  mode: batch\n  instance_type: ml.m5.bogus\n  batch: {input_uri: 's3://a/in', output_uri: 's3://a/out'}\n",
        )
