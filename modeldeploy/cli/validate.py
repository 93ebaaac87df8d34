from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import collect, err, expand_files, handled, one_file_without_gc

EPILOG = """Without --env the base and every environment overlay are checked. Exit 0 valid, 1 invalid,
3 signature policy violation (e.g. signature.required and the model has none).

  modeldeploy validate deploy.yaml

  modeldeploy validate services/ --env prod"""


def validate(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    env: str | None = typer.Option(None, "--env", "-e", help="Validate only this environment overlay."),
    offline: bool = typer.Option(False, "--offline", help="Check the file only; do not resolve or read the model."),
) -> None:
    """Check deploy.yaml files: schema, overlays, the model, and the signature policy."""
    with handled():
        paths = expand_files(files)
        one_file_without_gc(paths)
        from modeldeploy.cli.checks import validate_file

        results = collect(lambda p: validate_file(p, env, offline=offline), paths)
        for lines in results:
            for line in lines:
                err(line)
