"""Remote sources: pin the URI, fill the cache once, digest the folder. Each backend is imported lazily."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modeldeploy.model.cache import ModelCache, materialize
from modeldeploy.model.digest import model_digest
from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.remoteuri import AzureMLUri, RemoteUri, S3Uri
from modeldeploy.progress import Progress


def resolve_remote(
    uri: str,
    parsed: RemoteUri,
    *,
    tracking_uri: str | None,
    cache_dir: Path,
    progress: Progress,
    environ: Mapping[str, str],
) -> ModelRef:
    cache = ModelCache(cache_dir)
    if isinstance(parsed, S3Uri):
        from modeldeploy.model.sources.s3 import resolve_s3

        return resolve_s3(uri, parsed, cache=cache, progress=progress, environ=environ)
    if isinstance(parsed, AzureMLUri):
        from modeldeploy.model.sources.azureml import resolve_azureml

        return resolve_azureml(uri, parsed, cache=cache, progress=progress, environ=environ)
    return _resolve_mlflow(uri, parsed, tracking_uri=tracking_uri, cache=cache, progress=progress, environ=environ)


def _resolve_mlflow(
    uri: str,
    parsed: RemoteUri,
    *,
    tracking_uri: str | None,
    cache: ModelCache,
    progress: Progress,
    environ: Mapping[str, str],
) -> ModelRef:
    from modeldeploy.model.sources.artifacts import fetch_location
    from modeldeploy.model.sources.http import MlflowRest
    from modeldeploy.model.sources.mlflow import pin

    rest = MlflowRest.connect(tracking_uri, environ, uri=uri)
    pinned = pin(rest, parsed)  # type: ignore[arg-type]
    if pinned.pinned_uri != uri:
        progress.step(f"{uri} → {pinned.pinned_uri}")
    key = f"mlflow\n{rest.base_url}\n{pinned.location}"
    path = materialize(
        cache,
        key,
        lambda tmp: fetch_location(pinned.location, tmp, rest=rest, environ=environ, progress=progress, uri=uri),
        label=pinned.pinned_uri,
        progress=progress,
    )
    return ModelRef(
        uri=uri,
        pinned_uri=pinned.pinned_uri,
        digest=model_digest(path, cache_dir=cache.root),
        local_path=path,
        version=pinned.version,
        alias=pinned.alias,
        registered_name=pinned.registered_name,
    )
