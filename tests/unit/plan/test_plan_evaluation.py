"""A plan's evaluation summary through the saved plan file and the three printers (the values here are
a hand-made summary; the real gate is tested end to end in tests/integration/evaluation/test_eval_plan.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeldeploy.api import enforce_policy
from modeldeploy.errors import PolicyViolation
from modeldeploy.planning.plan import Plan
from modeldeploy.planning.planfile import load_plan, save_plan
from modeldeploy.planning.printers import format_json, format_markdown, format_text

EVAL = {
    "passed": False,
    "rows": 150,
    "scored_by": "interpreter python3",
    "baseline": "deployed (dir:deploy/rendered): models:/iris/3",
    "metrics": [
        {
            "metric": "accuracy_score",
            "candidate": 0.93,
            "baseline": 0.95,
            "threshold": 0.9,
            "min_absolute_change": 0.0,
            "min_relative_change": None,
            "greater_is_better": True,
            "passed": False,
        }
    ],
    "other_metrics": {},
    "max_error_rate": 0.2,
    "max_regression": 0.02,
    "cohorts": [
        {
            "condition": "petal_width > 1.55 and petal_width <= 1.85",
            "n": 15,
            "errors": 4,
            "error_rate": 0.266667,
            "found_by": "candidate",
            "baseline_errors": 1,
            "baseline_error_rate": 0.066667,
            "regression": 0.2,
        }
    ],
    "regression_cohorts": [],
    "fairness": [
        {
            "feature": "sex",
            "metric": "error_rate",
            "kind": "difference",
            "threshold": 0.05,
            "value": 0.01,
            "passed": True,
            "groups": [{"group": "f", "n": 75, "value": 0.06}, {"group": "m", "n": 75, "value": 0.07}],
        }
    ],
    "findings": [
        {
            "rule": "EVAL201",
            "field": "petal_width > 1.55 and petal_width <= 1.85",
            "message": "petal_width > 1.55 and petal_width <= 1.85: 4/15 wrong (26.7% > max_error_rate 20.0%)",
            "title": "t",
        },
        {
            "rule": "EVAL102",
            "field": "accuracy_score",
            "message": "accuracy_score fell",
            "title": "t",
            "waived": "accepted in ML-9",
        },
    ],
    "notes": [],
}


def _plan(evaluation=EVAL) -> Plan:
    return Plan(
        name="iris",
        target="docker",
        env=None,
        against="dir:deploy/rendered",
        changes=(),
        evaluation=evaluation,
        source="deploy.yaml",
    )


def test_printers_show_metrics_cohorts_fairness_and_waivers() -> None:
    text = format_text([_plan()], color=False)
    assert "evaluation gate: FAILED (1 finding not waived)" in text
    assert "FAIL accuracy_score: candidate 0.93, baseline 0.95, threshold >= 0.9, change >= 0 vs baseline" in text
    assert "petal_width > 1.55 and petal_width <= 1.85: 4/15 wrong (baseline 1/15)" in text
    assert "error_rate by sex: difference 0.01 (threshold 0.05): f 0.06 (n=75), m 0.07 (n=75)" in text
    assert "✓ waived   EVAL102 accuracy_score fell (waived: accepted in ML-9)" in text
    assert "Evaluation gate: 1 finding not waived." in text
    md = format_markdown([_plan()])
    assert "### ❌ Evaluation gate: 1 finding not waived" in md
    assert "| ❌ | `accuracy_score` | 0.93 | 0.95 | &gt;= 0.9, change &gt;= 0 vs baseline |" in md
    assert "- `petal_width > 1.55 and petal_width <= 1.85`: 4/15 wrong (baseline 1/15)" in md
    assert "✅ waived" in md and "ML-9" in md
    js = json.loads(format_json([_plan()]))["plans"][0]
    assert js["evaluation"]["findings"][1]["waived"] == "accepted in ML-9"
    # a plan without evaluation: no key, nothing printed
    assert "evaluation" not in json.loads(format_json([_plan(None)]))["plans"][0]
    assert "evaluation gate" not in format_text([_plan(None)], color=False).lower()


def test_saved_plan_keeps_the_gate_and_apply_refuses_it(tmp_path: Path) -> None:
    path = tmp_path / "p.plan.json"
    save_plan(path, [_plan()], inputs={})
    loaded = load_plan(path).plans[0]
    assert loaded.evaluation == json.loads(json.dumps(EVAL))
    assert [f["rule"] for f in loaded.evaluation_failing] == ["EVAL201"]
    with pytest.raises(PolicyViolation, match="evaluation gate fails with 1 finding"):
        enforce_policy([loaded])
    waived = {**EVAL, "findings": [{**f, "waived": "ok"} for f in EVAL["findings"]]}
    enforce_policy([_plan(waived)])
