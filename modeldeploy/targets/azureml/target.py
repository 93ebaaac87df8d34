"""The Azure ML target: CLI v2 specs for managed/Kubernetes online and batch endpoints, and a
blue/green plan → apply → destroy through azure-ai-ml.

render() is pure apart from reading the model (and, for custom models, code) folders: it builds the
specs as data (specs.py), dumps them canonically, copies the model folder under ``azureml/model/``
so ``path: model`` in the specs resolves, and loads every spec with the SDK's own loaders before
returning. Everything touching Azure goes through the adapter in client.py.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy import interrupt
from modeldeploy.errors import ApplyError, TargetError
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action
from modeldeploy.planning.resources import ApplyResult, LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_azure_yaml
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.targets.azureml import AzureMLTarget
from modeldeploy.targets.azureml import naming
from modeldeploy.targets.azureml import resources as res
from modeldeploy.targets.azureml.client import (
    AzureMLAPI,
    AzureMLClient,
    DeploymentFailed,
    DeploymentState,
    ModelVersion,
    parse_model_id,
)
from modeldeploy.targets.azureml.lease import EndpointGuard, with_tag
from modeldeploy.targets.azureml.lease import check as check_lease
from modeldeploy.targets.azureml.rollout import TrafficShift
from modeldeploy.targets.azureml.specs import (
    CODE_DIR,
    CONDA_FILE,
    Specs,
    build_specs,
    code_folder,
    model_prefix,
    scaling_note,
)
from modeldeploy.targets.azureml.validate import DEPLOYMENT, ENDPOINT, MODEL, validate_artifacts, write_tree
from modeldeploy.targets.base import Target

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress

ClientFactory = Callable[[RenderContext], AzureMLAPI]
LOG_LINES = 50


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

    def _client(self, ctx: RenderContext) -> AzureMLAPI:
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
        return EndpointTagLeaseBackend(self._client(ctx), specs.endpoint_name, ctx.spec.target.workspace,
                                       self.guard(ctx, specs.endpoint_name))

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        specs = build_specs(ctx)
        client = self._client(ctx)
        want = {r.address: r for r in (desired or res.desired_resources(specs, ctx.ref.digest))}
        found: dict[str, LiveResource] = {}
        mode, ep_name = specs.mode, specs.endpoint_name

        model = client.find_model_by_digest(specs.model_name, ctx.ref.digest)
        if model is not None:
            addr = res.model_address(specs.model_name)
            body = {"name": model.name, "type": model.type or specs.model["type"], "digest": ctx.ref.digest}
            found[addr] = LiveResource(addr, "azureml_model", model.name, body, model.fingerprint)

        endpoint = client.get_endpoint(ep_name)
        if endpoint is None:
            return Observed(resources=found)
        if not res.owned(endpoint.tags, ctx.spec.name):
            raise TargetError(
                f"endpoint {ep_name} exists in workspace {ctx.spec.target.workspace} but was not created by modeldeploy "
                f"for {ctx.spec.name!r} (tag {naming.TAG_NAME}); refusing to manage it",
                hint="set target.endpoint_name to another name (endpoint names are unique per Azure region)",
            )
        ep_addr = res.endpoint_address(mode, ep_name)
        ep_shape = want[ep_addr].body if ep_addr in want else None
        found[ep_addr] = LiveResource(ep_addr, res.kinds(mode)["endpoint"], ep_name, res.normalise_endpoint(endpoint.spec, ep_shape), endpoint.fingerprint)

        dep_shape = next((r.body for r in want.values() if r.kind == res.kinds(mode)["deployment"]), None)
        deployments = [d for d in client.list_deployments(ep_name) if res.owned(d.tags, ctx.spec.name)]
        models: dict[str, ModelVersion | None] = {}
        for d in deployments:
            addr = res.deployment_address(mode, ep_name, d.name)
            body = res.normalise_deployment(d.spec, dep_shape, model=self._model_of(client, d, models))
            if d.provisioning_state and d.provisioning_state.lower() != "succeeded":
                body["provisioning_state"] = d.provisioning_state
            found[addr] = LiveResource(addr, res.kinds(mode)["deployment"], d.name, body, d.fingerprint)

        t_addr = res.traffic_address(mode, ep_name)
        t_body = res.live_traffic_body(mode, endpoint.traffic, endpoint.mirror_traffic, endpoint.default_deployment)
        if t_body.get("traffic") or t_body.get("deployment_name"):
            found[t_addr] = LiveResource(t_addr, res.kinds(mode)["traffic"], ep_name, t_body, endpoint.fingerprint)

        serving = self._serving(mode, endpoint.traffic, endpoint.default_deployment, deployments)
        signature, deployed = (None, None) if serving is None else self._deployed(client, serving, models)
        return Observed(resources=found, deployed_signature=signature, deployed_model=deployed)

    @staticmethod
    def _model_of(client: AzureMLAPI, d: DeploymentState, cache: dict[str, ModelVersion | None]) -> dict[str, str] | None:
        parsed = parse_model_id(d.model_id)
        if parsed is None:
            return {"name": "", "digest": f"(unknown model {d.model_id})"} if d.model_id else None
        key = f"{parsed[0]}:{parsed[1]}"
        if key not in cache:
            cache[key] = client.get_model(*parsed)
        mv = cache[key]
        digest = (mv.tags.get(naming.TAG_DIGEST) if mv else None) or f"(version {parsed[1]}, no digest tag)"
        return {"name": parsed[0], "digest": digest}

    @staticmethod
    def _serving(mode: str, traffic: Mapping[str, int], default: str | None, deployments: list[DeploymentState]) -> DeploymentState | None:
        by_name = {d.name: d for d in deployments}
        if mode == "batch":
            return by_name.get((default or "").lower())
        ranked = sorted(traffic.items(), key=lambda kv: (-kv[1], kv[0]))
        return next((by_name[k] for k, _ in ranked if k in by_name), None)

    @staticmethod
    def _deployed(client: AzureMLAPI, d: DeploymentState, cache: dict[str, ModelVersion | None]) -> tuple[Any, dict[str, Any]]:
        tags: Mapping[str, str] = d.tags
        sig_text = tags.get(naming.TAG_SIG)
        parsed = parse_model_id(d.model_id)
        mv = cache.get(f"{parsed[0]}:{parsed[1]}") if parsed else None
        if sig_text is None and mv is not None:
            sig_text = mv.tags.get(naming.TAG_SIG)
        signature = None
        if sig_text:
            try:
                signature = json.loads(sig_text)
            except ValueError:
                signature = None
        deployed = {
            "pinned_uri": tags.get(naming.TAG_URI),
            "digest": tags.get(naming.TAG_DIGEST),
            "version": parsed[1] if parsed else None,
            "deployment": d.name,
        }
        return signature, {k: v for k, v in deployed.items() if v is not None}

    # --- apply -------------------------------------------------------------------------------------

    def apply(
        self, ctx: RenderContext, plan: Plan, artifacts: list[Artifact], progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        from modeldeploy.targets.azureml import rai

        changes = {c.address: c for c in plan.changes if c.action is not Action.NOOP}
        dashboard = bool(options and options.extra.get("rai_dashboard"))
        if dashboard and not rai.wanted(ctx):
            raise ApplyError("--rai-dashboard needs an evaluation: section and an MLflow model in deploy.yaml")
        if not changes and not dashboard:
            return ApplyResult()
        specs = build_specs(ctx)
        guard = self.guard(ctx, specs.endpoint_name)
        client = _Serialised(self._client(ctx), guard)
        with tempfile.TemporaryDirectory(prefix="modeldeploy-azureml-") as tmp:
            root = Path(tmp)
            write_tree(root, artifacts)
            run = _ApplyRun(self, ctx, specs, client, root / "azureml", progress, changes, guard)
            result = run.execute() if changes else ApplyResult()
            if dashboard:
                result = run.dashboard(result)
            return result

    # --- destroy -----------------------------------------------------------------------------------

    def destroy(self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None) -> ApplyResult:
        """Delete the endpoint (Azure deletes its deployments with it) if modeldeploy created it for
        this deployment; with ``destroy_model_versions`` also archive the model versions it
        registered (Azure ML cannot delete model versions)."""
        specs = build_specs(ctx)
        client = self._client(ctx)
        changed: list[str] = []
        endpoint = client.get_endpoint(specs.endpoint_name)
        if endpoint is not None:
            if not res.owned(endpoint.tags, ctx.spec.name):
                raise ApplyError(f"endpoint {specs.endpoint_name} was not created by modeldeploy for {ctx.spec.name!r}; not deleting it")
            # Under the endpoint lock: a lease renewal's tag PUT must not re-create the endpoint.
            with self.guard(ctx, specs.endpoint_name).lock, progress.wait(f"deleting endpoint {specs.endpoint_name} and its deployments") as h:
                client.delete_endpoint(specs.endpoint_name, on_status=h.update)
            changed.append(res.endpoint_address(specs.mode, specs.endpoint_name))
        if ctx.spec.target.destroy_model_versions:
            for mv in client.list_models(specs.model_name):
                if res.owned(mv.tags, ctx.spec.name):
                    progress.step(f"archiving model {mv.name}:{mv.version}")
                    client.archive_model(mv.name, mv.version)
                    changed.append(f"{res.model_address(mv.name)}:{mv.version}")
        return ApplyResult(changed=tuple(changed))


class _Serialised:
    """The adapter, with the endpoint's read-modify-write PUTs (traffic, default deployment, endpoint)
    taken under the endpoint lock, so a lease renewal (a PUT of the entity it read) never interleaves
    with them and puts back a stale traffic map."""

    def __init__(self, client: AzureMLAPI, guard: EndpointGuard):
        self._inner, self._guard = client, guard

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def set_traffic(self, *args: Any, **kw: Any) -> Any:
        with self._guard.lock:
            return self._inner.set_traffic(*args, **kw)

    def set_default_deployment(self, *args: Any, **kw: Any) -> Any:
        with self._guard.lock:
            return self._inner.set_default_deployment(*args, **kw)

    def create_or_update_endpoint(self, *args: Any, **kw: Any) -> Any:
        with self._guard.lock:
            return self._inner.create_or_update_endpoint(*args, **kw)

    def delete_endpoint(self, *args: Any, **kw: Any) -> Any:
        with self._guard.lock:
            return self._inner.delete_endpoint(*args, **kw)


class _ApplyRun:
    """One apply: model → endpoint → deployment → traffic → deletes, in that order. Before each step
    that changes the endpoint or its deployments it checks the endpoint's lease tag is still this
    run's (see lease.py: the tag lease is not an atomic compare-and-set)."""

    def __init__(self, target: AzureMLTargetImpl, ctx: RenderContext, specs: Specs, client: AzureMLAPI, base: Path, progress: Progress,
                 changes: dict[str, Any], guard: EndpointGuard | None = None):
        self.target, self.ctx, self.specs, self.client = target, ctx, specs, client
        self.base, self.progress, self.changes = base, progress, changes
        self.guard = guard or EndpointGuard()
        self.mode = specs.mode
        self.ep = specs.endpoint_name
        self.dep = specs.deployment_name
        self.changed: list[str] = []

    def execute(self) -> ApplyResult:
        dep_addr = res.deployment_address(self.mode, self.ep, self.dep)
        model = None
        self.checkpoint()
        # A new endpoint must exist before its deployment; an update (tags naming the model it
        # serves, network or auth settings) is made once the new deployment serves, so a failed
        # rollout leaves the endpoint describing what still serves. A new endpoint comes before the
        # model registration: it carries a first apply's lease, so a concurrent first apply stops
        # before registering a second version.
        self.endpoint(first=True)
        if res.model_address(self.specs.model_name) in self.changes or dep_addr in self.changes:
            model = self.ensure_model()
        if dep_addr in self.changes:
            assert model is not None
            self.checkpoint()
            self.deployment(model, self.changes[dep_addr].action)
        self.checkpoint()
        self.traffic()
        self.endpoint(first=False)
        self.delete_superseded()
        outputs = {"endpoint": self.ep, "deployment": self.dep}
        live = self.client.get_endpoint(self.ep)
        if live is not None and live.scoring_uri:
            outputs["scoring_uri"] = live.scoring_uri
        if model is not None:
            outputs["model"] = model.reference
        return ApplyResult(changed=tuple(self.changed), outputs=outputs)

    def dashboard(self, result: ApplyResult) -> ApplyResult:
        """Submit the Responsible AI dashboard job with the model pinned to the version this apply
        registered (or the one already holding the digest) and wait for it to end."""
        import yaml

        from modeldeploy.targets.azureml import rai

        model = self.ensure_model()
        pinned = self.base / "rai-dashboard.pinned.job.yml"
        pinned.write_text(yaml.safe_dump(rai.pinned_job(self.base / "rai-dashboard.job.yml", model.name, model.version), sort_keys=False))
        with self.progress.wait(f"submitting the Responsible AI dashboard job for {model.reference}"):
            name = self.client.submit_job(pinned)
        with self.progress.wait(f"waiting for job {name}") as h:
            self.client.wait_job(name, on_status=h.update)
        self.progress.done(f"Responsible AI dashboard job {name} completed")
        return ApplyResult(changed=result.changed, outputs={**dict(result.outputs), "rai_dashboard_job": name})

    def ensure_model(self) -> ModelVersion:
        name, digest = self.specs.model_name, self.ctx.ref.digest
        found = self.client.find_model_by_digest(name, digest)
        if found is not None:
            self.progress.step(f"model {found.reference} already holds {digest[:19]}…; not registering again")
            return found
        with self.progress.wait(f"registering model {name} from {self.ctx.ref.pinned_uri}"):
            mv = self.client.register_model(self.base / "model.yaml")
        self.progress.done(f"registered {mv.reference}")
        self.changed.append(res.model_address(name))
        return mv

    def endpoint(self, *, first: bool) -> None:
        addr = res.endpoint_address(self.mode, self.ep)
        change = self.changes.get(addr)
        if change is None or change.action is Action.DELETE or addr in self.changed:
            return
        live = self.client.get_endpoint(self.ep)
        if first and live is not None and change.action is Action.UPDATE:
            return  # updated after the rollout
        if change.action is Action.REPLACE and live is not None:
            self.checkpoint()
            self.progress.warn(f"replacing endpoint {self.ep}: {change.reason or 'its compute changed'}")
            with self.progress.wait(f"deleting endpoint {self.ep}") as h:
                self.client.delete_endpoint(self.ep, on_status=h.update)  # the lease stays pending in this process
        with self.guard.lock:  # read → PUT with the lease tag carried through, no renewal in between
            live = self.client.get_endpoint(self.ep)
            tag = check_lease(self.guard, self.ep, live)
            with self.progress.wait(f"{'updating' if live else 'creating'} endpoint {self.ep}") as h:
                self.client.create_or_update_endpoint(
                    with_tag(self.specs.endpoint, tag),
                    traffic=live.traffic if live else None,
                    mirror_traffic=live.mirror_traffic if live else None,
                    default_deployment=live.default_deployment if live else None,
                    on_status=h.update,
                )
        self.changed.append(addr)
        if live is None:
            # A first apply's lease was pending until this PUT: another first apply's PUT may have
            # landed after ours. The run whose tag is on the endpoint now proceeds; the other stops.
            self.checkpoint()

    def checkpoint(self) -> None:
        """Stop (LeaseHeld) when another run's lease tag is on the endpoint while this run holds one."""
        if self.guard.held is None:
            return
        with self.guard.lock:
            check_lease(self.guard, self.ep, self.client.get_endpoint(self.ep))

    def deployment(self, model: ModelVersion, action: Action) -> None:
        spec = {**self.specs.deployment, "model": model.reference}
        try:
            with self.progress.wait(f"{'creating' if action is Action.CREATE else 'updating'} deployment {self.dep} on {self.ep}") as h:
                self.client.create_or_update_deployment(spec, self.base, on_status=h.update)
        except DeploymentFailed as exc:
            logs = self.client.get_logs(self.ep, self.dep, LOG_LINES)
            kept = self.ctx.spec.target.rollout.keep_failed
            if action is Action.CREATE and not kept and self.mode != "batch":
                self._delete_quietly(self.dep)
            tail = "\n".join(logs.strip().splitlines()[-LOG_LINES:]) if logs else ""
            raise ApplyError(
                f"deployment {self.dep} on endpoint {self.ep} failed: {exc.reason}; it has 0% traffic and the previous "
                f"deployment keeps serving" + ("" if action is not Action.CREATE or kept else " (the failed deployment was deleted)"),
                hint=("last log lines:\n" + tail) if tail else f"az ml online-deployment get-logs -e {self.ep} -n {self.dep}",
            ) from None
        self.changed.append(res.deployment_address(self.mode, self.ep, self.dep))

    def _delete_quietly(self, name: str) -> None:
        try:
            self.client.delete_deployment(self.ep, name)
        except ApplyError as exc:  # reported, but the original failure is what matters
            self.progress.warn(f"could not delete failed deployment {name}: {exc.message}")

    def traffic(self) -> None:
        addr = res.traffic_address(self.mode, self.ep)
        if addr not in self.changes:
            return
        if self.mode == "batch":
            with self.progress.wait(f"{self.ep}: default deployment {self.dep}") as h:
                self.client.set_default_deployment(self.ep, self.dep, on_status=h.update)
        else:
            shift = TrafficShift(self.client, self.ep, self.progress, self.target.sleep, self.target.clock, mirror_supported=self.mode == "managed")
            shift.run(self.dep, self.ctx.spec.target.rollout)
        self.changed.append(addr)

    def delete_superseded(self) -> None:
        kind = res.kinds(self.mode)["deployment"]
        for change in self.changes.values():
            if change.action is not Action.DELETE or not change.address.startswith(kind + "."):
                continue
            name = change.address.split("/", 1)[-1]
            if name == self.dep:
                continue
            live = self.client.get_endpoint(self.ep)
            if live is not None and (live.traffic.get(name) or live.mirror_traffic.get(name) or live.default_deployment == name):
                self.progress.warn(f"not deleting {name}: it still receives traffic on {self.ep}")
                continue
            with self.progress.wait(f"deleting superseded deployment {name}") as h:
                self.client.delete_deployment(self.ep, name, on_status=h.update)
            self.changed.append(change.address)
