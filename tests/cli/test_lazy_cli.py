"""The CLI pays only for the command it runs: commands are imported when invoked, --help and name
completion read the short help kept in cli/app.py, and plain parameter values are coerced without
typer's pydantic adapters. Speed itself is measured in bench/, not asserted here; these tests pin the
behaviour that makes it (which modules a run loads) and that nothing a user sees changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from modeldeploy.cli.app import COMMANDS, app

REPO = Path(__file__).resolve().parents[2]
COMMAND_MODULES = sorted({f"modeldeploy.cli.{m}" for m, *_ in COMMANDS.values()})


def _loaded(argv: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    code = (
        "import sys\n"
        "from modeldeploy.cli.app import main\n"
        f"sys.argv = ['modeldeploy', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('loaded:' + ','.join(sorted(sys.modules)))\n"
        "    print('gc:' + str(__import__('gc').isenabled()))\n"
        "    print('classes:' + ','.join(sorted(f'{m}.{n}' for m in list(sys.modules) if m.startswith('modeldeploy')"
        " for n, v in vars(sys.modules[m]).items() if isinstance(v, type) and v.__module__ == m)))\n"
    )
    import os

    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("loaded:"))
    return proc, set(line[len("loaded:") :].split(","))


def _classes(proc: subprocess.CompletedProcess[str]) -> set[str]:
    """The classes the run defined in modeldeploy's modules (``module.Name``)."""
    line = next(x for x in proc.stdout.splitlines() if x.startswith("classes:"))
    return set(line[len("classes:") :].split(","))


def _gc_enabled(proc: subprocess.CompletedProcess[str]) -> bool:
    return next(x for x in proc.stdout.splitlines() if x.startswith("gc:")) == "gc:True"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_short_help_kept_for_listing_is_the_commands_own(name: str) -> None:
    group = get_command(app)
    cmd = group.commands[name]  # built: its module imported now
    assert (cmd.help or "").split("\n\n")[0].replace("\n", " ") == COMMANDS[name][3]


def test_help_lists_every_command_and_imports_none() -> None:
    proc, loaded = _loaded(["--help"])
    assert proc.returncode == 0
    for name in COMMANDS:
        assert f"\n  {name} " in proc.stdout, name
    assert not loaded & set(COMMAND_MODULES), loaded & set(COMMAND_MODULES)
    assert "typer._adapters" not in loaded


def test_a_command_imports_its_own_module_only() -> None:
    proc, loaded = _loaded(["validate", "--offline", "examples/iris/deploy.yaml"])
    assert proc.returncode == 0, proc.stderr
    assert loaded & set(COMMAND_MODULES) == {"modeldeploy.cli.validate"}
    # plain values (a list of paths, a flag, an optional string) need no pydantic adapter
    assert "typer._adapters" not in loaded


@pytest.mark.parametrize("argv", [["validate", "--env", "prod"], ["render", "-o", "OUT"]], ids=["validate", "render"])
def test_validate_and_render_of_a_docker_spec_load_only_what_they_use(argv: list[str], tmp_path: Path) -> None:
    """No other target's section, no evaluation section, no planning, no importlib.metadata (pydantic's
    plugin loader), no thread pool to hash a small model or to write one tree."""
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    proc, loaded = _loaded([*argv, "examples/iris/deploy.yaml"], env={"MODELDEPLOY_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    unwanted = {
        "modeldeploy.spec.targets.kubernetes",
        "modeldeploy.spec.targets.sagemaker",
        "modeldeploy.spec.targets.azureml",
        "modeldeploy.spec.evaluation",
        "modeldeploy.planning.plan",
        "modeldeploy.planning.resources",
        "importlib.metadata",
        "concurrent.futures",
    }
    assert not loaded & unwanted, loaded & unwanted
    assert {"modeldeploy.spec.targets.docker", "modeldeploy.targets.docker.target"} <= loaded
    # A local model of scalar columns: neither the registry and cloud URI forms nor MLflow's complex
    # data types (frozen dataclasses, ~0.7 ms each to define) are defined.
    unused = {"ModelsUri", "LoggedModelUri", "RunsUri", "ArtifactsUri", "S3Uri", "AzureMLUri"}
    unused |= {"AnyType", "ArrayType", "MapType", "Property", "ObjectType"}
    defined = {c.rsplit(".", 1)[1] for c in _classes(proc)}
    assert {"LocalUri", "ScalarType"} <= defined
    assert not defined & unused, defined & unused


@pytest.mark.parametrize("command", ["validate", "render"])
def test_the_garbage_collector_is_off_only_for_one_file_in_the_commands_own_process(
    command: str, tmp_path: Path
) -> None:
    """One file: bounded work, nearly all of it start-up that lives until exit, so the collector is
    off. Several files keep it (garbage grows with them), and so does a process that goes on after
    the command (a program running it through CliRunner)."""
    from typer.testing import CliRunner

    out = ["-o", str(tmp_path / "out")] if command == "render" else []
    env = {"MODELDEPLOY_CACHE_DIR": str(tmp_path / "cache")}
    one, _ = _loaded([command, *out, "examples/iris/deploy.yaml"], env=env)
    assert one.returncode == 0, one.stderr
    assert not _gc_enabled(one)
    two, _ = _loaded([command, *out, "examples/iris/deploy.yaml", "examples/custom/deploy.yaml"], env=env)
    assert two.returncode == 0, two.stderr
    assert _gc_enabled(two)
    import gc

    assert gc.isenabled()
    r = CliRunner().invoke(app, [command, *out, "examples/iris/deploy.yaml"], env=env)
    assert r.exit_code == 0, r.output
    assert gc.isenabled()


def test_completing_command_names_imports_no_command() -> None:
    proc, loaded = _loaded(
        [], env={"_MODELDEPLOY_COMPLETE": "complete_zsh", "COMP_WORDS": "modeldeploy s", "COMP_CWORD": "1"}
    )
    assert "schema" in proc.stdout and "signature" in proc.stdout and "Compare model signatures" in proc.stdout
    assert not loaded & set(COMMAND_MODULES)


def test_a_value_out_of_range_still_gets_typers_own_message(tmp_path: Path) -> None:
    """A parameter with a range is typer's to coerce and word."""
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["plan", str(tmp_path), "--parallelism", "0"])
    assert r.exit_code == 1
    assert "'--parallelism'" in r.stderr and "0" in r.stderr, r.stderr


def _probe_app():  # a command with every kind of plain parameter modeldeploy uses
    import typer

    from modeldeploy.cli.helpfmt import Command

    probe = typer.Typer()

    @probe.command(cls=Command)
    def run(
        files: list[Path] = typer.Argument(..., readable=False),  # noqa: B008
        out: Path | None = typer.Option(None, "--out"),  # noqa: B008
        name: str | None = typer.Option(None, "--name"),
        count: int = typer.Option(1, "--count"),
        ratio: float = typer.Option(0.5, "--ratio"),
        flag: bool = typer.Option(False, "--flag"),
    ) -> None:
        print(repr((files, out, name, count, ratio, flag)))

    @probe.callback()
    def _cb() -> None:
        pass

    return probe


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "a.yaml", "b/"],
        ["run", "a", "--out", "x/y", "--name", "n", "--count", "12", "--ratio", "2.25", "--flag"],
        ["run", "a", "--count", "-3", "--ratio", "0"],
        ["run", "a", "--count", "many"],
        ["run", "a", "--count", "+5"],
        ["run", "a", "--count", "1.5"],
        ["run", "a", "--ratio", "1e3"],
        ["run", "a", "--ratio", "x"],
        ["run", "a", "--name", ""],
        ["run"],
    ],
)
def test_fast_coercion_gives_what_typers_own_gives(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from modeldeploy.cli import fastparams

    fast = CliRunner().invoke(_probe_app(), argv)
    monkeypatch.setattr(fastparams, "install", lambda params: None)
    slow = CliRunner().invoke(_probe_app(), argv)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)
