"""azureml: sources.

There is no Azure ML emulator, so these tests stop at the narrowest honest seam: an autospec'd
``azure.ai.ml.operations.ModelOperations`` (what ``MLClient.models`` is) returning real
``azure.ai.ml.entities.Model`` objects. The download side effect lays files out the way
``ModelOperations.download`` does (``<download_path>/<name>/<folder>/…``, see
azure/ai/ml/operations/_model_operations.py). Everything after that seam — pinning, cache, digest,
error mapping — is modeldeploy's real code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest.mock import create_autospec

import pytest

from modeldeploy.errors import MissingDependencyError, SourceError
from modeldeploy.model.cache import ModelCache
from modeldeploy.model.digest import model_digest
from modeldeploy.model.sources import resolve
from modeldeploy.model.sources.azureml import resolve_azureml
from modeldeploy.model.sources.uri import parse
from modeldeploy.progress import Progress

ENV = {"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_RESOURCE_GROUP": "rg", "AZUREML_WORKSPACE_NAME": "ws"}


def fake_models(latest_version: str = "5"):
    from azure.ai.ml.entities import Model
    from azure.ai.ml.operations import ModelOperations

    ops = create_autospec(ModelOperations, instance=True)

    def get(name, version=None, label=None):
        return Model(
            name=name, version=version or latest_version, path="azureml://datastores/x/paths/m", type="mlflow_model"
        )

    def download(name, version, download_path="."):
        folder = Path(download_path) / name / "model"
        folder.mkdir(parents=True)
        (folder / "MLmodel").write_text(f"flavors: {{}}\n# version {version}\n")
        (folder / "model.pkl").write_bytes(b"weights")

    ops.get.side_effect = get
    ops.download.side_effect = download
    return ops


def test_label_is_pinned_to_a_version_and_files_are_flattened(tmp_path: Path) -> None:
    ops = fake_models("5")
    ref = resolve_azureml(
        "azureml:iris@prod",
        parse("azureml:iris@prod"),
        cache=ModelCache(tmp_path),
        progress=Progress(),
        environ=ENV,
        models=ops,
    )
    ops.get.assert_called_once_with(name="iris", version=None, label="prod")
    ops.download.assert_called_once()
    assert ops.download.call_args.kwargs["version"] == "5"
    assert ref.pinned_uri == "azureml:iris:5" and ref.version == "5" and ref.alias == "prod"
    assert sorted(p.name for p in ref.local_path.iterdir()) == ["MLmodel", "model.pkl"]
    assert ref.digest == model_digest(ref.local_path)


def test_second_resolve_uses_the_cache(tmp_path: Path) -> None:
    ops = fake_models()
    for _ in range(2):
        resolve_azureml(
            "azureml:iris:3",
            parse("azureml:iris:3"),
            cache=ModelCache(tmp_path),
            progress=Progress(),
            environ=ENV,
            models=ops,
        )
    assert ops.download.call_count == 1


def test_registry_uri_needs_no_workspace(tmp_path: Path) -> None:
    uri = "azureml://registries/shared/models/iris/versions/4"
    ref = resolve_azureml(
        uri, parse(uri), cache=ModelCache(tmp_path), progress=Progress(), environ={}, models=fake_models()
    )
    assert ref.pinned_uri == uri and ref.version == "4"


def test_missing_workspace_variables_are_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="AZURE_RESOURCE_GROUP, AZUREML_WORKSPACE_NAME"):
        resolve_azureml(
            "azureml:iris:1",
            parse("azureml:iris:1"),
            cache=ModelCache(tmp_path),
            progress=Progress(),
            environ={"AZURE_SUBSCRIPTION_ID": "s"},
            models=fake_models(),
        )


def test_not_found_is_a_one_line_source_error(tmp_path: Path) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    ops = fake_models()
    ops.get.side_effect = ResourceNotFoundError("Model iris:9 not found\nmore detail")
    with pytest.raises(SourceError) as info:
        resolve_azureml(
            "azureml:iris:9",
            parse("azureml:iris:9"),
            cache=ModelCache(tmp_path),
            progress=Progress(),
            environ=ENV,
            models=ops,
        )
    assert "model not found" in str(info.value) and "\n" not in str(info.value)


def test_missing_extra_names_the_install_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.ai.ml", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError) as info:
        resolve("azureml:iris:1", base_dir=tmp_path, cache_dir=tmp_path / "c", environ=ENV)
    assert info.value.hint == "pip install 'modeldeploy[azure]'"


def test_missing_boto3_names_the_install_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingDependencyError) as info:
        resolve("s3://bucket/model", base_dir=tmp_path, cache_dir=tmp_path / "c", environ={})
    assert info.value.hint == "pip install 'modeldeploy[aws]'"
