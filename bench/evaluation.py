"""The evaluation gate's analysis on 10,000 rows × 20 features (16 numeric, 4 categorical): metrics,
error tree, cohorts, heatmap, fairness and the threshold checks — everything ``evaluate`` does after
the model has been scored (scoring runs in another interpreter, in batches, and is not timed here).

    python bench/evaluation.py          # prints: analysis median, floor median, ratio

The floor is what any error tree on these rows pays at least: one scikit-learn DecisionTreeClassifier
fitted to the error flag on the numeric matrix, plus accuracy. Goal: the analysis ≤ 2 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROWS, NUMERIC, CATEGORICAL = 10_000, 16, 4


def world():
    import numpy as np
    import pandas as pd

    from modeldeploy.evaluation.run import Inputs

    rng = np.random.default_rng(0)
    cols = {f"n{i}": rng.normal(size=ROWS) for i in range(NUMERIC)}
    cols.update({f"c{i}": rng.choice([f"v{j}" for j in range(3 + 2 * i)], ROWS) for i in range(CATEGORICAL)})
    frame = pd.DataFrame(cols)
    frame["sex"] = rng.choice(["f", "m"], ROWS)
    frame["y"] = (frame.n0 + frame.n1 > 0).astype(int)
    wrong = ((frame.c0 == "v1") & (frame.n2 > 1)) | (rng.uniform(0, 1, ROWS) < 0.05)
    pred = np.where(wrong, 1 - frame.y, frame.y)
    features = [c for c in frame.columns if c not in ("y", "sex")]
    cats = [f"c{i}" for i in range(CATEGORICAL)]
    return Inputs(frame, frame[features], frame.y, features, cats), pred


def measure(runs: int = 5) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score
    from sklearn.tree import DecisionTreeClassifier

    from modeldeploy.evaluation.run import analyse
    from modeldeploy.evaluation.scoring import Scores
    from modeldeploy.spec.evaluation import EvaluationSection

    inputs, pred = world()
    section = EvaluationSection.model_validate(
        {
            "data": "t.csv",
            "target": "y",
            "task": "classification",
            "thresholds": {"accuracy_score": {"threshold": 0.8, "greater_is_better": True}},
            "cohorts": {"max_error_rate": 0.3},
            "fairness": {"sensitive_features": ["sex", "c1"], "threshold": 0.05},
        }
    )
    scores = Scores(list(pred))
    analyse(section, inputs, scores)  # warm-up (first-call imports)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        report = analyse(section, inputs, scores)
        samples.append(time.perf_counter() - t)
    assert report.cohorts and report.heatmap.n and report.fairness
    numeric = inputs.X[[f"n{i}" for i in range(NUMERIC)]].to_numpy()
    flags = pred != inputs.y.to_numpy()
    floor = []
    for _ in range(runs):
        t = time.perf_counter()
        DecisionTreeClassifier(max_depth=3, min_samples_leaf=20, random_state=0).fit(numeric, flags)
        accuracy_score(inputs.y, pred)
        floor.append(time.perf_counter() - t)
    return statistics.median(samples), statistics.median(floor)


def main() -> None:
    analysis, floor = measure()
    print(f"analysis of {ROWS:,} rows x {NUMERIC + CATEGORICAL} features: {analysis:.3f} s (median of 5; goal <= 2 s)")
    print(f"floor (one tree fit + accuracy): {floor:.3f} s; ratio {analysis / floor:.1f}x")


if __name__ == "__main__":
    main()
