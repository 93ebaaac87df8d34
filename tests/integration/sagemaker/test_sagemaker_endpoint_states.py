"""The SageMaker apply's wait, timeout and rollback branches against moto's server (real HTTP, real
boto3), with endpoint_states.py scripting what DescribeEndpoint answers: Updating for N polls then
InService; Updating past the timeout; Updating → RollingBack → InService on the old config (the
auto-rollback an alarm triggers); Creating then Failed; an endpoint busy before apply touches it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.errors import ApplyError
from modeldeploy.progress import Progress
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.integration.sagemaker.endpoint_states import EndpointStates
from tests.integration.sagemaker.test_sagemaker_lifecycle import UPDATES, _actions, _ctx, _plan, aws, models  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def states(aws: Any, monkeypatch: pytest.MonkeyPatch) -> EndpointStates:  # noqa: F811 - the imported fixture
    return EndpointStates().install(monkeypatch)


def _deployed(models: dict[str, Path], tmp_path: Path, target: SageMakerTargetImpl) -> None:  # noqa: F811
    ctx = _ctx(tmp_path / "v1", models["v1"])
    plan, artifacts, _ = _plan(target, ctx)
    target.apply(ctx, plan, artifacts, Progress(io.StringIO()))


def _update(
    models: dict[str, Path],
    tmp_path: Path,
    target: SageMakerTargetImpl,
    out: io.StringIO,  # noqa: F811
    timeout: float = 20.0,
) -> Any:
    ctx = _ctx(tmp_path / "v2", models["v2"])
    plan, artifacts, _ = _plan(target, ctx)
    assert _actions(plan)["sagemaker_endpoint.iris"] == "update"
    target.timeout_seconds = timeout  # observe() sets it from its options; apply uses the last one
    return ctx, lambda: target.apply(ctx, plan, artifacts, Progress(out))


def test_an_update_waits_through_updating_polls_until_in_service(
    aws: Any, states: EndpointStates, models: dict[str, Path], tmp_path: Path
) -> None:  # noqa: F811
    target = SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30)
    _deployed(models, tmp_path, target)
    states.arm("iris", ["Updating"] * 4 + ["InService"])
    out = io.StringIO()
    ctx, apply = _update(models, tmp_path, target, out)
    apply()
    assert states.polls["iris"] >= 5 and "Updating" in out.getvalue()
    assert aws.client("sagemaker").describe_endpoint(EndpointName="iris")["EndpointStatus"] == "InService"
    plan, _, _ = _plan(target, ctx)
    assert _actions(plan) == {}


def test_an_update_that_never_finishes_times_out(
    aws: Any, states: EndpointStates, models: dict[str, Path], tmp_path: Path
) -> None:  # noqa: F811
    target = SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30)
    _deployed(models, tmp_path, target)
    states.arm("iris", ["Updating"])
    _, apply = _update(models, tmp_path, target, io.StringIO(), timeout=0.5)
    with pytest.raises(ApplyError, match=r"still not done after .*last status Updating"):
        apply()
    assert states.polls["iris"] >= 2


def test_an_update_that_rolls_back_is_reported_as_not_moved(
    aws: Any, states: EndpointStates, models: dict[str, Path], tmp_path: Path
) -> None:  # noqa: F811
    target = SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30)
    _deployed(models, tmp_path, target)
    before = aws.client("sagemaker").describe_endpoint(EndpointName="iris")["EndpointConfigName"]
    states.arm("iris", ["Updating", "Updating", "RollingBack", "RollingBack", "InService"], rollback=True)
    out = io.StringIO()
    ctx, apply = _update(models, tmp_path, target, out)
    with pytest.raises(ApplyError, match=r"did not move to .*\(rolled back\?\)"):
        apply()
    assert "RollingBack" in out.getvalue()
    assert aws.client("sagemaker").describe_endpoint(EndpointName="iris")["EndpointConfigName"] == before
    plan, _, _ = _plan(target, ctx)
    assert _actions(plan).get("sagemaker_endpoint.iris") == "update"  # the next plan tries again


def test_a_create_that_fails_after_creating_polls_reports_the_reason(
    aws: Any, states: EndpointStates, models: dict[str, Path], tmp_path: Path
) -> None:  # noqa: F811
    target = SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30)
    states.arm(
        "iris", ["Creating", "Creating", "Failed"], failure_reason="CannotStartContainerError: exec format error"
    )
    ctx = _ctx(tmp_path / "v1", models["v1"])
    plan, artifacts, _ = _plan(target, ctx)
    target.timeout_seconds = 20
    with pytest.raises(ApplyError, match="exec format error"):
        target.apply(ctx, plan, artifacts, Progress(io.StringIO()))
    assert states.polls["iris"] >= 3


def test_an_endpoint_busy_before_apply_is_waited_for_first(
    aws: Any, states: EndpointStates, models: dict[str, Path], tmp_path: Path
) -> None:  # noqa: F811
    target = SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30)
    _deployed(models, tmp_path, target)
    out = io.StringIO()
    ctx, apply = _update(models, tmp_path, target, out)
    states.now("iris", ["SystemUpdating", "SystemUpdating", "InService"])
    apply()
    assert "is SystemUpdating; waiting before changing it" in out.getvalue()
    assert len(UPDATES) == 1  # updated once, after the wait


def test_a_product_that_does_not_wait_is_caught(
    aws: Any, states: EndpointStates, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: F811
    """Break the product on purpose (its endpoint wait returns at once, as it effectively did against
    moto before): the N-polls test and the rollback test both go red."""
    from modeldeploy.targets.sagemaker.apply import Applier

    monkeypatch.setattr(Applier, "_wait_endpoint", lambda self, name, what: None)
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        test_an_update_waits_through_updating_polls_until_in_service(aws, states, models, tmp_path / "a")
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        test_an_update_that_rolls_back_is_reported_as_not_moved(aws, states, models, tmp_path / "b")
