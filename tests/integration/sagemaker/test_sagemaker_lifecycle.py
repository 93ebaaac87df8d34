"""Full SageMaker lifecycle against moto's threaded server: real HTTP, real boto3, real S3 uploads.

The server is started here (127.0.0.1, a free port) and boto3 finds it through ``AWS_ENDPOINT_URL``
— the same variable a user sets for any AWS-compatible endpoint — with fake credentials.

moto 5.2.5 does not implement UpdateEndpoint. Because ThreadedMotoServer runs in this process, the
``moto_server`` fixture adds it to moto's SageMaker backend and response class for the duration of
the module: the endpoint switches to the new config at once (moto endpoints are InService at once)
and the request's DeploymentConfig is recorded so the test can check the rollout strategy that was
sent. The wait, timeout and rollback branches run in test_sagemaker_endpoint_states.py, where
endpoint_states.py scripts the statuses DescribeEndpoint answers. Everything else (models, configs, endpoints, tags, transform jobs, S3, Application Auto
Scaling) is moto's own behaviour.
"""

from __future__ import annotations

import io
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.planning.diff import diff_resources
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.progress import Progress
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.unit.targets.sagemaker.sm_helpers import context

pytestmark = pytest.mark.integration

BUCKET = "md-artifacts"
REGION = "us-east-1"
UPDATES: list[dict[str, Any]] = []

DEPLOY = """\
apiVersion: modeldeploy/v1
name: iris
model:
  source: {source}
serving:
  env: {{LOG_LEVEL: info}}
  secrets:
    API_TOKEN: {{secret: prod/iris, key: token}}
scaling: {{min_replicas: 1, max_replicas: 3, target_invocations_per_replica: 50}}
labels: {{team: ml}}
target:
  kind: sagemaker
  region: {region}
  execution_role_arn: arn:aws:iam::123456789012:role/sagemaker
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:1
  artifact_bucket: {bucket}
  instance_type: {instance_type}
  mode: {mode}
  rollout: {{strategy: canary, canary_percent: 20, wait_seconds: 120, alarms: [iris-5xx]}}
{extra}"""


def _patch_update_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str) -> Any:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
        config = self.describe_endpoint_config(endpoint_config_name)
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.last_modified_time = utcnow()
        return endpoint

    def update_endpoint_response(self: Any) -> Any:
        UPDATES.append(
            {
                "EndpointName": self._get_param("EndpointName"),
                "EndpointConfigName": self._get_param("EndpointConfigName"),
                "DeploymentConfig": self._get_param("DeploymentConfig"),
            }
        )
        endpoint = self.sagemaker_backend.update_endpoint(
            self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        )
        return ActionResult({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(SageMakerModelBackend, "update_endpoint", update_endpoint, raising=False)
    monkeypatch.setattr(SageMakerResponse, "update_endpoint", update_endpoint_response, raising=False)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh moto server per test, boto3 pointed at it through the environment."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends are process-global: start every test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")).read()
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _patch_update_endpoint(monkeypatch)
    UPDATES.clear()
    import boto3

    session = boto3.session.Session(region_name=REGION)
    session.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield session
    finally:
        server.stop()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.modelfactory import make_sklearn_model

    root = tmp_path_factory.mktemp("sm-models")
    return {
        "v1": make_sklearn_model(root / "v1", columns=("a", "b", "c", "d")),
        "v2": make_sklearn_model(root / "v2", columns=("a", "b", "c", "d", "e")),
        "v3": make_sklearn_model(root / "v3", columns=("a", "b", "c", "d", "e"), optional=("e",)),
    }


def _ctx(
    tmp: Path, model: Path, *, mode: str = "realtime", instance_type: str = "ml.m5.large", extra: str = ""
) -> RenderContext:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "deploy.yaml"
    path.write_text(
        DEPLOY.format(
            source=str(model), region=REGION, bucket=BUCKET, mode=mode, instance_type=instance_type, extra=extra
        )
    )
    return context(path)


def _plan(target: SageMakerTargetImpl, ctx: RenderContext) -> tuple[Plan, list, Any]:
    artifacts = target.render(ctx)
    desired = target.desired(ctx, artifacts)
    observed = target.observe(ctx, desired, ObserveOptions())
    changes = diff_resources(desired, observed)
    plan = Plan(name=ctx.spec.name, target="sagemaker", env=None, against="live", changes=tuple(changes))
    return plan, artifacts, observed


def _actions(plan: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in plan.changes if c.action is not Action.NOOP}


def _ours(session: Any) -> dict[str, list[str]]:
    sm = session.client("sagemaker")
    s3 = session.client("s3")
    aas = session.client("application-autoscaling")
    return {
        "endpoints": sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]),
        "configs": sorted(c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]),
        "models": sorted(m["ModelName"] for m in sm.list_models()["Models"]),
        "objects": sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])),
        "scaling": sorted(
            t["ResourceId"] for t in aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        ),
    }


def test_realtime_lifecycle(aws: Any, models: dict[str, Path], tmp_path: Path) -> None:
    target = SageMakerTargetImpl(poll_seconds=0.05, timeout_seconds=30)
    progress = Progress(io.StringIO())

    # 1. first apply creates everything
    ctx1 = _ctx(tmp_path / "one", models["v1"])
    plan, artifacts, observed = _plan(target, ctx1)
    assert set(_actions(plan).values()) == {"create"}
    assert observed.deployed_signature is None
    result = target.apply(ctx1, plan, artifacts, progress)
    assert result.outputs["endpoint"] == "iris"
    live = _ours(aws)
    assert live["endpoints"] == ["iris"]
    assert live["scaling"] == ["endpoint/iris/variant/AllTraffic"]
    assert len(live["models"]) == len(live["configs"]) == len(live["objects"]) == 1

    # the uploaded model.tar.gz is the model folder, MLmodel at the root
    key = live["objects"][0]
    head = aws.client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"]["modeldeploy-model-digest"] == ctx1.ref.digest
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert "MLmodel" in tar.getnames()

    # secrets are references in the container environment, never values
    model = aws.client("sagemaker").describe_model(ModelName=live["models"][0])
    assert model["PrimaryContainer"]["Environment"]["API_TOKEN__SECRET_REF"] == "secretsmanager:prod/iris#token"

    # 2. re-plan is empty, and the deployed signature/model are reported
    plan, artifacts, observed = _plan(target, ctx1)
    assert _actions(plan) == {}, [c.diff for c in plan.changes if c.action is not Action.NOOP]
    assert observed.deployed_signature == ctx1.model.signature.to_canonical()
    assert observed.deployed_model["digest"] == ctx1.ref.digest

    # 3. a new model: new model + config, endpoint updated with the canary DeploymentConfig
    ctx2 = _ctx(tmp_path / "two", models["v2"])
    plan, artifacts, observed = _plan(target, ctx2)
    actions = _actions(plan)
    assert actions == {
        "s3_object.iris": "replace",
        "sagemaker_model.iris": "replace",
        "sagemaker_endpoint_config.iris": "replace",
        "sagemaker_endpoint.iris": "update",
    }
    reasons = {c.address: c.reason for c in plan.changes}
    assert "SageMaker models and endpoint configs are immutable" in reasons["sagemaker_endpoint_config.iris"]
    endpoint_change = next(c for c in plan.changes if c.address == "sagemaker_endpoint.iris")
    assert (
        endpoint_change.after["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
        == "CANARY"
    )
    # the signature of what is deployed came from the MLmodel inside the live model.tar.gz (v1 ≠ v2)
    assert observed.deployed_signature == ctx1.model.signature.to_canonical()
    assert observed.deployed_signature != ctx2.model.signature.to_canonical()
    target.apply(ctx2, plan, artifacts, progress)
    assert len(UPDATES) == 1
    assert UPDATES[0]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] == {
        "Type": "CAPACITY_PERCENT",
        "Value": 20,
    }
    assert UPDATES[0]["DeploymentConfig"]["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "iris-5xx"}]}
    live = _ours(aws)
    assert len(live["configs"]) == len(live["models"]) == len(live["objects"]) == 2  # previous kept for rollback
    plan, _, _ = _plan(target, ctx2)
    assert _actions(plan) == {}

    # 4. another change: the one before the previous is deleted, the previous is kept
    ctx3 = _ctx(tmp_path / "three", models["v3"], instance_type="ml.c5.large")
    plan, artifacts, _ = _plan(target, ctx3)
    deletes = sorted(a for a, act in _actions(plan).items() if act == "delete")
    assert len(deletes) == 3 and any(a.startswith("sagemaker_endpoint_config.") for a in deletes)
    target.apply(ctx3, plan, artifacts, progress)
    live = _ours(aws)
    assert len(live["configs"]) == len(live["models"]) == len(live["objects"]) == 2
    desc = aws.client("sagemaker").describe_endpoint(EndpointName="iris")
    assert desc["EndpointConfigName"] == target.desired(ctx3, target.render(ctx3))[2].name
    plan, _, _ = _plan(target, ctx3)
    assert _actions(plan) == {}

    # 5. re-running a (now stale) apply converges without creating anything twice
    target.apply(ctx3, plan, artifacts, progress)
    assert _ours(aws) == live

    # 6. destroy leaves nothing
    _, _, observed = _plan(target, ctx3)
    target.destroy(ctx3, observed, progress)
    assert _ours(aws) == {"endpoints": [], "configs": [], "models": [], "objects": [], "scaling": []}


def test_interrupted_apply_converges(aws: Any, models: dict[str, Path], tmp_path: Path) -> None:
    """Objects left by an apply that stopped after CreateModel are reused; the rest is created."""
    target = SageMakerTargetImpl(poll_seconds=0.05, timeout_seconds=30)
    progress = Progress(io.StringIO())
    ctx = _ctx(tmp_path, models["v1"])
    artifacts = target.render(ctx)
    desired = target.desired(ctx, artifacts)
    model_body = desired[1].body
    aws.client("sagemaker").create_model(**model_body)  # the interrupted run got this far
    plan, artifacts, _ = _plan(target, ctx)
    assert "sagemaker_model.iris" not in _actions(plan)  # already there, identical
    target.apply(ctx, plan, artifacts, progress)
    plan, _, _ = _plan(target, ctx)
    assert _actions(plan) == {}


def test_refuses_an_endpoint_it_does_not_own(aws: Any, models: dict[str, Path], tmp_path: Path) -> None:
    from modeldeploy.errors import TargetError

    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName="other", ExecutionRoleArn="arn:aws:iam::123456789012:role/x", PrimaryContainer={"Image": "x"}
    )
    sm.create_endpoint_config(
        EndpointConfigName="other-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "other",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="iris", EndpointConfigName="other-config")
    target = SageMakerTargetImpl(poll_seconds=0.05, timeout_seconds=30)
    ctx = _ctx(tmp_path, models["v1"])
    with pytest.raises(TargetError, match="not created by modeldeploy"):
        _plan(target, ctx)
    target.destroy(ctx, _empty_observed(), Progress(io.StringIO()))
    assert _ours(aws)["endpoints"] == ["iris"] and _ours(aws)["models"] == ["other"]


def _empty_observed() -> Any:
    from modeldeploy.planning.resources import Observed

    return Observed()


def test_batch_lifecycle(aws: Any, models: dict[str, Path], tmp_path: Path) -> None:
    target = SageMakerTargetImpl(poll_seconds=0.05, timeout_seconds=30)
    progress = Progress(io.StringIO())
    extra = "  batch: {input_uri: 's3://md-data/in/', output_uri: 's3://md-data/out/'}\n"
    ctx = _ctx(tmp_path, models["v1"], mode="batch", extra=extra)
    # portable scaling block is meaningless for batch; the job uses instance_count
    plan, artifacts, _ = _plan(target, ctx)
    assert _actions(plan) == {
        "s3_object.iris": "create",
        "sagemaker_model.iris": "create",
        "sagemaker_transform_job.iris": "create",
    }
    result = target.apply(ctx, plan, artifacts, progress)
    job = aws.client("sagemaker").describe_transform_job(TransformJobName=result.outputs["transform_job"])
    assert job["TransformJobStatus"] == "Completed"
    plan, _, _ = _plan(target, ctx)
    assert _actions(plan) == {}
    target.destroy(ctx, _empty_observed(), progress)
    live = _ours(aws)
    assert live["models"] == [] and live["objects"] == []


def test_failed_endpoint_reports_failure_reason(
    aws: Any, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto endpoints are InService at once; this test makes moto's backend mark the new endpoint
    Failed with a reason (in-process patch, like UpdateEndpoint above) to check that the waiter's
    terminal failure surfaces SageMaker's FailureReason."""
    from moto.sagemaker.models import SageMakerModelBackend

    from modeldeploy.errors import ApplyError

    original = SageMakerModelBackend.create_endpoint

    def failing_create(self: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = original(self, *args, **kwargs)
        endpoint.endpoint_status = "Failed"
        endpoint.failure_reason = (
            "The primary container for production variant AllTraffic did not pass the ping health check."
        )
        return endpoint

    monkeypatch.setattr(SageMakerModelBackend, "create_endpoint", failing_create)
    target = SageMakerTargetImpl(poll_seconds=0.05, timeout_seconds=30)
    ctx = _ctx(tmp_path, models["v1"])
    plan, artifacts, _ = _plan(target, ctx)
    with pytest.raises(ApplyError, match="did not pass the ping health check"):
        target.apply(ctx, plan, artifacts, Progress(io.StringIO()))
