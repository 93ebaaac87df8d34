"""Render and desired(): names, tags, environment/secret references, scaling rules, addresses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.errors import RenderError, SpecError
from modeldeploy.targets.sagemaker.naming import tag_value
from modeldeploy.targets.sagemaker.target import IMMUTABLE_REASON, SageMakerTargetImpl
from tests.unit.targets.sagemaker.sm_helpers import FIXED_DIGEST, context, write_model

BASE = """\
apiVersion: modeldeploy/v1
name: {name}
model: {{source: ./model}}
{top}target:
  kind: sagemaker
  region: us-east-1
  execution_role_arn: arn:aws:iam::123456789012:role/sm
  image: repo/iris:1
  artifact_bucket: b
{target}"""


def _ctx(tmp_path: Path, *, name: str = "iris", top: str = "", target: str = "", digest: str = FIXED_DIGEST):
    if not (tmp_path / "model").exists():
        write_model(tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(BASE.format(name=name, top=top, target=target))
    return context(tmp_path / "deploy.yaml", digest=digest)


def _bodies(ctx) -> dict[str, dict]:
    return {a.path: json.loads(a.content) for a in SageMakerTargetImpl().render(ctx)}


def test_secrets_are_references_only(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, top="serving:\n  secrets:\n    DB_PASSWORD: {secret: prod/db, key: password}\n")
    env = _bodies(ctx)["sagemaker/CreateModel.json"]["PrimaryContainer"]["Environment"]
    assert env["DB_PASSWORD__SECRET_REF"] == "secretsmanager:prod/db#password"
    assert "DB_PASSWORD" not in env


def test_secrets_refused_with_network_isolation(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="network_isolation"):
        _bodies(
            _ctx(
                tmp_path, top="serving:\n  secrets:\n    T: {secret: s, key: k}\n", target="  network_isolation: true\n"
            )
        )


def test_reserved_env_names_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="MODELDEPLOY_WORKERS"):
        _bodies(_ctx(tmp_path, top="serving:\n  env: {MODELDEPLOY_WORKERS: '9'}\n"))


def test_names_are_content_derived_and_fit(tmp_path: Path) -> None:
    long = "a" * 63
    first = _bodies(_ctx(tmp_path, name=long))
    model = first["sagemaker/CreateModel.json"]["ModelName"]
    config = first["sagemaker/CreateEndpointConfig.json"]["EndpointConfigName"]
    assert len(model) <= 63 and len(config) <= 63 and model != config
    assert "abababababab" in model
    # a config change renames the config but not the model
    second = _bodies(_ctx(tmp_path, name=long, target="  instance_type: ml.c5.large\n"))
    assert second["sagemaker/CreateModel.json"]["ModelName"] == model
    assert second["sagemaker/CreateEndpointConfig.json"]["EndpointConfigName"] != config
    # a new model renames both
    third = _bodies(_ctx(tmp_path, name=long, digest="sha256:" + "cd" * 32))
    assert third["sagemaker/CreateModel.json"]["ModelName"] != model
    assert third["sagemaker/CreateEndpointConfig.json"]["EndpointConfigName"] != config


def test_tags_on_every_object(tmp_path: Path) -> None:
    bodies = _bodies(_ctx(tmp_path, top="labels: {team: ml}\n"))
    for path in ("sagemaker/CreateModel.json", "sagemaker/CreateEndpointConfig.json", "sagemaker/CreateEndpoint.json"):
        tags = {t["Key"]: t["Value"] for t in bodies[path]["Tags"]}
        assert tags["modeldeploy:name"] == "iris"
        assert tags["modeldeploy:model-digest"] == FIXED_DIGEST
        assert tags["modeldeploy:model-uri"] == "./model"
        assert tags["modeldeploy:signature-digest"].startswith("sha256:")
        assert tags["team"] == "ml"


def test_tag_values_are_made_valid_and_cut() -> None:
    assert tag_value("models:/iris@champion?x=1#y") == "models:/iris@champion_x=1_y"
    assert len(tag_value("s3://" + "x" * 400)) == 256


def test_bad_label_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="not a valid AWS tag value"):
        _bodies(_ctx(tmp_path, top="labels: {team: 'a#b'}\n"))
    with pytest.raises(RenderError, match="reserved"):
        _bodies(_ctx(tmp_path, top="labels: {'aws:x': y}\n"))


def test_scaling_rules(tmp_path: Path) -> None:
    plain = _bodies(_ctx(tmp_path))
    assert "sagemaker/RegisterScalableTarget.json" not in plain
    scaled = _bodies(
        _ctx(tmp_path, top="scaling: {min_replicas: 2, max_replicas: 5, target_invocations_per_replica: 70}\n")
    )
    assert scaled["sagemaker/RegisterScalableTarget.json"]["MinCapacity"] == 2
    assert scaled["sagemaker/RegisterScalableTarget.json"]["MaxCapacity"] == 5
    assert scaled["sagemaker/PutScalingPolicy.json"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0
    assert scaled["sagemaker/CreateEndpointConfig.json"]["ProductionVariants"][0]["InitialInstanceCount"] == 2
    with pytest.raises(RenderError, match="cannot scale to zero"):
        _bodies(_ctx(tmp_path, top="scaling: {min_replicas: 0, max_replicas: 5}\n"))
    with pytest.raises(RenderError, match="serverless"):
        _bodies(_ctx(tmp_path, top="scaling: {min_replicas: 1, max_replicas: 5}\n", target="  mode: serverless\n"))


def test_rollout_strategies(tmp_path: Path) -> None:
    def deployment(rollout: str) -> dict:
        return _bodies(_ctx(tmp_path, target=f"  rollout: {rollout}\n"))["sagemaker/UpdateEndpoint.json"][
            "DeploymentConfig"
        ]

    assert (
        deployment("{strategy: all_at_once}")["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
        == "ALL_AT_ONCE"
    )
    linear = deployment("{strategy: linear, linear_step_percent: 30}")["BlueGreenUpdatePolicy"][
        "TrafficRoutingConfiguration"
    ]
    assert linear["LinearStepSize"] == {"Type": "CAPACITY_PERCENT", "Value": 30}
    rolling = deployment("{strategy: rolling, rolling_batch_percent: 50, alarms: [a]}")
    assert rolling["RollingUpdatePolicy"]["MaximumBatchSize"] == {"Type": "CAPACITY_PERCENT", "Value": 50}
    assert rolling["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "a"}]}
    with pytest.raises(SpecError) as err:
        _ctx(tmp_path, target="  mode: serverless\n  rollout: {strategy: canary}\n")
    assert "not available for serverless" in "\n".join(err.value.lines())


def test_desired_resources(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, top="scaling: {min_replicas: 1, max_replicas: 3}\n", target="  rollout: {strategy: canary}\n")
    target = SageMakerTargetImpl()
    resources = {r.address: r for r in target.desired(ctx, target.render(ctx))}
    assert sorted(resources) == [
        "autoscaling_policy.iris",
        "autoscaling_target.iris",
        "s3_object.iris",
        "sagemaker_endpoint.iris",
        "sagemaker_endpoint_config.iris",
        "sagemaker_model.iris",
    ]
    for addr in ("sagemaker_model.iris", "sagemaker_endpoint_config.iris"):
        assert resources[addr].immutable and resources[addr].replace_reason == IMMUTABLE_REASON
    endpoint = resources["sagemaker_endpoint.iris"]
    assert not endpoint.immutable
    assert endpoint.body["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    assert endpoint.depends_on == ("sagemaker_endpoint_config.iris",)
    s3 = resources["s3_object.iris"]
    assert s3.name == resources["sagemaker_model.iris"].body["PrimaryContainer"]["ModelDataUrl"]
    assert s3.body["Metadata"]["modeldeploy-model-digest"] == FIXED_DIGEST


def test_importing_the_target_stays_light() -> None:
    code = (
        "import sys, modeldeploy.targets.sagemaker.target as t, modeldeploy.spec.targets.sagemaker;"
        "heavy=[m for m in ('boto3','botocore') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("top", "target", "noted"),
    [
        ("scaling: {min_replicas: 1, max_replicas: 4}\n", "  mode: batch\n", True),
        ("scaling: {min_replicas: 2, max_replicas: 2}\n", "  mode: batch\n  instance_count: 2\n", False),
        ("", "  mode: batch\n  instance_count: 3\n", False),
        ("scaling: {min_replicas: 1, max_replicas: 4}\n", "", False),  # real-time: autoscaling is rendered
    ],
)
def test_batch_says_it_does_not_apply_a_scaling_range(top: str, target: str, noted: bool, tmp_path: Path) -> None:
    batch = "  batch: {input_uri: 's3://a/in', output_uri: 's3://a/out'}\n" if "batch" in target else ""
    notes = SageMakerTargetImpl().plan_notes(_ctx(tmp_path, top=top, target=target + batch))
    assert bool(notes) == noted, notes
    if noted:
        assert "is not applied: a batch transform job runs target.instance_count = 1" in notes[0]
