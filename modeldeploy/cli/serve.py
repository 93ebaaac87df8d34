from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import handled

EPILOG = """Builds the deployment's image and runs it in the foreground with its logs streamed, like
'mlflow models serve'. Ctrl-C (or SIGTERM) stops and removes the container. serving.secrets are read
from this shell's environment and passed to the container (never written anywhere).

  modeldeploy serve deploy.yaml --port 5000

  API_TOKEN=... modeldeploy serve deploy.yaml --env staging"""


def serve(
    file: Path = typer.Argument(..., help="deploy.yaml of a docker-target deployment."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    port: int | None = typer.Option(
        None, "--port", "-p", min=1, max=65535, help="Host port (default: target.run.port, else 8080)."
    ),
) -> None:
    """Build the image and serve the model locally in the foreground (docker target)."""
    with handled():
        from modeldeploy import api
        from modeldeploy.errors import PlanError
        from modeldeploy.progress import for_stream
        from modeldeploy.targets.docker import lifecycle
        from modeldeploy.targets.docker.target import image_reference

        dep = api.load(file, env)
        if dep.spec.target.kind != "docker":
            raise PlanError(
                f"serve runs docker-target deployments; {file} has target.kind {dep.spec.target.kind}",
                hint="render it with the docker target, or use apply for this target",
            )
        result = api.render(dep)
        ctx = dep.context()
        code = lifecycle.serve(ctx, list(result.artifacts), image_reference(ctx), for_stream(), port=port)
        raise typer.Exit(code)
