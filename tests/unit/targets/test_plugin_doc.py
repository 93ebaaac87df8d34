"""The plugin example in docs/plugins.md is real: installed as a plugin it validates, renders, plans,
applies, plans to no changes and destroys through the CLI, in a fresh interpreter.

The plugin is a real distribution (a .dist-info with entry_points.txt on sys.path), found by
importlib.metadata exactly as an installed package would be; its code is the doc's python block, byte
for byte, so the doc cannot drift from what works.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "plugins.md"
EXAMPLE_MODEL = REPO / "examples" / "iris" / "model"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    (code,) = [b for b in _blocks("python") if "class LocalFileTarget" in b]
    site = tmp_path / "site"
    site.mkdir()
    (site / "modeldeploy_localfile.py").write_text(code)
    info = site / "modeldeploy_localfile-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: modeldeploy-localfile\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[modeldeploy.targets]\nlocalfile = modeldeploy_localfile:LocalFileTarget\n")
    return site


def run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_documented_plugin_plans_applies_and_destroys(tmp_path: Path, site: Path) -> None:
    (yaml_text,) = [b for b in _blocks("yaml") if "kind: localfile" in b]
    work = tmp_path / "work"
    work.mkdir()
    (work / "model").symlink_to(EXAMPLE_MODEL, target_is_directory=True)
    spec = work / "deploy.yaml"
    spec.write_text(yaml_text)
    record = work / "deployed" / "iris.json"

    r = run(["validate", "--offline", str(spec)], site, work)
    assert r.returncode == 0, r.stderr

    r = run(["render", str(spec), "-o", str(tmp_path / "out")], site, work)
    assert r.returncode == 0, r.stderr
    rendered = json.loads((tmp_path / "out" / "iris" / "localfile" / "record.json").read_text())
    assert rendered["name"] == "iris" and rendered["digest"].startswith("sha256:")

    r = run(["plan", str(spec), "--detailed-exitcode"], site, work)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "local_record.iris" in r.stdout and not record.exists()

    r = run(["apply", str(spec), "--auto-approve"], site, work)
    assert r.returncode == 0, r.stderr
    assert json.loads(record.read_text()) == rendered

    r = run(["plan", str(spec), "--detailed-exitcode"], site, work)
    assert r.returncode == 0, r.stdout + r.stderr

    r = run(["destroy", str(spec), "--auto-approve"], site, work)
    assert r.returncode == 0, r.stderr
    assert not record.exists()


def test_the_documented_plugin_config_errors_are_located(tmp_path: Path, site: Path) -> None:
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        f"apiVersion: modeldeploy/v1\nname: iris\nmodel: {{source: {EXAMPLE_MODEL}}}\ntarget:\n  kind: localfile\n  fodler: x\n"
    )
    r = run(["validate", "--offline", str(spec)], site, tmp_path)
    assert r.returncode == 1
    assert f"{spec}:6:3: error: target.fodler: Extra inputs are not permitted" in r.stderr, r.stderr
