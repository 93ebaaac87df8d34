"""Usage errors exit 1 with one line, on every command: exit 2 means only "changes present".

A CI step that keeps exit 2 of ``plan --detailed-exitcode`` as success must not read a typo
(``--detailed-exitcod``) or a missing argument as success, so the CLI maps click's usage errors
(its exit 2) to 1 in one place (``cli/app.py``), as Terraform does. The list of commands is read
from the CLI itself, so a new command or subcommand is covered without editing this test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from modeldeploy.cli.app import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _commands(group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)
        else:
            yield path, cmd


COMMANDS = list(_commands(get_command(app)))
IDS = [" ".join(p) for p, _ in COMMANDS]


def _required_args(cmd) -> int:
    return sum(1 for p in cmd.params if p.param_type_name == "argument" and p.required)


def test_every_command_is_listed() -> None:
    names = set(IDS)
    assert {"validate", "render", "plan", "apply", "destroy", "inspect", "init", "schema", "signature diff"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=IDS)
def test_bad_option_exits_1_with_one_line(path, cmd, tmp_path: Path) -> None:
    args = [*path, "--no-such-option"] + [str(tmp_path / "x")] * _required_args(cmd)
    r = runner.invoke(app, args)
    assert r.exit_code == 1, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: No such option: --no-such-option") and "[MD001]" in lines[0]
    assert " ".join(path) + " --help" in lines[0]


@pytest.mark.parametrize(
    "path,cmd",
    [(p, c) for p, c in COMMANDS if _required_args(c)],
    ids=[i for i, (p, c) in zip(IDS, COMMANDS, strict=True) if _required_args(c)],
)
def test_missing_file_exits_1_with_one_line(path, cmd, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    extra = ["-o", str(tmp_path / "out")] if path == ("render",) else []
    r = runner.invoke(app, [*path, *[str(missing)] * _required_args(cmd), *extra])
    assert r.exit_code == 1, (r.exit_code, r.output)
    lines = [line for line in r.stderr.strip().splitlines() if not line.startswith("hint: ")]  # a hint may follow
    assert len(lines) == 1 and lines[0].count("error:") == 1, r.stderr
    assert "does-not-exist" in lines[0]


@pytest.mark.parametrize(
    "path,cmd",
    [(p, c) for p, c in COMMANDS if _required_args(c)],
    ids=[i for i, (p, c) in zip(IDS, COMMANDS, strict=True) if _required_args(c)],
)
def test_missing_argument_exits_1(path, cmd) -> None:
    r = runner.invoke(app, list(path))
    assert r.exit_code == 1, (r.exit_code, r.output)
    assert len(r.stderr.strip().splitlines()) == 1 and "Missing argument" in r.stderr


def test_bad_value_and_typo_of_detailed_exitcode_exit_1(tmp_path: Path) -> None:
    r = runner.invoke(app, ["plan", str(tmp_path), "--parallelism", "0"])
    assert r.exit_code == 1 and "--parallelism" in r.stderr
    r = runner.invoke(app, ["plan", str(tmp_path), "--detailed-exitcod"])
    assert r.exit_code == 1 and "--detailed-exitcode" in r.stderr  # click's did-you-mean is kept


def test_installed_entry_point_exits_1_on_usage_error() -> None:
    """The real process (not the test runner): sys.exit carries the code."""
    r = subprocess.run(
        [sys.executable, "-m", "modeldeploy", "plan", "--detailed-exitcod", "x"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr


def test_ci_example_fails_on_anything_but_0_2_and_3() -> None:
    """The shipped workflow keeps 0 and 2 as success, handles 3 in its own step, fails on the rest."""
    text = (REPO / "examples" / "ci" / "modeldeploy.yml").read_text()
    script = text.split("code=$?", 1)[1].split("- name:", 1)[0]
    body = "\n".join(line.strip() for line in script.splitlines() if "GITHUB" not in line and "plan.md" not in line)
    for code, ok in [(0, True), (2, True), (3, True), (1, False), (4, False), (127, False), (130, False)]:
        r = subprocess.run(["bash", "-c", f"code={code}\n{body}"], capture_output=True, text=True)
        assert (r.returncode == 0) is ok, (code, r.returncode, body)
