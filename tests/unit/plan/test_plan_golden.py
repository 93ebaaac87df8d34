"""Golden files for the three plan formats and the saved plan file, built from hand-made plans.

Bytes are compared exactly; MODELDEPLOY_UPDATE_GOLDENS=1 (or pytest --update-goldens) rewrites them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from plan_samples import PLANTED, files_plan, live_plan, unchanged_plan

from modeldeploy.planning.planfile import save_plan
from modeldeploy.planning.printers import format_json, format_markdown, format_text

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "plan"
INPUTS = {"file:deploy/iris/deploy.yaml": "sha256:" + "d" * 64, "model:iris": "sha256:" + "4a" * 32}


def _plans():
    return [live_plan(), files_plan(), unchanged_plan()]


def _saved_plan(tmp_path: Path) -> str:
    path = tmp_path / "saved-plan.json"
    save_plan(path, _plans(), inputs=INPUTS)
    return path.read_text(encoding="utf-8")


CASES = {
    "plan.txt": lambda tmp: format_text(_plans(), color=False),
    "plan-color.txt": lambda tmp: format_text(_plans(), color=True, show_unchanged=True),
    "plan.md": lambda tmp: format_markdown(_plans()),
    "plan.json": lambda tmp: format_json(_plans()),
    "no-changes.txt": lambda tmp: format_text([unchanged_plan()], color=False),
    "saved-plan.json": _saved_plan,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name, tmp_path):
    actual = CASES[name](tmp_path).encode("utf-8")
    assert PLANTED.encode() not in actual
    golden = GOLDEN / name
    if os.environ.get("MODELDEPLOY_UPDATE_GOLDENS"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(actual)
        return
    assert golden.is_file(), f"no golden file {golden}; run pytest --update-goldens"
    assert actual == golden.read_bytes(), f"{name} differs from {golden} (pytest --update-goldens to accept)"
