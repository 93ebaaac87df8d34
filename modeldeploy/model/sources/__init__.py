"""Model sources: turn deploy.yaml's ``model.source`` into a local, pinned, digested :class:`ModelRef`.

``resolve`` is the one entry point. Local folders are read in place; registry and cloud sources
(models:/, runs:/, mlflow-artifacts:/, s3://, azureml:) are downloaded once into a content-addressed
cache (see modeldeploy.model.cache) and pinned to an immutable form (an alias or ``latest`` becomes a
version). Only this function reads the environment, and only the mapping it is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.local import resolve_local
from modeldeploy.model.sources.uri import LocalUri, parse
from modeldeploy.progress import Progress

__all__ = ["resolve", "default_cache_dir", "parse"]


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$MODELDEPLOY_CACHE_DIR``, else ``$XDG_CACHE_HOME/modeldeploy``, else ``~/.cache/modeldeploy``."""
    if environ.get("MODELDEPLOY_CACHE_DIR"):
        return Path(environ["MODELDEPLOY_CACHE_DIR"]).expanduser()
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "modeldeploy"
    return Path.home() / ".cache" / "modeldeploy"


def resolve(
    uri: str,
    *,
    base_dir: Path,
    tracking_uri: str | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    in_spec: bool = True,
) -> ModelRef:
    """Resolve ``uri`` to a ModelRef whose ``local_path`` holds the model's files.

    ``tracking_uri`` (deploy.yaml's ``model.tracking_uri``) wins over ``MLFLOW_TRACKING_URI``.
    ``in_spec``: ``uri`` is deploy.yaml's ``model.source`` (a hint may say it is relative to the file);
    False for a command-line argument (``inspect``, ``signature``).
    Raises SourceError (one line, naming the URI) or ModelError (unreadable folder).
    """
    source = os.environ if environ is None else environ
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(source)
    parsed = parse(uri)
    if isinstance(parsed, LocalUri):  # (the environment is not copied for a folder: once per spec in a monorepo)
        return resolve_local(uri, parsed, base_dir=Path(base_dir), cache_dir=cache, in_spec=in_spec)
    from modeldeploy.model.sources.remote import resolve_remote

    return resolve_remote(
        uri, parsed, tracking_uri=tracking_uri, cache_dir=cache, progress=progress or Progress(), environ=dict(source)
    )
