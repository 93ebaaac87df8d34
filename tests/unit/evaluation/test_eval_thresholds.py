"""MetricThreshold semantics, checked against MLflow's own implementation (mlflow 3.17.2's
``mlflow.models.evaluation.validation._validate``) case by case: same pass/fail, same messages."""

from __future__ import annotations

import itertools
import os
from types import SimpleNamespace

import pytest

from modeldeploy.evaluation.thresholds import check_all, check_metric


def T(threshold=None, abs_=None, rel=None, gib=True):
    return SimpleNamespace(
        threshold=threshold, min_absolute_change=abs_, min_relative_change=rel, greater_is_better=gib
    )


def _mlflow_verdict(thresholds: dict, candidate: dict, baseline: dict | None) -> str | None:
    from mlflow.models.evaluation.validation import MetricThreshold, ModelValidationFailedException, _validate

    mt = {
        k: MetricThreshold(
            threshold=t.threshold,
            min_absolute_change=t.min_absolute_change,
            min_relative_change=t.min_relative_change,
            greater_is_better=t.greater_is_better,
        )
        for k, t in thresholds.items()
    }
    try:
        _validate(mt, candidate, baseline or {})
    except ModelValidationFailedException as exc:
        return exc.message
    return None


def _ours(thresholds: dict, candidate: dict, baseline: dict | None) -> str | None:
    checks = check_all(thresholds, candidate, baseline)
    failed = [c.message() for c in checks if not c.passed]
    return os.linesep.join(failed) if failed else None


VALUES = (-0.5, 0.0, 0.7, 0.8, 0.85, 1.0)
SPECS = [
    T(threshold=0.8),
    T(threshold=0.8, gib=False),
    T(abs_=0.05),
    T(abs_=0.05, gib=False),
    T(rel=0.1),
    T(rel=0.1, gib=False),
    T(threshold=0.75, abs_=0.01, rel=0.05),
    T(threshold=0.75, abs_=0.01, rel=0.05, gib=False),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_same_verdict_and_message_as_mlflow(spec) -> None:
    for cand, base in itertools.product(VALUES, VALUES):
        for baseline in ({"m": base}, None):
            ours = _ours({"m": spec}, {"m": cand}, baseline)
            theirs = _mlflow_verdict({"m": spec}, {"m": cand}, baseline)
            assert ours == theirs, (spec, cand, baseline)


def test_missing_candidate_metric_fails_like_mlflow() -> None:
    spec = {"f1_score": T(threshold=0.5)}
    assert _ours(spec, {"accuracy_score": 0.9}, None) == _mlflow_verdict(spec, {"accuracy_score": 0.9}, None)
    assert "missing from the evaluation result of the candidate" in _ours(spec, {"accuracy_score": 0.9}, None)


def test_no_baseline_fails_the_change_check_but_still_judges_the_threshold() -> None:
    c = check_metric("m", T(threshold=0.9, abs_=0.01), {"m": 0.5}, None)
    assert c.missing_baseline and c.threshold_failed and not c.passed
    c = check_metric("m", T(threshold=0.4, abs_=0.01), {"m": 0.5}, None)
    assert c.missing_baseline and not c.threshold_failed and not c.passed


def test_relative_change_uses_the_magnitude_of_a_negative_baseline() -> None:
    # r2 from -0.5 to -0.4 is a 20 % improvement of |baseline|
    assert check_metric("r2", T(rel=0.19), {"r2": -0.4}, {"r2": -0.5}).passed
    assert not check_metric("r2", T(rel=0.21), {"r2": -0.4}, {"r2": -0.5}).passed


def test_zero_baseline_falls_back_to_strictly_better() -> None:
    assert not check_metric("m", T(rel=0.5), {"m": 0.0}, {"m": 0.0}).passed
    assert check_metric("m", T(rel=0.5), {"m": 1e-9}, {"m": 0.0}).passed
    assert check_metric("m", T(rel=0.5, gib=False), {"m": -1e-9}, {"m": 0.0}).passed


def test_zero_absolute_change_means_not_worse() -> None:
    """MLflow refuses min_absolute_change 0; here it means 'not worse than the baseline'."""
    assert check_metric("m", T(abs_=0.0), {"m": 0.8}, {"m": 0.8}).passed
    assert not check_metric("m", T(abs_=0.0), {"m": 0.79}, {"m": 0.8}).passed
    assert check_metric("m", T(abs_=0.0, gib=False), {"m": 0.1}, {"m": 0.2}).passed
    assert not check_metric("m", T(abs_=0.0), {"m": 0.8}, None).passed  # no baseline: cannot check
