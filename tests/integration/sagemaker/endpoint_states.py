"""A moto patch that gives SageMaker endpoints a life: scripted statuses, one per DescribeEndpoint.

moto's endpoints are InService the moment they are created or updated, so the product's wait loop,
its timeout and its "rolled back?" check never ran against moto. ThreadedMotoServer runs in the test
process, so this patch (applied with monkeypatch for one test) changes what moto's SageMaker backend
answers over real HTTP to real boto3:

* ``arm(name, statuses)``: the next CreateEndpoint/UpdateEndpoint of ``name`` starts a script — each
  later DescribeEndpoint answers the next status (``Creating``/``Updating``/``RollingBack``/
  ``InService``/``Failed``…), then the last one forever;
* ``rollback=True``: when the script reaches ``RollingBack`` the endpoint goes back to the config it
  had before the update (as SageMaker's auto-rollback does), so it ends InService on the old config;
* ``now(name, statuses)``: start a script at once (an endpoint busy before apply touches it).

``polls[name]`` counts the DescribeEndpoint calls answered from a script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class Script:
    statuses: list[str]
    rollback: bool = False
    failure_reason: str | None = None
    previous: tuple[str, Any] | None = None  # (config name, production variants) before the update


@dataclass
class EndpointStates:
    armed: dict[str, Script] = field(default_factory=dict)
    running: dict[str, Script] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)

    def arm(self, name: str, statuses: list[str], *, rollback: bool = False, failure_reason: str | None = None) -> None:
        self.armed[name] = Script(list(statuses), rollback, failure_reason)

    def now(self, name: str, statuses: list[str]) -> None:
        self.running[name] = Script(list(statuses))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> EndpointStates:
        from moto.sagemaker.models import SageMakerModelBackend

        states = self
        describe = SageMakerModelBackend.describe_endpoint
        create = SageMakerModelBackend.create_endpoint
        update = SageMakerModelBackend.update_endpoint  # the lifecycle fixture's patch

        def start(backend: Any, name: str, before: tuple[str, Any] | None) -> None:
            script = states.armed.pop(name, None)
            if script is not None:
                script.previous = before
                states.running[name] = script

        def scripted_create(self: Any, *args: Any, **kwargs: Any) -> Any:
            endpoint = create(self, *args, **kwargs)
            start(self, endpoint.endpoint_name, None)
            return endpoint

        def scripted_update(self: Any, endpoint_name: str, endpoint_config_name: str) -> Any:
            old = self.endpoints[endpoint_name]
            before = (old.endpoint_config_name, old.production_variants)
            endpoint = update(self, endpoint_name, endpoint_config_name)
            start(self, endpoint_name, before)
            return endpoint

        def scripted_describe(self: Any, endpoint_name: str) -> dict[str, Any]:
            script = states.running.get(endpoint_name)
            endpoint = self.endpoints.get(endpoint_name)
            if script is not None and endpoint is not None:
                states.polls[endpoint_name] = states.polls.get(endpoint_name, 0) + 1
                status = script.statuses.pop(0) if len(script.statuses) > 1 else script.statuses[0]
                if status == "RollingBack" and script.rollback and script.previous is not None:
                    endpoint.endpoint_config_name, endpoint.production_variants = script.previous
                    script.previous = None
                endpoint.endpoint_status = status
                if status == "Failed" and script.failure_reason:
                    endpoint.failure_reason = script.failure_reason
                if len(script.statuses) == 1 and status == script.statuses[0] and status in ("InService", "Failed"):
                    states.running.pop(endpoint_name, None)
            return describe(self, endpoint_name)

        monkeypatch.setattr(SageMakerModelBackend, "create_endpoint", scripted_create)
        monkeypatch.setattr(SageMakerModelBackend, "update_endpoint", scripted_update, raising=False)
        monkeypatch.setattr(SageMakerModelBackend, "describe_endpoint", scripted_describe)
        return self
