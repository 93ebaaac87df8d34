"""Per-row error flags and MLflow's default metrics.

Error flag per row:

- classification: the predicted label differs from the target (labels compared as numbers when both
  sides are numeric, as text otherwise);
- regression: ``|prediction - target| > cohorts.error_threshold``; without ``error_threshold`` the
  candidate's mean absolute error is used (so the tree finds where errors are above average), and the
  same value is used for the baseline so both are judged on one scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

from modeldeploy.evaluation.analysis.labels import align_labels


def error_flags(task: str, y_true: Any, y_pred: Any, error_threshold: float | None) -> Any:
    """Boolean array: the row is an error (see module docstring)."""
    import numpy as np

    if task == "classification":
        t, p = align_labels(y_true, y_pred)
        return t != p
    err = np.abs(np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float))
    return err > float(cast(float, error_threshold))  # regression always has one (the MAE when not set)


def classification_metrics(
    y_true: Any, y_pred: Any, proba: Any = None, classes: Sequence[Any] | None = None
) -> dict[str, float]:
    """MLflow's default classifier metrics: binary (pos_label = the largest label) or weighted
    multiclass; ``log_loss`` when class probabilities are available."""
    import numpy as np
    from sklearn import metrics as sk

    t, p = align_labels(y_true, y_pred)
    labels = np.unique(np.concatenate([t, p]))
    out: dict[str, float] = {"example_count": float(len(t))}
    out["accuracy_score"] = float(sk.accuracy_score(t, p))
    out["error_rate"] = 1.0 - out["accuracy_score"]
    if len(labels) == 2:
        kw: dict[str, Any] = {"average": "binary", "pos_label": labels[-1]}
    else:
        kw = {"average": "weighted"}
    for name, fn in (
        ("recall_score", sk.recall_score),
        ("precision_score", sk.precision_score),
        ("f1_score", sk.f1_score),
    ):
        out[name] = float(fn(t, p, zero_division=0, **kw))
    if proba is not None and classes is not None:
        cls, _ = align_labels(list(classes), list(classes))
        if set(np.unique(t).tolist()) <= set(cls.tolist()):
            out["log_loss"] = float(sk.log_loss(t, np.asarray(proba, dtype=float), labels=cls))
    return out


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """MLflow's default regressor metrics."""
    import numpy as np
    from sklearn import metrics as sk

    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    mse = float(sk.mean_squared_error(t, p))
    return {
        "example_count": float(len(t)),
        "mean_absolute_error": float(sk.mean_absolute_error(t, p)),
        "mean_squared_error": mse,
        "root_mean_squared_error": math.sqrt(mse),
        "r2_score": float(sk.r2_score(t, p)),
        "max_error": float(sk.max_error(t, p)),
        "mean_absolute_percentage_error": float(sk.mean_absolute_percentage_error(t, p)),
    }


def metrics_for(
    task: str, y_true: Any, y_pred: Any, proba: Any = None, classes: Any = None, error_flag: Any = None
) -> dict[str, float]:
    if task == "classification":
        return classification_metrics(y_true, y_pred, proba, classes)
    out = regression_metrics(y_true, y_pred)
    if error_flag is not None:
        out["error_rate"] = float(error_flag.mean())
    return out
