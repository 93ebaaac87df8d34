"""What a plan carries of the evaluation gate: a JSON-able summary of the report (the metric table,
the worst cohorts in feature terms, fairness by group, the findings with their waivers, the baseline
in words). Plans, saved plans and the three printers use this dict, never the report itself, so the
planning layer needs nothing of numpy/pandas/scikit-learn."""

from __future__ import annotations

from typing import Any


def plan_summary(report: Any) -> dict[str, Any]:
    full = report.to_json()
    show = report.settings.get("show", 5)
    metrics = [
        {
            k: c[k]
            for k in (
                "metric",
                "candidate",
                "baseline",
                "threshold",
                "min_absolute_change",
                "min_relative_change",
                "greater_is_better",
                "passed",
            )
        }
        for c in full["thresholds"]
    ]
    extra = sorted(set(full["metrics"]) - {m["metric"] for m in metrics})
    return {
        "passed": full["passed"],
        "rows": full["rows"],
        "scored_by": full["scored_by"],
        "baseline": full["baseline"],
        "metrics": metrics,
        "other_metrics": {k: full["metrics"][k] for k in extra},
        "max_error_rate": report.settings.get("max_error_rate"),
        "max_regression": report.settings.get("max_regression"),
        "cohorts": full["cohorts"][:show],
        "regression_cohorts": full["regression_cohorts"],
        "fairness": full["fairness"],
        "findings": full["findings"],
        "notes": full["notes"],
    }
