"""MLflow's ``MetricThreshold`` semantics, re-implemented without importing mlflow.

Matches ``mlflow.models.evaluation.validation._validate`` (mlflow 3.17.2) check for check:

- ``threshold``: candidate >= threshold (greater is better) or <= threshold (lower is better).
- ``min_absolute_change``: candidate >= baseline + change (or <= baseline - change), compared as
  ``Decimal`` of the float sum, as MLflow does.
- ``min_relative_change``: (candidate - baseline) / |baseline| >= change (greater is better) or
  (baseline - candidate) / |baseline| >= change; a baseline of 0 falls back to "strictly better by
  1e-10".
- a metric missing from the candidate fails; a change check whose metric is missing from the baseline
  (no baseline at all included) fails as "missing baseline" — the threshold check is still reported.

One deliberate difference: MLflow refuses ``min_absolute_change: 0`` when building the threshold (and
then could not compare it: its truthiness test skips the missing-baseline check); here 0 is accepted
and means "not worse than the baseline", and a missing baseline fails it like any other change check.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast


@dataclass(frozen=True)
class MetricCheck:
    """The verdict for one metric: which checks failed, with the values they compared."""

    metric: str
    candidate: float | None
    baseline: float | None
    threshold: float | None
    min_absolute_change: float | None
    min_relative_change: float | None
    greater_is_better: bool
    missing_candidate: bool = False
    missing_baseline: bool = False
    threshold_failed: bool = False
    min_absolute_change_failed: bool = False
    min_relative_change_failed: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not (
            self.missing_candidate
            or self.missing_baseline
            or self.threshold_failed
            or self.min_absolute_change_failed
            or self.min_relative_change_failed
        )

    @property
    def threshold_passed(self) -> bool:
        return not (self.missing_candidate or self.threshold_failed)

    @property
    def change_passed(self) -> bool:
        return not (
            self.missing_candidate
            or self.missing_baseline
            or self.min_absolute_change_failed
            or self.min_relative_change_failed
        )

    def message(self) -> str:
        """Why it failed, in MLflow's words."""
        m = self.metric
        if self.passed:
            return f"Metric {m} passed the validation."
        if self.missing_candidate:
            return (
                f"Metric validation failed: metric {m} was missing from the evaluation result of the candidate model."
            )
        parts = []
        if self.threshold_failed:
            parts.append(
                f"Metric {m} value threshold check failed: candidate model {m} = {self.candidate}, {m} threshold = {self.threshold}."
            )
        if self.missing_baseline:
            parts.append(
                f"Model comparison failed: metric {m} was missing from the evaluation result of the baseline model."
            )
        else:
            if self.min_absolute_change_failed:
                parts.append(
                    f"Metric {m} minimum absolute change check failed: candidate model {m} = {self.candidate}, "
                    f"baseline model {m} = {self.baseline}, {m} minimum absolute change threshold = {self.min_absolute_change}."
                )
            if self.min_relative_change_failed:
                parts.append(
                    f"Metric {m} minimum relative change check failed: candidate model {m} = {self.candidate}, "
                    f"baseline model {m} = {self.baseline}, {m} minimum relative change threshold = {self.min_relative_change}."
                )
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "candidate": _finite(self.candidate),
            "baseline": _finite(self.baseline),
            "threshold": self.threshold,
            "min_absolute_change": self.min_absolute_change,
            "min_relative_change": self.min_relative_change,
            "greater_is_better": self.greater_is_better,
            "passed": self.passed,
            "failed": [
                k
                for k in (
                    "missing_candidate",
                    "missing_baseline",
                    "threshold_failed",
                    "min_absolute_change_failed",
                    "min_relative_change_failed",
                )
                if getattr(self, k)
            ],
            "message": self.message(),
        }


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def check_metric(
    name: str, spec: Any, candidate: Mapping[str, float], baseline: Mapping[str, float] | None
) -> MetricCheck:
    """One metric against its ``MetricThresholdSpec`` (anything with threshold, min_absolute_change,
    min_relative_change, greater_is_better)."""
    baseline = baseline or {}
    gib = bool(spec.greater_is_better)
    base_kw = dict(
        metric=name,
        candidate=candidate.get(name),
        baseline=baseline.get(name),
        threshold=spec.threshold,
        min_absolute_change=spec.min_absolute_change,
        min_relative_change=spec.min_relative_change,
        greater_is_better=gib,
    )
    if name not in candidate:
        return MetricCheck(**base_kw, missing_candidate=True)
    value = candidate[name]
    comparator = operator.ge if gib else operator.le
    combine = operator.add if gib else operator.sub
    flags: dict[str, Any] = {}
    if spec.threshold is not None:
        flags["threshold_failed"] = not comparator(value, spec.threshold)
    compares = spec.min_absolute_change is not None or spec.min_relative_change is not None
    if compares and name not in baseline:
        return MetricCheck(**base_kw, missing_baseline=True, **flags)
    base = baseline.get(name)
    if spec.min_absolute_change is not None:
        flags["min_absolute_change_failed"] = not comparator(
            Decimal(value), Decimal(combine(base, spec.min_absolute_change))
        )
    if spec.min_relative_change is not None:
        if base == 0:
            flags["min_relative_change_failed"] = not comparator(Decimal(value), Decimal(combine(base, 1e-10)))
            flags["notes"] = ("baseline is 0: relative change falls back to 'strictly better than the baseline'",)
        else:
            v, b = value, cast(float, base)  # both present: checked above
            change = (v - b) / abs(b) if gib else (b - v) / abs(b)
            flags["min_relative_change_failed"] = change < spec.min_relative_change
    return MetricCheck(**base_kw, **flags)


def check_all(
    thresholds: Mapping[str, Any], candidate: Mapping[str, float], baseline: Mapping[str, float] | None
) -> list[MetricCheck]:
    """Every threshold, in the order given (``mlflow.validate_evaluation_results`` without the raise)."""
    return [check_metric(name, spec, candidate, baseline) for name, spec in thresholds.items()]
