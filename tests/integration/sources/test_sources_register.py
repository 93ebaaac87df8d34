"""MLflow registry registration against a real `mlflow server`: create, re-apply is a no-op by
digest, a changed model makes a new version carrying the tags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modeldeploy.model.register import DIGEST_TAG, SOURCE_TAG, planned_registration, register_mlflow
from modeldeploy.model.sources import resolve
from modeldeploy.spec.models import ModelRegistration

pytestmark = pytest.mark.integration


def version_tags(url: str, name: str, version: str) -> dict[str, str]:
    from mlflow import MlflowClient

    return dict(MlflowClient(url).get_model_version(name, version).tags)


def test_register_is_idempotent_by_digest(registry, tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": registry.url}
    src = resolve("models:/iris/1", base_dir=tmp_path, cache_dir=tmp_path / "cache", environ=env)
    shutil.copytree(src.local_path, tmp_path / "model")
    ref = resolve("model", base_dir=tmp_path, cache_dir=tmp_path / "cache", environ=env)
    reg = ModelRegistration(name="deployed-iris", tags={"team": "ml"}, description="from modeldeploy")

    plan = planned_registration(ref, reg, tracking_uri=registry.url, environ={})
    assert (plan.action, plan.model_exists, plan.version) == ("create", False, None)

    v1 = register_mlflow(ref, reg, tracking_uri=registry.url, environ={})
    assert v1 == "1"
    tags = version_tags(registry.url, "deployed-iris", v1)
    assert tags["team"] == "ml" and tags[DIGEST_TAG] == ref.digest and tags[SOURCE_TAG] == "model"

    # what was registered is byte-identical to what we had
    back = resolve(f"models:/deployed-iris/{v1}", base_dir=tmp_path, cache_dir=tmp_path / "cache", environ=env)
    assert back.digest == ref.digest

    assert planned_registration(ref, reg, tracking_uri=registry.url, environ={}).action == "no-op"
    assert register_mlflow(ref, reg, tracking_uri=registry.url, environ={}) == v1  # no new version

    (tmp_path / "model" / "NOTES.txt").write_text("retrained")
    changed = resolve("model", base_dir=tmp_path, cache_dir=tmp_path / "cache", environ=env)
    plan = planned_registration(changed, reg, tracking_uri=registry.url, environ={})
    assert (plan.action, plan.model_exists) == ("create", True)
    v2 = register_mlflow(changed, reg, tracking_uri=registry.url, environ={})
    assert v2 == "2"
    assert version_tags(registry.url, "deployed-iris", v2)[DIGEST_TAG] == changed.digest
    from mlflow import MlflowClient

    assert MlflowClient(registry.url).get_model_version("deployed-iris", v2).description == "from modeldeploy"


def test_registering_a_registry_source_under_its_own_name_reuses_the_version(registry, tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": registry.url}
    ref = resolve("models:/iris@champion", base_dir=tmp_path, cache_dir=tmp_path, environ=env)
    reg = ModelRegistration(name="iris")
    assert planned_registration(ref, reg, tracking_uri=registry.url, environ={}).version == "2"
    assert register_mlflow(ref, reg, tracking_uri=registry.url, environ={}) == "2"
