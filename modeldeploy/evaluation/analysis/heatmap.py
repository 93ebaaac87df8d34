"""The error heatmap: error counts over one or two features' bins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modeldeploy.evaluation.analysis.bins import bin_rows


@dataclass(frozen=True)
class Heatmap:
    features: tuple[str, ...]
    rows: tuple[str, ...]  # labels of the first feature
    cols: tuple[str, ...]  # labels of the second feature ("all" when there is one)
    n: tuple[tuple[int, ...], ...]
    errors: tuple[tuple[int, ...], ...]

    def rate(self, i: int, j: int) -> float | None:
        return self.errors[i][j] / self.n[i][j] if self.n[i][j] else None

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "rows": list(self.rows),
            "cols": list(self.cols),
            "n": [list(r) for r in self.n],
            "errors": [list(r) for r in self.errors],
            "error_rate": [[_round6(self.rate(i, j)) for j in range(len(self.cols))] for i in range(len(self.rows))],
        }


def heatmap(X: Any, flags: Any, features: Sequence[str], categorical: Sequence[str], bins: int) -> Heatmap:
    import numpy as np

    flags = np.asarray(flags, dtype=bool)
    cats = set(categorical)
    a = bin_rows(X, features[0], features[0] in cats, bins)
    if len(features) > 1:
        b = bin_rows(X, features[1], features[1] in cats, bins)
        bidx, blabels = b.index, b.labels
    else:
        bidx, blabels = np.zeros(len(flags), dtype=int), ("all",)
    shape = (len(a.labels), len(blabels))
    cell = a.index * shape[1] + bidx
    n = np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape)
    e = np.bincount(cell, weights=flags.astype(float), minlength=shape[0] * shape[1]).reshape(shape).astype(int)
    return Heatmap(
        tuple(features),
        a.labels,
        tuple(blabels),
        tuple(tuple(int(v) for v in r) for r in n),
        tuple(tuple(int(v) for v in r) for r in e),
    )


def _round6(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
