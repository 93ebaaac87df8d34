"""The analysis: metrics, per-row error flags, the error tree, the heatmap, fairness by group and
permutation importance. numpy / pandas / scikit-learn are imported inside the functions.

Everything is deterministic: the tree uses ``random_state=0``, permutations a seeded generator, bins
come from quantiles, and every list is sorted.

Error flag per row:

- classification: the predicted label differs from the target (labels compared as numbers when both
  sides are numeric, as text otherwise);
- regression: ``|prediction - target| > cohorts.error_threshold``; without ``error_threshold`` the
  candidate's mean absolute error is used (so the tree finds where errors are above average), and the
  same value is used for the baseline so both are judged on one scale.

The error tree is scikit-learn's ``DecisionTreeClassifier`` fitted to that flag (``max_depth``,
``min_samples_leaf``; as Azure's error analysis ``surrogate_error_tree``). Numeric features are used
as they are (missing values filled with the column's median); categorical features are one-hot
encoded (the 20 most frequent categories; the rest pooled as ``(other)``) so a split reads
``color == red`` / ``color != red``. Each leaf is a cohort whose condition is the path from the root,
with the bounds of each feature merged: ``petal_width > 1.55 and petal_width <= 1.85``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

MAX_CATEGORIES = 20
OTHER = "(other)"
MISSING = "(missing)"


# --- labels, error flags, metrics ----------------------------------------------------------------


def _as_labels(values: Any) -> Any:
    """A 1-d numpy array of labels: floats when every value is numeric, else strings."""
    import numpy as np
    import pandas as pd

    arr = np.asarray(values, dtype=object).ravel()
    num = pd.to_numeric(pd.Series(arr), errors="coerce")
    if not num.isna().any():
        return num.to_numpy(dtype=float)
    return np.array([_label_text(v) for v in arr], dtype=object)


def align_labels(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Both as numbers when both are numeric, else both as text (so 1 == 1.0 and "a" == "a")."""
    import numpy as np

    t, p = _as_labels(y_true), _as_labels(y_pred)
    if t.dtype == object or p.dtype == object:
        def text(a: Any) -> Any:
            return np.array([_label_text(v) for v in a], dtype=object)

        return text(t), text(p)
    return t, p


def _label_text(v: Any) -> str:
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def error_flags(task: str, y_true: Any, y_pred: Any, error_threshold: float | None) -> Any:
    """Boolean array: the row is an error (see module docstring)."""
    import numpy as np

    if task == "classification":
        t, p = align_labels(y_true, y_pred)
        return t != p
    err = np.abs(np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float))
    return err > float(cast(float, error_threshold))  # regression always has one (the MAE when not set)


def classification_metrics(y_true: Any, y_pred: Any, proba: Any = None, classes: Sequence[Any] | None = None) -> dict[str, float]:
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
    for name, fn in (("recall_score", sk.recall_score), ("precision_score", sk.precision_score), ("f1_score", sk.f1_score)):
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


def metrics_for(task: str, y_true: Any, y_pred: Any, proba: Any = None, classes: Any = None, error_flag: Any = None) -> dict[str, float]:
    if task == "classification":
        return classification_metrics(y_true, y_pred, proba, classes)
    out = regression_metrics(y_true, y_pred)
    if error_flag is not None:
        out["error_rate"] = float(error_flag.mean())
    return out


# --- feature encoding for the tree ---------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the tree's matrix: a numeric feature, or ``feature == category``."""

    feature: str
    category: str | None = None  # set for one-hot columns


@dataclass(frozen=True)
class Encoding:
    columns: tuple[Column, ...]
    medians: Mapping[str, float]
    categories: Mapping[str, tuple[str, ...]]


def _category_text(series: Any) -> Any:
    return series.map(lambda v: MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else _label_text(v))


def fit_encoding(X: Any, features: Sequence[str], categorical: Sequence[str]) -> Encoding:
    cats = set(categorical)
    columns: list[Column] = []
    medians: dict[str, float] = {}
    categories: dict[str, tuple[str, ...]] = {}
    for f in features:
        if f in cats:
            counts = _category_text(X[f]).value_counts()
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            keep = tuple(k for k, _ in ordered[:MAX_CATEGORIES])
            if len(ordered) > MAX_CATEGORIES:
                keep = keep + (OTHER,)
            categories[f] = keep
            columns.extend(Column(f, c) for c in keep)
        else:
            col = X[f].astype(float)
            med = float(col.median()) if col.notna().any() else 0.0
            medians[f] = med
            columns.append(Column(f))
    return Encoding(tuple(columns), medians, categories)


def encode(enc: Encoding, X: Any) -> Any:
    import numpy as np

    n = len(X)
    mat = np.empty((n, len(enc.columns)), dtype=float)
    cat_cache: dict[str, Any] = {}
    for j, c in enumerate(enc.columns):
        if c.category is None:
            mat[:, j] = X[c.feature].astype(float).fillna(enc.medians[c.feature]).to_numpy()
        else:
            if c.feature not in cat_cache:
                known = set(enc.categories[c.feature])
                text = _category_text(X[c.feature])
                cat_cache[c.feature] = text.where(text.isin(known), OTHER).to_numpy()
            mat[:, j] = (cat_cache[c.feature] == c.category).astype(float)
    return mat


# --- the error tree ------------------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:.4g}"


@dataclass(frozen=True)
class Split:
    """One step on a path: numeric ``feature <= value`` / ``> value``, or ``feature ==/!= category``."""

    feature: str
    op: str  # "<=", ">", "==", "!="
    value: float | str

    def text(self) -> str:
        v = _num(self.value) if isinstance(self.value, float) else self.value
        return f"{self.feature} {self.op} {v}"


def condition_text(path: Sequence[Split]) -> str:
    """The conjunction with each feature's bounds merged, in the order features first appear."""
    if not path:
        return "all rows"
    order: list[str] = []
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    equal: dict[str, str] = {}
    not_equal: dict[str, list[str]] = {}
    for s in path:
        if s.feature not in order:
            order.append(s.feature)
        if s.op == ">":
            lower[s.feature] = max(lower.get(s.feature, -math.inf), float(s.value))
        elif s.op == "<=":
            upper[s.feature] = min(upper.get(s.feature, math.inf), float(s.value))
        elif s.op == "==":
            equal[s.feature] = str(s.value)
        else:
            not_equal.setdefault(s.feature, []).append(str(s.value))
    parts = []
    for f in order:
        if f in lower:
            parts.append(f"{f} > {_num(lower[f])}")
        if f in upper:
            parts.append(f"{f} <= {_num(upper[f])}")
        if f in equal:
            parts.append(f"{f} == {equal[f]}")
        elif f in not_equal:
            vals = sorted(set(not_equal[f]))
            parts.append(f"{f} != {vals[0]}" if len(vals) == 1 else f"{f} not in {{{', '.join(vals)}}}")
    return " and ".join(parts)


@dataclass(frozen=True)
class TreeNode:
    id: int
    parent: int | None
    depth: int
    split: Split | None  # the edge from the parent
    n: int
    errors: int
    leaf: bool
    condition: str

    @property
    def error_rate(self) -> float:
        return self.errors / self.n if self.n else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "depth": self.depth,
            "edge": self.split.text() if self.split else None,
            "n": self.n,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "leaf": self.leaf,
            "condition": self.condition,
        }


@dataclass(frozen=True)
class ErrorTree:
    nodes: tuple[TreeNode, ...]
    leaf_of_row: Any  # numpy array: node id per row
    split_features: tuple[str, ...]  # in breadth-first order, unique

    @property
    def leaves(self) -> list[TreeNode]:
        return [n for n in self.nodes if n.leaf]

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [n.to_json() for n in self.nodes], "split_features": list(self.split_features)}


def fit_error_tree(matrix: Any, enc: Encoding, flags: Any, *, max_depth: int, min_samples_leaf: int) -> ErrorTree:
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(flags, dtype=bool)
    if y.all() or not y.any():
        # Nothing to separate: one cohort, all rows.
        node = TreeNode(0, None, 0, None, len(y), int(y.sum()), True, "all rows")
        return ErrorTree((node,), np.zeros(len(y), dtype=int), ())
    clf = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=0)
    clf.fit(matrix, y)
    t = clf.tree_
    leaf_of_row = clf.apply(matrix)
    # Counts from the rows themselves (tree_.value holds fractions in recent scikit-learn).
    decision = clf.decision_path(matrix)
    n_per_node = np.asarray(decision.sum(axis=0)).ravel()
    err_per_node = np.asarray(decision[y].sum(axis=0)).ravel() if y.any() else np.zeros(t.node_count)
    nodes: list[TreeNode] = []
    paths: dict[int, list[Split]] = {0: []}
    parents: dict[int, tuple[int | None, Split | None, int]] = {0: (None, None, 0)}
    split_features: list[str] = []
    queue = [0]
    while queue:
        nid = queue.pop(0)
        parent, split, depth = parents[nid]
        left, right = int(t.children_left[nid]), int(t.children_right[nid])
        leaf = left == -1
        nodes.append(
            TreeNode(nid, parent, depth, split, int(n_per_node[nid]), int(err_per_node[nid]), leaf, condition_text(paths[nid]))
        )
        if leaf:
            continue
        col = enc.columns[int(t.feature[nid])]
        if col.feature not in split_features:
            split_features.append(col.feature)
        if col.category is None:
            thr = float(t.threshold[nid])
            ls, rs = Split(col.feature, "<=", thr), Split(col.feature, ">", thr)
        else:  # one-hot: left is 0 (not this category), right is 1
            ls, rs = Split(col.feature, "!=", col.category), Split(col.feature, "==", col.category)
        for child, s in ((left, ls), (right, rs)):
            paths[child] = paths[nid] + [s]
            parents[child] = (nid, s, depth + 1)
            queue.append(child)
    return ErrorTree(tuple(nodes), leaf_of_row, tuple(split_features))


@dataclass(frozen=True)
class Cohort:
    """A leaf of an error tree, judged for the candidate and (when there is one) the baseline."""

    condition: str
    n: int
    errors: int
    baseline_errors: int | None = None
    source: str = "candidate"  # which tree found it: candidate errors, or new errors vs the baseline

    @property
    def error_rate(self) -> float:
        return self.errors / self.n if self.n else 0.0

    @property
    def baseline_error_rate(self) -> float | None:
        return None if self.baseline_errors is None or not self.n else self.baseline_errors / self.n

    @property
    def regression(self) -> float | None:
        b = self.baseline_error_rate
        return None if b is None else self.error_rate - b

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "condition": self.condition,
            "n": self.n,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "found_by": self.source,
        }
        if self.baseline_errors is not None:
            out["baseline_errors"] = self.baseline_errors
            out["baseline_error_rate"] = round(self.baseline_error_rate or 0.0, 6)
            out["regression"] = round(self.regression or 0.0, 6)
        return out

    def summary(self) -> str:
        return f"{self.condition}: {self.errors}/{self.n} wrong"


def cohorts_of(tree: ErrorTree, flags: Any, baseline_flags: Any = None, source: str = "candidate") -> list[Cohort]:
    """Each leaf with the candidate's (and the baseline's) errors on its rows; worst first."""
    import numpy as np

    out = []
    for leaf in tree.leaves:
        rows = tree.leaf_of_row == leaf.id
        n = int(rows.sum())
        if n == 0:
            continue
        errors = int(np.asarray(flags)[rows].sum())
        base = int(np.asarray(baseline_flags)[rows].sum()) if baseline_flags is not None else None
        out.append(Cohort(leaf.condition, n, errors, base, source))
    return sorted(out, key=lambda c: (-c.error_rate, -c.n, c.condition))


# --- heatmap -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    feature: str
    labels: tuple[str, ...]
    index: Any  # numpy int array: bin per row


def _axis(X: Any, feature: str, categorical: bool, bins: int) -> Axis:
    import numpy as np

    col = X[feature]
    if not categorical:
        values = col.astype(float)
        filled = values.fillna(values.median() if values.notna().any() else 0.0).to_numpy()
        uniq = np.unique(filled)
        if len(uniq) <= bins:
            idx = np.searchsorted(uniq, filled)
            return Axis(feature, tuple(_num(float(u)) for u in uniq), idx)
        edges = np.unique(np.quantile(filled, np.linspace(0, 1, bins + 1)))
        inner = edges[1:-1]
        idx = np.searchsorted(inner, filled, side="left")  # x <= edge goes to the lower bin
        labels = []
        for i in range(len(inner) + 1):
            lo = edges[i]
            hi = edges[i + 1]
            labels.append(f"[{_num(lo)}, {_num(hi)}]" if i == 0 else f"({_num(lo)}, {_num(hi)}]")
        return Axis(feature, tuple(labels), idx)
    text = _category_text(col)
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
    a = _axis(X, features[0], features[0] in cats, bins)
    if len(features) > 1:
        b = _axis(X, features[1], features[1] in cats, bins)
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


# --- fairness ------------------------------------------------------------------------------------


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
    axis = _axis(X_all, feature, not (numeric and col.nunique() > 10), bins)
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


# --- permutation importance ----------------------------------------------------------------------

IMPORTANCE_ROWS = 2000


def permutation_rows(X: Any, features: Sequence[str], *, max_rows: int = IMPORTANCE_ROWS, seed: int = 0) -> tuple[Any, Any]:
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


def _round6(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
