"""The adapter (AzureMLClient) against the real azure-ai-ml operation signatures.

No Azure ML service can run here, so the narrowest honest seam is the SDK's operations classes:
each is replaced by ``create_autospec(<OperationsClass>, instance=True)``, which enforces the real
method signatures (a wrong argument name or a missing positional raises TypeError), while the
entities passed in and out are real SDK entities built by the SDK's own loaders from rendered specs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import create_autospec

import pytest
import yaml

from modeldeploy.targets.azureml.client import AzureMLClient
from modeldeploy.targets.azureml.workspace import DeploymentFailed, parse_model_id
from tests.unit.targets.azureml.az_helpers import GOLDEN, MODEL, REPO

aml = pytest.importorskip("azure.ai.ml")
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, Model, ModelBatchDeployment  # noqa: E402
from azure.ai.ml.operations import (  # noqa: E402
    BatchDeploymentOperations,
    BatchEndpointOperations,
    ModelOperations,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402


class Poller:
    """Stands in for azure.core's LROPoller: done after one status, result is what was sent."""

    def __init__(self, value: Any, status: str = "Succeeded"):
        self.value = value
        self._status = status
        self.polls = 0

    def done(self) -> bool:
        self.polls += 1
        return self.polls > 1

    def status(self) -> str:
        return "InProgress"

    def wait(self, timeout: float | None = None) -> None:
        return None

    def result(self) -> Any:
        return self.value


def ml_client() -> SimpleNamespace:
    ml = SimpleNamespace(
        online_endpoints=create_autospec(OnlineEndpointOperations, instance=True),
        online_deployments=create_autospec(OnlineDeploymentOperations, instance=True),
        batch_endpoints=create_autospec(BatchEndpointOperations, instance=True),
        batch_deployments=create_autospec(BatchDeploymentOperations, instance=True),
        models=create_autospec(ModelOperations, instance=True),
    )
    for ops in (ml.online_endpoints, ml.online_deployments, ml.batch_endpoints, ml.batch_deployments):
        ops.begin_create_or_update.side_effect = lambda entity, **kw: Poller(entity)
        ops.begin_delete.side_effect = lambda *a, **kw: Poller(None)
    return ml


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The golden managed-online tree with the model folder beside the specs (as rendered)."""
    shutil.copytree(GOLDEN / "managed-online" / "expected", tmp_path, dirs_exist_ok=True)
    shutil.copytree(MODEL, tmp_path / "azureml" / "model")
    return tmp_path / "azureml"


def spec(tree: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((tree / name).read_text())


def test_autospec_rejects_a_wrong_argument_name() -> None:
    """The seam is honest: a call the real SDK would reject fails here too."""
    ml = ml_client()
    with pytest.raises(TypeError):
        ml.online_deployments.begin_delete(deployment_name="x", endpoint_name="e")
    with pytest.raises(TypeError):
        ml.online_deployments.get_logs("d", "e")  # lines is required


def test_create_endpoint_sends_a_managed_endpoint_with_live_traffic(tree: Path) -> None:
    ml = ml_client()
    client = AzureMLClient(ml, "online", poll_seconds=0)
    statuses: list[str] = []
    state = client.create_or_update_endpoint(
        spec(tree, "endpoint.yaml"), traffic={"Blue-1": 100, "old": 0}, mirror_traffic={}, on_status=statuses.append
    )
    (call,) = ml.online_endpoints.begin_create_or_update.call_args_list
    sent = call.args[0]
    assert isinstance(sent, ManagedOnlineEndpoint) and sent.name == "iris-classifier"
    assert sent.traffic == {"Blue-1": 100, "old": 0}  # passed through; the SDK strips zeros itself
    assert state.traffic == {"blue-1": 100}  # and we report it the way the SDK sends it
    assert state.kind == "managed" and state.tags["modeldeploy.name"] == "iris-classifier"
    assert statuses == ["InProgress"]


def test_create_deployment_loads_the_rendered_spec_with_a_registered_model(tree: Path) -> None:
    ml = ml_client()
    client = AzureMLClient(ml, "online", poll_seconds=0)
    d = {**spec(tree, "deployment.yaml"), "model": "azureml:iris:3"}
    state = client.create_or_update_deployment(d, tree)
    sent = ml.online_deployments.begin_create_or_update.call_args.args[0]
    assert isinstance(sent, ManagedOnlineDeployment)
    assert parse_model_id(sent.model) == ("iris", "3") and sent.instance_count == 2  # the loader strips "azureml:"
    assert sent.request_settings.request_timeout_ms == 30000
    assert sent.environment_variables["API_TOKEN"].startswith("${{azureml://connections/")
    assert state.name == d["name"] and parse_model_id(state.model_id) == ("iris", "3")


def test_deployment_failure_becomes_deployment_failed_with_the_service_message(tree: Path) -> None:
    ml = ml_client()
    ml.online_deployments.begin_create_or_update.side_effect = HttpResponseError(
        message="ResourceNotReady: container crashed"
    )
    client = AzureMLClient(ml, "online", poll_seconds=0)
    with pytest.raises(DeploymentFailed, match="container crashed"):
        client.create_or_update_deployment({**spec(tree, "deployment.yaml"), "model": "azureml:iris:3"}, tree)


def test_traffic_delete_and_logs_use_the_sdk_signatures(tree: Path) -> None:
    ml = ml_client()
    ml.online_endpoints.get.return_value = aml.load_online_endpoint(str(tree / "endpoint.yaml"))
    client = AzureMLClient(ml, "online", poll_seconds=0)
    state = client.set_traffic("iris-classifier", {"green": 10, "blue": 90}, {})
    ml.online_endpoints.get.assert_called_once_with("iris-classifier")
    assert ml.online_endpoints.begin_create_or_update.call_args.args[0].traffic == {"green": 10, "blue": 90}
    assert state.traffic == {"blue": 90, "green": 10}
    client.delete_deployment("iris-classifier", "blue")
    ml.online_deployments.begin_delete.assert_called_once_with(name="blue", endpoint_name="iris-classifier")
    client.delete_endpoint("iris-classifier")
    ml.online_endpoints.begin_delete.assert_called_once_with(name="iris-classifier")
    ml.online_deployments.get_logs.return_value = "line1\nline2"
    assert client.get_logs("iris-classifier", "green", 20) == "line1\nline2"
    ml.online_deployments.get_logs.assert_called_once_with("green", "iris-classifier", 20)


def test_not_found_is_none_and_other_errors_are_target_errors() -> None:
    from modeldeploy.errors import TargetError

    ml = ml_client()
    ml.online_endpoints.get.side_effect = ResourceNotFoundError("nope")
    client = AzureMLClient(ml, "online", poll_seconds=0)
    assert client.get_endpoint("missing-ep") is None
    ml.online_endpoints.get.side_effect = HttpResponseError(message="AuthorizationFailed")
    with pytest.raises(TargetError, match="AuthorizationFailed"):
        client.get_endpoint("x-ep")


def test_models_found_by_digest_registered_and_archived(tree: Path) -> None:
    ml = ml_client()
    v1 = Model(name="iris", version="1", tags={"modeldeploy.model.digest": "sha256:old"}, type="mlflow_model")
    v2 = Model(name="iris", version="2", tags={"modeldeploy.model.digest": "sha256:new"}, type="mlflow_model")
    ml.models.list.return_value = [v2, v1]
    client = AzureMLClient(ml, "online", poll_seconds=0)
    found = client.find_model_by_digest("iris", "sha256:new")
    assert found is not None and found.reference == "azureml:iris:2"
    ml.models.list.assert_called_with(name="iris")
    assert client.find_model_by_digest("iris", "sha256:none") is None
    ml.models.create_or_update.side_effect = lambda m: Model(name=m.name, version="3", tags=m.tags, type=m.type)
    mv = client.register_model(tree / "model.yaml")
    sent = ml.models.create_or_update.call_args.args[0]
    assert Path(sent.path).resolve() == (tree / "model").resolve() and sent.type == "mlflow_model"
    assert mv.version == "3" and mv.tags["modeldeploy.model.digest"] == sent.tags["modeldeploy.model.digest"]
    client.archive_model("iris", "1")
    ml.models.archive.assert_called_once_with(name="iris", version="1")


def test_batch_deployment_and_default(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "batch" / "expected", tmp_path, dirs_exist_ok=True)
    shutil.copytree(MODEL, tmp_path / "azureml" / "model")
    tree = tmp_path / "azureml"
    ml = ml_client()
    client = AzureMLClient(ml, "batch", poll_seconds=0)
    client.create_or_update_endpoint(spec(tree, "endpoint.yaml"))
    assert ml.batch_endpoints.begin_create_or_update.call_args.args[0].auth_mode == "aad_token"
    d = {**spec(tree, "deployment.yaml"), "model": "azureml:iris-scoring:1"}
    client.create_or_update_deployment(d, tree)
    sent = ml.batch_deployments.begin_create_or_update.call_args.args[0]
    assert isinstance(sent, ModelBatchDeployment)
    assert sent.settings.mini_batch_size == 20 and sent.settings.retry_settings.timeout == 300
    assert sent.compute in ("batch-cluster", "azureml:batch-cluster") and sent.model == "azureml:iris-scoring:1"
    ml.batch_endpoints.get.return_value = aml.load_batch_endpoint(str(tree / "endpoint.yaml"))
    state = client.set_default_deployment("iris-scoring", d["name"])
    assert state.default_deployment == d["name"]
    client.delete_deployment("iris-scoring", "old-one")
    ml.batch_deployments.begin_delete.assert_called_once_with(name="old-one", endpoint_name="iris-scoring")
    assert not ml.online_deployments.begin_delete.called


def test_list_deployments_lowercases_names(tree: Path) -> None:
    ml = ml_client()
    dep = aml.load_online_deployment(str(tree / "deployment.yaml"))
    dep.name = dep.name.upper().replace("IRIS", "Iris")
    ml.online_deployments.list.return_value = [dep]
    (state,) = AzureMLClient(ml, "online").list_deployments("iris-classifier")
    ml.online_deployments.list.assert_called_once_with("iris-classifier")
    assert state.name == state.name.lower()


def test_importing_the_target_does_not_import_the_sdk() -> None:
    code = "import sys, modeldeploy.targets.azureml.target; assert 'azure.ai.ml' not in sys.modules and 'azure.identity' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
