"""RenderContext: everything a target's render() may read.

render() is pure: no clock, no os.environ, no network, no randomness — everything it may depend on is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.model.ref import ModelRef

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.model.info import ModelInfo
    from modeldeploy.spec.models import DeploySpec


@dataclass(frozen=True)
class RenderContext:
    """Everything a target's render() may read. ``spec`` has the environment overlay applied."""

    spec: DeploySpec
    model: ModelInfo
    ref: ModelRef
    env: str | None = None
    tool_version: str = "0"
    # The deploy.yaml's directory; only to find files the spec names (never written into artifacts).
    base_dir: Path = field(default_factory=lambda: Path("."))

    @property
    def target(self) -> Any:
        return self.spec.target
