"""Loading a deploy.yaml builds the spec models' schemas without pydantic's plugin scan (the entry
points of every installed distribution), and leaves the environment as it found it. What this saves
is measured in bench/ (start-up); here only the behaviour is pinned."""

from __future__ import annotations

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
