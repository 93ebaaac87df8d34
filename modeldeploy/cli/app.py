"""The modeldeploy command line. Handlers are thin: they parse flags, call modeldeploy.api, print.

Heavy modules (targets, SDKs, the model reader) are imported inside the commands that need them, so
`modeldeploy --help` and `validate` start about as fast as Python imports typer and pydantic.
"""

from __future__ import annotations

import typer

from modeldeploy import __version__
from modeldeploy.cli import apply as apply_cmd
from modeldeploy.cli import build as build_cmd
from modeldeploy.cli import evaluate as evaluate_cmd
from modeldeploy.cli import init as init_cmd
from modeldeploy.cli import inspect as inspect_cmd
from modeldeploy.cli import plan as plan_cmd
from modeldeploy.cli import render as render_cmd
from modeldeploy.cli import schema as schema_cmd
from modeldeploy.cli import validate as validate_cmd

EPILOG = """Examples:

  modeldeploy init ./model --target docker > deploy.yaml

  modeldeploy validate deploy.yaml --env prod

  modeldeploy render deploy.yaml -o deploy/rendered

  modeldeploy plan deploy.yaml --against git:origin/main --format markdown

  modeldeploy apply deploy.yaml --env prod --auto-approve

Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode), 3 policy violation (signature policy, evaluation gate)."""

app = typer.Typer(
    name="modeldeploy",
    help="Turn one reviewed deploy.yaml into a running MLflow model endpoint (Docker, Kubernetes/KServe, SageMaker, Azure ML).",
    epilog=EPILOG,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"modeldeploy {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """modeldeploy: validate, render, plan and apply model deployments."""


app.command("validate", epilog=validate_cmd.EPILOG)(validate_cmd.validate)
app.command("render", epilog=render_cmd.EPILOG)(render_cmd.render)
app.command("build", epilog=build_cmd.EPILOG)(build_cmd.build)
app.command("inspect", epilog=inspect_cmd.EPILOG)(inspect_cmd.inspect)
app.command("schema")(schema_cmd.schema)
app.command("init", epilog=init_cmd.EPILOG)(init_cmd.init)
app.command("plan", epilog=plan_cmd.EPILOG)(plan_cmd.plan)
app.command("apply", epilog=apply_cmd.EPILOG)(apply_cmd.apply)
app.command("destroy", epilog=apply_cmd.DESTROY_EPILOG)(apply_cmd.destroy)
app.command("evaluate", epilog=evaluate_cmd.EPILOG)(evaluate_cmd.evaluate)


def _signature_app() -> None:
    from modeldeploy.cli import signature

    app.add_typer(signature.app, name="signature", help="Compare model signatures (compatibility check).")


_signature_app()


def main() -> None:
    app()
