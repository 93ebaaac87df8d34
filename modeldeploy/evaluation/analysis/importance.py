"""Permutation importance: how much the error rises when one feature's column is shuffled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modeldeploy.evaluation.analysis.metrics import error_flags

IMPORTANCE_ROWS = 2000


def permutation_rows(
    X: Any, features: Sequence[str], *, max_rows: int = IMPORTANCE_ROWS, seed: int = 0
) -> tuple[Any, Any]:
    """(rows, frame): a sample of at most ``max_rows`` row positions and one frame holding, for each
    feature in order, those rows with that feature's column shuffled — scored in one batch call."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = len(X)
    rows = np.sort(rng.choice(n, size=min(n, max_rows), replace=False))
    sample = X.iloc[rows].reset_index(drop=True)
    parts = []
    for f in features:
        shuffled = sample.copy()
        shuffled[f] = sample[f].to_numpy()[rng.permutation(len(sample))]
        parts.append(shuffled)
    return rows, pd.concat(parts, ignore_index=True)


def permutation_importance(
    task: str,
    y_sample: Any,
    base_pred: Any,
    permuted_pred: Any,
    features: Sequence[str],
    error_threshold: float | None,
) -> list[tuple[str, float]]:
    """How much the error rate (classification) or mean absolute error (regression) rises when a
    feature is shuffled, most important first."""
    import numpy as np

    m = len(y_sample)
    permuted_pred = np.asarray(permuted_pred, dtype=object)

    def score(pred: Any) -> float:
        if task == "classification":
            return float(np.mean(error_flags(task, y_sample, pred, None)))
        return float(np.mean(np.abs(np.asarray(pred, dtype=float) - np.asarray(y_sample, dtype=float))))

    base = score(base_pred)
    out = [(f, score(permuted_pred[i * m : (i + 1) * m]) - base) for i, f in enumerate(features)]
    return sorted(out, key=lambda kv: (-kv[1], kv[0]))
