"""The Amazon SageMaker target: request bodies (render), live resources (desired/observe), apply, destroy.

render() is pure: it builds one request body per API call, validates each against botocore's service
model (plus max/enum/pattern checks botocore leaves out) and writes ``sagemaker/<Operation>.json``.
observe/apply/destroy talk to AWS through boto3 (imported lazily; see ``aws.py``), so any
AWS-compatible endpoint set with ``AWS_ENDPOINT_URL`` works.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_json
from modeldeploy.targets.base import ApplyResult, Observed, ObserveOptions, RenderContext, Resource, Target
from modeldeploy.targets.sagemaker import requests as rq
from modeldeploy.targets.sagemaker.aws import Clients
from modeldeploy.targets.sagemaker.validate import validate_request

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.planning.model import Plan
    from modeldeploy.progress import Progress

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
        address(K_S3, base), K_S3, url,
        {"Bucket": bucket, "Key": key, "Metadata": {rq.META_DIGEST: ctx.ref.digest, rq.META_NAME: base}},
        immutable=True, replace_reason=S3_REASON,
    )
    model_res = Resource(
        address(K_MODEL, base), K_MODEL, model["ModelName"], model,
        immutable=True, replace_reason=IMMUTABLE_REASON, depends_on=(s3.address,),
    )
    out = [s3, model_res]
    job = bodies.get("CreateTransformJob")
    if job is not None:
        out.append(Resource(
            address(K_JOB, base), K_JOB, job["TransformJobName"], job,
            immutable=True, replace_reason=JOB_REASON, depends_on=(model_res.address,),
        ))
        return out
    config = bodies["CreateEndpointConfig"]
    create = bodies["CreateEndpoint"]
    endpoint = create["EndpointName"]
    config_res = Resource(
        address(K_CONFIG, endpoint), K_CONFIG, config["EndpointConfigName"], config,
        immutable=True, replace_reason=IMMUTABLE_REASON, depends_on=(model_res.address,),
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
            address(K_SCALING_TARGET, endpoint), K_SCALING_TARGET, register["ResourceId"], register,
            depends_on=(endpoint_res.address,),
        )
        policy = bodies["PutScalingPolicy"]
        out += [target_res, Resource(
            address(K_SCALING_POLICY, endpoint), K_SCALING_POLICY, policy["PolicyName"], policy,
            depends_on=(target_res.address,),
        )]
    return out


class SageMakerTargetImpl(Target):
    kind = "sagemaker"
    registers_model = True  # model.register becomes a SageMaker model package (see registry.py)
    default_against = "live"
    extra = "aws"

    def __init__(self, *, poll_seconds: float = 15.0, timeout_seconds: float = 3600.0) -> None:
        self.clients = Clients()
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def plan_notes(self, ctx: RenderContext) -> list[str]:
        s, t = ctx.spec.scaling, ctx.spec.target
        if t.mode == "batch" and "scaling" in ctx.spec.model_fields_set and not s.min_replicas == s.max_replicas == t.instance_count:
            return [f"scaling (min_replicas {s.min_replicas}, max_replicas {s.max_replicas}) is not applied: a batch "
                    f"transform job runs target.instance_count = {t.instance_count} instances"]
        return []

    def render(self, ctx: RenderContext) -> list[Artifact]:
        requests = render_requests(ctx)
        return [Artifact(call.path, "application/json", dump_json(call.body)) for call in requests.calls]

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        return desired_resources(ctx, artifacts)

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        from modeldeploy.targets.sagemaker.observe import observe

        # apply() receives no options; the CLI's --timeout reaches targets only through observe.
        self.timeout_seconds = options.timeout_seconds
        return observe(self.clients, ctx, desired, options)

    def apply(self, ctx: RenderContext, plan: Plan, artifacts: list[Artifact], progress: Progress) -> ApplyResult:
        from modeldeploy.targets.sagemaker.apply import Applier

        return Applier(self, ctx, progress).apply(plan, artifacts)

    def destroy(self, ctx: RenderContext, observed: Observed, progress: Progress) -> ApplyResult:
        from modeldeploy.targets.sagemaker.apply import Applier

        return Applier(self, ctx, progress).destroy()

    def register_model(self, ctx: RenderContext, artifacts: list[Artifact], progress: Progress) -> str | None:
        """model.register → a model package (version) in the group model.register.name."""
        from modeldeploy.targets.sagemaker import registry

        if ctx.spec.model.registration is None:
            return None
        arn, created = registry.register(self.clients, ctx, artifacts)
        progress.step(("created " if created else "already registered: ") + arn)
        return arn

    def planned_registration(self, ctx: RenderContext) -> dict[str, Any] | None:
        from modeldeploy.targets.sagemaker import registry

        reg = ctx.spec.model.registration
        if reg is None:
            return None
        planned = registry.planned(self.clients, ctx)
        return {
            "address": f"sagemaker_model_package.{reg.name}",
            "kind": "sagemaker_model_package",
            "name": reg.name,
            "action": planned.action,
            "before": {"arn": planned.arn, "digest": ctx.ref.digest} if planned.arn else None,
            "after": {"group": reg.name, "digest": ctx.ref.digest, "tags": dict(sorted(reg.tags.items()))},
        }
