"""The gate's verdict: findings from metrics, cohorts and fairness, waivers applied, pass or fail.

Rules (waivable in ``evaluation.waivers`` with a reason, like ``signature.waivers``):

- EVAL101  a metric misses its ``threshold`` (field: the metric name)
- EVAL102  a metric misses ``min_absolute_change`` / ``min_relative_change`` against the baseline, or the
           baseline has no value for it (field: the metric name)
- EVAL201  the worst cohort's error rate is above ``cohorts.max_error_rate`` (one finding per cohort
           above it; field: the cohort's condition)
- EVAL202  a cohort's error rate rose over the baseline's on the same rows by more than
           ``cohorts.max_regression`` (field: the cohort's condition)
- EVAL301  fairness: the metric's difference (or ratio) across groups breaks the threshold (field: the
           sensitive feature)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from modeldeploy.spec.evaluation import RULES, waived

FORMAT_VERSION = "1"


@dataclass(frozen=True)
class GateFinding:
    rule: str
    field: str
    message: str
    waived: str | None = None  # the waiver's reason

    def to_json(self) -> dict[str, Any]:
        out = {"rule": self.rule, "field": self.field, "message": self.message, "title": RULES[self.rule]}
        if self.waived:
            out["waived"] = self.waived
        return out


@dataclass(frozen=True)
class Report:
    """Everything ``evaluate`` found; ``to_json`` is evaluation.json."""

    name: str
    env: str | None
    task: str
    rows: int
    target: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    scorer: str
    baseline: str  # "none" or the baseline's source
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] | None
    checks: tuple[Any, ...]  # thresholds.MetricCheck
    tree: Any  # analysis.ErrorTree
    cohorts: tuple[Any, ...]  # analysis.Cohort, worst first
    regression_cohorts: tuple[Any, ...]
    heatmap: Any  # analysis.Heatmap
    fairness: tuple[Any, ...]  # analysis.FairnessResult
    importance: tuple[tuple[str, float], ...]
    error_threshold: float | None
    settings: dict[str, Any]
    findings: tuple[GateFinding, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def failing(self) -> list[GateFinding]:
        return [f for f in self.findings if not f.waived]

    @property
    def passed(self) -> bool:
        return not self.failing

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "environment": self.env,
            "task": self.task,
            "rows": self.rows,
            "target": self.target,
            "features": list(self.features),
            "categorical_features": list(self.categorical),
            "scored_by": self.scorer,
            "baseline": self.baseline,
            "passed": self.passed,
            "findings": [f.to_json() for f in self.findings],
            "metrics": {k: _round(v) for k, v in sorted(self.metrics.items())},
            "baseline_metrics": None
            if self.baseline_metrics is None
            else {k: _round(v) for k, v in sorted(self.baseline_metrics.items())},
            "thresholds": [c.to_json() for c in self.checks],
            "error_threshold": self.error_threshold,
            "cohorts": [c.to_json() for c in self.cohorts],
            "regression_cohorts": [c.to_json() for c in self.regression_cohorts],
            "error_tree": self.tree.to_json(),
            "heatmap": self.heatmap.to_json(),
            "fairness": [f.to_json() for f in self.fairness],
            "feature_importance": [{"feature": f, "importance": _round(v)} for f, v in self.importance],
            "settings": self.settings,
            "notes": list(self.notes),
        }


def _round(v: float) -> float | None:
    """Six decimals; NaN/inf (e.g. r2 of a single row) become null — JSON has no NaN."""
    v = float(v)
    return round(v, 6) if math.isfinite(v) else None


def findings(
    section: Any,
    checks: Sequence[Any],
    cohorts: Sequence[Any],
    regression_cohorts: Sequence[Any],
    fairness: Sequence[Any],
) -> list[GateFinding]:
    """Every finding with waivers applied, in a stable order (rule, then as found)."""
    out: list[GateFinding] = []
    for c in checks:
        if not c.threshold_passed:  # below the threshold, or the metric is missing
            out.append(GateFinding("EVAL101", c.metric, c.message()))
        if not c.missing_candidate and not c.change_passed:
            out.append(GateFinding("EVAL102", c.metric, c.message()))
    limit = section.cohorts.max_error_rate
    if limit is not None:
        for c in cohorts:
            if c.error_rate > limit:
                out.append(
                    GateFinding(
                        "EVAL201", c.condition, f"{c.summary()} ({c.error_rate:.1%} > max_error_rate {limit:.1%})"
                    )
                )
    reg = section.cohorts.max_regression
    if reg is not None:
        seen = set()
        for c in [*cohorts, *regression_cohorts]:
            if c.regression is not None and c.regression > reg and c.condition not in seen:
                seen.add(c.condition)
                out.append(
                    GateFinding(
                        "EVAL202",
                        c.condition,
                        f"{c.condition}: error rate {c.error_rate:.1%} vs baseline {c.baseline_error_rate:.1%} "
                        f"on the same {c.n} rows (+{c.regression:.1%} > max_regression {reg:.1%})",
                    )
                )
    for f in fairness:
        if not f.passed:
            sign = ">" if f.kind == "difference" else "<"
            out.append(
                GateFinding(
                    "EVAL301",
                    f.feature,
                    f"{f.metric} by {f.feature}: {f.kind} {f.disparity:.4g} {sign} threshold {f.threshold:g} ("
                    + ", ".join(f"{g.group}: {g.value:.4g}" for g in f.groups)
                    + ")",
                )
            )
    return [replace(f, waived=waived(f.rule, (f.field,), section.waivers)) for f in out]
