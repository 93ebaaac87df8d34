"""The modeldeploy command line. Handlers are thin: they parse flags, call modeldeploy.api, print.

Heavy modules (targets, SDKs, the model reader) are imported inside the commands that need them, so
`modeldeploy --help` and `validate` start about as fast as Python imports typer and pydantic.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

try:  # typer vendors click from 0.2x on; older ones use click itself
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover
    from click import exceptions as _cx  # type: ignore[no-redef]

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
from modeldeploy.cli.helpfmt import Command, Group

EPILOG = """Examples:

  modeldeploy init ./model --target docker > deploy.yaml

  modeldeploy validate deploy.yaml --env prod

  modeldeploy render deploy.yaml -o deploy/rendered

  modeldeploy plan deploy.yaml --against git:origin/main --format markdown

  modeldeploy apply deploy.yaml --env prod --auto-approve

Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode), 3 policy violation (signature policy, evaluation gate)."""

class UsageExitGroup(Group):
    """The one place usage errors get their exit code: 1, as Terraform's, because 2 means "changes
    present" (plan --detailed-exitcode) and a CI step must never read a typo as success.

    click exits 2 on a usage error (an unknown option, a missing argument, a bad value) and prints a
    usage block; here every usage error of every command and subcommand prints one line
    (``error: <what> (see 'modeldeploy plan --help') [MD001]``) and exits 1."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                windows_expand_args=windows_expand_args, **extra,
            )
        except _cx.NoArgsIsHelpError as exc:  # `modeldeploy` or `modeldeploy signature` alone
            print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
            return _finish(EXIT_USAGE, standalone_mode)
        except _cx.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "modeldeploy"
            message = " ".join(exc.format_message().split())  # one line, whatever click wrote
            print(f"error: {message} (see '{where} --help') [MD001]", file=sys.stderr)
            return _finish(EXIT_USAGE, standalone_mode)
        except _cx.ClickException as exc:
            print(f"error: {' '.join(exc.format_message().split())} [MD001]", file=sys.stderr)
            return _finish(EXIT_USAGE, standalone_mode)
        except typer.Abort:
            print("error: aborted", file=sys.stderr)
            return _finish(EXIT_USAGE, standalone_mode)
        # Not standalone, click returns the code of a typer.Exit, or the command's own return (None).
        return _finish(rv if isinstance(rv, int) else 0, standalone_mode)


EXIT_USAGE = 1


def _finish(code: int, standalone_mode: bool) -> int:
    if standalone_mode:
        sys.exit(code)
    return code


SCHEMA_EPILOG = """Editors that read '# yaml-language-server: $schema=' (VS Code with the YAML extension)
complete and check deploy.yaml with it; modeldeploy init writes that line.

  modeldeploy schema > schemas/deploy.schema.json"""

# Examples for the signature subcommands that have none of their own.
_SIGNATURE_EPILOGS = {
    "show": """  modeldeploy signature show ./model

  modeldeploy signature show models:/iris@champion --format json""",
    "rules": """  modeldeploy signature rules

  modeldeploy signature rules --format markdown > docs/signature-rules.md""",
}

app = typer.Typer(
    cls=UsageExitGroup,
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


app.command("validate", epilog=validate_cmd.EPILOG, cls=Command)(validate_cmd.validate)
app.command("render", epilog=render_cmd.EPILOG, cls=Command)(render_cmd.render)
app.command("build", epilog=build_cmd.EPILOG, cls=Command)(build_cmd.build)
app.command("inspect", epilog=inspect_cmd.EPILOG, cls=Command)(inspect_cmd.inspect)
app.command("schema", epilog=SCHEMA_EPILOG, cls=Command)(schema_cmd.schema)
app.command("init", epilog=init_cmd.EPILOG, cls=Command)(init_cmd.init)
app.command("plan", epilog=plan_cmd.EPILOG, cls=Command)(plan_cmd.plan)
app.command("apply", epilog=apply_cmd.EPILOG, cls=Command)(apply_cmd.apply)
app.command("destroy", epilog=apply_cmd.DESTROY_EPILOG, cls=Command)(apply_cmd.destroy)
app.command("evaluate", epilog=evaluate_cmd.EPILOG, cls=Command)(evaluate_cmd.evaluate)


def _signature_app() -> None:
    from modeldeploy.cli import signature

    signature.app.info.cls = Group
    for info in signature.app.registered_commands:
        info.cls = Command
        if not info.epilog and info.name in _SIGNATURE_EPILOGS:
            info.epilog = _SIGNATURE_EPILOGS[info.name]
    app.add_typer(signature.app, name="signature", help="Compare model signatures (compatibility check).")


_signature_app()


def main() -> None:
    app()
