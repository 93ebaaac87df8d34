"""The registry and cloud forms of a model source URI as typed values, and their parsers (no I/O):
``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME/latest``, ``models:/NAME/STAGE``
(deprecated), ``models:/m-<id>``, ``runs:/RUN_ID/PATH``, ``mlflow-artifacts:/PATH``,
``s3://bucket/prefix``, ``azureml:NAME:VERSION``, ``azureml:NAME@label`` and
``azureml://registries/REG/models/NAME/versions/VERSION``. :func:`modeldeploy.model.sources.uri.parse`
is the entry point.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from modeldeploy.errors import SourceError

# MLflow's stage names (deprecated since MLflow 2.9, still served by 3.x).
STAGES = ("none", "staging", "production", "archived")


@dataclass(frozen=True)
class ModelsUri:
    """models:/NAME/VERSION, /latest, /STAGE or @ALIAS: exactly one of version/alias/stage/latest."""

    name: str
    version: str | None = None
    alias: str | None = None
    stage: str | None = None
    latest: bool = False


@dataclass(frozen=True)
class LoggedModelUri:
    """models:/m-<32 hex> — an MLflow 3 logged model by id (already immutable)."""

    model_id: str


@dataclass(frozen=True)
class RunsUri:
    run_id: str
    path: str  # artifact path inside the run, may be ""


@dataclass(frozen=True)
class ArtifactsUri:
    """mlflow-artifacts:/PATH — an artifact location served by the tracking server's proxy."""

    path: str


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    prefix: str


@dataclass(frozen=True)
class AzureMLUri:
    name: str
    version: str | None = None
    label: str | None = None
    registry: str | None = None


RemoteUri = ModelsUri | LoggedModelUri | RunsUri | ArtifactsUri | S3Uri | AzureMLUri

_LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
_AZ_REGISTRY = re.compile(r"^azureml://registries/([^/]+)/models/([^/]+)(?:/(versions|labels)/([^/]+))?/?$")
_AZ_SHORT = re.compile(r"^azureml:([^:@/]+)(?::([^:@/]+)|@([^:@/]+))?$")


def _models(text: str, uri: str) -> ModelsUri | LoggedModelUri:
    rest = text[len("models:") :]
    if not rest.startswith("/") or rest.startswith("//"):
        raise SourceError(f"malformed model URI {uri!r}: expected models:/NAME/VERSION or models:/NAME@ALIAS")
    rest = rest[1:].rstrip("/")
    if _LOGGED_MODEL_ID.match(rest):
        return LoggedModelUri(rest)
    if "@" in rest and "/" not in rest.split("@", 1)[1]:
        name, alias = rest.rsplit("@", 1)
        if name and alias:
            return ModelsUri(name=name, alias=alias)
        raise SourceError(f"malformed model URI {uri!r}: expected models:/NAME@ALIAS")
    name, sep, which = rest.rpartition("/")
    if not sep or not name or not which:
        raise SourceError(
            f"malformed model URI {uri!r}: expected models:/NAME/VERSION, models:/NAME/latest or models:/NAME@ALIAS"
        )
    if which.isdigit():
        return ModelsUri(name=name, version=which)
    if which.lower() == "latest":
        return ModelsUri(name=name, latest=True)
    if which.lower() in STAGES:
        return ModelsUri(name=name, stage=which)
    raise SourceError(
        f"malformed model URI {uri!r}: {which!r} is not a version number, 'latest' or a stage "
        f"({', '.join(s.capitalize() for s in STAGES)}); use models:/{name}@{which} for an alias"
    )


def _runs(text: str, uri: str) -> RunsUri:
    rest = text[len("runs:") :]
    if not rest.startswith("/") or rest.startswith("//"):
        raise SourceError(f"malformed run URI {uri!r}: expected runs:/RUN_ID/PATH")
    run_id, _, path = rest[1:].partition("/")
    if not run_id:
        raise SourceError(f"malformed run URI {uri!r}: expected runs:/RUN_ID/PATH")
    return RunsUri(run_id=run_id, path=path.strip("/"))


def _artifacts(text: str, uri: str) -> ArtifactsUri:
    rest = text[len("mlflow-artifacts:") :]
    if rest.startswith("//"):  # mlflow-artifacts://host:port/path — host is the tracking server
        rest = "/" + rest[2:].partition("/")[2]
    return ArtifactsUri(path=rest.strip("/"))


def _s3(text: str, uri: str) -> S3Uri:
    if not text.lower().startswith("s3://"):
        raise SourceError(f"malformed S3 URI {uri!r}: expected s3://bucket/prefix")
    bucket, _, prefix = text[5:].partition("/")
    if not bucket:
        raise SourceError(f"malformed S3 URI {uri!r}: no bucket")
    return S3Uri(bucket=bucket, prefix=prefix.strip("/"))


def _azureml(text: str, uri: str) -> AzureMLUri:
    m = _AZ_REGISTRY.match(text)
    if m:
        registry, name, kind, value = m.groups()
        if kind == "labels":
            return AzureMLUri(name=name, label=value, registry=registry)
        return AzureMLUri(name=name, version=value, registry=registry)
    m = _AZ_SHORT.match(text)
    if m:
        name, version, label = m.groups()
        return AzureMLUri(name=name, version=version, label=label or (None if version else "latest"))
    raise SourceError(
        f"malformed Azure ML URI {uri!r}: expected azureml:NAME:VERSION, azureml:NAME@LABEL or "
        "azureml://registries/REGISTRY/models/NAME/versions/VERSION"
    )


PARSERS: dict[str, Callable[[str, str], RemoteUri]] = {
    "models": _models,
    "runs": _runs,
    "mlflow-artifacts": _artifacts,
    "s3": _s3,
    "azureml": _azureml,
}
