"""apply and destroy: the only mutating operations.

Against a folder, apply writes the new render into it (atomically per file; the folder holds exactly
the render afterwards). Against live state, the target's apply() carries the plan out and waits for
readiness. A plan made against a git ref is for review only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modeldeploy.api import Deployment, enforce_policy
from modeldeploy.api import plan as make_plan
from modeldeploy.errors import PlanError
from modeldeploy.lease import FileLeaseBackend, Lease, LeaseBackend, LeaseSettings, folder_lease_path
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Plan
from modeldeploy.planning.resources import ApplyResult
from modeldeploy.progress import Progress
from modeldeploy.rendering.artifact import RenderResult
from modeldeploy.rendering.write import write_tree


def apply(
    dep: Deployment,
    plan: Plan | None = None,
    *,
    result: RenderResult | None = None,
    progress: Progress | None = None,
    options: ObserveOptions | None = None,
    lease: LeaseSettings | None = None,
) -> ApplyResult:
    """Carry out ``plan`` (computed now when not given) for one deployment, holding its lease."""
    progress = progress or Progress()
    if plan is None or result is None:
        plan, result = make_plan(dep, plan.against if plan else None, options=options)
    options = options or plan.options or ObserveOptions()
    enforce_policy([plan])
    if plan.against.startswith("git:"):
        raise PlanError(
            f"the plan for {plan.name} compares with {plan.against}; such plans are for review only",
            hint="apply against the rendered folder (--against DIR) or the live target (--against live)",
        )
    if not plan.has_changes and not plan.against.startswith("dir:"):
        progress.done(f"{plan.name}: no changes")
        return ApplyResult()
    with _leased(dep, plan.against, options, lease, "apply", progress):
        return _apply(dep, plan, result, progress, options)


@contextmanager
def _leased(dep: Deployment, against: str, options: ObserveOptions | None, settings: LeaseSettings | None,
            operation: str, progress: Progress) -> Iterator[None]:
    """Hold the deployment's lease (a lock file beside a render folder, or the target's own backend
    for live state) around ``operation``; released however the block ends."""
    settings = settings or LeaseSettings()
    backend: LeaseBackend | None = None
    if settings.enabled:
        if against != "live":
            folder = Path(against[4:] if against.startswith("dir:") else against)
            backend = FileLeaseBackend(folder_lease_path(folder, dep.name))
        else:
            backend = dep.target.lease(dep.context(), options or ObserveOptions())
    if backend is None:
        yield
        return
    with Lease(backend, dep.name, settings, operation=operation, warn=progress.warn):
        yield


def _apply(dep: Deployment, plan: Plan, result: RenderResult, progress: Progress, options: ObserveOptions) -> ApplyResult:
    artifacts = list(result.artifacts)
    ctx = dep.context()
    if plan.against.startswith("dir:"):
        # Whatever the target does first (the docker target builds its image), then the render is recorded.
        built = dep.target.apply_render(ctx, plan, artifacts, progress, options)
        changed: tuple[str, ...] = tuple(built.changed)
        outputs = dict(built.outputs)
        folder = Path(plan.against[4:]) / dep.name
        written = write_tree(folder, artifacts)
        progress.done(f"{folder}: {len(written)} file(s) written")
        result = ApplyResult(changed=changed + tuple(f"file.{dep.name}/{p}" for p in written), outputs=outputs)
        return _register(dep, result, artifacts, progress)
    if not plan.has_changes:
        progress.done(f"{plan.name}: no changes")
        return ApplyResult()
    result = dep.target.apply(ctx, plan, artifacts, progress, options)
    return _register(dep, result, artifacts, progress)


def _register(dep: Deployment, result: ApplyResult, artifacts: list, progress: Progress) -> ApplyResult:
    """After a successful apply, register the model in MLflow's registry when deploy.yaml asks and the
    target has no registry of its own. Idempotent: the same digest never makes a new version."""
    reg = dep.spec.model.registration
    if reg is None:
        return result
    if dep.target.registers_model:
        registered = dep.target.register_model(dep.context(), artifacts, progress)
        if registered is None:
            return result
        progress.done(f"registered {reg.name}: {registered}")
        return ApplyResult(changed=result.changed + (f"model_package.{reg.name}",), outputs={**result.outputs, "registered": registered})
    from modeldeploy.model.register import register_mlflow

    version = register_mlflow(dep.ref, reg, tracking_uri=dep.spec.model.tracking_uri, progress=progress)
    progress.done(f"registered {reg.name} version {version}")
    return ApplyResult(changed=result.changed + (f"mlflow_model_version.{reg.name}",), outputs={**result.outputs, "registered_version": f"{reg.name}/{version}"})


def destroy(dep: Deployment, *, against: str | None = None, progress: Progress | None = None, options: ObserveOptions | None = None,
            lease: LeaseSettings | None = None) -> ApplyResult:
    """Remove everything modeldeploy created for this deployment (and nothing else), holding its lease."""
    progress = progress or Progress()
    against = against or ("live" if dep.target.default_against == "live" else "dir:deploy/rendered")
    if against.startswith("git:"):
        raise PlanError("destroy works against a folder or live state, not a git ref")
    options = options or ObserveOptions()  # one run: the lease and the destroy share its connections
    with _leased(dep, against, options, lease, "destroy", progress):
        return _destroy(dep, against, progress, options)


def _destroy(dep: Deployment, against: str, progress: Progress, options: ObserveOptions | None) -> ApplyResult:
    if against != "live":
        folder = Path(against[4:] if against.startswith("dir:") else against) / dep.name
        removed = write_tree(folder, [], prune=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        progress.done(f"{folder}: removed {len(removed)} file(s)")
        return ApplyResult(changed=tuple(removed))
    ctx = dep.context()
    options = options or ObserveOptions()
    desired = dep.target.desired(ctx, list(dep.target.render(ctx)))
    observed = dep.target.observe(ctx, desired, options)
    if not observed.resources:
        progress.done(f"{dep.name}: nothing to destroy")
        return ApplyResult()
    return dep.target.destroy(ctx, observed, progress, options)
