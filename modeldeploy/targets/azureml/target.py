"""The Azure ML target: CLI v2 specs for managed/Kubernetes online and batch endpoints, and a
blue/green plan → apply → destroy through azure-ai-ml.

render() is pure apart from reading the model (and, for custom models, code) folders: it builds the
specs as data (specs.py, deployment.py, tags.py), dumps them canonically, copies the model folder
under ``azureml/model/`` so ``path: model`` in the specs resolves, and loads every spec with the
SDK's own loaders before returning (validate.py). observe.py reads the workspace, apply.py changes
it; everything touching Azure goes through the adapter in client.py (workspace.py: what it speaks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modeldeploy import interrupt
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.resources import ApplyResult, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_azure_yaml as _dump_azure_yaml
from modeldeploy.rendering.checked import remembered
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.targets.azureml import AzureMLTarget
from modeldeploy.targets.azureml import resources as res
from modeldeploy.targets.azureml.client import AzureMLClient
from modeldeploy.targets.azureml.deployment import CODE_DIR, CONDA_FILE, code_folder
from modeldeploy.targets.azureml.lease import EndpointGuard
from modeldeploy.targets.azureml.specs import build_specs, model_prefix, scaling_note
from modeldeploy.targets.azureml.validate import DEPLOYMENT, ENDPOINT, MODEL, validate_artifacts
from modeldeploy.targets.azureml.workspace import AzureMLAPI
from modeldeploy.targets.base import Target

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress

ClientFactory = Callable[[RenderContext], AzureMLAPI]
# A git plan renders an unchanged file twice: the ref's render reuses the text just made (pure in its data).
dump_azure_yaml = remembered("azureml-yaml", _dump_azure_yaml)


def _connect(ctx: RenderContext) -> AzureMLAPI:
    t = ctx.spec.target
    return AzureMLClient.connect(t.subscription_id, t.resource_group, t.workspace, t.mode)


class AzureMLTargetImpl(Target):
    kind = "azureml"
    config_model = AzureMLTarget
    default_against = "live"
    extra = "azure"
    registers_model = True  # model.register becomes an Azure ML model asset, not an MLflow version

    def __init__(
        self,
        client_factory: ClientFactory | None = None,
        *,
        sleep: Callable[[float], None] = interrupt.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._factory = client_factory or _connect
        self._clients: dict[tuple[str, ...], AzureMLAPI] = {}
        self._guards: dict[tuple[str, ...], EndpointGuard] = {}
        self.sleep = sleep
        self.clock = clock

    def client(self, ctx: RenderContext) -> AzureMLAPI:
        t = ctx.spec.target
        key = (t.subscription_id, t.resource_group, t.workspace, t.mode)
        if key not in self._clients:
            self._clients[key] = self._factory(ctx)
        return self._clients[key]

    def guard(self, ctx: RenderContext, endpoint: str) -> EndpointGuard:
        """The lock every endpoint PUT of this process takes, and the lease it holds (lease.py)."""
        t = ctx.spec.target
        key = (t.subscription_id, t.resource_group, t.workspace, t.mode, endpoint)
        return self._guards.setdefault(key, EndpointGuard())

    # --- render ----------------------------------------------------------------------------------

    def plan_notes(self, ctx: RenderContext) -> list[str]:
        from modeldeploy.targets.azureml import rai

        note = scaling_note(ctx)
        return ([note] if note else []) + rai.plan_notes(ctx)

    def serving_images(self, ctx: RenderContext) -> list[tuple[str, tuple[Any, ...]]]:
        if ctx.spec.model.type != "custom":
            return []  # MLflow and Triton models run in Azure ML's own environments
        env = ctx.spec.model.environment
        if env and env.image:
            return [(env.image, ("model", "environment", "image"))]
        return [(ctx.spec.target.environment_image, ("target", "environment_image"))]

    def render(self, ctx: RenderContext) -> list[Artifact]:
        from modeldeploy.rendering.model_files import model_artifacts

        specs = build_specs(ctx)
        artifacts = [
            Artifact(ENDPOINT, "application/yaml", dump_azure_yaml(specs.endpoint)),
            Artifact(DEPLOYMENT, "application/yaml", dump_azure_yaml(specs.deployment)),
            Artifact(MODEL, "application/yaml", dump_azure_yaml(specs.model)),
            *model_artifacts(ctx, prefix=model_prefix(ctx)),
        ]
        if specs.conda is not None:
            from modeldeploy.model.custom import code_files

            artifacts.append(Artifact(f"azureml/{CONDA_FILE}", "application/yaml", dump_azure_yaml(specs.conda)))
            artifacts.extend(
                Artifact(f"azureml/{CODE_DIR}/{rel}", "application/octet-stream", content, source=rel, mode=mode)
                for rel, content, mode in code_files(code_folder(ctx))
            )
        from modeldeploy.targets.azureml import rai

        if rai.wanted(ctx):
            artifacts.extend(rai.render(ctx, specs.model_name))
        validate_artifacts(artifacts, specs.mode)
        return artifacts

    # --- plan --------------------------------------------------------------------------------------

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        return res.desired_resources(build_specs(ctx), ctx.ref.digest)

    def lease(self, ctx: RenderContext, options: ObserveOptions) -> LeaseBackend | None:
        """A tag on the deployment's online endpoint, written with the endpoint's ETag."""
        from modeldeploy.targets.azureml.lease import EndpointTagLeaseBackend

        specs = build_specs(ctx)
        return EndpointTagLeaseBackend(
            self.client(ctx), specs.endpoint_name, ctx.spec.target.workspace, self.guard(ctx, specs.endpoint_name)
        )

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        from modeldeploy.targets.azureml.observe import observe

        specs = build_specs(ctx)
        return observe(self.client(ctx), ctx, specs, desired)

    # --- apply -------------------------------------------------------------------------------------

    def apply(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        from modeldeploy.targets.azureml.apply import apply

        return apply(self, ctx, plan, artifacts, progress, options)

    # --- destroy -----------------------------------------------------------------------------------

    def destroy(
        self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None
    ) -> ApplyResult:
        """Delete the endpoint (Azure deletes its deployments with it) if modeldeploy created it for
        this deployment; with ``destroy_model_versions`` also archive the model versions it
        registered (Azure ML cannot delete model versions)."""
        from modeldeploy.targets.azureml.apply import destroy

        return destroy(self, ctx, progress)
