from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import expand_files, handled

EPILOG = """--against: DIR (a folder of rendered files, e.g. deploy/rendered committed for Argo CD/Flux),
git:REF (the same deploy.yaml and model as of a git ref, rendered in memory: no credentials
needed), or live (the target's real state, read-only). Default: live for cloud targets,
deploy/rendered for docker.

Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes present
(--detailed-exitcode), 3 breaking signature change under the policy, or the evaluation gate
(evaluation: in deploy.yaml) fails with a finding that is not waived.

  modeldeploy plan deploy.yaml --against git:origin/main --format markdown > plan.md

  modeldeploy plan deploy.yaml --env prod --out prod.plan.json --detailed-exitcode

  modeldeploy plan services/ --against git:origin/main --jobs 4"""


def plan(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    against: str | None = typer.Option(None, "--against", "-a", help="DIR, git:REF or live."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | markdown | json"),
    out: Path | None = typer.Option(None, "--out", help="Save the plan for 'modeldeploy apply PLANFILE'."),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help="Exit 2 when there are changes."),
    show_unchanged: bool = typer.Option(False, "--show-unchanged", help="List resources without changes too."),
    allow_breaking: bool = typer.Option(
        False, "--allow-breaking", help="Do not fail on breaking signature changes (recorded in the plan)."
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context (kubernetes target)."),
    parallelism: int = typer.Option(8, "--parallelism", min=1, max=64, help="Concurrent reads of live state."),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        help="Worker processes for a folder or git:REF plan of many files (default: the CPUs available; 1 plans in this process).",
    ),
    eval_python: str | None = typer.Option(
        None,
        "--eval-python",
        help="Python with mlflow and the model's requirements that scores it for the evaluation gate.",
    ),
) -> None:
    """Show what would change, against a folder, a git ref, or live state."""
    if jobs is not None and jobs < 1:  # a usage error (exit 1, one line), as typer's own range check
        raise typer.BadParameter(f"{jobs} is not at least 1.", param_hint="'--jobs'")
    with handled():
        from modeldeploy.cli.planning import print_plans, save
        from modeldeploy.runs import available_cpus, plan_many

        if fmt not in {"text", "markdown", "json"}:
            from modeldeploy.errors import ModelDeployError

            raise ModelDeployError(f"--format must be text, markdown or json, not {fmt!r}")
        paths = expand_files(files)
        extra = {"eval_python": eval_python} if eval_python else {}
        plans = plan_many(
            paths,
            env,
            against,
            allow_breaking=allow_breaking,
            jobs=jobs or available_cpus(),
            plans_only=out is None,  # only printed: the workers send back the plans alone
            context=context,
            parallelism=parallelism,
            **extra,
        )
        print_plans([p for p, _, _ in plans], fmt, show_unchanged=show_unchanged)
        if out is not None:
            save(out, plans)
        from modeldeploy.errors import EXIT_CHANGES, EXIT_POLICY

        if any(p.breaking for p, _, _ in plans) and not allow_breaking:
            raise typer.Exit(EXIT_POLICY)
        if any(p.evaluation_failing for p, _, _ in plans):
            raise typer.Exit(EXIT_POLICY)
        if detailed_exitcode and any(p.has_changes for p, _, _ in plans):
            raise typer.Exit(EXIT_CHANGES)
