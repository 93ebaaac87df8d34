from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import collect, err, expand_files, handled

EPILOG = """Builds the serving image of every deployment whose target sets registry (kubernetes,
sagemaker), tagged REGISTRY/NAME:<digest of the build context> exactly as the render references it.
With --push the image is pushed, and skipped when the registry already has that tag.
Registry credentials come from 'docker login' (ECR: from your AWS credentials).

  modeldeploy build deploy.yaml --push

  modeldeploy build services/ --env prod --push"""


def build(
    files: list[Path] = typer.Argument(..., readable=False, help="deploy.yaml files, or folders to search for them."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    push: bool = typer.Option(False, "--push", help="Push the image (skipped when the registry has the tag)."),
) -> None:
    """Build (and push) the serving image each deployment with target.registry needs."""
    with handled():
        from modeldeploy import api
        from modeldeploy.progress import Progress

        paths = expand_files(files)
        deps = collect(lambda p: api.load(p, env), paths)
        progress = Progress()
        for p, dep in zip(paths, deps, strict=False):
            got = api.build_image(dep, push=push, progress=progress)
            if got is None:
                err(f"{p}: {dep.name}: no image to build (target.registry is not set)")
                continue
            ref, what = got
            progress.done(f"{dep.name}: {ref} {what}")
            print(ref)
