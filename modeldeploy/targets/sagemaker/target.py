"""The Amazon SageMaker target: request bodies (render), live resources (desired/observe), apply, destroy.

render() is pure: it builds one request body per API call, validates each against botocore's service
model (plus max/enum/pattern checks botocore leaves out) and writes ``sagemaker/<Operation>.json``.
observe/apply/destroy talk to AWS through boto3 (imported lazily; see ``aws.py``), so any
AWS-compatible endpoint set with ``AWS_ENDPOINT_URL`` works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.resources import ApplyResult, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_json
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.targets.sagemaker import SageMakerTarget
from modeldeploy.targets.base import Auxiliary, Target
from modeldeploy.targets.sagemaker.aws import Clients
from modeldeploy.targets.sagemaker.resources import (  # noqa: F401  (re-exported: tests and plugins name them here)
    IMMUTABLE_REASON,
    JOB_REASON,
    K_CONFIG,
    K_ENDPOINT,
    K_JOB,
    K_MODEL,
    K_S3,
    K_SCALING_POLICY,
    K_SCALING_TARGET,
    S3_REASON,
    address,
    bodies_from_artifacts,
    desired_resources,
    render_requests,
    split_s3,
)

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress


class SageMakerTargetImpl(Target):
    kind = "sagemaker"
    config_model = SageMakerTarget
    registers_model = True  # model.register becomes a SageMaker model package (see registry.py)
    default_against = "live"
    extra = "aws"

    def __init__(self, *, poll_seconds: float = 15.0, timeout_seconds: float = 3600.0) -> None:
        # SDK clients (cached per region, safe to share) and how often to poll. How long to wait is the
        # run's (options.timeout_seconds); ``timeout_seconds`` here only serves a call given no options.
        self.clients = Clients()
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    def plan_notes(self, ctx: RenderContext) -> list[str]:
        s, t = ctx.spec.scaling, ctx.spec.target
        if (
            t.mode == "batch"
            and "scaling" in ctx.spec.model_fields_set
            and not s.min_replicas == s.max_replicas == t.instance_count
        ):
            return [
                f"scaling (min_replicas {s.min_replicas}, max_replicas {s.max_replicas}) is not applied: a batch "
                f"transform job runs target.instance_count = {t.instance_count} instances"
            ]
        return []

    def serving_images(self, ctx: RenderContext) -> list[tuple[str, tuple[Any, ...]]]:
        image = ctx.spec.target.image
        return [(image, ("target", "image"))] if isinstance(image, str) else []

    def render(self, ctx: RenderContext) -> list[Artifact]:
        requests = render_requests(ctx)
        out = [Artifact(call.path, "application/json", dump_json(call.body)) for call in requests.calls]
        from modeldeploy.targets.sagemaker import clarify

        if clarify.wanted(ctx):
            model = requests.get("CreateModel")
            assert model is not None
            out.extend(
                clarify.requests(
                    ctx, model.body["ModelName"], model.body["ExecutionRoleArn"], model.body.get("Tags") or []
                )
            )
        if ctx.spec.target.registry:
            from modeldeploy.targets.docker.registry import context_artifacts

            out.extend(context_artifacts(ctx))
        return out

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        return desired_resources(ctx, artifacts)

    def lease(self, ctx: RenderContext, options: ObserveOptions) -> LeaseBackend | None:
        """An object beside the artifacts in the target's S3 bucket, written with conditional puts."""
        from modeldeploy.targets.sagemaker.lease import S3LeaseBackend, lease_key

        t = ctx.spec.target
        return S3LeaseBackend(
            self.clients.get("s3", t.region), t.artifact_bucket, lease_key(t.artifact_prefix, ctx.spec.name)
        )

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        from modeldeploy.targets.sagemaker.observe import observe

        return observe(self.clients, ctx, desired, options)

    def apply(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        from modeldeploy.targets.sagemaker.apply import Applier

        run = options or plan.options
        timeout = run.timeout_seconds if run is not None else self.timeout_seconds
        return Applier(self, ctx, progress, timeout_seconds=timeout).apply(plan, artifacts)

    def destroy(
        self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None
    ) -> ApplyResult:
        from modeldeploy.targets.sagemaker.apply import Applier

        timeout = options.timeout_seconds if options is not None else self.timeout_seconds
        return Applier(self, ctx, progress, timeout_seconds=timeout).destroy()

    def auxiliaries(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Auxiliary]:
        """With registry, the serving image first; then model.register as a model package version in
        the group model.register.name (see registry.py)."""
        out = super().auxiliaries(ctx, artifacts)
        if ctx.spec.target.registry:
            from modeldeploy.targets.docker.registry import ImageAuxiliary

            out.insert(0, ImageAuxiliary(ctx, artifacts))
        if ctx.spec.model.registration is not None:
            from modeldeploy.targets.sagemaker.registry import ModelPackage

            out.append(ModelPackage(self.clients, ctx, artifacts))
        return out
