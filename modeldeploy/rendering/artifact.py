"""The unit every target renders: a file's relative path, media type and exact bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Artifact:
    """One rendered file.

    ``path`` is relative and POSIX-style (``Dockerfile``, ``model/MLmodel``, ``k8s/deployment.yaml``);
    ``content`` is the exact bytes written. ``sensitive`` artifacts are never shown in plans.
    ``source`` marks artifacts that are copies of model files rather than rendered text: plans show
    them by digest, not by content.
    """

    path: str
    media_type: str
    content: bytes
    sensitive: bool = False
    source: str | None = None
    mode: int = 0o644

    def __post_init__(self) -> None:
        if self.path.startswith("/") or ".." in self.path.split("/") or "\\" in self.path or not self.path:
            raise ValueError(f"artifact path must be relative and confined: {self.path!r}")

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.content).hexdigest()

    @property
    def is_text(self) -> bool:
        return self.source is None and (
            self.media_type.startswith("text/")
            or self.media_type in {"application/json", "application/yaml"}
        )

    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass(frozen=True)
class RenderResult:
    """What rendering one deployment gives: its name, target kind and artifacts in path order."""

    name: str
    target: str
    artifacts: tuple[Artifact, ...] = field(default_factory=tuple)

    def by_path(self) -> dict[str, Artifact]:
        return {a.path: a for a in self.artifacts}
