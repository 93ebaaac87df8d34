"""The analysis on real pandas data with known predictions (the seam below scoring: ``analyse``
takes the predictions a scorer returned). Scoring itself is tested in tests/integration/evaluation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modeldeploy.evaluation import analysis as an
from modeldeploy.evaluation.run import Inputs, analyse
from modeldeploy.evaluation.scoring import Scores
from modeldeploy.spec.evaluation import EvaluationSection


def section(**kw) -> EvaluationSection:
    base = {"data": "t.csv", "target": "y", "task": "classification"}
    base.update(kw)
    return EvaluationSection.model_validate(base)


def world(n: int = 2000, seed: int = 0):
    """Label = x > 0.5; the 'model' is wrong on color == red and size > 6, and on 2 % elsewhere."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.uniform(0, 1, n),
            "size": rng.integers(0, 10, n),
            "color": rng.choice(["blue", "green", "red"], n),
            "group": rng.choice(["a", "b"], n),
        }
    )
    frame["y"] = (frame.x > 0.5).astype(int)
    wrong = ((frame.color == "red") & (frame["size"] > 6)) | (rng.uniform(0, 1, n) < 0.02)
    pred = np.where(wrong, 1 - frame.y, frame.y)
    features = ["x", "size", "color"]
    return Inputs(frame, frame[features], frame.y, features, ["color"]), pred


def test_categorical_cohort_is_named_in_category_terms() -> None:
    inputs, pred = world()
    r = analyse(section(cohorts={"max_error_rate": 0.3}), inputs, Scores(list(pred)))
    worst = r.cohorts[0]
    assert worst.condition == "size > 6.5 and color == red", worst.condition
    assert worst.error_rate > 0.9
    assert not r.passed and r.failing[0].rule == "EVAL201" and r.failing[0].field == worst.condition
    assert r.failing[0].message.startswith(f"size > 6.5 and color == red: {worst.errors}/{worst.n} wrong")


def test_tree_nodes_add_up() -> None:
    inputs, pred = world()
    r = analyse(section(), inputs, Scores(list(pred)))
    nodes = {n.id: n for n in r.tree.nodes}
    for n in r.tree.nodes:
        kids = [k for k in r.tree.nodes if k.parent == n.id]
        if kids:
            assert sum(k.n for k in kids) == n.n and sum(k.errors for k in kids) == n.errors
    assert nodes[0].n == 2000 and nodes[0].errors == int((pred != inputs.y.to_numpy()).sum())
    assert sum(c.n for c in r.cohorts) == 2000
    assert all(c.n >= 20 for c in r.cohorts)  # min_samples_leaf
    assert max(n.depth for n in r.tree.nodes) <= 3


def test_condition_text_merges_bounds_and_categories() -> None:
    S = an.Split
    path = [
        S("petal_width", ">", 1.55),
        S("color", "!=", "red"),
        S("petal_width", "<=", 1.85),
        S("petal_width", ">", 1.6),
        S("color", "!=", "blue"),
    ]
    assert an.condition_text(path) == "petal_width > 1.6 and petal_width <= 1.85 and color not in {blue, red}"
    assert an.condition_text([]) == "all rows"


def test_heatmap_counts_every_row_once() -> None:
    inputs, pred = world()
    flags = pred != inputs.y.to_numpy()
    hm = an.heatmap(inputs.X, flags, ["size", "color"], ["color"], 5)
    assert hm.features == ("size", "color") and hm.cols == ("blue", "green", "red")
    assert sum(map(sum, hm.n)) == 2000 and sum(map(sum, hm.errors)) == int(flags.sum())
    red = hm.cols.index("red")
    top = hm.rate(len(hm.rows) - 1, red)  # the largest sizes, red: mostly wrong
    assert top is not None and top > 0.9


def test_heatmap_defaults_to_the_trees_split_features() -> None:
    inputs, pred = world()
    r = analyse(section(), inputs, Scores(list(pred)))
    assert r.heatmap.features == r.tree.split_features[:2] and r.tree.split_features[0] in ("size", "color")


def test_fairness_difference_and_ratio() -> None:
    inputs, pred = world()
    flags = (pred != inputs.y.to_numpy()).copy()
    flags[(inputs.frame.group == "b").to_numpy()] = True  # group b always wrong
    d = an.fairness(
        inputs.frame,
        "group",
        inputs.y,
        pred,
        flags,
        metric="error_rate",
        kind="difference",
        threshold=0.1,
        positive_label=None,
    )
    assert [g.group for g in d.groups] == ["a", "b"] and d.groups[1].value == 1.0
    assert d.disparity == pytest.approx(1.0 - d.groups[0].value) and not d.passed
    r = an.fairness(
        inputs.frame,
        "group",
        inputs.y,
        pred,
        flags,
        metric="accuracy_score",
        kind="ratio",
        threshold=0.8,
        positive_label=None,
    )
    assert r.disparity == 0.0 and not r.passed  # min accuracy 0 / max accuracy
    ok = an.fairness(
        inputs.frame,
        "group",
        inputs.y,
        inputs.y,
        np.zeros(2000, bool),
        metric="error_rate",
        kind="difference",
        threshold=0.05,
        positive_label=None,
    )
    assert ok.passed and ok.disparity == 0.0


def test_fairness_gate_fails_with_the_group_values() -> None:
    inputs, pred = world()
    pred = pred.copy()
    b = (inputs.frame.group == "b").to_numpy()
    pred[b] = 1 - inputs.y.to_numpy()[b]
    r = analyse(section(fairness={"sensitive_features": ["group"], "threshold": 0.05}), inputs, Scores(list(pred)))
    f = next(f for f in r.failing if f.rule == "EVAL301")
    assert f.field == "group" and "error_rate by group: difference" in f.message and "b: 1" in f.message


def test_waivers_are_recorded_with_their_reason() -> None:
    inputs, pred = world()
    sec = section(
        cohorts={"max_error_rate": 0.3},
        waivers=[
            {
                "rule": "EVAL201",
                "field": "size > 6.5 and color == red",
                "reason": "red large items are out of scope until Q3",
            }
        ],
    )
    r = analyse(sec, inputs, Scores(list(pred)))
    assert r.passed
    waived = [f for f in r.findings if f.waived]
    assert [f.field for f in waived] == ["size > 6.5 and color == red"]
    assert r.to_json()["findings"][0]["waived"] == "red large items are out of scope until Q3"
    # a waiver for another field does not cover it
    sec2 = section(cohorts={"max_error_rate": 0.3}, waivers=[{"rule": "EVAL201", "field": "size > 9", "reason": "x"}])
    assert not analyse(sec2, inputs, Scores(list(pred))).passed


def test_baseline_regression_on_the_same_cohorts() -> None:
    inputs, pred = world()
    y = inputs.y.to_numpy()
    baseline = np.where(np.random.default_rng(5).uniform(0, 1, len(y)) < 0.02, 1 - y, y)  # 2 % wrong anywhere
    sec = section(baseline="./old", cohorts={"max_regression": 0.05})
    r = analyse(sec, inputs, Scores(list(pred)), Scores(list(baseline)), baseline_label="./old")
    regs = [f for f in r.failing if f.rule == "EVAL202"]
    assert regs and regs[0].field == "size > 6.5 and color == red"
    c = r.cohorts[0]
    assert c.baseline_error_rate < 0.1 and c.regression > 0.8
    # the same predictions as baseline: no regression anywhere
    same = analyse(sec, inputs, Scores(list(pred)), Scores(list(pred)), baseline_label="./old")
    assert not [f for f in same.findings if f.rule == "EVAL202"]


def test_metrics_match_sklearn_and_thresholds_gate() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    inputs, pred = world()
    sec = section(
        thresholds={
            "accuracy_score": {"threshold": 0.99, "greater_is_better": True},
            "error_rate": {"threshold": 0.2, "greater_is_better": False},
        }
    )
    r = analyse(sec, inputs, Scores(list(pred)))
    assert r.metrics["accuracy_score"] == pytest.approx(accuracy_score(inputs.y, pred))
    assert r.metrics["f1_score"] == pytest.approx(f1_score(inputs.y, pred, pos_label=1))
    failing = {f.rule + ":" + f.field for f in r.failing}
    assert failing == {"EVAL101:accuracy_score"}


def test_string_labels_and_numeric_predictions_compare_as_text() -> None:
    t, p = an.align_labels(["1", "2", "a"], [1, 2.0, "a"])
    assert [bool(v) for v in t == p] == [True, True, True]


def test_regression_error_flag_and_metrics() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.uniform(0, 10, 1000), "b": rng.choice(["u", "v"], 1000)})
    frame["y"] = 3 * frame.a
    pred = frame.y + np.where((frame.a > 8) & (frame.b == "v"), 5.0, 0.1)
    inputs = Inputs(frame, frame[["a", "b"]], frame.y, ["a", "b"], ["b"])
    sec = EvaluationSection.model_validate(
        {
            "data": "t.csv",
            "target": "y",
            "task": "regression",
            "cohorts": {"error_threshold": 1.0, "max_error_rate": 0.5},
            "thresholds": {"r2_score": {"threshold": 0.9, "greater_is_better": True}},
        }
    )
    r = analyse(sec, inputs, Scores(list(pred)))
    assert r.metrics["r2_score"] > 0.9 and r.metrics["error_rate"] == pytest.approx(
        float(((frame.a > 8) & (frame.b == "v")).mean())
    )
    assert r.cohorts[0].condition.startswith("a > 8.") and r.cohorts[0].condition.endswith(("b == v", "b != u"))
    assert r.cohorts[0].error_rate == 1.0 and not r.passed
    # without error_threshold the candidate's mean absolute error is the line, and the report says so
    sec2 = EvaluationSection.model_validate({"data": "t.csv", "target": "y", "task": "regression"})
    r2 = analyse(sec2, inputs, Scores(list(pred)))
    assert (
        r2.error_threshold == pytest.approx(r.metrics["mean_absolute_error"]) and "mean absolute error" in r2.notes[0]
    )


def test_report_is_deterministic() -> None:
    inputs, pred = world()
    sec = section(cohorts={"max_error_rate": 0.3}, fairness={"sensitive_features": ["group"], "threshold": 0.05})
    a = json.dumps(analyse(sec, inputs, Scores(list(pred))).to_json(), sort_keys=True)
    b = json.dumps(analyse(sec, inputs, Scores(list(pred))).to_json(), sort_keys=True)
    assert a == b


def test_permutation_importance_ranks_the_signal_first() -> None:
    inputs, _ = world()
    rows, permuted = an.permutation_rows(inputs.X, inputs.features, max_rows=500)
    assert len(permuted) == 500 * 3
    # a "model" that predicts x > 0.5 exactly: only x matters
    perm_pred = (permuted.x > 0.5).astype(int).tolist()
    base_pred = (inputs.X.x.to_numpy()[rows] > 0.5).astype(int).tolist()
    imp = an.permutation_importance(
        "classification", inputs.y.to_numpy()[rows], base_pred, perm_pred, inputs.features, None
    )
    assert imp[0][0] == "x" and imp[0][1] > 0.3 and all(v == 0 for _, v in imp[1:])


def test_text_feature_not_declared_categorical_is_an_error() -> None:
    from modeldeploy.errors import EvaluationError
    from modeldeploy.evaluation.data import split

    frame = pd.DataFrame({"a": [1.0, 2.0], "city": ["Oslo", "Lima"], "y": [0, 1]})
    with pytest.raises(EvaluationError) as info:
        split(frame, section(categorical_features=[]), display="deploy.yaml", at=lambda path: (7, 3))
    assert (
        info.value.lines()[0]
        == "deploy.yaml:7:3: error: evaluation.categorical_features: 'city' hold text; list them here [MD901]"
    )
    X, y, features, categorical = split(frame, section(), display="deploy.yaml", at=lambda path: (7, 3))
    assert features == ["a", "city"] and categorical == ["city"]
