"""The image-build keys shared by every target that builds the serving image itself (the docker
target, and kubernetes/sagemaker targets that set ``registry``). Only pydantic here."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from modeldeploy.spec.base import Line, StrictModel, empty_dict

# host[:port][/path...]: lower-case path components as the OCI distribution spec names them.
_REGISTRY = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


class BuildConfig(StrictModel):
    """``docker build`` options: they mean the same wherever modeldeploy builds an image."""

    network: Literal["default", "host", "none"] | None = Field(
        default=None, description="docker build --network for the RUN steps (e.g. host behind a proxy)."
    )
    args: dict[Line, Line] = Field(default_factory=empty_dict, description="docker build --build-arg NAME=VALUE pairs.")
    pull: bool = Field(default=False, description="docker build --pull: always fetch a newer base image.")


def check_registry(v: str | None) -> str | None:
    if v is None:
        return v
    v = v.rstrip("/")
    if not _REGISTRY.match(v):
        raise ValueError(
            "must be a registry and optional path, e.g. ghcr.io/org, 123456789012.dkr.ecr.eu-west-1.amazonaws.com "
            "or 127.0.0.1:5000/ml (no scheme, no tag)"
        )
    return v


class ImageBuildFields(StrictModel):
    """Mixed into a target section whose image modeldeploy can build and push."""

    registry: Line | None = Field(
        default=None,
        description=(
            "OCI registry (and path) to build and push the serving image to, e.g. ghcr.io/org; the image is "
            "REGISTRY/NAME:<digest of the build context>. Excludes image."
        ),
    )
    base_image: Line | None = Field(
        default=None, description="With registry: base image (default: python:<the model's python_version>-slim)."
    )
    platform: Line | None = Field(default=None, description="With registry: docker build --platform, e.g. linux/amd64.")
    build: BuildConfig = Field(default_factory=BuildConfig, description="With registry: docker build options.")

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str | None) -> str | None:
        return check_registry(v)
