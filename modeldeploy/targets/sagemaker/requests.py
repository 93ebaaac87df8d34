"""Build the SageMaker / Application Auto Scaling request bodies for one deployment (pure).

Every body is plain JSON-able data, validated against botocore's service model by the caller
(``target.render``) and written as ``sagemaker/<Operation>.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modeldeploy.errors import RenderError
from modeldeploy.rendering.context import RenderContext
from modeldeploy.rendering.serving import MODEL_PATH, serving_env
from modeldeploy.spec.targets.sagemaker import RolloutSettings, SageMakerTarget
from modeldeploy.targets.sagemaker.naming import (
    TAG_MODEL_DIGEST,
    TAG_MODEL_URI,
    TAG_NAME,
    TAG_SIGNATURE_DIGEST,
    build_tags,
    digest_hex,
    object_name,
)

SAGEMAKER = "sagemaker"
AUTOSCALING = "application-autoscaling"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_NAME = "modeldeploy-target-tracking"
SECRET_REF_SUFFIX = "__SECRET_REF"
META_DIGEST = "modeldeploy-model-digest"
META_NAME = "modeldeploy-name"
TRITON_DEFAULT_MODEL = "SAGEMAKER_TRITON_DEFAULT_MODEL_NAME"
_SERVING_ENV = (
    "MODELDEPLOY_WORKERS",
    "MODELDEPLOY_TIMEOUT_SECONDS",
    "MODELDEPLOY_MAX_BODY_BYTES",
    "MODELDEPLOY_MODEL_PATH",
)


@dataclass(frozen=True)
class Request:
    """One API call: which service/operation, and its body."""

    service: str
    operation: str
    body: dict[str, Any]

    @property
    def path(self) -> str:
        return f"sagemaker/{self.operation}.json"


@dataclass(frozen=True)
class Requests:
    """All calls for one deployment, in the order apply makes them."""

    base: str
    endpoint: str | None
    bucket: str
    key: str
    calls: tuple[Request, ...] = field(default_factory=tuple)

    def get(self, operation: str) -> Request | None:
        return next((c for c in self.calls if c.operation == operation), None)


def container_environment(ctx: RenderContext) -> dict[str, str]:
    """serving.env + the serving settings the modeldeploy image reads + secret *references*.

    SageMaker has no secret references in container environments, so each ``serving.secrets`` entry
    becomes ``<NAME>__SECRET_REF=secretsmanager:<secret>#<key>``; the image resolves it with the
    execution role at start-up. No secret value is ever rendered.
    """
    serving = ctx.spec.serving
    target: SageMakerTarget = ctx.spec.target
    env = {**serving_env(serving), "MODELDEPLOY_MODEL_PATH": MODEL_PATH}
    for name, value in serving.env.items():
        if name in _SERVING_ENV:
            raise RenderError(f"serving.env.{name} is set by modeldeploy from serving.*; remove it from serving.env")
        if name.endswith(SECRET_REF_SUFFIX):
            raise RenderError(
                f"serving.env.{name}: names ending in {SECRET_REF_SUFFIX} are reserved for secret references"
            )
        env[name] = value
    if serving.secrets and target.network_isolation:
        raise RenderError(
            "serving.secrets cannot be resolved with target.network_isolation: true "
            "(the container cannot reach AWS Secrets Manager)"
        )
    for name, ref in serving.secrets.items():
        env[f"{name}{SECRET_REF_SUFFIX}"] = f"secretsmanager:{ref.secret}#{ref.key}"
    return dict(sorted(env.items()))


def triton_environment(ctx: RenderContext) -> dict[str, str]:
    """The SageMaker Triton container's settings: which model of the repository answers /invocations,
    plus serving.env. Triton does not run modeldeploy's entrypoint, so secret references cannot be
    resolved in it."""
    serving = ctx.spec.serving
    if serving.secrets:
        raise RenderError(
            "serving.secrets: the SageMaker Triton container cannot resolve secret references; use env or IAM"
        )
    repo = getattr(ctx.model, "repository", None)
    default = repo.default_model if repo is not None else None
    if default is None:
        raise RenderError(
            "model.type triton on SageMaker: the repository holds several models and no single ensemble; "
            "SageMaker serves one default model (SAGEMAKER_TRITON_DEFAULT_MODEL_NAME) — deploy one model or add an ensemble"
        )
    env = {name: value for name, value in serving.env.items()}
    if TRITON_DEFAULT_MODEL in env:
        raise RenderError(f"serving.env.{TRITON_DEFAULT_MODEL} is set by modeldeploy from the repository; remove it")
    env[TRITON_DEFAULT_MODEL] = default.name
    return dict(sorted(env.items()))


GPU_FAMILIES = re.compile(r"^ml\.(g[0-9]+[a-z]*|p[0-9]+[a-z]*)\.")


def check_gpu(ctx: RenderContext) -> None:
    """resources.gpu > 0 asks for a GPU instance (ml.g*/ml.p*); serverless endpoints have none."""
    gpu = ctx.spec.resources.gpu
    target: SageMakerTarget = ctx.spec.target
    if not gpu:
        return
    if target.mode == "serverless":
        raise RenderError(
            f"resources.gpu {gpu}: SageMaker serverless endpoints have no GPUs; use mode realtime or async"
        )
    if not GPU_FAMILIES.match(target.instance_type):
        raise RenderError(
            f"resources.gpu {gpu}: instance_type {target.instance_type} has no GPU; use a GPU type such as ml.g5.xlarge or ml.p3.2xlarge"
        )


def system_tags(ctx: RenderContext) -> dict[str, str]:
    sig = ctx.model.signature
    return {
        TAG_NAME: ctx.spec.name,
        TAG_MODEL_DIGEST: ctx.ref.digest,
        TAG_MODEL_URI: ctx.ref.pinned_uri,
        TAG_SIGNATURE_DIGEST: sig.digest() if sig is not None else "none",
    }


def model_data_location(ctx: RenderContext) -> tuple[str, str]:
    target: SageMakerTarget = ctx.spec.target
    prefix = target.artifact_prefix.strip("/")
    key = f"{prefix}/{ctx.spec.name}/{digest_hex(ctx.ref.digest)}/model.tar.gz"
    return target.artifact_bucket, key


def build(ctx: RenderContext) -> Requests:
    spec = ctx.spec
    target: SageMakerTarget = spec.target
    check_gpu(ctx)
    tags = build_tags(system_tags(ctx), {**spec.labels, **target.tags})
    bucket, key = model_data_location(ctx)
    base = spec.name
    model = _create_model(ctx, target, tags, f"s3://{bucket}/{key}")
    calls = [model]
    endpoint = None
    if target.mode == "batch":
        calls.append(_transform_job(ctx, target, tags, model.body["ModelName"]))
    else:
        endpoint = target.endpoint_name or base
        config = _endpoint_config(ctx, target, tags, model.body["ModelName"], endpoint)
        calls.append(config)
        cfg_name = config.body["EndpointConfigName"]
        calls.append(
            Request(
                SAGEMAKER, "CreateEndpoint", {"EndpointName": endpoint, "EndpointConfigName": cfg_name, "Tags": tags}
            )
        )
        update: dict[str, Any] = {"EndpointName": endpoint, "EndpointConfigName": cfg_name}
        deployment = deployment_config(target)
        if deployment:
            update["DeploymentConfig"] = deployment
        calls.append(Request(SAGEMAKER, "UpdateEndpoint", update))
        calls.extend(_autoscaling(ctx, target, endpoint))
    return Requests(base=base, endpoint=endpoint, bucket=bucket, key=key, calls=tuple(calls))


def _named(base: str, ctx: RenderContext, name_key: str, body: dict[str, Any]) -> dict[str, Any]:
    return {name_key: object_name(base, ctx.ref.digest, body), **body}


def _create_model(ctx: RenderContext, target: SageMakerTarget, tags: list[dict[str, str]], data_url: str) -> Request:
    body: dict[str, Any] = {
        "ExecutionRoleArn": target.execution_role_arn,
        "PrimaryContainer": {
            "Image": _image(ctx, target),
            "ModelDataUrl": data_url,
            "Environment": triton_environment(ctx) if ctx.spec.model.type == "triton" else container_environment(ctx),
        },
        "Tags": tags,
    }
    if target.vpc is not None:
        body["VpcConfig"] = {
            "SecurityGroupIds": list(target.vpc.security_group_ids),
            "Subnets": list(target.vpc.subnets),
        }
    if target.network_isolation:
        body["EnableNetworkIsolation"] = True
    return Request(SAGEMAKER, "CreateModel", _named(ctx.spec.name, ctx, "ModelName", body))


def _image(ctx: RenderContext, target: SageMakerTarget) -> str:
    """target.image, or with registry the deterministic REGISTRY/NAME:<context digest> modeldeploy builds."""
    if target.image is not None:
        return target.image
    from modeldeploy.targets.docker.registry import image_reference

    return image_reference(ctx)


def _replicas(ctx: RenderContext, target: SageMakerTarget) -> tuple[int, tuple[int, int] | None]:
    """(initial instance count, (min, max) for autoscaling or None)."""
    scaling = ctx.spec.scaling
    if scaling.max_replicas <= scaling.min_replicas:
        return target.instance_count, None
    if target.mode == "serverless":
        raise RenderError(
            "scaling.max_replicas > min_replicas has no meaning for serverless endpoints; "
            "set target.serverless.max_concurrency instead"
        )
    low = scaling.min_replicas
    if low == 0 and target.mode == "realtime":
        raise RenderError("scaling.min_replicas 0: real-time SageMaker endpoints cannot scale to zero; use mode async")
    initial = min(max(target.instance_count, low, 1), scaling.max_replicas)
    return initial, (low, scaling.max_replicas)


def _endpoint_config(
    ctx: RenderContext, target: SageMakerTarget, tags: list[dict[str, str]], model_name: str, endpoint: str
) -> Request:
    variant: dict[str, Any] = {"VariantName": target.variant_name, "ModelName": model_name}
    if target.mode == "serverless":
        s = target.serverless
        serverless: dict[str, Any] = {"MemorySizeInMB": s.memory_mb, "MaxConcurrency": s.max_concurrency}
        if s.provisioned_concurrency is not None:
            serverless["ProvisionedConcurrency"] = s.provisioned_concurrency
        variant["ServerlessConfig"] = serverless
    else:
        initial, _ = _replicas(ctx, target)
        variant.update(
            {"InstanceType": target.instance_type, "InitialInstanceCount": initial, "InitialVariantWeight": 1.0}
        )
    body: dict[str, Any] = {"ProductionVariants": [variant], "Tags": tags}
    if target.kms_key_id and target.mode != "serverless":
        body["KmsKeyId"] = target.kms_key_id
    if target.data_capture is not None:
        body["DataCaptureConfig"] = _data_capture(target)
    if target.mode == "async":
        body["AsyncInferenceConfig"] = _async_config(ctx, target)
    return Request(SAGEMAKER, "CreateEndpointConfig", _named(endpoint, ctx, "EndpointConfigName", body))


def _data_capture(target: SageMakerTarget) -> dict[str, Any]:
    dc = target.data_capture
    assert dc is not None
    out: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": dc.sampling_percent,
        "DestinationS3Uri": dc.destination,
        "CaptureOptions": [{"CaptureMode": m.capitalize()} for m in dc.capture],
    }
    header = {}
    if dc.json_content_types:
        header["JsonContentTypes"] = list(dc.json_content_types)
    if dc.csv_content_types:
        header["CsvContentTypes"] = list(dc.csv_content_types)
    if header:
        out["CaptureContentTypeHeader"] = header
    if dc.kms_key_id:
        out["KmsKeyId"] = dc.kms_key_id
    return out


def _async_config(ctx: RenderContext, target: SageMakerTarget) -> dict[str, Any]:
    a = target.async_inference
    default = f"s3://{target.artifact_bucket}/{target.artifact_prefix.strip('/')}/{ctx.spec.name}/async-output"
    output: dict[str, Any] = {"S3OutputPath": a.output_path or default}
    if a.failure_path:
        output["S3FailurePath"] = a.failure_path
    notify = {}
    if a.success_topic:
        notify["SuccessTopic"] = a.success_topic
    if a.error_topic:
        notify["ErrorTopic"] = a.error_topic
    if notify:
        output["NotificationConfig"] = notify
    out: dict[str, Any] = {"OutputConfig": output}
    if a.max_concurrent_invocations_per_instance:
        out["ClientConfig"] = {"MaxConcurrentInvocationsPerInstance": a.max_concurrent_invocations_per_instance}
    return out


def deployment_config(target: SageMakerTarget) -> dict[str, Any] | None:
    """UpdateEndpoint's DeploymentConfig for the rollout strategy (None: serverless, SageMaker's default)."""
    if target.mode == "serverless":
        return None
    r: RolloutSettings = target.rollout
    out: dict[str, Any] = {}
    if r.strategy == "rolling":
        rolling: dict[str, Any] = {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": r.rolling_batch_percent},
            "WaitIntervalInSeconds": r.wait_seconds,
        }
        if r.max_execution_seconds:
            rolling["MaximumExecutionTimeoutInSeconds"] = r.max_execution_seconds
        if r.rollback_batch_percent:
            rolling["RollbackMaximumBatchSize"] = {"Type": "CAPACITY_PERCENT", "Value": r.rollback_batch_percent}
        out["RollingUpdatePolicy"] = rolling
    else:
        routing: dict[str, Any] = {"Type": r.strategy.upper(), "WaitIntervalInSeconds": r.wait_seconds}
        if r.strategy == "canary":
            routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": r.canary_percent}
        if r.strategy == "linear":
            routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": r.linear_step_percent}
        blue_green: dict[str, Any] = {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": r.termination_wait_seconds,
        }
        if r.max_execution_seconds:
            blue_green["MaximumExecutionTimeoutInSeconds"] = r.max_execution_seconds
        out["BlueGreenUpdatePolicy"] = blue_green
    if r.alarms:
        out["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in r.alarms]}
    return out


def scaling_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def _autoscaling(ctx: RenderContext, target: SageMakerTarget, endpoint: str) -> list[Request]:
    _, bounds = _replicas(ctx, target)
    if bounds is None:
        return []
    resource_id = scaling_resource_id(endpoint, target.variant_name)
    common = {"ServiceNamespace": "sagemaker", "ResourceId": resource_id, "ScalableDimension": SCALABLE_DIMENSION}
    register = {**common, "MinCapacity": bounds[0], "MaxCapacity": bounds[1]}
    tracking: dict[str, Any] = {
        "ScaleInCooldown": target.scale_in_cooldown_seconds,
        "ScaleOutCooldown": target.scale_out_cooldown_seconds,
    }
    if target.mode == "async":
        tracking["TargetValue"] = float(target.async_inference.target_backlog_per_instance)
        tracking["CustomizedMetricSpecification"] = {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
            "Statistic": "Average",
        }
    else:
        tracking["TargetValue"] = float(ctx.spec.scaling.target_invocations_per_replica)
        tracking["PredefinedMetricSpecification"] = {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    policy = {
        "PolicyName": POLICY_NAME,
        **common,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": tracking,
    }
    return [Request(AUTOSCALING, "RegisterScalableTarget", register), Request(AUTOSCALING, "PutScalingPolicy", policy)]


_SPLIT = {"none": "None", "line": "Line", "recordio": "RecordIO", "tfrecord": "TFRecord"}
_STRATEGY = {"multi_record": "MultiRecord", "single_record": "SingleRecord"}


def _transform_job(ctx: RenderContext, target: SageMakerTarget, tags: list[dict[str, str]], model_name: str) -> Request:
    b = target.batch
    assert b is not None
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": b.input_uri}},
        "ContentType": b.content_type,
        "SplitType": _SPLIT[b.split_type],
        "CompressionType": "Gzip" if b.compression == "gzip" else "None",
    }
    output: dict[str, Any] = {
        "S3OutputPath": b.output_uri,
        "AssembleWith": "Line" if b.assemble_with == "line" else "None",
    }
    if b.accept:
        output["Accept"] = b.accept
    if target.kms_key_id:
        output["KmsKeyId"] = target.kms_key_id
    body: dict[str, Any] = {
        "ModelName": model_name,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceType": target.instance_type, "InstanceCount": target.instance_count},
        "BatchStrategy": _STRATEGY[b.strategy],
        "MaxPayloadInMB": b.max_payload_mb,
        "Tags": tags,
    }
    if b.max_concurrent_transforms is not None:
        body["MaxConcurrentTransforms"] = b.max_concurrent_transforms
    return Request(SAGEMAKER, "CreateTransformJob", _named(ctx.spec.name, ctx, "TransformJobName", body))
