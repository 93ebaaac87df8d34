"""target.registry on SageMaker: the render carries the docker target's build context under image/ and
CreateModel's image is REGISTRY/NAME:<digest of that context>, as on Kubernetes; registry and image
exclude each other (located error); the build keys mean what they mean on the docker target."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.targets.docker.build import context_digest
from modeldeploy.targets.docker.registry import ImageAuxiliary, split_context
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.unit.targets.sagemaker.sm_helpers import FIXED_DIGEST, context, write_model

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml"
SPEC = """\
apiVersion: modeldeploy/v1
name: iris
model: {{source: ./model}}
target:
  kind: sagemaker
  region: eu-west-1
  execution_role_arn: arn:aws:iam::123456789012:role/sm
  artifact_bucket: b
{target}"""


def _ctx(tmp_path: Path, target: str = f"  registry: {ECR}\n"):
    if not (tmp_path / "model").exists():
        write_model(tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(SPEC.format(target=target))
    return context(tmp_path / "deploy.yaml", digest=FIXED_DIGEST)


def _image(arts) -> str:
    body = next(json.loads(a.content) for a in arts if a.path == "sagemaker/CreateModel.json")
    return str(body["PrimaryContainer"]["Image"])


def test_registry_renders_the_context_and_the_digest_reference(tmp_path: Path) -> None:
    from modeldeploy.spec.targets.docker import DockerTarget
    from modeldeploy.targets.docker.target import DockerTargetImpl

    ctx = _ctx(tmp_path)
    arts = SageMakerTargetImpl().render(ctx)
    context_files = split_context(arts)
    docker = DockerTargetImpl().render(
        replace(ctx, spec=ctx.spec.model_copy(update={"target": DockerTarget(kind="docker", run_as_root=True)}))
    )
    # The docker target's context for this model (run as root: SageMaker's container contract).
    assert sorted((a.path, a.digest) for a in docker) == sorted((a.path, a.digest) for a in context_files)
    assert _image(arts) == f"{ECR}/iris:{context_digest(context_files)[:12]}"
    again = SageMakerTargetImpl().render(_ctx(tmp_path))
    assert [(a.path, a.digest) for a in again] == [(a.path, a.digest) for a in arts]
    # desired() reads only the request bodies: the context files are not SageMaker resources.
    assert all(r.kind != "file" for r in SageMakerTargetImpl().desired(ctx, arts))


def test_a_build_key_changes_the_context_and_so_the_reference(tmp_path: Path) -> None:
    first = _image(SageMakerTargetImpl().render(_ctx(tmp_path)))
    other = _image(SageMakerTargetImpl().render(_ctx(tmp_path, f"  registry: {ECR}\n  base_image: python:3.12-slim\n")))
    assert first != other and other.startswith(f"{ECR}/iris:")
    dockerfile = next(
        a
        for a in SageMakerTargetImpl().render(_ctx(tmp_path, f"  registry: {ECR}\n  base_image: python:3.12-slim\n"))
        if a.path == "image/Dockerfile"
    )
    assert b"FROM python:3.12-slim" in dockerfile.content


def test_image_without_registry_renders_no_context(tmp_path: Path) -> None:
    arts = SageMakerTargetImpl().render(
        _ctx(tmp_path, "  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/iris:1\n")
    )
    assert not any(a.path.startswith("image/") for a in arts)
    assert _image(arts) == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/iris:1"
    assert SageMakerTargetImpl().auxiliaries(_ctx(tmp_path, "  image: r/iris:1\n"), arts) == []


def test_the_image_is_the_first_auxiliary(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    arts = SageMakerTargetImpl().render(ctx)
    (image,) = SageMakerTargetImpl().auxiliaries(ctx, arts)
    assert isinstance(image, ImageAuxiliary) and image.stage == "before"
    assert image.reference == _image(arts) and image.address == "image.iris"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (f"  registry: {ECR}\n  image: r/iris:1\n", "registry and image exclude each other"),
        ("", "needs image"),
        ("  registry: ghcr.io/org\n", "is not an ECR registry"),
    ],
)
def test_image_and_registry_located_errors(tmp_path: Path, target: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        _ctx(tmp_path, target)
    assert "deploy.yaml:" in str(err.value) and message in str(err.value)
