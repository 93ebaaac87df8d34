"""SageMaker with custom and Triton models: request bodies validated against botocore's model (golden
files under tests/golden/sagemaker/types/), SAGEMAKER_TRITON_DEFAULT_MODEL_NAME, the model.tar.gz
layout each kind needs, and GPU instance checks."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from modeldeploy.errors import ModelError, RenderError
from modeldeploy.model.kinds import read_for_spec
from modeldeploy.model.ref import ModelRef
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.loader import load_spec
from modeldeploy.targets.sagemaker.package import layout_for, write_model_tar
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.goldens import assert_tree
from tests.unit.model.test_custom_triton import CONFIG, write_custom_project, write_triton_model
from tests.unit.targets.sagemaker.sm_helpers import FIXED_DIGEST

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "sagemaker" / "types"

TARGET = """\
target:
  kind: sagemaker
  region: eu-west-1
  execution_role_arn: arn:aws:iam::123456789012:role/sm
  image: {image}
  artifact_bucket: bucket
  instance_type: {instance}
"""
TRITON_IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-tritonserver:24.09-py3"


def context(spec: Path) -> RenderContext:
    loaded = load_spec(spec)
    folder = (loaded.base_dir / loaded.spec.model.source).resolve()
    ref = ModelRef(
        uri=loaded.spec.model.source, pinned_uri=loaded.spec.model.source, digest=FIXED_DIGEST, local_path=folder
    )
    model = read_for_spec(folder, loaded.spec.model, loaded.base_dir)
    return RenderContext(spec=loaded.spec, model=model, ref=ref, base_dir=loaded.base_dir)


def triton_project(tmp_path: Path, *, instance: str = "ml.g5.xlarge", extra: str = "resources: {gpu: 1}\n") -> Path:
    write_triton_model(tmp_path / "densenet")
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: dense\nmodel: {source: densenet, type: triton}\n"
        + extra
        + TARGET.format(image=TRITON_IMAGE, instance=instance)
    )
    return spec


def bodies(spec: Path) -> dict[str, dict]:
    return {a.path: json.loads(a.content) for a in SageMakerTargetImpl().render(context(spec))}


def test_triton_model_names_the_default_model_and_uses_the_triton_image(tmp_path: Path) -> None:
    out = bodies(triton_project(tmp_path))
    container = out["sagemaker/CreateModel.json"]["PrimaryContainer"]
    assert container["Image"] == TRITON_IMAGE
    assert container["Environment"] == {"SAGEMAKER_TRITON_DEFAULT_MODEL_NAME": "densenet"}
    variant = out["sagemaker/CreateEndpointConfig.json"]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.g5.xlarge"
    tags = {t["Key"]: t["Value"] for t in out["sagemaker/CreateModel.json"]["Tags"]}
    assert tags["modeldeploy:signature-digest"].startswith("sha256:")


@pytest.mark.parametrize(
    ("instance", "extra", "words"),
    [
        ("ml.m5.large", "resources: {gpu: 1}\n", "instance_type ml.m5.large has no GPU"),
        ("ml.c6i.xlarge", "resources: {gpu: 2}\n", "resources.gpu 2"),
        ("ml.inf2.xlarge", "resources: {gpu: 1}\n", "has no GPU"),
    ],
)
def test_gpu_request_needs_a_gpu_instance(tmp_path: Path, instance: str, extra: str, words: str) -> None:
    with pytest.raises(RenderError, match=words):
        bodies(triton_project(tmp_path, instance=instance, extra=extra))


@pytest.mark.parametrize(
    "instance", ["ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.g6e.xlarge", "ml.p3.2xlarge", "ml.p4d.24xlarge"]
)
def test_gpu_instance_families_are_accepted(tmp_path: Path, instance: str) -> None:
    assert bodies(triton_project(tmp_path, instance=instance))


def test_serverless_has_no_gpus(tmp_path: Path) -> None:
    spec = triton_project(tmp_path)
    spec.write_text(spec.read_text() + "  mode: serverless\n")
    with pytest.raises(RenderError, match="serverless endpoints have no GPUs"):
        bodies(spec)


def test_triton_secrets_and_ambiguous_repositories_are_refused(tmp_path: Path) -> None:
    spec = triton_project(tmp_path, extra="serving: {secrets: {TOKEN: {secret: s, key: k}}}\n")
    with pytest.raises(RenderError, match="cannot resolve secret references"):
        bodies(spec)
    repo = tmp_path / "repo"
    write_triton_model(repo / "a", CONFIG.replace('"densenet"', '"a"'))
    write_triton_model(repo / "b", CONFIG.replace('"densenet"', '"b"'))
    spec.write_text(
        spec.read_text()
        .replace("source: densenet", "source: repo")
        .replace("serving: {secrets: {TOKEN: {secret: s, key: k}}}\n", "")
    )
    with pytest.raises(RenderError, match="no single ensemble"):
        bodies(spec)


def test_custom_model_uses_the_custom_image_and_the_serving_contract(tmp_path: Path) -> None:
    spec = write_custom_project(tmp_path)
    spec.write_text(
        spec.read_text().replace(
            "target: {kind: docker}\n",
            TARGET.format(image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/custom:1", instance="ml.m5.large"),
        )
    )
    container = bodies(spec)["sagemaker/CreateModel.json"]["PrimaryContainer"]
    assert container["Image"].endswith("/custom:1")
    assert container["Environment"]["MODELDEPLOY_MODEL_PATH"] == "/opt/ml/model"


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


def test_model_tar_layouts(tmp_path: Path) -> None:
    """SageMaker's Triton container serves /opt/ml/model as the repository, so a single model folder is
    packaged under its name; custom folders are packaged as they are; MLflow still needs MLmodel."""
    ctx = context(triton_project(tmp_path))
    buf = io.BytesIO()
    write_model_tar(ctx.ref.local_path, buf, layout=layout_for("triton", ctx.model))
    assert _names(buf.getvalue()) == ["densenet/1/model.onnx", "densenet/config.pbtxt"]
    custom = tmp_path / "c"
    write_custom_project(custom)
    buf = io.BytesIO()
    write_model_tar(custom / "model", buf, layout=layout_for("custom", None))
    assert _names(buf.getvalue()) == ["weights.json"]
    with pytest.raises(ModelError, match="no MLmodel"):
        write_model_tar(custom / "model", io.BytesIO())


CASES = sorted(p.parent.name for p in GOLDEN.glob("*/deploy.yaml"))


def test_golden_cases_exist() -> None:
    assert {"triton-gpu", "custom"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_renders_like_golden(case: str) -> None:
    artifacts = SageMakerTargetImpl().render(context(GOLDEN / case / "deploy.yaml"))
    assert_tree(artifacts, GOLDEN / case / "expected")
