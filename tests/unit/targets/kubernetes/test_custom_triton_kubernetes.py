"""Kubernetes with custom and Triton models: the same custom image behind the same probes, a
tritonserver container (port 8000, /v2/health/*), KServe modelFormat triton, nvidia.com/gpu limits;
built-in objects checked with kubernetes-validate strict, InferenceServices with the original CRD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modeldeploy.errors import RenderError
from tests.unit.model.test_custom_triton import write_custom_project, write_triton_model
from tests.unit.targets.kubernetes.k8s_case import KSERVE_CRD, context, render_ctx

TARGET = "target: {kind: kubernetes, namespace: models"


def objects(spec: Path) -> dict[str, Any]:
    return {a.path: yaml.safe_load(a.content) for a in render_ctx(context(spec))}


def validate(objs: dict[str, Any]) -> None:
    import jsonschema
    import kubernetes_validate

    for path, obj in objs.items():
        if path.endswith("kustomization.yaml") or path.endswith(".json"):
            continue
        if obj["kind"] == "InferenceService":
            if not KSERVE_CRD.is_file():
                continue
            crd = yaml.load(KSERVE_CRD.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")["schema"]["openAPIV3Schema"]
            jsonschema.Draft7Validator(schema).validate(obj)
        else:
            assert kubernetes_validate.validate(obj, "1.31", strict=True) == "1.31"


def triton_spec(tmp_path: Path, target: str = "}", extra: str = "resources: {gpu: 1}\n") -> Path:
    write_triton_model(tmp_path / "densenet")
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: dense\nmodel: {source: densenet, type: triton}\n"
        + extra
        + TARGET
        + target
        + "\n"
    )
    return spec


def test_triton_deployment_container(tmp_path: Path) -> None:
    objs = objects(triton_spec(tmp_path))
    validate(objs)
    c = objs["k8s/deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == 8000 and c["image"].startswith("dense:")
    assert (
        c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        and c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    )
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert not any(e["name"].startswith("MODELDEPLOY_") for e in c["env"])
    ann = objs["k8s/deployment.yaml"]["metadata"]["annotations"]
    assert any("data_0" in v for v in ann.values())  # the signature from config.pbtxt is recorded


def test_triton_kserve_model_format(tmp_path: Path) -> None:
    objs = objects(triton_spec(tmp_path, ", flavor: kserve, storage_uri: 's3://models/dense'}"))
    validate(objs)
    model = objs["k8s/inferenceservice.yaml"]["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "triton"} and model["storageUri"] == "s3://models/dense"
    assert model["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_custom_uses_the_docker_targets_custom_image(tmp_path: Path) -> None:
    from modeldeploy.targets.docker.target import image_reference

    spec = write_custom_project(tmp_path)
    docker_image = image_reference(context(spec))
    spec.write_text(spec.read_text().replace("target: {kind: docker}", TARGET + "}"))
    objs = objects(spec)
    validate(objs)
    c = objs["k8s/deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == docker_image and c["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert c["ports"][0]["containerPort"] == 8080


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (", mode: batch, batch: {input: /data/in.csv, output: /data/out.csv, claim: d}}", "serves online only"),
        (", flavor: kserve, storage_uri: 's3://m/x'}", "needs target.image"),
    ],
)
def test_custom_unsupported_shapes_are_clear_errors(tmp_path: Path, target: str, words: str) -> None:
    spec = write_custom_project(tmp_path)
    spec.write_text(spec.read_text().replace("target: {kind: docker}", TARGET + target))
    with pytest.raises(RenderError, match=words):
        objects(spec)
