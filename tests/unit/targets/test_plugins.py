"""Third-party targets register through the `modeldeploy.targets` entry-point group.

The plugin here is a real distribution (a .dist-info with entry_points.txt on sys.path), found by
importlib.metadata exactly as an installed package would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_MODEL = REPO / "examples" / "iris" / "model"

PLUGIN = """
from typing import Literal
from pydantic import BaseModel, ConfigDict
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.targets.base import Target


class EchoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["echo"]
    message: str


class EchoTarget(Target):
    kind = "echo"
    default_against = "dir"
    config_model = EchoConfig

    def render(self, ctx):
        text = f"{ctx.spec.target.message} {ctx.ref.digest}\\n"
        return [Artifact("echo.txt", "text/plain", text.encode())]
"""


@pytest.fixture()
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "echo_target.py").write_text(PLUGIN)
    info = site / "modeldeploy_echo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: modeldeploy-echo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[modeldeploy.targets]\necho = echo_target:EchoTarget\n")
    return site


def run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def spec(tmp_path: Path, target: str) -> Path:
    p = tmp_path / "deploy.yaml"
    p.write_text(f"apiVersion: modeldeploy/v1\nname: echo\nmodel: {{source: {EXAMPLE_MODEL}}}\ntarget:\n{target}")
    return p


def test_plugin_target_renders(tmp_path: Path, plugin_path: Path) -> None:
    p = spec(tmp_path, "  kind: echo\n  message: hello\n")
    r = run(["render", str(p), "-o", str(tmp_path / "out")], plugin_path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "echo" / "echo.txt").read_text().startswith("hello sha256:")


def test_plugin_config_errors_are_located(tmp_path: Path, plugin_path: Path) -> None:
    p = spec(tmp_path, "  kind: echo\n  mesage: hello\n")
    r = run(["validate", "--offline", str(p)], plugin_path, tmp_path)
    assert r.returncode == 1
    assert f"{p}:6:3: error: target.mesage: Extra inputs are not permitted" in r.stderr, r.stderr


def test_unknown_kind_without_plugin_is_an_error(tmp_path: Path, plugin_path: Path) -> None:
    p = spec(tmp_path, "  kind: nomad\n")
    r = run(["validate", "--offline", str(p)], plugin_path, tmp_path)
    assert r.returncode == 1 and f"{p}:5:9: error: target.kind" in r.stderr, r.stderr


def _broken_plugins(site: Path) -> None:
    """Two more entry points in the same distribution: one whose module is not installed, one that is
    not a Target."""
    (site / "not_a_target.py").write_text("class Nope:\n    pass\n")
    eps = site / "modeldeploy_echo-0.1.dist-info" / "entry_points.txt"
    eps.write_text(eps.read_text() + "ghost = ghost_target_missing:GhostTarget\nnope = not_a_target:Nope\n")


@pytest.mark.parametrize("offline", [True, False])
def test_plugin_that_cannot_be_imported_is_a_located_error(tmp_path: Path, plugin_path: Path, offline: bool) -> None:
    _broken_plugins(plugin_path)
    p = spec(tmp_path, "  kind: ghost\n")
    r = run(["validate", *(["--offline"] if offline else []), str(p)], plugin_path, tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "valid" not in r.stderr, r.stderr
    assert f"{p}:5:9: error: target plugin 'ghost'" in r.stderr, r.stderr
    assert "ghost_target_missing:GhostTarget" in r.stderr and "No module named 'ghost_target_missing'" in r.stderr


def test_plugin_that_is_not_a_target_is_never_dropped(tmp_path: Path, plugin_path: Path) -> None:
    """The error has no position of its own; validate still prints and counts it (it used to exit 0
    with nothing printed, and --offline said 'valid (0 configuration(s))')."""
    _broken_plugins(plugin_path)
    p = spec(tmp_path, "  kind: echo\n  message: hi\nenvironments:\n  prod:\n    target: {kind: nope}\n")
    for args in (["validate", "--offline", str(p)], ["validate", str(p)], ["validate", "--env", "prod", str(p)]):
        r = run(args, plugin_path, tmp_path)
        assert r.returncode == 1, (args, r.stderr)
        assert "is not a modeldeploy Target" in r.stderr, (args, r.stderr)
        assert "0 configuration" not in r.stderr


def test_a_plugins_missing_dependency_is_reported_by_validate(tmp_path: Path, plugin_path: Path) -> None:
    """A plugin's ``render_needs`` and ``extra`` give the same MD701 in validate as built-in kinds."""
    source = (plugin_path / "echo_target.py").read_text()
    (plugin_path / "echo_target.py").write_text(
        source.replace(
            "    config_model = EchoConfig\n",
            '    config_model = EchoConfig\n    extra = "echo"\n    render_needs = {"echo_backend_not_installed": "echo-backend"}\n',
        )
    )
    p = spec(tmp_path, "  kind: echo\n  message: hello\n")
    for args in (["validate", "--offline", str(p)], ["render", str(p), "-o", str(tmp_path / "out")]):
        r = run(args, plugin_path, tmp_path)
        assert r.returncode == 1
        assert r.stderr.splitlines() == [
            f"{p}:5:9: error: the echo target needs echo-backend to render, and it is not installed [MD701]",
            "hint: pip install 'modeldeploy[echo]'",
        ], args
