"""Values as labels and as text: the one place that decides when two labels are equal and how a
value, a category or a number is shown in a cohort condition or a heatmap axis."""

from __future__ import annotations

import math
from typing import Any

OTHER = "(other)"
MISSING = "(missing)"


def _as_labels(values: Any) -> Any:
    """A 1-d numpy array of labels: floats when every value is numeric, else strings."""
    import numpy as np
    import pandas as pd

    arr = np.asarray(values, dtype=object).ravel()
    num = pd.to_numeric(pd.Series(arr), errors="coerce")
    if not num.isna().any():
        return num.to_numpy(dtype=float)
    return np.array([label_text(v) for v in arr], dtype=object)


def align_labels(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Both as numbers when both are numeric, else both as text (so 1 == 1.0 and "a" == "a")."""
    import numpy as np

    t, p = _as_labels(y_true), _as_labels(y_pred)
    if t.dtype == object or p.dtype == object:

        def text(a: Any) -> Any:
            return np.array([label_text(v) for v in a], dtype=object)

        return text(t), text(p)
    return t, p


def label_text(v: Any) -> str:
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def category_text(series: Any) -> Any:
    return series.map(lambda v: MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else label_text(v))


def num_text(v: float) -> str:
    return f"{v:.4g}"
