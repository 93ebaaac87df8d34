"""deploy.yaml ``target`` section for ``kind: azureml`` (pure pydantic; imports nothing heavy).

The first eight keys are the issue's fixed contract; everything after them has a default, so a
minimal deploy.yaml stays minimal. See docs/azureml.md for what each key renders to.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modeldeploy.spec.base import Line, StrictModel

#: Azure ML's rule for endpoint and deployment names (azure.ai.ml EndpointConfigurations).
AZURE_NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
AZURE_NAME_MIN = 3
AZURE_NAME_MAX = 32
#: Longest deployment prefix: the name is ``<prefix>-<8 hex>`` and must stay within 32 characters.
PREFIX_MAX = AZURE_NAME_MAX - 9


def check_azure_name(value: str, what: str, max_len: int = AZURE_NAME_MAX) -> str:
    """Azure ML endpoint/deployment name rule: 3–32 characters, a letter first, then letters, digits
    and '-', not ending with '-'. Raises ValueError with the rule spelled out."""
    if not (AZURE_NAME_MIN <= len(value) <= max_len) or not AZURE_NAME.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid Azure ML name: {AZURE_NAME_MIN}-{max_len} characters, "
            "starting with a letter, then letters, digits or '-', ending with a letter or digit"
        )
    return value


class Probe(StrictModel):
    """One probe of an online deployment (Azure ML ProbeSettings; values in seconds)."""

    initial_delay: int = Field(default=10, ge=0, le=3600, description="Seconds before the first probe.")
    period: int = Field(default=10, ge=1, le=3600, description="Seconds between probes.")
    timeout: int = Field(default=2, ge=1, le=3600, description="Seconds a probe may take.")
    failure_threshold: int = Field(default=30, ge=1, le=1000, description="Failures before the probe fails.")
    success_threshold: int = Field(default=1, ge=1, le=1, description="Successes needed (Azure only allows 1).")


class Probes(StrictModel):
    liveness: Probe = Field(default_factory=Probe)
    readiness: Probe = Field(default_factory=Probe)


class DataCollection(StrictModel):
    """Payload logging of online requests/responses to the workspace's blob storage."""

    enabled: bool = Field(default=False)
    sampling_rate: float = Field(default=1.0, gt=0, le=1.0, description="Share of requests collected (0..1].")


class Rollout(StrictModel):
    """How traffic moves to a new deployment (online endpoints only).

    ``blue_green``: the new deployment gets ``steps`` percent of live traffic in turn (the last step
    is 100), waiting ``wait_seconds`` between steps; ``mirror_first``: first mirror
    ``mirror_percent`` of traffic to it for ``wait_seconds`` (responses discarded), then the steps;
    ``all_at_once``: straight to 100.
    """

    strategy: Literal["blue_green", "mirror_first", "all_at_once"] = "blue_green"
    steps: list[int] = Field(default_factory=lambda: [10, 100], min_length=1, max_length=20)
    wait_seconds: int = Field(default=300, ge=0, le=86_400)
    mirror_percent: int = Field(default=10, ge=1, le=50, description="Azure allows at most 50% mirrored.")
    keep_failed: bool = Field(
        default=False, description="Keep a deployment that failed to provision (at 0% traffic) for debugging."
    )

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[int]) -> list[int]:
        if any(not 1 <= s <= 100 for s in v):
            raise ValueError("each step is a percentage between 1 and 100")
        if any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("steps must increase")
        if v[-1] != 100:
            raise ValueError("the last step must be 100")
        return v

    def plan_steps(self) -> list[int]:
        return [100] if self.strategy == "all_at_once" else list(self.steps)


class BatchSettings(StrictModel):
    """``mode: batch`` model batch deployment settings (Azure ML ModelBatchDeploymentSettings)."""

    mini_batch_size: int = Field(default=10, ge=1, description="Files per mini-batch.")
    max_concurrency_per_instance: int = Field(default=1, ge=1)
    output_action: Literal["append_row", "summary_only"] = "append_row"
    output_file_name: Line = "predictions.csv"
    max_retries: int = Field(default=3, ge=0)
    error_threshold: int = Field(default=-1, ge=-1, description="-1: ignore failed mini-batches.")
    logging_level: Literal["debug", "info", "warning"] = "info"


class AzureMLTarget(StrictModel):
    kind: Literal["azureml"]
    subscription_id: Line
    resource_group: Line
    workspace: Line
    instance_type: Line = "Standard_DS3_v2"
    instance_count: int = Field(default=1, ge=1)
    mode: Literal["online", "batch"] = "online"
    compute: Line | None = None
    # --- defaults below; see docs/azureml.md ---
    endpoint_name: Line | None = Field(
        default=None,
        description="Endpoint name (3-32 chars, letter first; default: derived from name). Unique per region.",
    )
    deployment_prefix: Line | None = Field(
        default=None, description="Deployments are named <prefix>-<8 hex of their content> (default: from name)."
    )
    auth_mode: Literal["key", "aml_token", "aad_token"] | None = Field(
        default=None, description="Endpoint auth (default: key for online; batch endpoints only allow aad_token)."
    )
    public_network_access: Literal["enabled", "disabled"] = "enabled"
    egress_public_network_access: Literal["enabled", "disabled"] = Field(
        default="enabled", description="Managed online deployments: outbound internet access."
    )
    app_insights: bool = Field(default=False, description="Send deployment logs/metrics to Application Insights.")
    data_collection: DataCollection = Field(default_factory=DataCollection)
    probes: Probes = Field(default_factory=Probes)
    rollout: Rollout = Field(default_factory=Rollout)
    key_vault: Line | None = Field(
        default=None,
        description=(
            "Key Vault name for serving.secrets (secret = Key Vault secret name, key = version or 'latest'). "
            "Without it secrets are workspace connection credentials (secret = connection, key = credential key)."
        ),
    )
    environment_image: Line = Field(
        default="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
        description="model.type custom: environment image when model.environment.image is not set.",
    )
    batch: BatchSettings = Field(default_factory=BatchSettings)
    destroy_model_versions: bool = Field(
        default=False,
        description="destroy also archives the model versions modeldeploy registered (Azure cannot delete them).",
    )

    @field_validator("endpoint_name")
    @classmethod
    def _endpoint_name(cls, v: str | None) -> str | None:
        return None if v is None else check_azure_name(v, "endpoint_name")

    @field_validator("deployment_prefix")
    @classmethod
    def _prefix(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not (1 <= len(v) <= PREFIX_MAX) or not re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]*", v):
            raise ValueError(
                f"deployment_prefix {v!r}: 1-{PREFIX_MAX} characters, a letter first, then letters, digits or '-'"
            )
        return v

    @field_validator("key_vault")
    @classmethod
    def _vault(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]{1,22}[a-zA-Z0-9]", v):
            raise ValueError(f"key_vault {v!r} is not a Key Vault name (3-24 characters: letters, digits, '-')")
        return v

    @model_validator(mode="after")
    def _mode_rules(self) -> AzureMLTarget:
        if self.mode == "batch":
            if not self.compute:
                raise ValueError("mode: batch needs compute (the name of an Azure ML compute cluster)")
            if self.auth_mode not in (None, "aad_token"):
                raise ValueError("batch endpoints only support auth_mode: aad_token")
        if self.mode == "online" and self.compute and self.egress_public_network_access == "disabled":
            raise ValueError("egress_public_network_access applies to managed online endpoints only (not with compute)")
        return self

    @property
    def kubernetes(self) -> bool:
        """An online endpoint on a Kubernetes compute (an attached AKS/Arc cluster)."""
        return self.mode == "online" and self.compute is not None
