from __future__ import annotations

import re
import sys
from pathlib import Path

import typer

from modeldeploy.cli.common import err, expand_files, handled

EPILOG = """With deploy.yaml files: plans, shows the plan, asks for confirmation (or --auto-approve; a
non-interactive run without it is refused). With a saved plan (from plan --out): re-checks that
nothing changed since it was made, refuses a stale or already-applied plan, then applies it.

  modeldeploy apply deploy.yaml --env prod --auto-approve

  modeldeploy apply prod.plan.json --timeout 45m"""

DESTROY_EPILOG = """Removes everything modeldeploy created for the deployment (found by its labels/tags) and
nothing else. Against a folder, removes DIR/<name>/.

  modeldeploy destroy deploy.yaml --env staging --auto-approve"""


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", text)
    if not text.strip() or not m or not any(m.groups()):
        from modeldeploy.errors import ModelDeployError

        raise ModelDeployError(f"--timeout {text!r}: use a duration such as 900, 900s, 30m or 1h30m")
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float(h * 3600 + mi * 60 + s)


def _looks_like_plan(paths: list[Path]) -> bool:
    if len(paths) != 1 or not paths[0].is_file():
        return False
    try:
        with paths[0].open("rb") as f:
            return f.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def _confirm(question: str, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        from modeldeploy.errors import ModelDeployError

        raise ModelDeployError(
            "refusing to apply without confirmation in a non-interactive shell",
            hint="review the plan, then pass --auto-approve (or apply a saved plan from 'plan --out')",
        )
    if not typer.confirm(question, default=False):
        err("apply cancelled; nothing was changed")
        raise typer.Exit(1)


def apply(
    files: list[Path] = typer.Argument(
        ..., readable=False, help="deploy.yaml files (or folders), or one saved plan file."
    ),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    against: str | None = typer.Option(None, "--against", "-a", help="DIR or live (default as for plan)."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    timeout: str = typer.Option("30m", "--timeout", help="How long to wait for readiness, e.g. 900s, 30m."),
    allow_breaking: bool = typer.Option(False, "--allow-breaking", help="Apply despite breaking signature changes."),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context (kubernetes target)."),
    rollback_on_failure: bool = typer.Option(
        False, "--rollback-on-failure", help="Roll back a failed rollout (kubernetes)."
    ),
    lease_seconds: float = typer.Option(
        300.0, "--lease-seconds", help="Lease duration (renewed while applying); 0 disables the lease."
    ),
    steal_lease: bool = typer.Option(False, "--steal-lease", help="Take over a lease whose holder let it expire."),
    lease_wait: float = typer.Option(
        0.0, "--lease-wait", help="Seconds to wait for another run's lease (0: stop at once, naming its holder)."
    ),
    eval_python: str | None = typer.Option(
        None,
        "--eval-python",
        help="Python with mlflow and the model's requirements that scores it for the evaluation gate.",
    ),
    rai_dashboard: bool = typer.Option(
        False, "--rai-dashboard", help="azureml: also submit the Responsible AI dashboard job and wait for it."
    ),
) -> None:
    """Make the deployment match deploy.yaml (or a saved plan) and wait until it is ready."""
    with handled():
        from modeldeploy import runs
        from modeldeploy.api import enforce_policy
        from modeldeploy.cli.planning import print_plans
        from modeldeploy.lease import LeaseSettings

        lease = LeaseSettings(seconds=max(lease_seconds, 0.0), steal=steal_lease, wait=max(lease_wait, 0.0))
        seconds = parse_duration(timeout)
        opts = dict(context=context, timeout=seconds, rollback_on_failure=rollback_on_failure)
        if eval_python:
            opts["eval_python"] = eval_python
        if rai_dashboard:
            opts["rai_dashboard"] = True
        saved = None
        if _looks_like_plan(files):
            saved, plans = runs.replan_saved(files[0], **opts)
        else:
            plans = runs.plan_many(expand_files(files), env, against, allow_breaking=allow_breaking, **opts)
            print_plans([p for p, _, _ in plans], "text")
        enforce_policy([p for p, _, _ in plans])
        if not any(p.has_changes for p, _, _ in plans) and not any(p.against.startswith("dir:") for p, _, _ in plans):
            _clear_stale_leases(plans, lease)
            err("No changes. The deployment matches deploy.yaml.")
            return
        from modeldeploy import interrupt

        if saved is None:
            _confirm("Apply these changes?", auto_approve)
            with interrupt.deferred():
                _apply_all(plans, lease)
        else:
            with interrupt.deferred():
                runs.apply_saved(files[0], saved, plans, lambda planned: _apply_all(planned, lease))
        err(f"Apply complete: {len(plans)} deployment(s).")


def _clear_stale_leases(plans, lease) -> None:
    """A converged re-run clears what a killed run left: its lease, when that run is provably gone or
    its lease expired (and says so)."""
    from modeldeploy import applier
    from modeldeploy.progress import for_stream

    progress = for_stream(sys.stderr)
    for p, dep, _ in plans:
        applier.clear_stale_lease(dep, p, options=p.options, settings=lease, progress=progress)


def _apply_all(plans, lease) -> dict[str, str]:
    from modeldeploy import applier
    from modeldeploy.progress import for_stream

    progress = for_stream(sys.stderr)
    outputs: dict[str, str] = {}
    finished: list[str] = []
    for p, dep, result in plans:
        try:
            outcome = applier.apply(dep, p, result=result, progress=progress, lease=lease)
        except KeyboardInterrupt as exc:
            # Each target leaves every object it touched either in its old or its new state; say
            # exactly how far this run got so the next plan/apply can be read against it.
            signame = "SIGTERM" if getattr(exc, "exit_code", 130) == 143 else "SIGINT"
            err(f"{signame}: stopped while applying {dep.name}; completed deployments: {', '.join(finished) or 'none'}")
            done = [e for e in progress.events if e.startswith("✓")]
            for line in done:
                err(f"  done: {line[2:]}")
            pending = [q for q, d, _ in plans if d.name != dep.name and d.name not in finished]
            applied = [line[2:] for line in done]
            for change in p.changes:
                named = re.compile(rf"(?<![\w/.-]){re.escape(change.name)}(?![\w/.-])")
                if change.action.value != "no-op" and not any(named.search(line) for line in applied):
                    err(f"  may remain: {change.action.value} {change.address}")
            for q in pending:
                err(f"  not started: {q.name}")
            err("the lease was released; run 'modeldeploy plan' to see what remains, apply again to finish")
            raise
        finished.append(dep.name)
        for key, value in sorted(outcome.outputs.items()):
            err(f"{dep.name}: {key} = {value}")
            outputs[f"{dep.name}.{key}"] = value
    return outputs


def destroy(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    against: str | None = typer.Option(None, "--against", "-a", help="DIR or live (default as for plan)."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context (kubernetes target)."),
    lease_seconds: float = typer.Option(
        300.0, "--lease-seconds", help="Lease duration (renewed while destroying); 0 disables the lease."
    ),
    steal_lease: bool = typer.Option(False, "--steal-lease", help="Take over a lease whose holder let it expire."),
    lease_wait: float = typer.Option(
        0.0, "--lease-wait", help="Seconds to wait for another run's lease (0: stop at once, naming its holder)."
    ),
) -> None:
    """Remove everything modeldeploy created for these deployments, and nothing else."""
    with handled():
        from modeldeploy import api, applier
        from modeldeploy.cli.common import collect
        from modeldeploy.cli.planning import options
        from modeldeploy.lease import LeaseSettings
        from modeldeploy.progress import for_stream

        deps = collect(lambda p: api.load(p, env), expand_files(files))
        names = ", ".join(d.name + (f" [{d.loaded.env}]" if d.loaded.env else "") for d in deps)
        _confirm(f"Destroy {names}?", auto_approve)
        from modeldeploy import interrupt

        progress = for_stream(sys.stderr)
        with interrupt.deferred():
            for dep in deps:
                applier.destroy(
                    dep,
                    against=against,
                    progress=progress,
                    options=options(context=context),
                    lease=LeaseSettings(seconds=max(lease_seconds, 0.0), steal=steal_lease, wait=max(lease_wait, 0.0)),
                )
        err(f"Destroy complete: {len(deps)} deployment(s).")
