"""The command lines the README, the examples' READMEs and the CI example show are accepted by the CLI.

Each `modeldeploy …` line in a shell block (or a `run:` step of examples/ci/modeldeploy.yml) is parsed
by the real command tree behind `modeldeploy` — commands, options, option values and argument
counts — without running it (the seam: click's `make_context`, which parses and converts but does not
call the command). So a renamed or removed option fails here, not in a newcomer's terminal. Typer may
carry its own copy of click, so commands and errors are recognised by what they do and are called,
not by click's classes.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
import yaml

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
SHELL = {"", "sh", "bash", "shell", "console"}


def command_lines(text: str) -> list[str]:
    """`modeldeploy …` commands in shell text: continuations joined, `$ ` prompts, comments,
    redirections and anything after `&&`, `|` or `;` dropped. A synopsis (`[--mode MODE]`, `FILE…`)
    is not a command line and is left out."""
    out = []
    text = re.sub(r"\s*\\\n\s*", " ", text)
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ")
        if re.search(r"\[-|…", line):
            continue
        for part in re.split(r"&&|\|\||;|\|", line):
            part = part.strip()
            if not part.startswith("modeldeploy "):
                continue
            part = re.split(r"\s#", part, maxsplit=1)[0]
            part = re.split(r"\s\d?>", part, maxsplit=1)[0]
            out.append(part.strip())
    return out


def from_markdown(path: Path) -> list[str]:
    blocks = FENCE.findall(path.read_text(encoding="utf-8"))
    return [c for lang, block in blocks if lang in SHELL for c in command_lines(block)]


def from_workflow(path: Path) -> list[str]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    return [c for run in runs for c in command_lines(run)]


SOURCES = {
    "README.md": lambda: from_markdown(REPO / "README.md"),
    **{str(p.relative_to(REPO)): (lambda p=p: from_markdown(p)) for p in sorted(REPO.glob("examples/*/README.md"))},
    **{
        str(p.relative_to(REPO)): (lambda p=p: from_markdown(p))
        for p in sorted(REPO.glob("docs/*.md"))
        if from_markdown(p)
    },
    "examples/ci/modeldeploy.yml": lambda: from_workflow(REPO / "examples" / "ci" / "modeldeploy.yml"),
}


class Refused(Exception):
    """The CLI would refuse the command line (click's UsageError and its kinds)."""


def cli():
    from modeldeploy.cli.app import app

    return typer.main.get_command(app)


def parse(line: str) -> None:
    """Raise Refused when the CLI would refuse the command line."""
    args = shlex.split(line)[1:]
    cmd, name = cli(), "modeldeploy"
    try:
        while hasattr(cmd, "list_commands"):  # a group: descend into the named command
            if not args:
                raise Refused(f"no command after {name}")
            sub = cmd.get_command(cmd.context_class(cmd), args[0])
            if sub is None:
                raise Refused(f"{name} has no command {args[0]!r}")
            cmd, name, args = sub, f"{name} {args[0]}", args[1:]
        cmd.make_context(name, list(args))
    except Exception as exc:
        if any(k.__name__ == "UsageError" for k in type(exc).__mro__):
            raise Refused(f"{type(exc).__name__}: {exc}") from exc
        raise


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_shown_commands_parse(source):
    lines = SOURCES[source]()
    assert lines, f"{source} shows no modeldeploy command"
    refused = []
    for line in lines:
        try:
            parse(line)
        except Refused as exc:
            refused.append(f"{line}: {exc}")
    assert refused == []


def test_the_parser_refuses_what_the_cli_refuses():
    for bad in (
        "modeldeploy plan deploy.yaml --no-such-flag",
        "modeldeploy render deploy.yaml",  # -o is required
        "modeldeploy signature nope a b",
        "modeldeploy plan deploy.yaml --parallelism 0",
    ):
        with pytest.raises(Refused):
            parse(bad)
    parse("modeldeploy signature diff ./a ./b --mode full --format markdown")


def test_command_lines_are_cut_where_the_shell_would_cut_them():
    text = (
        "modeldeploy plan a.yaml \\\n  --env prod > plan.md   # comment\n"
        "$ modeldeploy validate x.yaml\n"
        "docker build -t i . && modeldeploy render a.yaml -o out 2>err.txt\n"
        "echo modeldeploy is not run here\n"
        "modeldeploy signature diff OLD NEW [--mode backward] [--format text|json]\n"
    )
    assert command_lines(text) == [
        "modeldeploy plan a.yaml --env prod",
        "modeldeploy validate x.yaml",
        "modeldeploy render a.yaml -o out",
    ]
