"""Azure ML: long-running PUT/DELETE operations are re-issued after a transient failure; permanent
errors and model registration (not idempotent: each call makes a new version) are never repeated.

No Azure ML service can run here; as in tests/unit/targets/azureml/test_azureml_client.py the seam is
``create_autospec`` of the SDK's operations classes (real signatures), raising azure-core's own
exception classes. azure-core's per-request retries inside a real MLClient come before this layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modeldeploy import retry
from modeldeploy.errors import TargetError
from modeldeploy.targets.azureml.client import AzureMLClient
from modeldeploy.targets.azureml.workspace import DeploymentFailed
from tests.unit.targets.azureml.test_azureml_client import Poller, ml_client, spec, tree  # noqa: F401

pytest.importorskip("azure.ai.ml")
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError  # noqa: E402


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    out: list[float] = []
    monkeypatch.setattr(
        retry, "default_policy", lambda service="": retry.RetryPolicy(sleep=out.append, random=lambda: 1.0)
    )
    return out


def http(status: int, message: str) -> HttpResponseError:
    exc = HttpResponseError(message=message)
    exc.status_code = status
    return exc


def flaky(*failures: BaseException) -> Any:
    pending = list(failures)

    def side_effect(entity: Any = None, **kw: Any) -> Any:
        if pending:
            raise pending.pop(0)
        return Poller(entity)

    return side_effect


@pytest.mark.parametrize(
    "fault",
    [
        ServiceRequestError("connection refused"),
        ServiceResponseError("connection reset"),
        http(429, "Too many requests"),
        http(503, "Service unavailable"),
    ],
    ids=str,
)
def test_endpoint_put_is_reissued_after_a_transient_failure(
    tree: Path, sleeps: list[float], fault: BaseException
) -> None:
    ml = ml_client()
    ml.online_endpoints.begin_create_or_update.side_effect = flaky(fault)
    state = AzureMLClient(ml, "online", poll_seconds=0).create_or_update_endpoint(
        spec(tree, "endpoint.yaml"), traffic={"blue": 100}
    )
    assert ml.online_endpoints.begin_create_or_update.call_count == 2 and sleeps == [0.5]
    assert state.traffic == {"blue": 100}


def test_deployment_put_and_delete_are_reissued(tree: Path, sleeps: list[float]) -> None:
    ml = ml_client()
    ml.online_deployments.begin_create_or_update.side_effect = flaky(ServiceResponseError("reset"))
    ml.online_deployments.begin_delete.side_effect = [ServiceRequestError("dns"), Poller(None)]
    client = AzureMLClient(ml, "online", poll_seconds=0)
    client.create_or_update_deployment({**spec(tree, "deployment.yaml"), "model": "azureml:iris:3"}, tree)
    client.delete_deployment("iris-classifier", "blue")
    assert ml.online_deployments.begin_create_or_update.call_count == 2
    assert ml.online_deployments.begin_delete.call_count == 2


def test_gives_up_after_three_attempts_with_the_service_message(tree: Path, sleeps: list[float]) -> None:
    ml = ml_client()
    ml.online_endpoints.begin_delete.side_effect = [http(503, "Service unavailable: try later")] * 5
    with pytest.raises(TargetError, match=r"delete endpoint iris-classifier failed: .*Service unavailable: try later"):
        AzureMLClient(ml, "online", poll_seconds=0).delete_endpoint("iris-classifier")
    assert ml.online_endpoints.begin_delete.call_count == 3 and sleeps == [0.5, 1.0]


def test_permanent_errors_are_not_repeated(tree: Path, sleeps: list[float]) -> None:
    ml = ml_client()
    ml.online_deployments.begin_create_or_update.side_effect = http(
        400, "BadArgument: instance_type Standard_X is not supported"
    )
    with pytest.raises(DeploymentFailed, match="instance_type Standard_X is not supported"):
        AzureMLClient(ml, "online", poll_seconds=0).create_or_update_deployment(
            {**spec(tree, "deployment.yaml"), "model": "azureml:iris:3"}, tree
        )
    assert ml.online_deployments.begin_create_or_update.call_count == 1 and sleeps == []


def test_model_registration_is_never_repeated(tree: Path, sleeps: list[float]) -> None:
    ml = ml_client()
    ml.models.create_or_update.side_effect = ServiceResponseError("reset after the upload")
    with pytest.raises(TargetError, match="register model"):
        AzureMLClient(ml, "online", poll_seconds=0).register_model(tree / "model.yaml")
    assert ml.models.create_or_update.call_count == 1 and sleeps == []
