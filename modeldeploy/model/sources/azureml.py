"""azureml:NAME:VERSION, azureml:NAME@LABEL and azureml://registries/REG/models/NAME/versions/V sources.

Uses azure-ai-ml (the ``azure`` extra, imported only here, only when used): ``MLClient.models.get``
pins a label (``latest`` when no version is given) to a version, ``MLClient.models.download`` fetches
the files. The workspace comes from ``AZURE_SUBSCRIPTION_ID``, ``AZURE_RESOURCE_GROUP`` and
``AZUREML_WORKSPACE_NAME`` (registry URIs need only the registry name); credentials from
``DefaultAzureCredential``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy.errors import MissingDependencyError, SourceError
from modeldeploy.model.cache import ModelCache, materialize
from modeldeploy.model.digest import model_digest
from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.remoteuri import AzureMLUri
from modeldeploy.progress import Progress

_HINT = "pip install 'modeldeploy[azure]'"


@dataclass(frozen=True)
class AzureScope:
    """Where the model asset lives: a workspace, or a registry."""

    subscription_id: str | None = None
    resource_group: str | None = None
    workspace: str | None = None
    registry: str | None = None

    @property
    def label(self) -> str:
        if self.registry:
            return f"registry {self.registry}"
        return f"workspace {self.subscription_id}/{self.resource_group}/{self.workspace}"


def scope_for(parsed: AzureMLUri, environ: Mapping[str, str], *, uri: str) -> AzureScope:
    if parsed.registry:
        return AzureScope(
            subscription_id=environ.get("AZURE_SUBSCRIPTION_ID") or None,
            resource_group=environ.get("AZURE_RESOURCE_GROUP") or None,
            registry=parsed.registry,
        )
    scope = AzureScope(
        subscription_id=environ.get("AZURE_SUBSCRIPTION_ID"),
        resource_group=environ.get("AZURE_RESOURCE_GROUP"),
        workspace=environ.get("AZUREML_WORKSPACE_NAME") or environ.get("AZUREML_WORKSPACE"),
    )
    missing = [
        var
        for var, value in (
            ("AZURE_SUBSCRIPTION_ID", scope.subscription_id),
            ("AZURE_RESOURCE_GROUP", scope.resource_group),
            ("AZUREML_WORKSPACE_NAME", scope.workspace),
        )
        if not value
    ]
    if missing:
        raise SourceError(f"{uri}: set {', '.join(missing)} to name the Azure ML workspace that holds the model")
    return scope


def model_operations(scope: AzureScope, *, uri: str) -> Any:
    """``MLClient(...).models`` for the scope (DefaultAzureCredential)."""
    try:
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise MissingDependencyError(f"{uri}: reading azureml: sources needs azure-ai-ml", hint=_HINT) from None
    client = MLClient(
        DefaultAzureCredential(),
        subscription_id=scope.subscription_id,
        resource_group_name=scope.resource_group,
        workspace_name=scope.workspace,
        registry_name=scope.registry,
    )
    return client.models


def resolve_azureml(
    uri: str,
    parsed: AzureMLUri,
    *,
    cache: ModelCache,
    progress: Progress,
    environ: Mapping[str, str],
    models: Any = None,
) -> ModelRef:
    """Pin and download an Azure ML model asset. ``models`` (ModelOperations) is injectable for tests."""

    scope = scope_for(parsed, environ, uri=uri)
    ops = models if models is not None else model_operations(scope, uri=uri)
    asset = _call(uri, scope, lambda: ops.get(name=parsed.name, version=parsed.version, label=parsed.label))
    version = str(asset.version)
    pinned = (
        f"azureml://registries/{scope.registry}/models/{parsed.name}/versions/{version}"
        if scope.registry
        else f"azureml:{parsed.name}:{version}"
    )
    if pinned != uri:
        progress.step(f"{uri} → {pinned}")

    def fill(tmp: Path) -> None:
        progress.step(f"downloading {pinned} from {scope.label}")
        staging = tmp / ".download"
        _call(uri, scope, lambda: ops.download(name=parsed.name, version=version, download_path=str(staging)))
        _flatten(staging, tmp, uri)

    key = f"azureml\n{scope.label}\n{parsed.name}\n{version}"
    path = materialize(cache, key, fill, label=pinned, progress=progress)
    return ModelRef(
        uri=uri,
        pinned_uri=pinned,
        digest=model_digest(path, cache_dir=cache.root),
        local_path=path,
        version=version,
        alias=parsed.label if parsed.version is None else None,
        registered_name=parsed.name,
    )


def _call(uri: str, scope: AzureScope, fn: Any) -> Any:
    try:
        return fn()
    except Exception as exc:  # azure.core.exceptions.* — keep the service's message, one line
        name = type(exc).__name__
        message = " ".join(str(exc).split())[:300]
        if name == "ResourceNotFoundError":
            raise SourceError(f"{uri}: model not found in Azure ML {scope.label} ({message})") from None
        if name in ("ClientAuthenticationError", "CredentialUnavailableError"):
            raise SourceError(f"{uri}: Azure ML refused the credentials for {scope.label} ({message})") from None
        raise SourceError(f"{uri}: Azure ML {scope.label}: {name}: {message}") from None


def _flatten(staging: Path, dest: Path, uri: str) -> None:
    """models.download writes ``<dir>/<name>/<folder>/…``: move the model folder's files up to dest."""
    found = sorted(staging.rglob("MLmodel"), key=lambda p: len(p.parts))
    root = found[0].parent if found else _single_chain(staging)
    if not root.exists() or not any(root.iterdir()):
        raise SourceError(f"{uri}: Azure ML download produced no files")
    for child in root.iterdir():
        shutil.move(str(child), str(dest / child.name))
    shutil.rmtree(staging, ignore_errors=True)


def _single_chain(folder: Path) -> Path:
    """Descend while a folder holds exactly one subfolder and nothing else."""
    while True:
        children = list(folder.iterdir()) if folder.is_dir() else []
        if len(children) == 1 and children[0].is_dir():
            folder = children[0]
        else:
            return folder
