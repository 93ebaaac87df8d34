from __future__ import annotations

from typing import Literal

from pydantic import Field

from modeldeploy.spec.base import Line, StrictModel, empty_list
from modeldeploy.spec.targets.imagebuild import BuildConfig


class DockerRun(StrictModel):
    """apply (against live) and ``modeldeploy serve`` run the image as one local container."""

    port: int = Field(ge=1, le=65535, description="Host port the scoring server answers on.")
    host: Line = Field(
        default="127.0.0.1", description="Host address the port is published on (0.0.0.0: every interface)."
    )
    network: Line | None = Field(
        default=None,
        description="docker run --network; with host the server listens on port itself (no port mapping).",
    )
    env_file: Line | None = Field(
        default=None, description="docker run --env-file, relative to deploy.yaml (values are not shown in plans)."
    )
    gpus: Line | None = Field(default=None, description="docker run --gpus, e.g. all or device=0.")
    name: Line | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$",
        description="Container name (default: the deployment's name, with -<env> when --env is given).",
    )


class DockerTarget(StrictModel):
    """A complete, reproducible docker build context for the model's scoring server."""

    kind: Literal["docker"]
    image: Line | None = Field(
        default=None,
        description="Image reference to build/push (default: NAME:<first 12 hex of the model digest>).",
    )
    base_image: Line | None = Field(
        default=None, description="Base image (default: python:<the model's python_version>-slim)."
    )
    push: bool = Field(default=False, description="apply pushes the image after building it.")
    platform: Line | None = Field(default=None, description="docker build --platform, e.g. linux/amd64.")
    build: BuildConfig = Field(default_factory=BuildConfig, description="docker build options.")
    pip_index_url: Line | None = Field(default=None, description="Extra build argument: pip index to install from.")
    extra_requirements: list[Line] = Field(
        default_factory=empty_list,
        description="pip requirements added to the model's own (e.g. boto3 to resolve SageMaker secret references).",
    )
    run_as_root: bool = Field(
        default=False,
        description="Run as root instead of the non-root user 10001 (SageMaker's container contract expects root).",
    )
    run: DockerRun | None = Field(
        default=None,
        description="Run the image locally: apply --against live starts (or replaces) one container, serve runs it in the foreground.",
    )
    triton_version: Line = Field(
        default="24.12",
        pattern=r"^[0-9]{2}\.[0-9]{2}$",
        description="model.type triton: NVIDIA Triton release, FROM nvcr.io/nvidia/tritonserver:<version>-py3.",
    )
