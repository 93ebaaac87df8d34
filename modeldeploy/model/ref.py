"""ModelRef: the model a deployment names, pinned (what every render records)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelRef:
    """Where the model came from and what it is, pinned: what every render records.

    ``uri`` is what deploy.yaml says; ``pinned_uri`` is the immutable form (an alias or ``latest``
    resolved to a version; a local folder stays as written, relative to deploy.yaml). ``digest`` is the
    sha256 over the model folder's files (see modeldeploy.model.digest).
    """

    uri: str
    pinned_uri: str
    digest: str
    local_path: Path
    version: str | None = None
    alias: str | None = None
    registered_name: str | None = None

    @property
    def short_digest(self) -> str:
        return self.digest.split(":", 1)[-1][:12]
