"""Azure ML with custom and Triton models: custom_model + code_configuration + environment and
triton_model no-code deployments, every rendered spec loaded with azure-ai-ml's own loaders (render
runs validate_artifacts), and GPU sizes for resources.gpu."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modeldeploy.errors import RenderError
from modeldeploy.targets.azureml.naming import TAG_CODE_DIGEST
from modeldeploy.targets.azureml.target import AzureMLTargetImpl
from tests.unit.model.test_custom_triton import write_custom_project, write_triton_model
from tests.unit.targets.azureml.az_helpers import context

TARGET = """\
target:
  kind: azureml
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: rg
  workspace: ws
"""


def render(spec: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for a in AzureMLTargetImpl().render(context(spec)):
        out[a.path] = yaml.safe_load(a.content) if a.path.endswith(".yaml") and a.source is None else a.content
    return out


def custom_spec(tmp_path: Path, environment: str) -> Path:
    spec = write_custom_project(tmp_path, environment=environment)
    spec.write_text(spec.read_text().replace("target: {kind: docker}\n", TARGET))
    return spec


def triton_spec(tmp_path: Path, extra: str = "") -> Path:
    write_triton_model(tmp_path / "densenet")
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: densenet\nmodel: {source: densenet, type: triton}\n" + extra + TARGET
    )
    return spec


def test_custom_model_with_requirements_file(tmp_path: Path) -> None:
    files = render(custom_spec(tmp_path, "  environment: {requirements_file: requirements.txt}\n"))
    dep = files["azureml/deployment.yaml"]
    assert dep["code_configuration"] == {"code": "code", "scoring_script": "score.py"}
    assert dep["environment"]["image"].startswith("mcr.microsoft.com/azureml/")
    assert dep["model"]["type"] == "custom_model" and dep["tags"][TAG_CODE_DIGEST].startswith("sha256:")
    conda = files["azureml/environment/conda.yaml"]
    assert conda["dependencies"][-1] == {"pip": ["numpy==2.1.3", "azureml-inference-server-http"]}
    assert "azureml/code/score.py" in files and "azureml/model/weights.json" in files


def test_custom_model_with_image_and_conda_file(tmp_path: Path) -> None:
    files = render(custom_spec(tmp_path, "  environment: {image: 'myacr.azurecr.io/base:1', conda_file: conda.yaml}\n"))
    dep = files["azureml/deployment.yaml"]
    assert dep["environment"] == {"image": "myacr.azurecr.io/base:1", "conda_file": "environment/conda.yaml"}
    conda = files["azureml/environment/conda.yaml"]
    assert "python=3.10.14" in conda["dependencies"] and "scipy=1.13.1" in conda["dependencies"]


def test_code_change_is_a_new_deployment(tmp_path: Path) -> None:
    spec = custom_spec(tmp_path, "  environment: {requirements_file: requirements.txt}\n")
    before = render(spec)["azureml/deployment.yaml"]["name"]
    (tmp_path / "code" / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return 2\n")
    assert render(spec)["azureml/deployment.yaml"]["name"] != before


def test_custom_command_entry_is_refused(tmp_path: Path) -> None:
    spec = custom_spec(tmp_path, "")
    spec.write_text(spec.read_text().replace("entry: score.py", "entry: 'python app.py'"))
    with pytest.raises(RenderError, match="scoring script"):
        render(spec)


def test_triton_no_code_deployment_on_a_gpu_size(tmp_path: Path) -> None:
    spec = triton_spec(tmp_path, "resources: {gpu: 1}\n")
    spec.write_text(spec.read_text() + "  instance_type: Standard_NC4as_T4_v3\n")
    files = render(spec)
    dep = files["azureml/deployment.yaml"]
    assert dep["model"]["type"] == "triton_model" and "code_configuration" not in dep and "environment" not in dep
    assert dep["instance_type"] == "Standard_NC4as_T4_v3"
    assert files["azureml/model.yaml"]["type"] == "triton_model"
    # triton_model assets are repositories: the single model folder goes in under its name.
    assert "azureml/model/densenet/config.pbtxt" in files and "azureml/model/densenet/1/model.onnx" in files
    assert "data_0" in dep["tags"]["modeldeploy.signature"]


@pytest.mark.parametrize("size", ["Standard_DS3_v2", "Standard_F4s_v2", "Standard_E4s_v3"])
def test_gpu_on_a_cpu_size_is_refused(tmp_path: Path, size: str) -> None:
    spec = triton_spec(tmp_path, "resources: {gpu: 1}\n")
    spec.write_text(spec.read_text() + f"  instance_type: {size}\n")
    with pytest.raises(RenderError, match=f"instance_type {size} has no GPU"):
        render(spec)


@pytest.mark.parametrize(
    "size", ["Standard_NC6s_v3", "Standard_ND96asr_v4", "Standard_NV12s_v3", "standard_nc24ads_a100_v4"]
)
def test_gpu_sizes_are_accepted(tmp_path: Path, size: str) -> None:
    spec = triton_spec(tmp_path, "resources: {gpu: 1}\n")
    spec.write_text(spec.read_text() + f"  instance_type: {size}\n")
    assert render(spec)["azureml/deployment.yaml"]["instance_type"] == size


def test_triton_on_kubernetes_or_batch_names_the_alternative(tmp_path: Path) -> None:
    spec = triton_spec(tmp_path)
    spec.write_text(spec.read_text() + "  mode: batch\n  compute: cpu-cluster\n")
    with pytest.raises(RenderError, match="managed online endpoints only.*model.type custom"):
        render(spec)
