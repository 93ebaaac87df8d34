from __future__ import annotations

from typing import Literal

from pydantic import Field

from modeldeploy.spec.base import Line, StrictModel
from modeldeploy.spec.targets.imagebuild import BuildConfig


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
        default_factory=list,
        description="pip requirements added to the model's own (e.g. boto3 to resolve SageMaker secret references).",
    )
    run_as_root: bool = Field(
        default=False,
        description="Run as root instead of the non-root user 10001 (SageMaker's container contract expects root).",
    )
    triton_version: Line = Field(
        default="24.12",
        pattern=r"^[0-9]{2}\.[0-9]{2}$",
        description="model.type triton: NVIDIA Triton release, FROM nvcr.io/nvidia/tritonserver:<version>-py3.",
    )
