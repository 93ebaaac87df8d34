"""The analysis: metrics, per-row error flags, the error tree, the heatmap, fairness by group and
permutation importance. numpy / pandas / scikit-learn are imported inside the functions.

Everything is deterministic: the tree uses ``random_state=0``, permutations a seeded generator, bins
come from quantiles, and every list is sorted.

One module per concern:

- ``labels``      when two labels are equal, and how values, categories and numbers are shown
- ``metrics``     the per-row error flag and MLflow's default classifier / regressor metrics
- ``tree``        the feature encoding, the error tree and its cohorts
- ``bins``        rows grouped by one feature (a heatmap axis, a fairness group)
- ``heatmap``     error counts over one or two features' bins
- ``fairness``    a metric per group of a sensitive feature and its disparity
- ``importance``  permutation importance

The names below are the analysis' interface (``from modeldeploy.evaluation import analysis as an``).
"""

from __future__ import annotations

from modeldeploy.evaluation.analysis.bins import Axis, bin_rows
from modeldeploy.evaluation.analysis.fairness import FairnessResult, GroupValue, fairness
from modeldeploy.evaluation.analysis.heatmap import Heatmap, heatmap
from modeldeploy.evaluation.analysis.importance import IMPORTANCE_ROWS, permutation_importance, permutation_rows
from modeldeploy.evaluation.analysis.labels import MISSING, OTHER, align_labels
from modeldeploy.evaluation.analysis.metrics import classification_metrics, error_flags, metrics_for, regression_metrics
from modeldeploy.evaluation.analysis.tree import (
    MAX_CATEGORIES,
    Cohort,
    Column,
    Encoding,
    ErrorTree,
    Split,
    TreeNode,
    cohorts_of,
    condition_text,
    encode,
    fit_encoding,
    fit_error_tree,
)

__all__ = [
    "IMPORTANCE_ROWS",
    "MAX_CATEGORIES",
    "MISSING",
    "OTHER",
    "Axis",
    "Cohort",
    "Column",
    "Encoding",
    "ErrorTree",
    "FairnessResult",
    "GroupValue",
    "Heatmap",
    "Split",
    "TreeNode",
    "align_labels",
    "bin_rows",
    "classification_metrics",
    "cohorts_of",
    "condition_text",
    "encode",
    "error_flags",
    "fairness",
    "fit_encoding",
    "fit_error_tree",
    "heatmap",
    "metrics_for",
    "permutation_importance",
    "permutation_rows",
    "regression_metrics",
]
