from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import collect, err, expand_files, handled

EPILOG = """Writes OUT/<name>/... for each deployment; files no longer rendered are removed from
OUT/<name>/ and nothing else is touched. Output is byte-identical across runs and machines.

  modeldeploy render deploy.yaml -o deploy/rendered

  modeldeploy render services/ --env prod -o out/"""


def render(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write OUT/<name>/ into."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
) -> None:
    """Render deployment artifacts (Dockerfile, manifests, request bodies, specs) to a folder."""
    with handled():
        from modeldeploy import api
        from modeldeploy.errors import SpecError
        from modeldeploy.rendering.write import write_tree

        paths = expand_files(files)
        results = collect(lambda p: api.render(api.load(p, env)), paths)
        names: dict[str, Path] = {}
        for p, r in zip(paths, results, strict=False):
            if r.name in names:
                raise SpecError(f"{p} and {names[r.name]} both render deployment {r.name!r}; names must be unique")
            names[r.name] = p
        for r in results:
            changed = write_tree(out / r.name, r.artifacts)
            err(f"{out / r.name}: {len(r.artifacts)} files ({len(changed)} changed)")
