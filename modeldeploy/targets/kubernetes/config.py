from __future__ import annotations

from typing import Literal

from pydantic import Field

from modeldeploy.spec.base import DNSLabel, Line, StrictModel


class KubernetesTarget(StrictModel):
    kind: Literal["kubernetes"]
    namespace: DNSLabel = Field(default="default")
    flavor: Literal["deployment", "kserve"] = "deployment"
    image: Line | None = Field(default=None, description="Serving image (flavor deployment).")
    storage_uri: Line | None = Field(default=None, description="Model storage URI (flavor kserve).")
    mode: Literal["online", "batch"] = "online"
    schedule: Line | None = Field(default=None, description="Cron schedule for mode batch (a CronJob).")
