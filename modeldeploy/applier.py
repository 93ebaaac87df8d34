"""apply and destroy: the only mutating operations.

Against a folder, apply writes the new render into it (atomically per file; the folder holds exactly
the render afterwards). Against live state, the target's apply() carries the plan out and waits for
readiness. A plan made against a git ref is for review only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modeldeploy.api import Deployment, default_against, enforce_policy
from modeldeploy.api import plan as make_plan
from modeldeploy.errors import PlanError
from modeldeploy.filelease import FileLeaseBackend, folder_lease_path
from modeldeploy.lease import Lease, LeaseBackend, LeaseSettings, clear_if_gone
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.planning.resources import ApplyResult
from modeldeploy.progress import Progress
from modeldeploy.rendering.artifact import RenderResult
from modeldeploy.rendering.write import write_tree
from modeldeploy.targets.base import Auxiliary


def apply(
    dep: Deployment,
    plan: Plan | None = None,
    *,
    result: RenderResult | None = None,
    progress: Progress | None = None,
    options: ObserveOptions | None = None,
    lease: LeaseSettings | None = None,
) -> ApplyResult:
    """Carry out ``plan`` for one deployment, holding its lease.

    The lease is taken *before* the state is read for the apply (as Terraform takes its state lock
    before it reads state): under the lease the deployment is planned again, and a ``plan`` given
    by the caller (the one the user reviewed, or a saved plan) is refused when that fresh plan
    differs from it — another run changed the deployment meanwhile. So the one writer always
    applies a plan made while it held the lease, and never one the user did not see."""
    progress = progress or Progress()
    options = options or (plan.options if plan else None) or ObserveOptions()
    against = plan.against if plan is not None else default_against(dep)
    if against.startswith("git:"):
        raise PlanError(
            f"the plan for {dep.name} compares with {against}; such plans are for review only",
            hint="apply against the rendered folder (--against DIR) or the live target (--against live)",
        )
    if plan is not None:
        enforce_policy([plan])
        if not plan.has_changes and not against.startswith("dir:"):
            clear_stale_lease(dep, plan, options=options, settings=lease, progress=progress)
            progress.done(f"{plan.name}: no changes")
            return ApplyResult()
    with _leased(dep, against, options, lease, "apply", progress):
        fresh, fresh_result = make_plan(dep, against, options=options)
        if plan is None:
            plan = fresh
        else:
            _ensure_unchanged(plan, fresh)
            fresh = dataclasses.replace(fresh, source=plan.source, allow_breaking=plan.allow_breaking)
        enforce_policy([fresh])
        return _apply(dep, fresh, fresh_result, progress, options)


def _ensure_unchanged(reviewed: Plan, fresh: Plan) -> None:
    """Refuse when the state read under the lease gives another plan than the one reviewed: other
    changes, or the same addresses with other before/after values. (Fingerprints are not compared:
    taking the lease may itself touch one — Azure ML keeps it as a tag on the endpoint.)"""
    import json

    def shape(p: Plan) -> dict[str, str]:
        return {
            c.address: json.dumps([c.action.value, c.before, c.after], sort_keys=True, default=str) for c in p.changes
        }

    was, now = shape(reviewed), shape(fresh)
    if was == now:
        return
    moved = sorted(a for a in set(was) | set(now) if was.get(a) != now.get(a))

    def action(p: Plan, address: str) -> str:
        return next((c.action.value for c in p.changes if c.address == address), "none")

    detail = ", ".join(f"{a}: planned {action(reviewed, a)}, now {action(fresh, a)}" for a in moved[:5])
    raise PlanError(
        f"{reviewed.name}: the {reviewed.against} state changed since this plan was made (another run applied "
        f"meanwhile?); nothing was changed ({detail})",
        hint="run 'modeldeploy plan' again, review the new plan, then apply it",
    )


def clear_stale_lease(
    dep: Deployment,
    plan: Plan,
    *,
    options: ObserveOptions | None = None,
    settings: LeaseSettings | None = None,
    progress: Progress | None = None,
) -> str | None:
    """After a plan with no changes: clear a lease left by a run that is provably gone (same host,
    dead pid) or that expired — the deployment has converged, so nothing is half-done — and say so.
    A lease of a live (or unknown) holder stays."""
    settings = settings or LeaseSettings()
    if not settings.enabled or plan.has_changes or plan.against.startswith("git:"):
        return None
    backend = _backend(dep, plan.against, options)
    if backend is None:
        return None
    cleared = clear_if_gone(backend, expired_too=True)
    if cleared and progress is not None:
        progress.warn(cleared)
    return cleared


def _backend(dep: Deployment, against: str, options: ObserveOptions | None) -> LeaseBackend | None:
    if against != "live":
        folder = Path(against[4:] if against.startswith("dir:") else against)
        return FileLeaseBackend(folder_lease_path(folder, dep.name))
    return dep.target.lease(dep.context(), options or ObserveOptions())


@contextmanager
def _leased(
    dep: Deployment,
    against: str,
    options: ObserveOptions | None,
    settings: LeaseSettings | None,
    operation: str,
    progress: Progress,
) -> Iterator[None]:
    """Hold the deployment's lease (a lock file beside a render folder, or the target's own backend
    for live state) around ``operation``; released however the block ends."""
    settings = settings or LeaseSettings()
    backend = _backend(dep, against, options) if settings.enabled else None
    if backend is None:
        yield
        return
    with Lease(backend, dep.name, settings, operation=operation, warn=progress.warn):
        yield


def _apply(
    dep: Deployment, plan: Plan, result: RenderResult, progress: Progress, options: ObserveOptions
) -> ApplyResult:
    artifacts = list(result.artifacts)
    ctx = dep.context()
    auxiliaries = dep.target.auxiliaries(ctx, artifacts)
    if plan.against.startswith("dir:"):
        # Whatever the target does first (the docker target builds its image), then the render is recorded.
        built = dep.target.apply_render(ctx, plan, artifacts, progress, options)
        changed: tuple[str, ...] = tuple(built.changed)
        outputs = dict(built.outputs)
        folder = Path(plan.against[4:]) / dep.name
        written = write_tree(folder, artifacts)
        progress.done(f"{folder}: {len(written)} file(s) written")
        done = ApplyResult(changed=changed + tuple(f"file.{dep.name}/{p}" for p in written), outputs=outputs)
        return _after(auxiliaries, done, progress, options)
    if not plan.has_changes:
        progress.done(f"{plan.name}: no changes")
        return ApplyResult()
    # The plan's changes split: the auxiliaries' (the image, the registration) and the target's own.
    aux = {a.address for a in auxiliaries}
    planned = {c.address: c for c in plan.changes if c.address in aux}
    done = ApplyResult()
    for a in auxiliaries:
        # Before the target's apply: nothing it applies may refer to an image the registry lacks.
        change = planned.get(a.address)
        if a.stage == "before" and change is not None and change.action is not Action.NOOP:
            done = _merge(done, a.apply(progress, options))
    own = dataclasses.replace(plan, changes=tuple(c for c in plan.changes if c.address not in aux))
    if own.has_changes:
        done = _merge(done, dep.target.apply(ctx, own, artifacts, progress, options))
    return _after(auxiliaries, done, progress, options)


def _merge(a: ApplyResult, b: ApplyResult) -> ApplyResult:
    return ApplyResult(changed=a.changed + b.changed, outputs={**a.outputs, **b.outputs})


def _after(
    auxiliaries: list[Auxiliary], result: ApplyResult, progress: Progress, options: ObserveOptions
) -> ApplyResult:
    """After a successful apply: the "after" auxiliaries (the model's registration, in the target's own
    registry or in MLflow's). Each is idempotent: the same digest never makes a new version."""
    for a in auxiliaries:
        if a.stage == "after":
            result = _merge(result, a.apply(progress, options))
    return result


def destroy(
    dep: Deployment,
    *,
    against: str | None = None,
    progress: Progress | None = None,
    options: ObserveOptions | None = None,
    lease: LeaseSettings | None = None,
) -> ApplyResult:
    """Remove everything modeldeploy created for this deployment (and nothing else), holding its lease."""
    progress = progress or Progress()
    against = against or default_against(dep)
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
