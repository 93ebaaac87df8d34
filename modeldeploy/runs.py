"""Runs over many deploy.yaml files: plan them together, save the plan, apply a saved plan.

The CLI's plan and apply commands are made of these and only parse and print around them. A plan of
several files loads every file first (so each target learns how many of its deployments the run
observes), then plans them — concurrently when reading live state — and reports the errors of all
files together, in the order given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
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
    paths: Sequence[Path],
    env: str | None,
    against: str | None,
    *,
    allow_breaking: bool = False,
    jobs: int = 1,
    plans_only: bool = False,
    **opts: Any,
) -> list[Planned]:
    """[(plan, deployment, render result)] for every file, errors from all files reported together.

    Against a folder or ``git:REF`` with ``jobs`` > 1, the files are planned in that many worker
    processes, as ``render_many`` renders them (same results, in the order given); a live plan reads
    on threads (``parallelism``) in this process. ``plans_only``: the caller reads only the plans (it
    prints them), so the workers send back just those — the deployment and render result of a
    worker's file are then None (a render result is ~10 KB a file, and unpickling a deployment
    rebuilds its spec in this process, one file after another)."""
    from collections import Counter

    from modeldeploy import api

    observe = options(**opts)
    jobs = max(1, min(jobs, len(paths)))
    if jobs > 1 and against is not None and against != "live":
        return _plan_in_workers(paths, env, against, allow_breaking, observe, jobs, plans_only)
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


def _plan_one(item: tuple[Path, str | None, str, bool, ObserveOptions, bool]) -> _Outcome:
    from modeldeploy import api

    path, env, against, allow_breaking, observe, plans_only = item

    def one(p: Path) -> Any:
        dep = api.load(p, env)
        plan, result = api.plan(dep, against, options=observe)
        # The run's options are put back by the parent: not sent back once per file.
        plan = dataclasses.replace(plan, source=str(p), allow_breaking=allow_breaking, options=None)
        return (plan, None, None) if plans_only else (plan, dep, result)

    return capture(one, path)


def _plan_in_workers(
    paths: Sequence[Path],
    env: str | None,
    against: str,
    allow_breaking: bool,
    observe: ObserveOptions,
    jobs: int,
    plans_only: bool = False,
) -> list[Planned]:
    """A folder or git plan of many files in worker processes. Nothing here reads live state, so no
    target needs the run's count of its deployments (``expected``). Against ``git:REF`` this process
    first asks git for the ref's commit and lists its tree, so every worker plans against the same
    commit without asking again; the trees the workers extract go to a folder removed when the run
    ends. The files are then spread as ``render --jobs`` spreads them (:func:`per_file`: one file of
    each kind planned here first, Azure ML files overlapped with the others)."""
    import tempfile
    from collections import Counter

    from modeldeploy.planning.current import trees_under
    from modeldeploy.planning.gitrepo import git_rev, one_git_run, snapshot, toplevel

    items = [(Path(p), env, against, allow_breaking, observe, plans_only) for p in paths]
    with one_git_run(), tempfile.TemporaryDirectory(prefix="modeldeploy-plan-") as scratch, trees_under(scratch):
        if against.startswith("git:"):
            for folder in dict.fromkeys(Path(p).resolve().parent for p in paths):
                try:
                    root = toplevel(folder)
                    if root is None:
                        break  # not in a repository: each worker reports it, located (no git call per file here)
                    snapshot(root, git_rev(against[4:], root))
                except ModelDeployError:
                    break  # reported, located, by the worker planning that file
        outcomes = per_file(_plan_one, items, jobs)
    planned = collect_errors(lambda outcome: outcome.unwrap(), outcomes)
    # As a serial run has it: every plan carries this run's options, counted per target.
    counts = Counter(p.target for p, _, _ in planned)  # the target's kind: one shared target per kind
    per_target = {kind: dataclasses.replace(observe, expected=n) for kind, n in counts.items()}
    return [(dataclasses.replace(p, options=per_target[p.target]), dep, r) for p, dep, r in planned]


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
    return capture(lambda p: api.render(api.load(p, env)), path)


_KIND = re.compile(rb"^target:[ \t]*\n(?:[ \t]+.*\n|[ \t]*\n)*?[ \t]+kind:[ \t]*['\"]?([A-Za-z0-9_.-]+)", re.M)

# Kinds whose first render in a process costs far more than the others': the Azure ML SDK's import and
# its loaders' first use are ~1.4 s of CPU, where the first Kubernetes render is ~0.2 s.
_HEAVY_KINDS = frozenset({b"azureml"})


def _kind_hints(paths: Sequence[Path]) -> list[bytes | None]:
    """Each file's ``target.kind`` read from its text, None when not found (a hint only: it decides
    where and when a file is rendered, never what is rendered)."""
    hints: list[bytes | None] = []
    for path in paths:
        try:
            m = _KIND.search(Path(path).read_bytes()[:65536])
        except OSError:
            m = None
        hints.append(None if m is None else m.group(1))
    return hints


def _first_of_each(hints: Sequence[bytes | None], among: Sequence[int]) -> list[int]:
    seen: dict[bytes, int] = {}
    for i in among:
        if hints[i] is not None:
            seen.setdefault(hints[i], i)  # type: ignore[arg-type]
    return sorted(seen.values())


def _in_workers(
    fn: Callable[[Any], _Outcome], items: Sequence[Any], jobs: int, done: Mapping[int, _Outcome]
) -> list[_Outcome]:
    """``fn`` of every item not in ``done`` (index -> outcome), in ``jobs`` worker processes, in order.

    On Linux the workers are forked, so they start with everything the parent has imported and cached
    (SDKs, templates, models and their digests, a git ref's commit and tree listing): the parent first
    works out ``done`` — one file of each target kind — so that no worker pays for it again."""
    rest = [i for i in range(len(items)) if i not in done]
    if not rest:
        return [done[i] for i in range(len(items))]
    chunk = max(1, len(rest) // (jobs * 8))
    with _pool(min(jobs, len(rest))) as pool:
        computed = dict(zip(rest, pool.map(fn, [items[i] for i in rest], chunksize=chunk), strict=True))
    return [done[i] if i in done else computed[i] for i in range(len(items))]


def render_many(paths: Sequence[Path], env: str | None, *, jobs: int = 1) -> list[RenderResult]:
    """Load and render every file, in the order given, errors from all files reported together.

    With ``jobs`` > 1 the files are rendered in that many worker processes (rendering is CPU work in
    Python, so threads would not help): the results, and so the files written from them, are the same
    bytes as a serial run's. How the work is spread: :func:`per_file`."""
    outcomes = per_file(_render_one, [(Path(p), env) for p in paths], jobs)
    return collect_errors(lambda outcome: outcome.unwrap(), outcomes)


def per_file(fn: Callable[[Any], _Outcome], items: Sequence[tuple[Any, ...]], jobs: int) -> list[_Outcome]:
    """``fn(item)`` of every item, in order; an item's first element is a deploy.yaml's path. ``fn`` is a
    module-level function (it is sent to the workers by name) that loads and renders that file.

    With ``jobs`` > 1, in that many worker processes. One file of each target kind is done in this
    process first, so the forked workers share its imports, templates and model reads; the on-disk
    digest cache is shared by all of them. Azure ML files mixed with others are done by this process
    while the workers do the others (the SDK's import, ~1.4 s, is then paid once and not before the
    fork): ``_overlapped``."""
    jobs = max(1, min(jobs, len(items)))
    if jobs == 1:
        return [fn(item) for item in items]
    hints = _kind_hints([item[0] for item in items])
    heavy = [i for i, kind in enumerate(hints) if kind in _HEAVY_KINDS]
    if heavy and len(heavy) < len(items):
        return _overlapped(fn, items, hints, heavy, jobs)
    done = {i: fn(items[i]) for i in _first_of_each(hints, range(len(items))) or [0]}
    return _in_workers(fn, items, jobs, done)


def _chunk(fn: Callable[[Any], _Outcome], items: Sequence[Any]) -> list[_Outcome]:
    return [fn(item) for item in items]


def _overlapped(
    fn: Callable[[Any], _Outcome],
    items: Sequence[Any],
    hints: Sequence[bytes | None],
    heavy: Sequence[int],
    jobs: int,
) -> list[_Outcome]:
    """A monorepo mixing heavy kinds (``_HEAVY_KINDS``) with others, done so that the heavy kinds'
    warm-up is paid once, in this process, while the workers already do the other files.

    1. This process does the first file of each light kind, then forks ``jobs`` workers (which
       start with those imports, templates and models) and gives them every other light file.
    2. Meanwhile it does the heavy files itself (the first pays the SDK's import), one at a time
       until the workers are done.
    3. The heavy files left are shared between this process and ``jobs - 1`` workers forked now
       (after the first pool has ended, so no thread is running at the fork), which start with the
       SDK imported. Every file is done exactly once, by the same code as in a serial run."""
    import collections

    done: dict[int, _Outcome] = {}
    light = [i for i in range(len(items)) if i not in set(heavy)]
    for i in _first_of_each(hints, light) or light[:1]:
        done[i] = fn(items[i])
    rest = [i for i in light if i not in done]
    queue = collections.deque(heavy)
    if rest:
        with _pool(min(jobs, len(rest))) as pool:
            size = max(1, len(rest) // (jobs * 8))
            chunks = [rest[k : k + size] for k in range(0, len(rest), size)]
            futures = [pool.submit(_chunk, fn, [items[i] for i in chunk]) for chunk in chunks]
            while queue and not all(f.done() for f in futures):
                i = queue.popleft()
                done[i] = fn(items[i])
            for chunk, future in zip(chunks, futures, strict=True):
                done.update(zip(chunk, future.result(), strict=True))
    left = list(queue)
    if len(left) > 2 * jobs:  # else not worth a fork
        theirs, mine = left[: len(left) - len(left) // jobs], left[len(left) - len(left) // jobs :]
        with _pool(jobs - 1) as pool:
            size = max(1, len(theirs) // ((jobs - 1) * 4))
            chunks = [theirs[k : k + size] for k in range(0, len(theirs), size)]
            futures = [pool.submit(_chunk, fn, [items[i] for i in chunk]) for chunk in chunks]
            for i in mine:
                done[i] = fn(items[i])
            for chunk, future in zip(chunks, futures, strict=True):
                done.update(zip(chunk, future.result(), strict=True))
    else:
        for i in left:
            done[i] = fn(items[i])
    return [done[i] for i in range(len(items))]


def _pool(workers: int):
    """A pool of ``workers`` processes, forked where that is safe and cheap (Linux), else the
    platform's default start method."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def render_to(out: Path, paths: Sequence[Path], env: str | None, *, jobs: int = 1) -> list[tuple[str, int, list[str]]]:
    """Render every file and make ``out/<name>/`` hold it: (name, number of files, changed paths) per
    file, in the order given — ``render_many`` and rendering.write.write_trees in one, with the writing spread
    too: each process stages the trees of the files it rendered (temp files beside their targets,
    rendering.write.stage) as it goes, and this process commits them all at once (one durability
    barrier, then the renames). Nothing is renamed into place unless every file rendered and staged
    and no two files render the same deployment name; an interrupted run removes its temp files."""
    import secrets

    from modeldeploy.errors import SpecError
    from modeldeploy.rendering.write import commit, discard, sweep

    run = secrets.token_hex(4)
    try:
        outcomes = per_file(_render_stage_one, [(Path(p), env, Path(out), run) for p in paths], jobs)
    except BaseException:
        sweep(Path(out), run)
        raise
    staged = [o.value[2] for o in outcomes if o.error is None]
    try:
        done = collect_errors(lambda outcome: outcome.unwrap(), outcomes)
        names: dict[str, Path] = {}
        for p, (name, _, _) in zip(paths, done, strict=True):
            if name in names:
                raise SpecError(f"{p} and {names[name]} both render deployment {name!r}; names must be unique")
            names[name] = p
        commit(staged)
    except BaseException:
        discard(staged)
        raise
    return [(name, files, s.changed) for name, files, s in done]


def _render_stage_one(item: tuple[Path, str | None, Path, str]) -> _Outcome:
    from modeldeploy import api
    from modeldeploy.rendering.write import stage

    path, env, out, run = item

    def one(p: Path) -> tuple[str, int, Any]:
        result = api.render(api.load(p, env))
        return result.name, len(result.artifacts), stage(out / result.name, result.artifacts, run=run)

    return capture(one, path)


def _outcomes(fn, items) -> list[_Outcome]:
    return [capture(fn, item) for item in items]


def _outcomes_concurrently(fn, items, parallelism: int) -> list[_Outcome]:
    from concurrent.futures import ThreadPoolExecutor

    items = list(items)
    if len(items) <= 1 or parallelism <= 1:
        return _outcomes(fn, items)
    with ThreadPoolExecutor(max_workers=min(parallelism, len(items)), thread_name_prefix="modeldeploy-plan") as pool:
        futures = [pool.submit(capture, fn, item) for item in items]
        return [f.result() for f in futures]


class _Outcome:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def unwrap(self):
        if self.error is not None:
            raise self.error
        return self.value


def capture(fn, item) -> _Outcome:
    """``fn(item)``'s value, or the ModelDeployError it raised, as one picklable outcome (a worker's
    errors travel back to be reported with every other file's, in file order)."""
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
    plan_path: Path,
    saved: SavedPlan,
    plans: Sequence[Planned],
    apply_all: Callable[[Sequence[Planned]], dict[str, str]],
) -> dict[str, str]:
    """Apply a saved plan's fresh ``plans`` with ``apply_all`` while the plan file is marked as being
    applied, then record it as applied (with the outputs) so it cannot be applied twice."""
    from modeldeploy.planning.planfile import applying, mark_applied

    with applying(plan_path, saved.plan_id):
        outputs = apply_all(plans)
        mark_applied(plan_path, saved.plan_id, result=outputs)
    return outputs
