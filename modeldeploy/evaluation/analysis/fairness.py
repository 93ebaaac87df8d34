"""Fairness by group: one metric per group of a sensitive feature and the disparity between groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeldeploy.evaluation.analysis.bins import bin_rows
from modeldeploy.evaluation.analysis.labels import align_labels


@dataclass(frozen=True)
class GroupValue:
    group: str
    n: int
    value: float


@dataclass(frozen=True)
class FairnessResult:
    feature: str
    metric: str
    kind: str
    threshold: float
    groups: tuple[GroupValue, ...]
    disparity: float  # difference (max - min) or ratio (min / max)

    @property
    def passed(self) -> bool:
        if self.kind == "difference":
            return self.disparity <= self.threshold
        return self.disparity >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "metric": self.metric,
            "kind": self.kind,
            "threshold": self.threshold,
            "value": round(self.disparity, 6),
            "passed": self.passed,
            "groups": [{"group": g.group, "n": g.n, "value": round(g.value, 6)} for g in self.groups],
        }


def _group_metric(metric: str, y_true: Any, y_pred: Any, flags: Any, positive: Any) -> float:
    import numpy as np

    if metric == "error_rate":
        return float(np.mean(flags))
    if metric == "accuracy_score":
        return 1.0 - float(np.mean(flags))
    if metric == "selection_rate":
        _, p = align_labels(y_true, y_pred)
        return float(np.mean(p == positive))
    err = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    if metric == "mean_absolute_error":
        return float(np.mean(np.abs(err)))
    if metric == "root_mean_squared_error":
        return float(np.sqrt(np.mean(err**2)))
    raise ValueError(f"unknown fairness metric {metric}")


def fairness(
    X_all: Any,
    feature: str,
    y_true: Any,
    y_pred: Any,
    flags: Any,
    *,
    metric: str,
    kind: str,
    threshold: float,
    positive_label: str | None,
    bins: int = 5,
) -> FairnessResult:
    """The metric per group of ``feature`` (numbers with many values binned by quantile)."""
    import numpy as np
    import pandas as pd

    col = X_all[feature]
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    axis = bin_rows(X_all, feature, not (numeric and col.nunique() > 10), bins)
    t, p = align_labels(y_true, y_pred)
    positive: Any = None
    if metric == "selection_rate":
        labels = np.unique(np.concatenate([t, p]))
        if positive_label is None:
            positive = labels[-1]
        elif t.dtype != object:
            try:
                positive = float(positive_label)
            except ValueError:
                positive = positive_label  # a text label among numbers: nothing is selected
        else:
            positive = positive_label
    flags = np.asarray(flags, dtype=bool)
    y_arr = np.asarray(y_true)
    pred_arr = np.asarray(y_pred)
    groups = []
    for i, label in enumerate(axis.labels):
        rows = axis.index == i
        n = int(rows.sum())
        if n == 0:
            continue
        groups.append(GroupValue(label, n, _group_metric(metric, y_arr[rows], pred_arr[rows], flags[rows], positive)))
    values = [g.value for g in groups]
    hi, lo = max(values), min(values)
    if kind == "difference":
        disparity = hi - lo
    else:
        disparity = 1.0 if hi == 0 else lo / hi
    return FairnessResult(feature, metric, kind, threshold, tuple(groups), disparity)
