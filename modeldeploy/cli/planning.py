"""Plan/apply plumbing shared by the plan, apply and destroy commands."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

from modeldeploy.cli.common import collect
from modeldeploy.planning.model import Plan
from modeldeploy.targets.base import ObserveOptions


def options(context: str | None = None, parallelism: int = 8, timeout: float = 1800.0, **extra) -> ObserveOptions:
    return ObserveOptions(context=context, parallelism=parallelism, timeout_seconds=timeout, extra=extra)


def make_plans(paths: Sequence[Path], env: str | None, against: str | None, *, allow_breaking: bool = False, **opts):
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

    return collect(lambda outcome: outcome.unwrap(), run(one, list(zip(paths, loaded, strict=False))))


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
    from modeldeploy.errors import ModelDeployError

    try:
        return _Outcome(value=fn(item))
    except ModelDeployError as exc:
        return _Outcome(error=exc)


def print_plans(plans: Sequence[Plan], fmt: str, *, show_unchanged: bool = False) -> None:
    from modeldeploy.planning import printers

    if fmt == "json":
        text = printers.format_json(plans)
    elif fmt == "markdown":
        text = printers.format_markdown(plans)
    else:
        text = printers.format_text(plans, color=sys.stdout.isatty(), show_unchanged=show_unchanged)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def inputs_of(plans) -> dict[str, str]:
    """What a saved plan was computed from: each deploy.yaml's bytes and each model's digest."""
    out: dict[str, str] = {}
    for p, dep, _ in plans:
        out[f"file:{p.source}"] = "sha256:" + hashlib.sha256(Path(p.source).read_bytes()).hexdigest()
        out[f"model:{p.name}"] = dep.ref.digest
    return out


def save(path: Path, plans) -> str:
    from modeldeploy.cli.common import err
    from modeldeploy.planning.planfile import save_plan

    plan_id = save_plan(path, [p for p, _, _ in plans], inputs=inputs_of(plans))
    err(f"saved plan {plan_id[:12]} to {path}; apply it with: modeldeploy apply {path}")
    return plan_id
