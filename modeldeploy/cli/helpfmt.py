"""What every command's --help and shell completion share, applied in one place (app.py passes
``cls=Command`` to each command), so the command modules keep only their own flags.

- Placeholders are words a person reads (``--env ENV``, ``FILE...``), never internal types such as
  ``<str>`` or ``{files}...``.
- Example lines in an epilog (lines starting with ``modeldeploy``) are never re-wrapped: at 80
  columns a wrapped example would break in the middle of a flag.
- Options whose help lists their values (``--format``: ``text | markdown | json``) complete them; ``--env`` offers the
  environment names of the deploy.yaml files already on the command line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.core import TyperCommand, TyperGroup

from modeldeploy.cli import fastparams

# Placeholders by parameter name (the destination name typer gives it); anything else: NAME upper-cased.
_METAVARS = {
    "files": "FILE",
    "file": "FILE",
    "out": "PATH",
    "output": "PATH",
    "model_dir": "MODEL_DIR",
    "parallelism": "N",
    "jobs": "N",
    "fmt": "FORMAT",
    "against": "WHERE",
    "timeout": "DURATION",
    "lease_seconds": "SECONDS",
}
# An option whose help starts "a | b | c" takes one of those words (the command checks it too).
_CHOICE_HELP = re.compile(r"^\s*([\w-]+(?: \| [\w-]+)+)")


def choices(param: Any) -> list[str]:
    m = _CHOICE_HELP.match(getattr(param, "help", None) or "")
    return m.group(1).split(" | ") if m else []


def _complete_words(words: list[str]) -> Callable[[Any, Any, str], list[str]]:
    def complete(ctx: Any, param: Any, incomplete: str) -> list[str]:
        return [v for v in words if v.startswith(incomplete)]

    return complete


def environment_names(files: Any) -> list[str]:
    """The environments defined in these deploy.yaml files (or folders' deploy.yaml), for completion.
    Unreadable or invalid files simply offer nothing: completion must never print an error."""
    import yaml

    names: set[str] = set()
    for f in files or ():
        path = Path(f)
        if path.is_dir():
            path = path / "deploy.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except Exception:
            continue
        envs = data.get("environments") if isinstance(data, dict) else None
        if isinstance(envs, dict):
            names.update(str(k) for k in envs)
    return sorted(names)


def _complete_env(ctx: Any, param: Any, incomplete: str) -> list[str]:
    files = ctx.params.get("files") or ([ctx.params["file"]] if ctx.params.get("file") else [])
    if not files:
        files = [a for a in ctx.args if a.endswith((".yaml", ".yml"))] or ["deploy.yaml"]
    return [n for n in environment_names(files) if n.startswith(incomplete)]


def _is_option(p: Any) -> bool:
    return getattr(p, "param_type_name", "") == "option"


def _tidy(params: list[Any]) -> None:
    """Readable placeholders and completions on typer's parameters (typer carries its own copy of
    click, so these are recognised by duck type, not by isinstance), and cheap coercion of plain
    values (fastparams)."""
    fastparams.install(params)
    for p in params:
        name = p.name or ""
        if _is_option(p) and (p.is_flag or p.count):
            continue
        word = _METAVARS.get(name, name.upper())
        p.metavar = word
        if _is_option(p):
            if name == "env":
                p._custom_shell_complete = _complete_env
            elif (words := choices(p)) and p._custom_shell_complete is None:
                p._custom_shell_complete = _complete_words(words)
        else:
            shown = word + ("..." if p.nargs != 1 else "")
            usage = shown if p.required else f"[{shown}]"
            p._usage_display_name = lambda usage=usage: usage
            p._rich_display_name = lambda shown=shown: shown
            p.display_type_rich = lambda ctx: None


# Example lines are printed as written, after click's two-space indent; longer ones are broken
# before a flag (or a redirection) with a shell line continuation, so they still paste and run.
EXAMPLE_WIDTH = 74


_EXAMPLE = re.compile(r"^\s*(\$ )?([A-Z_][A-Z0-9_]*=\S* )*modeldeploy ")


def _units(words: list[str]) -> list[str]:
    """Words grouped so a flag stays with its value (``--env prod``) and a redirection with its file."""
    units: list[str] = []
    for word in words:
        if (
            units
            and not word.startswith(("-", ">", "|"))
            and units[-1].split(" ")[-1].startswith(("-", ">", "|"))
            and " " not in units[-1]
        ):
            units[-1] += " " + word
        else:
            units.append(word)
    return units


def _break_example(line: str) -> list[str]:
    if len(line) <= EXAMPLE_WIDTH:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    units = _units(line.split())
    lines: list[str] = []
    current = indent + units[0]
    for unit in units[1:]:
        if len(current) + 1 + len(unit) > EXAMPLE_WIDTH - 2:
            lines.append(current + " \\")
            current = indent + "    " + unit
        else:
            current += " " + unit
    lines.append(current)
    return lines


def keep_examples(text: str | None) -> str | None:
    """Mark each paragraph of example lines with click's no-rewrap marker (``\\b``), breaking long
    example lines between flags."""
    if not text:
        return text
    out = []
    for para in text.split("\n\n"):
        if _EXAMPLE.match(para):
            lines = [piece for line in para.split("\n") for piece in _break_example(line)]
            out.append("\b\n" + "\n".join(lines))
        else:
            out.append(para)
    return "\n\n".join(out)


class Command(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["epilog"] = keep_examples(kwargs.get("epilog"))
        super().__init__(*args, **kwargs)
        _tidy(self.params)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        fastparams.install(params)  # --help and the completion flags are added here, after __init__
        return params


class Group(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["epilog"] = keep_examples(kwargs.get("epilog"))
        super().__init__(*args, **kwargs)
        _tidy(self.params)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        fastparams.install(params)  # --help and the completion flags are added here, after __init__
        return params
