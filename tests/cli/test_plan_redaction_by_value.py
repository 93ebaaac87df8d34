"""Redaction is by what a value is, not by a key that merely contains "token": a change to
automountServiceAccountToken is shown with its real values in every plan format, while a secret
value and a credential-shaped string are still hidden. Runs the real CLI on a folder plan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def md(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MODELDEPLOY_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("k8s")
    shutil.copytree(REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("make_model.py", "ci"))
    r = md("render", "examples/kubernetes/deploy.yaml", "-o", "out", cwd=root)
    assert r.returncode == 0, r.stderr
    [deployment] = [
        p for p in (root / "out").rglob("*.yaml") if "automountServiceAccountToken: false" in p.read_text()
    ][:1]
    text = deployment.read_text().replace("automountServiceAccountToken: false", "automountServiceAccountToken: true")
    deployment.write_text(text + "# note: AKIAIOSFODNN7EXAMPLE\n")
    return root


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_security_settings_are_shown_in_every_format(rendered: Path, fmt: str) -> None:
    r = md("plan", "examples/kubernetes/deploy.yaml", "--against", "out", "--format", fmt, cwd=rendered)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    if fmt == "json":
        import jsonschema

        doc = json.loads(out)
        jsonschema.validate(
            doc, json.loads((REPO / "schemas" / "plan.schema.json").read_text()), cls=jsonschema.Draft202012Validator
        )
        [sa] = [r for r in doc["plans"][0]["resource_changes"] if r["type"] == "kubernetes/ServiceAccount"]
        assert sa["change"]["before"]["automountServiceAccountToken"] is True
        assert sa["change"]["after"]["automountServiceAccountToken"] is False
        out = json.dumps(doc)
    assert "automountServiceAccountToken" in out
    assert (
        "automountServiceAccountToken: (sensitive)" not in out
        and '"automountServiceAccountToken": "(sensitive)"' not in out
    )
    assert ("automountServiceAccountToken: true" if fmt != "json" else '"automountServiceAccountToken": true') in out, (
        out
    )
    assert "AKIAIOSFODNN7EXAMPLE" not in out  # a credential's shape is hidden under any key, even in a comment
