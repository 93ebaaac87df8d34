"""Artifact locations as the tracking server reports them, and how to fetch a folder from each.

* ``mlflow-artifacts:/P``, ``mlflow-artifacts://host/P`` and ``http(s)://…/api/2.0/mlflow-artifacts/artifacts/P``:
  through the tracking server's artifact proxy (list + GET), the normal case for ``mlflow server``.
* ``s3://bucket/prefix``: directly with boto3 (the ``aws`` extra).
* ``file:///…`` or an absolute path: the server's own disk; readable only when it is this machine.
Anything else (gs://, wasbs://, dbfs:/) is a one-line SourceError naming the location.
"""

from __future__ import annotations

import posixpath
import shutil
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modeldeploy.errors import SourceError
from modeldeploy.model.sources.http import ARTIFACTS_API, MlflowRest
from modeldeploy.model.sources.transfer import RemoteFile, fetch_all
from modeldeploy.progress import Progress


@dataclass(frozen=True)
class Proxied:
    path: str  # relative to the proxy's root


@dataclass(frozen=True)
class LocalDir:
    path: Path


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str


Location = Proxied | LocalDir | S3Location


def classify(location: str, *, uri: str) -> Location:
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme == "mlflow-artifacts":
        return Proxied(parsed.path.strip("/"))
    if parsed.scheme in ("http", "https") and ARTIFACTS_API + "/" in parsed.path:
        return Proxied(urllib.parse.unquote(parsed.path.split(ARTIFACTS_API + "/", 1)[1]).strip("/"))
    if parsed.scheme == "s3":
        return S3Location(parsed.netloc, parsed.path.strip("/"))
    if parsed.scheme == "file":
        return LocalDir(Path(urllib.parse.unquote(parsed.path)))
    if parsed.scheme == "" and location.startswith("/"):
        return LocalDir(Path(location))
    raise SourceError(
        f"{uri}: artifacts are stored at {location!r}, which modeldeploy cannot read; "
        "serve artifacts through the tracking server (mlflow server --serve-artifacts) or use s3://"
    )


def join(location: str, path: str) -> str:
    return location.rstrip("/") + "/" + path.strip("/") if path.strip("/") else location


def fetch_location(
    location: str,
    dest: Path,
    *,
    rest: MlflowRest | None,
    environ: Mapping[str, str],
    progress: Progress,
    uri: str,
) -> None:
    """Copy the folder at ``location`` into the empty directory ``dest``."""
    where = classify(location, uri=uri)
    if isinstance(where, Proxied):
        if rest is None:
            raise SourceError(f"{uri}: {location} needs an MLflow tracking server to download from")
        _fetch_proxied(rest, where.path, dest, progress, uri)
    elif isinstance(where, S3Location):
        from modeldeploy.model.sources.s3 import fetch_prefix

        fetch_prefix(where.bucket, where.prefix, dest, environ=environ, progress=progress, uri=uri)
    else:
        _copy_local(where.path, dest, uri)


def list_proxied(rest: MlflowRest, root: str) -> list[RemoteFile]:
    """Every file under ``root`` in the artifact proxy, recursively, relative to root."""
    out: list[RemoteFile] = []
    pending = [""]
    while pending:
        sub = pending.pop()
        for entry in rest.list_proxied(posixpath.join(root, sub) if sub else root):
            rel = posixpath.join(sub, posixpath.basename(entry.get("path", "")))
            if entry.get("is_dir"):
                pending.append(rel)
            else:
                size = entry.get("file_size")
                out.append(RemoteFile(rel=rel, size=int(size) if size is not None else None))
    return sorted(out, key=lambda f: f.rel)


def _fetch_proxied(rest: MlflowRest, root: str, dest: Path, progress: Progress, uri: str) -> None:
    files = list_proxied(rest, root)
    if not files:
        raise SourceError(f"{uri}: no artifacts found at mlflow-artifacts:/{root}")
    fetch_all(
        files,
        dest,
        lambda f, target, add: rest.download_proxied(posixpath.join(root, f.rel), target, add),
        progress=progress,
        label=uri,
    )


def _copy_local(src: Path, dest: Path, uri: str) -> None:
    if not src.is_dir():
        raise SourceError(
            f"{uri}: artifacts are on the tracking server's local disk ({src}), not reachable from here; "
            "run the server with --serve-artifacts"
        )
    shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
