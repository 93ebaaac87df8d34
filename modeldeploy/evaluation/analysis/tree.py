"""The error tree and its cohorts.

The error tree is scikit-learn's ``DecisionTreeClassifier`` fitted to the per-row error flag
(``max_depth``, ``min_samples_leaf``; as Azure's error analysis ``surrogate_error_tree``). Numeric
features are used as they are (missing values filled with the column's median); categorical features
are one-hot encoded (the 20 most frequent categories; the rest pooled as ``(other)``) so a split reads
``color == red`` / ``color != red``. Each leaf is a cohort whose condition is the path from the root,
with the bounds of each feature merged: ``petal_width > 1.55 and petal_width <= 1.85``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeldeploy.evaluation.analysis.labels import OTHER, category_text, num_text

MAX_CATEGORIES = 20


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


def fit_encoding(X: Any, features: Sequence[str], categorical: Sequence[str]) -> Encoding:
    cats = set(categorical)
    columns: list[Column] = []
    medians: dict[str, float] = {}
    categories: dict[str, tuple[str, ...]] = {}
    for f in features:
        if f in cats:
            counts = category_text(X[f]).value_counts()
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
                text = category_text(X[c.feature])
                cat_cache[c.feature] = text.where(text.isin(known), OTHER).to_numpy()
            mat[:, j] = (cat_cache[c.feature] == c.category).astype(float)
    return mat


# --- the error tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """One step on a path: numeric ``feature <= value`` / ``> value``, or ``feature ==/!= category``."""

    feature: str
    op: str  # "<=", ">", "==", "!="
    value: float | str

    def text(self) -> str:
        v = num_text(self.value) if isinstance(self.value, float) else self.value
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
            parts.append(f"{f} > {num_text(lower[f])}")
        if f in upper:
            parts.append(f"{f} <= {num_text(upper[f])}")
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
            TreeNode(
                nid,
                parent,
                depth,
                split,
                int(n_per_node[nid]),
                int(err_per_node[nid]),
                leaf,
                condition_text(paths[nid]),
            )
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
