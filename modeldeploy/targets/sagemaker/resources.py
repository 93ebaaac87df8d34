"""The SageMaker objects a deployment manages, as Resources built from the rendered request files
(what plan diffs and apply creates), and their addresses."""

from __future__ import annotations

import json
from typing import Any

from modeldeploy.errors import RenderError
from modeldeploy.planning.resources import Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.sagemaker import requests as rq
from modeldeploy.targets.sagemaker.validate import validate_request

IMMUTABLE_REASON = "SageMaker models and endpoint configs are immutable"
S3_REASON = "model.tar.gz objects are content-addressed (the old one stays while a kept model uses it)"
JOB_REASON = "SageMaker transform jobs cannot change; a changed job is a new job"

K_S3 = "s3_object"
K_MODEL = "sagemaker_model"
K_CONFIG = "sagemaker_endpoint_config"
K_ENDPOINT = "sagemaker_endpoint"
K_SCALING_TARGET = "autoscaling_target"
K_SCALING_POLICY = "autoscaling_policy"
K_JOB = "sagemaker_transform_job"


def address(kind: str, name: str) -> str:
    return f"{kind}.{name}"


def render_requests(ctx: RenderContext) -> rq.Requests:
    """The validated request bodies (what render writes and apply sends)."""
    requests = rq.build(ctx)
    for call in requests.calls:
        validate_request(call.service, call.operation, call.body, where=call.path)
    return requests


def bodies_from_artifacts(artifacts: list[Artifact]) -> dict[str, dict[str, Any]]:
    """Operation name → request body, parsed back from the rendered ``sagemaker/*.json`` files."""
    out: dict[str, dict[str, Any]] = {}
    for a in artifacts:
        if a.path.startswith("sagemaker/") and a.path.endswith(".json"):
            out[a.path[len("sagemaker/") : -len(".json")]] = json.loads(a.content)
    if "CreateModel" not in out:
        raise RenderError("sagemaker/CreateModel.json is missing from the rendered artifacts")
    return out


def split_s3(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise RenderError(f"not an s3://bucket/key URL: {url!r}")
    bucket, key = url[5:].split("/", 1)
    return bucket, key


def desired_resources(ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
    bodies = bodies_from_artifacts(artifacts)
    base = ctx.spec.name
    model = bodies["CreateModel"]
    url = model["PrimaryContainer"]["ModelDataUrl"]
    bucket, key = split_s3(url)
    s3 = Resource(
        address(K_S3, base),
        K_S3,
        url,
        {"Bucket": bucket, "Key": key, "Metadata": {rq.META_DIGEST: ctx.ref.digest, rq.META_NAME: base}},
        immutable=True,
        replace_reason=S3_REASON,
    )
    model_res = Resource(
        address(K_MODEL, base),
        K_MODEL,
        model["ModelName"],
        model,
        immutable=True,
        replace_reason=IMMUTABLE_REASON,
        depends_on=(s3.address,),
    )
    out = [s3, model_res]
    job = bodies.get("CreateTransformJob")
    if job is not None:
        out.append(
            Resource(
                address(K_JOB, base),
                K_JOB,
                job["TransformJobName"],
                job,
                immutable=True,
                replace_reason=JOB_REASON,
                depends_on=(model_res.address,),
            )
        )
        return out
    config = bodies["CreateEndpointConfig"]
    create = bodies["CreateEndpoint"]
    endpoint = create["EndpointName"]
    config_res = Resource(
        address(K_CONFIG, endpoint),
        K_CONFIG,
        config["EndpointConfigName"],
        config,
        immutable=True,
        replace_reason=IMMUTABLE_REASON,
        depends_on=(model_res.address,),
    )
    endpoint_body = dict(create)
    deployment = bodies.get("UpdateEndpoint", {}).get("DeploymentConfig")
    if deployment:
        endpoint_body["DeploymentConfig"] = deployment
    endpoint_res = Resource(
        address(K_ENDPOINT, endpoint), K_ENDPOINT, endpoint, endpoint_body, depends_on=(config_res.address,)
    )
    out += [config_res, endpoint_res]
    register = bodies.get("RegisterScalableTarget")
    if register is not None:
        target_res = Resource(
            address(K_SCALING_TARGET, endpoint),
            K_SCALING_TARGET,
            register["ResourceId"],
            register,
            depends_on=(endpoint_res.address,),
        )
        policy = bodies["PutScalingPolicy"]
        out += [
            target_res,
            Resource(
                address(K_SCALING_POLICY, endpoint),
                K_SCALING_POLICY,
                policy["PolicyName"],
                policy,
                depends_on=(target_res.address,),
            ),
        ]
    return out
