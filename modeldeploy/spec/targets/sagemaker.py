"""deploy.yaml ``target`` section for ``kind: sagemaker`` (pure pydantic; imports nothing heavy).

The first eight keys are the issue's fixed contract; everything after them has a default, so a
minimal deploy.yaml stays minimal. See docs/sagemaker.md for what each key renders to.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from modeldeploy.spec.base import Line, StrictModel, empty_dict, empty_list
from modeldeploy.spec.targets.imagebuild import ImageBuildFields

_ECR = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(?:/.*)?$")


class ServerlessSettings(StrictModel):
    """``mode: serverless`` capacity (SageMaker ServerlessConfig)."""

    memory_mb: int = Field(
        default=2048, ge=1024, le=6144, description="Memory per invocation: 1024..6144 in steps of 1024."
    )
    max_concurrency: int = Field(default=5, ge=1, le=200, description="Concurrent invocations (1..200).")
    provisioned_concurrency: int | None = Field(
        default=None, ge=1, le=200, description="Pre-warmed concurrency (must not exceed max_concurrency)."
    )

    @field_validator("memory_mb")
    @classmethod
    def _step(cls, v: int) -> int:
        if v % 1024:
            raise ValueError("must be a multiple of 1024 (1024, 2048, 3072, 4096, 5120 or 6144)")
        return v

    @model_validator(mode="after")
    def _provisioned(self) -> ServerlessSettings:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError("provisioned_concurrency exceeds max_concurrency")
        return self


class AsyncSettings(StrictModel):
    """``mode: async`` output locations and notifications (SageMaker AsyncInferenceConfig)."""

    output_path: Line | None = Field(
        default=None,
        description="s3:// prefix for results (default: s3://<artifact_bucket>/<prefix>/<name>/async-output).",
    )
    failure_path: Line | None = Field(default=None, description="s3:// prefix for failed requests.")
    success_topic: Line | None = Field(default=None, description="SNS topic ARN notified on success.")
    error_topic: Line | None = Field(default=None, description="SNS topic ARN notified on failure.")
    max_concurrent_invocations_per_instance: int | None = Field(default=None, ge=1, le=1000)
    target_backlog_per_instance: float = Field(
        default=5.0, gt=0, description="Autoscaling target for ApproximateBacklogSizePerInstance (async only)."
    )


_CAPTURE_BOTH: tuple[Literal["input", "output"], ...] = ("input", "output")


class DataCaptureSettings(StrictModel):
    """Capture requests/responses to S3 (SageMaker DataCaptureConfig)."""

    destination: Line = Field(description="s3:// prefix where captured data is written.")
    sampling_percent: int = Field(default=100, ge=0, le=100)
    capture: list[Literal["input", "output"]] = Field(default_factory=lambda: list(_CAPTURE_BOTH), min_length=1)
    json_content_types: list[Line] = Field(default_factory=lambda: ["application/json"])
    csv_content_types: list[Line] = Field(default_factory=lambda: ["text/csv"])
    kms_key_id: Line | None = None


class VpcSettings(StrictModel):
    subnets: list[Line] = Field(min_length=1, max_length=16)
    security_group_ids: list[Line] = Field(min_length=1, max_length=5)


class RolloutSettings(StrictModel):
    """How UpdateEndpoint moves traffic to a new endpoint config (SageMaker DeploymentConfig)."""

    strategy: Literal["all_at_once", "canary", "linear", "rolling"] = "all_at_once"
    wait_seconds: int = Field(default=300, ge=0, le=3600, description="Baking period between traffic shifts / batches.")
    canary_percent: int = Field(
        default=10, ge=1, le=99, description="strategy canary: traffic share of the canary step."
    )
    linear_step_percent: int = Field(default=20, ge=1, le=99, description="strategy linear: traffic share per step.")
    rolling_batch_percent: int = Field(
        default=25, ge=1, le=100, description="strategy rolling: capacity replaced per batch."
    )
    rollback_batch_percent: int | None = Field(
        default=None, ge=1, le=100, description="strategy rolling: batch size when rolling back."
    )
    termination_wait_seconds: int = Field(
        default=0, ge=0, le=3600, description="Keep the old fleet this long after the shift."
    )
    max_execution_seconds: int | None = Field(
        default=None, ge=600, le=28800, description="Give up the update after this long."
    )
    alarms: list[Line] = Field(
        default_factory=empty_list,
        max_length=10,
        description="CloudWatch alarm names; any in ALARM rolls the update back.",
    )


class BatchSettings(StrictModel):
    """``mode: batch``: one transform job (SageMaker CreateTransformJob)."""

    input_uri: Line = Field(description="s3:// prefix (or manifest) of the input data.")
    output_uri: Line = Field(description="s3:// prefix for the results.")
    content_type: Line = Field(default="text/csv", description="Content type of each input record.")
    accept: Line | None = Field(default=None, description="Content type of the results.")
    split_type: Literal["none", "line", "recordio", "tfrecord"] = Field(default="line")
    strategy: Literal["multi_record", "single_record"] = Field(default="multi_record")
    assemble_with: Literal["none", "line"] = Field(default="line")
    compression: Literal["none", "gzip"] = "none"
    max_payload_mb: int = Field(default=6, ge=0, le=100)
    max_concurrent_transforms: int | None = Field(default=None, ge=0)


class SageMakerTarget(ImageBuildFields):
    kind: Literal["sagemaker"]
    region: Line
    execution_role_arn: Line
    image: Line | None = Field(
        default=None,
        description="Serving image (an ECR reference SageMaker can pull). Or set registry instead: modeldeploy builds and pushes it.",
    )
    artifact_bucket: Line
    instance_type: Line = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1)
    mode: Literal["realtime", "serverless", "async", "batch"] = "realtime"

    endpoint_name: Line | None = Field(default=None, description="Endpoint name (default: the deployment name).")
    artifact_prefix: Line = Field(
        default="modeldeploy", description="Key prefix in artifact_bucket: <prefix>/<name>/<digest>/model.tar.gz."
    )
    variant_name: Line = Field(default="AllTraffic", description="Production variant name.")
    serverless: ServerlessSettings = Field(default_factory=ServerlessSettings)
    async_inference: AsyncSettings = Field(default_factory=AsyncSettings, alias="async")
    data_capture: DataCaptureSettings | None = None
    vpc: VpcSettings | None = None
    network_isolation: bool = Field(
        default=False, description="EnableNetworkIsolation (no outbound calls, so no secret refs)."
    )
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)
    batch: BatchSettings | None = Field(default=None, description="Required for mode batch.")
    tags: dict[Line, Line] = Field(
        default_factory=empty_dict, description="Extra AWS tags (added to deploy.yaml labels)."
    )
    scale_in_cooldown_seconds: int = Field(default=300, ge=0)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0)
    kms_key_id: Line | None = Field(default=None, description="KMS key for the endpoint's storage volume.")

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @field_validator("data_capture", "vpc", "network_isolation")
    @classmethod
    def _not_serverless(cls, v: Any, info: ValidationInfo) -> Any:
        # AWS refuses these on a serverless variant (CreateEndpointConfig fails after apply started).
        if v and info.data.get("mode") == "serverless":
            raise ValueError(
                f"{info.field_name} is not supported by SageMaker serverless endpoints; use mode realtime or async"
            )
        return v

    @model_validator(mode="after")
    def _image_or_registry(self) -> SageMakerTarget:
        if self.registry is not None and self.image is not None:
            raise ValueError(
                "registry and image exclude each other: registry builds and pushes the image, image names one built elsewhere"
            )
        if self.registry is None and self.image is None:
            raise ValueError(
                "needs image (a serving image in ECR) or registry (an ECR registry modeldeploy builds and pushes the image to)"
            )
        if self.registry is not None and not _ECR.match(self.registry):
            raise ValueError(
                f"registry {self.registry!r} is not an ECR registry: SageMaker pulls the serving image from ECR "
                "(ACCOUNT.dkr.ecr.REGION.amazonaws.com[/path])"
            )
        return self

    @model_validator(mode="after")
    def _mode_needs(self) -> SageMakerTarget:
        if self.mode == "batch" and self.batch is None:
            raise ValueError("mode batch needs a 'batch' section (input_uri, output_uri)")
        if self.mode != "batch" and self.batch is not None:
            raise ValueError(f"'batch' is only used with mode batch (mode is {self.mode})")
        if self.mode == "serverless" and self.rollout.strategy in ("canary", "linear", "rolling"):
            raise ValueError(
                f"rollout strategy {self.rollout.strategy} is not available for serverless endpoints; use all_at_once"
            )
        return self
