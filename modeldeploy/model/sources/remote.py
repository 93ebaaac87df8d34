"""Dispatch of remote sources to their resolvers (each imported only when used)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from modeldeploy.errors import SourceError
from modeldeploy.model.sources.uri import SourceUri
from modeldeploy.progress import Progress
from modeldeploy.targets.base import ModelRef


def resolve_remote(
    uri: str,
    parsed: SourceUri,
    *,
    tracking_uri: str | None,
    cache_dir: Path,
    progress: Progress,
    environ: Mapping[str, str],
) -> ModelRef:
    raise SourceError(f"model source {uri!r}: remote sources are being added; use a local folder for now")
