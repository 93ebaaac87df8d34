from __future__ import annotations

from typing import Literal

from pydantic import Field

from modeldeploy.spec.base import Line, StrictModel


class AzureMLTarget(StrictModel):
    kind: Literal["azureml"]
    subscription_id: Line
    resource_group: Line
    workspace: Line
    instance_type: Line = "Standard_DS3_v2"
    instance_count: int = Field(default=1, ge=1)
    mode: Literal["online", "batch"] = "online"
    compute: Line | None = None
