"""Loading a deploy.yaml builds the spec models' schemas without pydantic's plugin scan (the entry
points of every installed distribution), and leaves the environment as it found it. What this saves
is measured in bench/ (start-up); here only the behaviour is pinned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

CODE = """
import importlib.metadata, os, sys
from pathlib import Path
groups = []
real = importlib.metadata.entry_points
def spy(*a, **k):
    groups.append(k.get("group"))
    return real(*a, **k)
importlib.metadata.entry_points = spy
import pydantic.plugin._loader as loader
loader.entry_points = spy
before = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
from modeldeploy.spec.loader import load_all_environments
loaded = load_all_environments(Path("examples/iris/deploy.yaml"))
print(len(loaded), groups, os.environ.get("PYDANTIC_DISABLE_PLUGINS") == before)
"""


def test_loading_a_spec_scans_no_entry_points_and_restores_the_environment() -> None:
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    count, rest = proc.stdout.split(" ", 1)
    assert int(count) >= 1
    assert rest.strip() == "[] True", proc.stdout


STAND_IN = """
import os, sys
from pathlib import Path
from modeldeploy.spec.loader import load_all_environments
load_all_environments(Path("examples/iris/deploy.yaml"))
print("metadata imported:", "importlib.metadata" in sys.modules)
import importlib.metadata
groups = []
real = importlib.metadata.entry_points
def spy(*a, **k):
    groups.append(k.get("group"))
    return real(*a, **k)
importlib.metadata.entry_points = spy
from pydantic import BaseModel
class Mine(BaseModel):
    a: int
print("user model:", Mine(a=1).a, groups, sys.modules["pydantic.plugin._loader"].__file__.endswith("_loader.py"))
"""


def test_pydantic_plugin_loader_is_not_imported_for_a_spec_but_still_serves_other_models() -> None:
    """pydantic imports its plugin loader (and with it importlib.metadata) for every schema it builds,
    plugins off or not; the spec's builds leave it out, and a model of the caller's own, built with
    plugins on, still has pydantic look for them through the real loader."""
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    proc = subprocess.run([sys.executable, "-c", STAND_IN], capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["metadata imported: False", "user model: 1 ['pydantic'] True"], proc.stdout


def test_no_spec_field_has_a_builtin_default_factory() -> None:
    """pydantic reads a default factory's signature when it builds a schema; a builtin's (``dict``,
    ``list``) is parsed from text with the tokenize module, whose first use compiles a large regular
    expression on every ``validate``. The spec's factories are plain functions."""
    import inspect

    from pydantic import BaseModel

    from modeldeploy.spec.models import DeploySpec

    DeploySpec.model_rebuild()  # every section model, every kind
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [DeploySpec]
    builtins = []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            factory = field.default_factory
            if factory is not None and (inspect.isbuiltin(factory) or factory in (dict, list, set, tuple)):
                builtins.append(f"{model.__name__}.{name}")
            todo.extend(_models_in(field.annotation))
    assert len(seen) > 20 and builtins == []


def _models_in(annotation: object) -> list[type]:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in get_args(annotation) for m in _models_in(a)]


SECTION_BUILT = """
import sys
from pathlib import Path
from modeldeploy.cli.checks import validate_file
from modeldeploy.spec.targets.docker import DockerTarget
lines = validate_file(Path("examples/iris/deploy.yaml"), "prod")
print(len(lines), DockerTarget.__pydantic_complete__)
"""


def test_validate_builds_the_specs_schema_not_the_target_sections_own() -> None:
    """The target section is dumped for the placeholder check through the spec's serializer, which is
    built with the spec; dumping the section itself built DockerTarget's own schema (~2 ms)."""
    proc = subprocess.run([sys.executable, "-c", SECTION_BUILT], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "False"], proc.stdout
