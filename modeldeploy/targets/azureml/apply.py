"""apply() and destroy() for the Azure ML target.

apply runs the plan as model → endpoint → deployment → traffic → deletes (blue/green: the new
deployment takes traffic step by step, rollout.py), under the endpoint's lease tag (lease.py), with
the endpoint's read-modify-write PUTs serialised against lease renewals. destroy deletes the endpoint
modeldeploy created (and, when asked, archives the model versions it registered).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modeldeploy.errors import ApplyError
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action
from modeldeploy.planning.resources import ApplyResult
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.azureml import resources as res
from modeldeploy.targets.azureml.lease import EndpointGuard, with_tag
from modeldeploy.targets.azureml.lease import check as check_lease
from modeldeploy.targets.azureml.rollout import TrafficShift
from modeldeploy.targets.azureml.specs import Specs, build_specs
from modeldeploy.targets.azureml.validate import write_tree
from modeldeploy.targets.azureml.workspace import AzureMLAPI, DeploymentFailed, ModelVersion

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress

LOG_LINES = 50


class Host(Protocol):
    """What apply and destroy use of the target instance (AzureMLTargetImpl): its connection per
    workspace, its endpoint guards and its clock."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]

    def client(self, ctx: RenderContext) -> AzureMLAPI: ...
    def guard(self, ctx: RenderContext, endpoint: str) -> EndpointGuard: ...


def apply(
    target: Host,
    ctx: RenderContext,
    plan: Plan,
    artifacts: list[Artifact],
    progress: Progress,
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
    guard = target.guard(ctx, specs.endpoint_name)
    client = _Serialised(target.client(ctx), guard)
    with tempfile.TemporaryDirectory(prefix="modeldeploy-azureml-") as tmp:
        root = Path(tmp)
        write_tree(root, artifacts)
        run = _ApplyRun(target, ctx, specs, client, root / "azureml", progress, changes, guard)
        result = run.execute() if changes else ApplyResult()
        if dashboard:
            result = run.dashboard(result)
        return result


def destroy(target: Host, ctx: RenderContext, progress: Progress) -> ApplyResult:
    """Delete the endpoint (Azure deletes its deployments with it) if modeldeploy created it for
    this deployment; with ``destroy_model_versions`` also archive the model versions it
    registered (Azure ML cannot delete model versions)."""
    specs = build_specs(ctx)
    client = target.client(ctx)
    changed: list[str] = []
    endpoint = client.get_endpoint(specs.endpoint_name)
    if endpoint is not None:
        if not res.owned(endpoint.tags, ctx.spec.name):
            raise ApplyError(
                f"endpoint {specs.endpoint_name} was not created by modeldeploy for {ctx.spec.name!r}; not deleting it"
            )
        # Under the endpoint lock: a lease renewal's tag PUT must not re-create the endpoint.
        with (
            target.guard(ctx, specs.endpoint_name).lock,
            progress.wait(f"deleting endpoint {specs.endpoint_name} and its deployments") as h,
        ):
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

    def __init__(
        self,
        target: Host,
        ctx: RenderContext,
        specs: Specs,
        client: AzureMLAPI,
        base: Path,
        progress: Progress,
        changes: dict[str, Any],
        guard: EndpointGuard | None = None,
    ):
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
        pinned.write_text(
            yaml.safe_dump(
                rai.pinned_job(self.base / "rai-dashboard.job.yml", model.name, model.version), sort_keys=False
            )
        )
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
            with self.progress.wait(
                f"{'creating' if action is Action.CREATE else 'updating'} deployment {self.dep} on {self.ep}"
            ) as h:
                self.client.create_or_update_deployment(spec, self.base, on_status=h.update)
        except DeploymentFailed as exc:
            logs = self.client.get_logs(self.ep, self.dep, LOG_LINES)
            kept = self.ctx.spec.target.rollout.keep_failed
            if action is Action.CREATE and not kept and self.mode != "batch":
                self._delete_quietly(self.dep)
            tail = "\n".join(logs.strip().splitlines()[-LOG_LINES:]) if logs else ""
            raise ApplyError(
                f"deployment {self.dep} on endpoint {self.ep} failed: {exc.reason}; it has 0% traffic and the previous "
                f"deployment keeps serving"
                + ("" if action is not Action.CREATE or kept else " (the failed deployment was deleted)"),
                hint=("last log lines:\n" + tail)
                if tail
                else f"az ml online-deployment get-logs -e {self.ep} -n {self.dep}",
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
            shift = TrafficShift(
                self.client,
                self.ep,
                self.progress,
                self.target.sleep,
                self.target.clock,
                mirror_supported=self.mode == "managed",
            )
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
            if live is not None and (
                live.traffic.get(name) or live.mirror_traffic.get(name) or live.default_deployment == name
            ):
                self.progress.warn(f"not deleting {name}: it still receives traffic on {self.ep}")
                continue
            with self.progress.wait(f"deleting superseded deployment {name}") as h:
                self.client.delete_deployment(self.ep, name, on_status=h.update)
            self.changed.append(change.address)
