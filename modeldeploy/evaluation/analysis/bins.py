"""Rows grouped by one feature: a heatmap axis, and the groups fairness is measured on. Numbers with
few distinct values keep them; other numbers are binned by quantile; categories keep the most
frequent ones and pool the rest as ``(other)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeldeploy.evaluation.analysis.labels import OTHER, category_text, num_text


@dataclass(frozen=True)
class Axis:
    feature: str
    labels: tuple[str, ...]
    index: Any  # numpy int array: bin per row


def bin_rows(X: Any, feature: str, categorical: bool, bins: int) -> Axis:
    import numpy as np

    col = X[feature]
    if not categorical:
        values = col.astype(float)
        filled = values.fillna(values.median() if values.notna().any() else 0.0).to_numpy()
        uniq = np.unique(filled)
        if len(uniq) <= bins:
            idx = np.searchsorted(uniq, filled)
            return Axis(feature, tuple(num_text(float(u)) for u in uniq), idx)
        edges = np.unique(np.quantile(filled, np.linspace(0, 1, bins + 1)))
        inner = edges[1:-1]
        idx = np.searchsorted(inner, filled, side="left")  # x <= edge goes to the lower bin
        labels = []
        for i in range(len(inner) + 1):
            lo = edges[i]
            hi = edges[i + 1]
            labels.append(f"[{num_text(lo)}, {num_text(hi)}]" if i == 0 else f"({num_text(lo)}, {num_text(hi)}]")
        return Axis(feature, tuple(labels), idx)
    text = category_text(col)
    counts = text.value_counts()
    ordered = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    keep = ordered[: max(bins, 2)]
    labels = sorted(keep)
    if len(ordered) > len(keep):
        labels.append(OTHER)
    pos = {k: i for i, k in enumerate(labels)}
    other = pos.get(OTHER, 0)
    idx = text.map(lambda v: pos.get(v, other)).to_numpy(dtype=int)
    return Axis(feature, tuple(labels), idx)
