"""The lower bounds in pyproject.toml are true: with every direct dependency at its lowest allowed
release, the CLI works.

The test reads ``[project].dependencies``, pins each one that has a lower bound to exactly that
release (``typer>=0.29`` → ``typer==0.29``), installs the pins together with the project (built
from a copy of its sources, so nothing is written into the checkout; in one pip command, so pip
checks the project's own requirements against the pins: a bound lower than another dependency
allows is a resolution error here) into a fresh virtualenv, and runs the CLI there as a user
would: ``--help`` and every command's ``--help``, ``validate``, ``render -o`` (compared with the
goldens), ``plan --against``, ``schema``, a usage error and ``--version`` on examples/iris.
Dependencies of dependencies take the newest release pip finds, as they do for a user who pins only
modeldeploy's own.

A bound that is too low fails here, not in a user's install: typer 0.12 (the bound until this test)
crashed on ``--help`` and ran the ``--version`` callback for every command, so ``validate`` printed
the version and exited 0 having checked nothing.

Needs a package index pip can reach (marker ``index``, like tests/lint/test_extras_resolve.py); it
fails, it does not skip, without one. One test function, so under xdist the virtualenv is built once;
it runs in CI's first (non-engine) pytest run. About a minute, most of it pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from modeldeploy import __version__
from modeldeploy.cli.app import COMMANDS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris" / "deploy.yaml"
GOLDEN = REPO / "tests" / "golden" / "examples" / "iris" / "prod"
# Data, not code: the newest tz database is the right one, so it has no lower bound to check.
UNBOUNDED = {"tzdata"}
# What the package build reads (pyproject.toml names README.md as the long description).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "modeldeploy", "templates")


def lowest_pins(dependencies: list[str]) -> list[str]:
    """``name==lowest`` for each requirement with a ``>=`` (or ``==``) bound; the others as written."""
    pins = []
    for spec in dependencies:
        req = Requirement(spec)
        low = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
        if req.marker is not None:
            raise AssertionError(f"{spec}: a requirement with a marker needs its own lowest-version case")
        if not low:
            assert canonicalize_name(req.name) in UNBOUNDED, f"{spec} declares no lower bound"
            pins.append(spec)
            continue
        assert len(low) == 1, f"{spec}: more than one lower bound"
        pins.append(f"{req.name}=={low[0]}")
    return pins


def test_lowest_pins_are_read_from_the_bounds() -> None:
    assert lowest_pins(["pydantic>=2.7,<3", "typer>=0.29", "tzdata"]) == ["pydantic==2.7", "typer==0.29", "tzdata"]
    with pytest.raises(AssertionError, match="declares no lower bound"):
        lowest_pins(["jinja2"])


def extra_requirements(optional: dict[str, list[str]], extras: tuple[str, ...]) -> list[str]:
    """The requirements of ``extras``, with an extra that names other extras of modeldeploy
    (``all = ["modeldeploy[aws,azure,kubernetes]"]``) expanded; each requirement once."""
    found: list[str] = []
    for extra in extras:
        for spec in optional[extra]:
            req = Requirement(spec)
            more = extra_requirements(optional, tuple(sorted(req.extras))) if req.name == "modeldeploy" else [spec]
            found += [s for s in more if s not in found]
    return found


def test_extra_requirements_expand_the_self_reference() -> None:
    optional = {"aws": ["boto3>=1.34"], "eval": ["numpy>=1.24"], "all": ["modeldeploy[aws]"]}
    assert extra_requirements(optional, ("all", "eval")) == ["boto3>=1.34", "numpy>=1.24"]
    assert lowest_pins(extra_requirements(optional, ("all",))) == ["boto3==1.34"]


def _install_lowest(root: Path, extras: tuple[str, ...] = ()) -> tuple[Path, dict[str, str], list[str]]:
    """A virtualenv holding modeldeploy and its direct dependencies at their lowest bounds: the core
    ones, and those of ``extras`` (installed as ``modeldeploy[extras]``, all pins in one pip command)."""
    src = root / "src"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = lowest_pins(project["dependencies"] + extra_requirements(project["optional-dependencies"], extras))
    target = f"{src}[{','.join(extras)}]" if extras else str(src)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(COLUMNS="100", NO_COLOR="1", TERM="dumb")
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    proc = subprocess.run([*pip, "install", "--quiet", *pins, target], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"the lowest bounds do not install together ({' '.join(pins)}):\n{proc.stderr}"
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout + check.stderr

    # the pins are what is installed (not a newer release pulled in by something else)
    names = [p.split("==")[0] for p in pins if "==" in p]
    code = "import sys; from importlib.metadata import version; print(*(version(n) for n in sys.argv[1:]))"
    got = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, env=env, check=True)
    installed = dict(zip(names, got.stdout.split(), strict=True))
    wanted = {p.split("==")[0]: p.split("==")[1] for p in pins if "==" in p}
    assert {n: Version(v) for n, v in installed.items()} == {n: Version(v) for n, v in wanted.items()}, installed
    return venv, env, pins


@pytest.mark.index
@pytest.mark.slow
def test_the_cli_works_with_every_direct_dependency_at_its_lowest_bound(tmp_path: Path) -> None:
    venv, env, pins = _install_lowest(tmp_path)
    at = f"(at {' '.join(pins)})"

    def md(*args: str | Path) -> subprocess.CompletedProcess[str]:
        cmd = [str(venv / "bin" / "modeldeploy"), *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)

    # --help, and every command's --help
    top = md("--help")
    assert top.returncode == 0, f"--help {at}:\n{top.stderr}"
    for name in COMMANDS:
        assert f"  {name} " in top.stdout, f"--help does not list {name} {at}:\n{top.stdout}"
        one = md(name, "--help")
        assert one.returncode == 0, f"{name} --help {at}:\n{one.stderr}"
        assert f"Usage: modeldeploy {name} " in one.stdout, one.stdout
    # helpfmt's placeholders (typer's parameter display hooks): words, not internal types
    validate_help = md("validate", "--help").stdout
    assert "Usage: modeldeploy validate [OPTIONS] FILE..." in validate_help, f"{at}\n{validate_help}"
    assert "--env ENV" in validate_help, f"{at}\n{validate_help}"

    # validate checks something (a green run that checked nothing is the failure to catch)
    validate = md("validate", "--env", "prod", IRIS)
    assert validate.returncode == 0, f"validate {at}:\n{validate.stdout}{validate.stderr}"
    assert "[prod]: valid" in validate.stderr, f"validate {at} did not validate:\n{validate.stdout}{validate.stderr}"

    # render writes what the goldens hold
    out = tmp_path / "out"
    render = md("render", "--env", "prod", IRIS, "-o", out)
    assert render.returncode == 0, f"render {at}:\n{render.stdout}{render.stderr}"
    rendered = out / "iris-classifier"
    assert (rendered / "Dockerfile").is_file(), f"render {at} wrote no Dockerfile:\n{render.stdout}"
    golden = [p for p in sorted(GOLDEN.iterdir()) if p.name != "MODEL_FILES.sha256"]
    assert golden, f"no golden files under {GOLDEN}"
    differ = [p.name for p in golden if (rendered / p.name).read_bytes() != p.read_bytes()]
    assert differ == [], f"rendered {at}, these differ from tests/golden/examples/iris/prod: {differ}"

    # plan against what was just rendered: nothing to change
    plan = md("plan", "--env", "prod", IRIS, "--against", out, "--detailed-exitcode")
    assert plan.returncode == 0, f"plan {at}:\n{plan.stdout}{plan.stderr}"
    assert "No changes" in plan.stdout + plan.stderr, plan.stdout + plan.stderr

    # schema: an older pydantic (2.7 does) spells the JSON Schema differently (allOf around a $ref, 0.0 for 0,
    # enum beside const), so its text is not compared with schemas/deploy.schema.json; it must be a
    # valid schema that accepts the example and refuses a misspelt key
    schema = md("schema")
    assert schema.returncode == 0, f"schema {at}:\n{schema.stderr}"
    validator = jsonschema.Draft202012Validator(json.loads(schema.stdout))
    validator.check_schema(validator.schema)
    example = yaml.safe_load(IRIS.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(example)] == [], at
    assert list(validator.iter_errors({**example, "servng": {}})), f"schema {at} accepts an unknown key"

    # a usage error: one line, exit 1 (never 0, never 2)
    bad = md("validate", "--jobs", "x", IRIS)
    assert bad.returncode == 1, f"validate --jobs x {at} exited {bad.returncode}:\n{bad.stdout}{bad.stderr}"
    assert bad.stdout == "", bad.stdout
    assert bad.stderr.startswith("error: Invalid value for '--jobs'"), bad.stderr
    assert bad.stderr.endswith("[MD001]\n") and bad.stderr.count("\n") == 1, bad.stderr

    version = md("--version")
    assert (version.returncode, version.stdout) == (0, f"modeldeploy {__version__}\n"), f"{at}\n{version.stderr}"
