"""s3:// sources against moto's real HTTP server (ThreadedMotoServer) with AWS_ENDPOINT_URL set."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.errors import SourceError
from modeldeploy.model.digest import model_digest
from modeldeploy.model.sources import resolve
from modeldeploy.progress import Progress

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_env():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    yield env
    server.stop()


@pytest.fixture
def bucket(s3_env):
    import uuid

    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"models-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="iris/v1/MLmodel", Body=b"flavors: {}\n")
    s3.put_object(Bucket=name, Key="iris/v1/model.pkl", Body=b"weights" * 1000)
    s3.put_object(Bucket=name, Key="iris/v1/sub/extra.json", Body=b"{}")
    s3.put_object(Bucket=name, Key="iris/v10/MLmodel", Body=b"not this one")
    return s3, name


def test_s3_prefix_is_downloaded_and_cached(s3_env, bucket, tmp_path: Path) -> None:
    s3, name = bucket
    ref = resolve(f"s3://{name}/iris/v1/", base_dir=tmp_path, cache_dir=tmp_path, environ=s3_env)
    assert ref.pinned_uri == f"s3://{name}/iris/v1"
    files = sorted(p.relative_to(ref.local_path).as_posix() for p in ref.local_path.rglob("*") if p.is_file())
    assert files == ["MLmodel", "model.pkl", "sub/extra.json"]  # v10 is not under v1/
    assert ref.digest == model_digest(ref.local_path)

    progress = Progress()
    again = resolve(f"s3://{name}/iris/v1", base_dir=tmp_path, cache_dir=tmp_path, environ=s3_env, progress=progress)
    assert again.local_path == ref.local_path
    assert any("using cached download" in e for e in progress.events)

    s3.put_object(Bucket=name, Key="iris/v1/model.pkl", Body=b"retrained")
    changed = resolve(f"s3://{name}/iris/v1", base_dir=tmp_path, cache_dir=tmp_path, environ=s3_env)
    assert changed.digest != ref.digest and changed.local_path != ref.local_path


def test_empty_prefix_and_missing_bucket_are_source_errors(s3_env, bucket, tmp_path: Path) -> None:
    _, name = bucket
    with pytest.raises(SourceError, match="no objects under"):
        resolve(f"s3://{name}/nothing", base_dir=tmp_path, cache_dir=tmp_path, environ=s3_env)
    with pytest.raises(SourceError, match="NoSuchBucket"):
        resolve("s3://no-such-bucket-here/x", base_dir=tmp_path, cache_dir=tmp_path, environ=s3_env)
