"""model.register on SageMaker: a model package per model digest, against moto's server (real HTTP,
real boto3). Re-registering the same digest creates nothing; a new model is a new package version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modeldeploy.targets.sagemaker import registry
from modeldeploy.targets.sagemaker.aws import Clients
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.integration.sagemaker.test_sagemaker_lifecycle import _ctx, aws, models  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def _registered_ctx(tmp: Path, model: Path):
    from dataclasses import replace

    from modeldeploy.spec.models import ModelRegistration

    ctx = _ctx(tmp, model)
    reg = ModelRegistration(name="iris-models", tags={"team": "ml"}, description="iris classifier")
    model_section = ctx.spec.model.model_copy(update={"registration": reg})
    return replace(ctx, spec=ctx.spec.model_copy(update={"model": model_section}))


def test_register_is_idempotent_per_digest(aws: Any, models: dict[str, Path], tmp_path: Path) -> None:
    clients = Clients()
    target = SageMakerTargetImpl()
    ctx1 = _registered_ctx(tmp_path / "a", models["v1"])
    artifacts1 = target.render(ctx1)

    assert registry.planned(clients, ctx1).action == "create"
    arn1, created = registry.register(clients, ctx1, artifacts1)
    assert created
    assert registry.planned(clients, ctx1).action == "no-op"
    again, created = registry.register(clients, ctx1, artifacts1)
    assert (again, created) == (arn1, False)

    sm = aws.client("sagemaker")
    described = sm.describe_model_package(ModelPackageName=arn1)
    assert described["CustomerMetadataProperties"][registry.DIGEST_KEY] == ctx1.ref.digest
    assert described["CustomerMetadataProperties"]["team"] == "ml"
    container = described["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"].endswith("/model.tar.gz") and container["Image"].endswith("/iris:1")

    ctx2 = _registered_ctx(tmp_path / "b", models["v2"])
    arn2, created = registry.register(clients, ctx2, target.render(ctx2))
    assert created and arn2 != arn1
    packages = sm.list_model_packages(ModelPackageGroupName="iris-models")["ModelPackageSummaryList"]
    assert len(packages) == 2


def test_the_registration_is_an_auxiliary_after_the_deployment(
    aws: Any, models: dict[str, Path], tmp_path: Path
) -> None:
    import io

    from modeldeploy.planning.options import ObserveOptions
    from modeldeploy.planning.plan import Action
    from modeldeploy.progress import Progress

    target = SageMakerTargetImpl()
    ctx = _registered_ctx(tmp_path, models["v1"])
    artifacts = target.render(ctx)
    (package,) = target.auxiliaries(ctx, artifacts)
    assert package.stage == "after"
    planned = package.plan(ObserveOptions())
    assert planned.action is Action.CREATE and planned.address == "sagemaker_model_package.iris-models"
    arn = package.apply(Progress(io.StringIO()), ObserveOptions()).outputs["registered"]
    assert arn and package.plan(ObserveOptions()).action is Action.NOOP
    assert package.apply(Progress(io.StringIO()), ObserveOptions()).outputs["registered"] == arn
