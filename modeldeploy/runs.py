"""Runs over many deploy.yaml files: plan them together, save the plan, apply a saved plan.

The CLI's plan and apply commands are made of these and only parse and print around them. A plan of
several files loads every file first (so each target learns how many of its deployments the run
observes), then plans them — concurrently when reading live state — and reports the errors of all
files together, in the order given.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import ModelDeployError, collect_errors
from modeldeploy.planning.options import ObserveOptions

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.api import Deployment
    from modeldeploy.planning.plan import Plan
    from modeldeploy.planning.planfile import SavedPlan
    from modeldeploy.rendering.artifact import RenderResult

    Planned = tuple[Plan, Deployment, RenderResult]


def options(context: str | None = None, parallelism: int = 8, timeout: float = 1800.0, **extra: Any) -> ObserveOptions:
    """The run's options from command-line settings (``extra``: target-specific ones)."""
    return ObserveOptions(context=context, parallelism=parallelism, timeout_seconds=timeout, extra=extra)


def plan_many(
    paths: Sequence[Path], env: str | None, against: str | None, *, allow_breaking: bool = False, **opts: Any
) -> list[Planned]:
    """[(plan, deployment, render result)] for every file, errors from all files reported together."""
    from collections import Counter

    from modeldeploy import api

    observe = options(**opts)
    # Reading live state is network-bound: files are loaded and planned concurrently, bounded by
    # --parallelism, in the order given (results and errors are reported in file order).
    live = against == "live" or against is None
    run = (lambda fn, items: _outcomes_concurrently(fn, items, observe.parallelism)) if live else _outcomes

    # Every file is loaded before any is observed, so each target is told how many of its own
    # deployments this run observes: SageMaker reads a region once for many deployments, and only
    # its own objects for one — a monorepo of 1,000 Kubernetes specs and one SageMaker endpoint
    # must not list a whole region for that one endpoint. All targets share the run's memo.
    loaded = run(lambda path: api.load(path, env), paths)
    counts = Counter(o.value.target for o in loaded if o.error is None)
    per_target = {target: dataclasses.replace(observe, expected=n) for target, n in counts.items()}

    def one(item):
        path, outcome = item
        dep = outcome.unwrap()
        p, result = api.plan(dep, against, options=per_target[dep.target])
        p = dataclasses.replace(p, source=str(path), allow_breaking=allow_breaking)
        return p, dep, result

    from modeldeploy.planning.gitrepo import one_git_run

    with one_git_run():  # against git:REF, every file is planned against the same commit
        outcomes = run(one, list(zip(paths, loaded, strict=False)))
    return collect_errors(lambda outcome: outcome.unwrap(), outcomes)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as ``nproc`` counts them), at least 1."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _render_one(item: tuple[Path, str | None]) -> _Outcome:
    from modeldeploy import api

    path, env = item
    return _capture(lambda p: api.render(api.load(p, env)), path)


def render_many(paths: Sequence[Path], env: str | None, *, jobs: int = 1) -> list[RenderResult]:
    """Load and render every file, in the order given, errors from all files reported together.

    With ``jobs`` > 1 the files are rendered in that many worker processes (rendering is CPU work in
    Python, so threads would not help): the results, and so the files written from them, are the same
    bytes as a serial run's. Each worker reads a shared model's files and digest once for all its specs
    (the per-process model and digest caches) and the on-disk digest cache is shared by all of them."""
    items = [(Path(p), env) for p in paths]
    jobs = max(1, min(jobs, len(items)))
    if jobs == 1:
        outcomes = [_render_one(item) for item in items]
    else:
        import multiprocessing
        import sys
        from concurrent.futures import ProcessPoolExecutor

        from modeldeploy import api  # noqa: F401  (imported once here: forked workers share it)

        # fork where it is safe and cheap (Linux: workers start with what is imported here);
        # elsewhere the platform's default start method.
        ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
        chunk = max(1, len(items) // (jobs * 8))
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            outcomes = list(pool.map(_render_one, items, chunksize=chunk))
    return collect_errors(lambda outcome: outcome.unwrap(), outcomes)


def write_results(out: Path, results: Sequence[RenderResult], *, threads: int = 8) -> list[list[str]]:
    """Write each result to ``out/<name>/`` (rendering.write.write_tree); returns each tree's changed
    paths, in the order given. Trees are written on a few threads: each file is fsynced before it is
    renamed into place, and the waits for the disk overlap instead of adding up."""
    from concurrent.futures import ThreadPoolExecutor

    from modeldeploy.rendering.write import write_tree

    if len(results) <= 1 or threads <= 1:
        return [write_tree(out / r.name, r.artifacts) for r in results]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="modeldeploy-write") as pool:
        return list(pool.map(lambda r: write_tree(out / r.name, r.artifacts), results))


def _outcomes(fn, items) -> list[_Outcome]:
    return [_capture(fn, item) for item in items]


def _outcomes_concurrently(fn, items, parallelism: int) -> list[_Outcome]:
    from concurrent.futures import ThreadPoolExecutor

    items = list(items)
    if len(items) <= 1 or parallelism <= 1:
        return _outcomes(fn, items)
    with ThreadPoolExecutor(max_workers=min(parallelism, len(items)), thread_name_prefix="modeldeploy-plan") as pool:
        futures = [pool.submit(_capture, fn, item) for item in items]
        return [f.result() for f in futures]


class _Outcome:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def unwrap(self):
        if self.error is not None:
            raise self.error
        return self.value


def _capture(fn, item) -> _Outcome:
    try:
        return _Outcome(value=fn(item))
    except ModelDeployError as exc:
        return _Outcome(error=exc)


def inputs_of(plans: Sequence[Planned]) -> dict[str, str]:
    """What a saved plan was computed from: each deploy.yaml's bytes and each model's digest."""
    out: dict[str, str] = {}
    for p, dep, _ in plans:
        out[f"file:{p.source}"] = "sha256:" + hashlib.sha256(Path(p.source).read_bytes()).hexdigest()
        out[f"model:{p.name}"] = dep.ref.digest
        ev = dep.spec.evaluation
        if ev is not None:  # the gate's verdict depends on its rows too
            for rel in (ev.data, ev.train_data):
                if rel:
                    data = dep.loaded.base_dir / rel
                    if data.is_file():
                        out[f"data:{p.name}:{rel}"] = "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()
    return out


def save(path: Path, plans: Sequence[Planned]) -> str:
    """Save the plans for a later ``apply PLANFILE``; returns the plan id."""
    from modeldeploy.planning.planfile import save_plan

    return save_plan(path, [p for p, _, _ in plans], inputs=inputs_of(plans))


def replan_saved(plan_path: Path, **opts: Any) -> tuple[SavedPlan, list[Planned]]:
    """A saved plan and the same files planned again now; refuses one already applied, or stale (its
    files, models or live objects changed since it was made)."""
    from modeldeploy.planning.planfile import check_fresh, ensure_not_applied, load_plan

    saved = load_plan(plan_path)
    ensure_not_applied(saved)
    plans: list[Planned] = []
    for p in saved.plans:
        plans.extend(plan_many([Path(p.source)], p.env, p.against, allow_breaking=p.allow_breaking, **opts))
    check_fresh(saved, inputs_of(plans), {a: f for p, _, _ in plans for a, f in p.fingerprints.items()})
    return saved, plans


def apply_saved(
    plan_path: Path, saved: SavedPlan, plans: Sequence[Planned], apply_all: Callable[[Sequence[Planned]], dict[str, str]]
) -> dict[str, str]:
    """Apply a saved plan's fresh ``plans`` with ``apply_all`` while the plan file is marked as being
    applied, then record it as applied (with the outputs) so it cannot be applied twice."""
    from modeldeploy.planning.planfile import applying, mark_applied

    with applying(plan_path, saved.plan_id):
        outputs = apply_all(plans)
        mark_applied(plan_path, saved.plan_id, result=outputs)
    return outputs
