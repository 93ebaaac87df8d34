from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import collect, err, expand_files, handled, one_file_without_gc

EPILOG = """Without --env the base and every environment overlay are checked. Exit 0 valid, 1 invalid,
3 signature policy violation (e.g. signature.required and the model has none).

  modeldeploy validate deploy.yaml

  modeldeploy validate services/ --env prod --jobs 4"""


def validate(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    env: str | None = typer.Option(None, "--env", "-e", help="Validate only this environment overlay."),
    offline: bool = typer.Option(False, "--offline", help="Check the file only; do not resolve or read the model."),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        help="Worker processes for several files (default: the CPUs available to this process; 1 checks in this process).",
    ),
) -> None:
    """Check deploy.yaml files: schema, overlays, the model, and the signature policy."""
    if jobs is not None and jobs < 1:  # a usage error (exit 1, one line), as typer's own range check
        raise typer.BadParameter(f"{jobs} is not at least 1.", param_hint="'--jobs'")
    with handled():
        paths = expand_files(files)
        one_file_without_gc(paths)
        from modeldeploy.cli.checks import validate_file

        if len(paths) == 1 or jobs == 1:
            results = collect(lambda p: validate_file(p, env, offline=offline), paths)
        else:
            from modeldeploy import runs
            from modeldeploy.cli.checks import validate_one

            outcomes = runs.per_file(validate_one, [(p, env, offline) for p in paths], jobs or runs.available_cpus())
            results = collect(lambda outcome: outcome.unwrap(), outcomes)
        for lines in results:
            for line in lines:
                err(line)
