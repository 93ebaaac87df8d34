from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import err, expand_files, handled, one_file_without_gc

EPILOG = """Writes OUT/<name>/... for each deployment; files no longer rendered are removed from
OUT/<name>/ and nothing else is touched. Output is byte-identical across runs and machines.

  modeldeploy render deploy.yaml -o deploy/rendered

  modeldeploy render services/ --env prod -o out/ --jobs 4"""


def render(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write OUT/<name>/ into."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        help="Worker processes (default: the CPUs available to this process; 1 renders in this process).",
    ),
) -> None:
    """Render deployment artifacts (Dockerfile, manifests, request bodies, specs) to a folder."""
    if jobs is not None and jobs < 1:  # a usage error (exit 1, one line), as typer's own range check
        raise typer.BadParameter(f"{jobs} is not at least 1.", param_hint="'--jobs'")
    with handled():
        paths = expand_files(files)
        one_file_without_gc(paths)
        from modeldeploy import runs

        for name, count, changed in runs.render_to(out, paths, env, jobs=jobs or runs.available_cpus()):
            err(f"{out / name}: {count} files ({len(changed)} changed)")
