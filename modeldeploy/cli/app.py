"""The modeldeploy command line. Handlers are thin: they parse flags, call modeldeploy.api, print.

A run pays only for the command it runs: the commands are registered by name (``COMMANDS``) and a
command's module is imported, and its click command built, when that command is invoked. ``--help``
and completing a command name read the short help kept here, so they import no command module
(tests/cli/test_lazy_cli.py checks that this table says what each command's docstring says). Heavy
modules (targets, SDKs, the model reader) are imported inside the commands that need them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from importlib import import_module
from typing import Any

import typer

# typer's own copy of click (typer 0.26 on; pyproject.toml requires 0.29): the exceptions its commands raise.
from typer._click import exceptions as _cx

from modeldeploy import __version__
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
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
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

# name: (module in modeldeploy.cli, its function, the epilog's name in that module, the short help),
# in the order --help lists them. The short help is the first paragraph of the function's docstring.
COMMANDS: dict[str, tuple[str, str, str | None, str]] = {
    "validate": (
        "validate",
        "validate",
        "EPILOG",
        "Check deploy.yaml files: schema, overlays, the model, and the signature policy.",
    ),
    "render": (
        "render",
        "render",
        "EPILOG",
        "Render deployment artifacts (Dockerfile, manifests, request bodies, specs) to a folder.",
    ),
    "build": (
        "build",
        "build",
        "EPILOG",
        "Build (and push) the serving image each deployment with target.registry needs.",
    ),
    "inspect": ("inspect", "inspect", "EPILOG", "Show a model's facts: flavors, Python, requirements and signature."),
    "schema": (
        "schema",
        "schema",
        None,
        "Print the JSON Schema of deploy.yaml (the same as schemas/deploy.schema.json).",
    ),
    "init": ("init", "init", "EPILOG", "Scaffold a deploy.yaml for a model folder."),
    "plan": ("plan", "plan", "EPILOG", "Show what would change, against a folder, a git ref, or live state."),
    "apply": (
        "apply",
        "apply",
        "EPILOG",
        "Make the deployment match deploy.yaml (or a saved plan) and wait until it is ready.",
    ),
    "destroy": (
        "apply",
        "destroy",
        "DESTROY_EPILOG",
        "Remove everything modeldeploy created for these deployments, and nothing else.",
    ),
    "serve": (
        "serve",
        "serve",
        "EPILOG",
        "Build the image and serve the model locally in the foreground (docker target).",
    ),
    "evaluate": (
        "evaluate",
        "evaluate",
        "EPILOG",
        "Evaluate the model on held-out rows: metrics, error cohorts, fairness, baseline (exit 3 on failure).",
    ),
    "signature": ("signature", "app", None, "Compare model signatures (compatibility check)."),
}


def _build(name: str) -> Any:
    """The click command of one entry of COMMANDS, its module imported now."""
    from typer.main import get_command_from_info, get_group_from_info
    from typer.models import CommandInfo, TyperInfo

    module_name, attr, epilog_name, short = COMMANDS[name]
    module = import_module(f"modeldeploy.cli.{module_name}")
    if name == "signature":
        sub = module.app
        sub.info.cls = Group
        for info in sub.registered_commands:
            info.cls = Command
            if not info.epilog and info.name in _SIGNATURE_EPILOGS:
                info.epilog = _SIGNATURE_EPILOGS[info.name]
        return get_group_from_info(
            TyperInfo(sub, name=name, help=short),
            pretty_exceptions_short=app.pretty_exceptions_short,
            suggest_commands=app.suggest_commands,
            rich_markup_mode=None,
        )
    epilog = SCHEMA_EPILOG if name == "schema" else getattr(module, epilog_name or "", None)
    info = CommandInfo(name=name, cls=Command, epilog=epilog, callback=getattr(module, attr))
    return get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=None)


class LazyCommands(MutableMapping[str, Any]):
    """A group's ``commands``: every name is known up front; a command is built on first access.
    Listing names (iteration, ``in``, ``len``) builds nothing."""

    def __init__(self, names: Sequence[str], build: Callable[[str], Any]) -> None:
        self._names = list(names)
        self._build = build
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = self._build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


class _Placeholder:
    """What --help and name completion need of a command not built yet: its short help."""

    hidden = False

    def __init__(self, name: str, help_: str) -> None:
        self.name = name
        self.help = help_

    def get_short_help_str(self, limit: int = 45) -> str:
        from typer._click.utils import make_default_short_help  # what click's Command does

        return str(make_default_short_help(self.help, limit))


class LazyGroup(UsageExitGroup):
    """The root group: COMMANDS, each imported only when it runs (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(list(COMMANDS), _build)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands = self.commands
        if (
            self._listing
            and isinstance(commands, LazyCommands)
            and cmd_name in COMMANDS
            and cmd_name not in commands._built
        ):
            return _Placeholder(cmd_name, COMMANDS[cmd_name][3])
        return commands.get(cmd_name)

    @contextmanager
    def _names_only(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with self._names_only():
            super().format_commands(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        with self._names_only():  # command names and their short help; options as usual
            return list(super().shell_complete(ctx, incomplete))


app = typer.Typer(
    cls=LazyGroup,
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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """modeldeploy: validate, render, plan and apply model deployments."""


#: True in the console script's process (and ``python -m modeldeploy``), which exits when its one
#: command returns; False where a program runs commands and goes on (``CliRunner`` in tests).
OWN_PROCESS = False


def main() -> None:
    global OWN_PROCESS
    OWN_PROCESS = True
    app()
