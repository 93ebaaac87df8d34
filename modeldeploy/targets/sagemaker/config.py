from __future__ import annotations

from typing import Literal

from pydantic import Field

from modeldeploy.spec.base import Line, StrictModel


class SageMakerTarget(StrictModel):
    kind: Literal["sagemaker"]
    region: Line
    execution_role_arn: Line
    image: Line
    artifact_bucket: Line
    instance_type: Line = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1)
    mode: Literal["realtime", "serverless", "async", "batch"] = "realtime"
