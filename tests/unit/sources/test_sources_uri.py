"""Parsing of every model source URI form (pure; no I/O)."""

from __future__ import annotations

import pytest

from modeldeploy.errors import SourceError
from modeldeploy.model.sources.remoteuri import (
    ArtifactsUri,
    AzureMLUri,
    LoggedModelUri,
    ModelsUri,
    RunsUri,
    S3Uri,
)
from modeldeploy.model.sources.uri import LocalUri, parse


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("./model", LocalUri("./model")),
        ("models\\iris", LocalUri("models/iris")),
        ("C:\\models\\iris", LocalUri("C:/models/iris")),
        ("file:///srv/model", LocalUri("/srv/model")),
        ("models:/iris/7", ModelsUri(name="iris", version="7")),
        ("models:/iris@champion", ModelsUri(name="iris", alias="champion")),
        ("models:/iris/latest", ModelsUri(name="iris", latest=True)),
        ("models:/iris/Production", ModelsUri(name="iris", stage="Production")),
        ("models:/iris/staging", ModelsUri(name="iris", stage="staging")),
        ("models:/m-0d32b2201321421f9eeb99e16ca79eff", LoggedModelUri("m-0d32b2201321421f9eeb99e16ca79eff")),
        ("runs:/abc123/model", RunsUri(run_id="abc123", path="model")),
        ("runs:/abc123/model/sub/", RunsUri(run_id="abc123", path="model/sub")),
        ("mlflow-artifacts:/0/models/m-1/artifacts", ArtifactsUri("0/models/m-1/artifacts")),
        ("mlflow-artifacts://host:5000/0/x", ArtifactsUri("0/x")),
        ("s3://bucket/some/prefix/", S3Uri("bucket", "some/prefix")),
        ("s3://bucket", S3Uri("bucket", "")),
        ("azureml:iris:3", AzureMLUri(name="iris", version="3")),
        ("azureml:iris@prod", AzureMLUri(name="iris", label="prod")),
        ("azureml:iris", AzureMLUri(name="iris", label="latest")),
        (
            "azureml://registries/shared/models/iris/versions/4",
            AzureMLUri(name="iris", version="4", registry="shared"),
        ),
        (
            "azureml://registries/shared/models/iris/labels/latest",
            AzureMLUri(name="iris", label="latest", registry="shared"),
        ),
    ],
)
def test_parse_forms(uri: str, expected: object) -> None:
    assert parse(uri) == expected


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("models:iris/1", "malformed model URI"),
        ("models:/iris", "malformed model URI"),
        ("models:/iris/champion", "use models:/iris@champion for an alias"),
        ("models:/iris@", "malformed model URI"),
        ("runs:/", "malformed run URI"),
        ("s3:///prefix", "no bucket"),
        ("azureml:a:b:c", "malformed Azure ML URI"),
        ("gs://bucket/model", "unsupported model source"),
        ("file://otherhost/x", "remote host"),
        ("   ", "empty"),
    ],
)
def test_malformed_uris_are_one_line_errors(uri: str, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        parse(uri)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
