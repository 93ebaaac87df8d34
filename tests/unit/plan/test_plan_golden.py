"""Golden files for the three plan formats and the saved plan file, built from hand-made plans.

Bytes are compared exactly; `make goldens` (python -m tests.goldens update) rewrites them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from plan_samples import PLANTED, files_plan, live_plan, unchanged_plan

from modeldeploy.planning.planfile import save_plan
from modeldeploy.planning.printers import format_json, format_markdown, format_text
from tests.goldens import assert_file

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
    assert_file(actual, GOLDEN / name)
