"""s3://bucket/prefix sources through boto3 (the ``aws`` extra, imported only here, only when used).

The endpoint honours ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (any S3-compatible store, moto in
tests), region ``AWS_REGION`` / ``AWS_DEFAULT_REGION``; credentials come from boto3's usual chain,
or from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN`` in the environment given.
The cache key is the listing itself (every key, size and ETag), so a changed prefix downloads again
and an unchanged one never does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modeldeploy.errors import MissingDependencyError, SourceError
from modeldeploy.model.cache import ModelCache, materialize
from modeldeploy.model.digest import model_digest
from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.remoteuri import S3Uri
from modeldeploy.model.sources.transfer import RemoteFile, fetch_all
from modeldeploy.progress import Progress


def resolve_s3(
    uri: str, parsed: S3Uri, *, cache: ModelCache, progress: Progress, environ: Mapping[str, str]
) -> ModelRef:

    client = s3_client(environ, uri=uri)
    listing = _list(client, parsed.bucket, parsed.prefix, uri)
    key = (
        "s3\n" + _endpoint(environ) + "\n" + "\n".join(f"{o['Key']}\0{o['Size']}\0{o.get('ETag', '')}" for o in listing)
    )
    prefix = _dir_prefix(parsed.prefix)
    files = [RemoteFile(rel=o["Key"][len(prefix) :], size=int(o["Size"])) for o in listing]
    pinned = f"s3://{parsed.bucket}/{parsed.prefix}" if parsed.prefix else f"s3://{parsed.bucket}"

    def fill(tmp: Path) -> None:
        fetch_all(
            files,
            tmp,
            lambda f, target, add: _download(client, parsed.bucket, prefix + f.rel, target, add, uri),
            progress=progress,
            label=uri,
        )

    path = materialize(cache, key, fill, label=pinned, progress=progress)
    return ModelRef(uri=uri, pinned_uri=pinned, digest=model_digest(path, cache_dir=cache.root), local_path=path)


def fetch_prefix(
    bucket: str, prefix: str, dest: Path, *, environ: Mapping[str, str], progress: Progress, uri: str
) -> None:
    """Download everything under s3://bucket/prefix into ``dest`` (an MLflow artifact root on S3)."""
    client = s3_client(environ, uri=uri)
    listing = _list(client, bucket, prefix, uri)
    p = _dir_prefix(prefix)
    files = [RemoteFile(rel=o["Key"][len(p) :], size=int(o["Size"])) for o in listing]
    fetch_all(
        files,
        dest,
        lambda f, target, add: _download(client, bucket, p + f.rel, target, add, uri),
        progress=progress,
        label=uri,
    )


def s3_client(environ: Mapping[str, str], *, uri: str) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingDependencyError(
            f"{uri}: reading s3:// sources needs boto3", hint="pip install 'modeldeploy[aws]'"
        ) from None
    kwargs: dict[str, Any] = {}
    endpoint = _endpoint(environ)
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region_name"] = region
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        kwargs["aws_access_key_id"] = environ["AWS_ACCESS_KEY_ID"]
        kwargs["aws_secret_access_key"] = environ["AWS_SECRET_ACCESS_KEY"]
        if environ.get("AWS_SESSION_TOKEN"):
            kwargs["aws_session_token"] = environ["AWS_SESSION_TOKEN"]
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16)
    return boto3.session.Session().client("s3", config=config, **kwargs)


def _endpoint(environ: Mapping[str, str]) -> str:
    return environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or ""


def _dir_prefix(prefix: str) -> str:
    return prefix.strip("/") + "/" if prefix.strip("/") else ""


def _list(client: Any, bucket: str, prefix: str, uri: str) -> list[dict[str, Any]]:
    p = _dir_prefix(prefix)
    out: list[dict[str, Any]] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=p):
            out.extend(o for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    except Exception as exc:  # botocore ClientError / EndpointConnectionError / NoCredentialsError
        raise SourceError(f"{uri}: cannot list s3://{bucket}/{p}: {_aws_reason(exc)}") from None
    if not out:
        raise SourceError(f"{uri}: no objects under s3://{bucket}/{p} (is the prefix right?)")
    return sorted(out, key=lambda o: o["Key"])


def _download(client: Any, bucket: str, key: str, target: Path, add: Callable[[int], None], uri: str) -> None:
    try:
        client.download_file(bucket, key, str(target), Callback=add)
    except Exception as exc:
        raise SourceError(f"{uri}: cannot download s3://{bucket}/{key}: {_aws_reason(exc)}") from None


def _aws_reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', '')} {err.get('Message', '')}".strip()
    return " ".join(str(exc).split())[:300] or type(exc).__name__
