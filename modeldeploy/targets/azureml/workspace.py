"""The workspace as the azureml target sees it: the :class:`AzureMLAPI` protocol and the plain data
it speaks (:class:`EndpointState`, :class:`DeploymentState`, :class:`ModelVersion`).

The target's logic depends on this protocol only; :class:`~modeldeploy.targets.azureml.client.AzureMLClient`
implements it over azure-ai-ml, and the tests implement it with an in-memory fake workspace (there is
no Azure ML emulator).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from modeldeploy.errors import ApplyError

Status = Callable[[str], None]


@dataclass(frozen=True)
class EndpointState:
    """An online or batch endpoint as the service reports it. ``spec`` is YAML-shaped (the SDK's
    ``_to_dict``); ``traffic``/``mirror_traffic`` are already normalised like the SDK does before
    sending (0% entries dropped, deployment names lowercased)."""

    name: str
    kind: str  # managed | kubernetes | batch
    spec: Mapping[str, Any]
    tags: Mapping[str, str] = field(default_factory=dict)
    traffic: Mapping[str, int] = field(default_factory=dict)
    mirror_traffic: Mapping[str, int] = field(default_factory=dict)
    default_deployment: str | None = None
    provisioning_state: str | None = None
    scoring_uri: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class DeploymentState:
    name: str
    endpoint_name: str
    spec: Mapping[str, Any]
    tags: Mapping[str, str] = field(default_factory=dict)
    model_id: str | None = None  # e.g. azureml:/subscriptions/…/models/NAME/versions/3
    provisioning_state: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    tags: Mapping[str, str] = field(default_factory=dict)
    type: str | None = None  # mlflow_model | custom_model | triton_model
    fingerprint: str = ""

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}"


class DeploymentFailed(ApplyError):
    """A deployment did not reach Succeeded; ``reason`` is the service's message."""

    def __init__(self, endpoint: str, deployment: str, reason: str):
        super().__init__(f"deployment {deployment} on endpoint {endpoint} failed: {reason}")
        self.endpoint = endpoint
        self.deployment = deployment
        self.reason = reason


def normalise_traffic(traffic: Mapping[str, Any] | None) -> dict[str, int]:
    """What the SDK sends (``_strip_zeroes_from_traffic``): names lowercased, 0% entries dropped."""
    out: dict[str, int] = {}
    for k, v in (traffic or {}).items():
        if v is not None and int(v) != 0:
            out[str(k).lower()] = int(v)
    return dict(sorted(out.items()))


def parse_model_id(model_id: str | None) -> tuple[str, str] | None:
    """NAME and VERSION from ``azureml:NAME:VERSION`` or an ARM id ``…/models/NAME/versions/V``."""
    if not model_id:
        return None
    m = re.search(r"/models/([^/]+)/versions/([^/]+)$", model_id)
    if m:
        return m.group(1), m.group(2)
    m = re.fullmatch(r"(?:azureml:)?([^:/@]+):([^:/@]+)", model_id)
    return (m.group(1), m.group(2)) if m else None


class AzureMLAPI(Protocol):
    """What the target needs from a workspace; :class:`AzureMLClient` is the real one."""

    def get_endpoint(self, name: str) -> EndpointState | None: ...
    def list_deployments(self, endpoint: str) -> list[DeploymentState]: ...
    def get_deployment(self, endpoint: str, name: str) -> DeploymentState | None: ...
    def create_or_update_endpoint(
        self,
        spec: Mapping[str, Any],
        *,
        traffic: Mapping[str, int] | None = None,
        mirror_traffic: Mapping[str, int] | None = None,
        default_deployment: str | None = None,
        on_status: Status | None = None,
    ) -> EndpointState: ...
    def create_or_update_deployment(
        self, spec: Mapping[str, Any], base_dir: Path, *, on_status: Status | None = None
    ) -> DeploymentState: ...
    def set_traffic(
        self,
        endpoint: str,
        traffic: Mapping[str, int],
        mirror_traffic: Mapping[str, int],
        *,
        on_status: Status | None = None,
    ) -> EndpointState: ...
    def update_endpoint_tags(self, name: str, tags: Mapping[str, str | None]) -> EndpointState | None: ...
    def set_default_deployment(
        self, endpoint: str, deployment: str, *, on_status: Status | None = None
    ) -> EndpointState: ...
    def delete_deployment(self, endpoint: str, name: str, *, on_status: Status | None = None) -> None: ...
    def delete_endpoint(self, name: str, *, on_status: Status | None = None) -> None: ...
    def find_model_by_digest(self, name: str, digest: str) -> ModelVersion | None: ...
    def get_model(self, name: str, version: str) -> ModelVersion | None: ...
    def list_models(self, name: str) -> list[ModelVersion]: ...
    def register_model(self, spec_file: Path) -> ModelVersion: ...
    def archive_model(self, name: str, version: str) -> None: ...
    def get_logs(self, endpoint: str, deployment: str, lines: int = 100) -> str: ...
    def submit_job(self, job_file: Path) -> str: ...
    def wait_job(self, name: str, *, on_status: Status | None = None) -> str: ...
