"""Real data and real MLflow models for the evaluation gate.

The rows: ``x1``, ``x2`` uniform on [0, 1], ``region`` one of four, ``sex`` one of two (a sensitive
feature the model does not use); the label is ``x1 + x2 > 1`` with 3 % of labels flipped at random.
Two scikit-learn pipelines (one-hot region + gradient boosting), saved with the installed mlflow:

- ``good``: trained on the rows as they are;
- ``bad``: trained on rows whose label is inverted where ``region == north and x1 > 0.8`` — so it is
  measurably worse on that cohort (about 5 % of the rows) while its accuracy overall stays above 0.9.

The scoring interpreter is this test run's own Python (it has mlflow and scikit-learn).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

N_TRAIN, N_TEST = 3000, 1200


def _rows(n: int, seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.uniform(0, 1, n).round(4),
            "x2": rng.uniform(0, 1, n).round(4),
            "region": rng.choice(["east", "north", "south", "west"], n),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    label = (frame.x1 + frame.x2 > 1).astype(int)
    flip = rng.uniform(0, 1, n) < 0.03
    frame["label"] = np.where(flip, 1 - label, label)
    return frame


def _pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer([("region", OneHotEncoder(handle_unknown="ignore"), ["region"])], remainder="passthrough")
    return Pipeline([("pre", pre), ("gb", GradientBoostingClassifier(random_state=0))])


def _save(model, path: Path, X) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(
        model,
        path,
        pip_requirements=["mlflow", "scikit-learn", "pandas"],
        signature=infer_signature(X, model.predict(X)),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )


@pytest.fixture(scope="session")
def eval_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with data/test.csv, data/train.csv, models/good, models/bad."""
    root = tmp_path_factory.mktemp("eval-world")
    (root / "data").mkdir()
    train, test = _rows(N_TRAIN, 1), _rows(N_TEST, 2)
    train.to_csv(root / "data" / "train.csv", index=False)
    test.to_csv(root / "data" / "test.csv", index=False)
    features = ["x1", "x2", "region"]
    good = _pipeline().fit(train[features], train.label)
    poisoned = train.copy()
    cohort = (poisoned.region == "north") & (poisoned.x1 > 0.8)
    poisoned.loc[cohort, "label"] = 1 - poisoned.loc[cohort, "label"]
    bad = _pipeline().fit(poisoned[features], poisoned.label)
    _save(good, root / "models" / "good", train[features])
    _save(bad, root / "models" / "bad", train[features])
    return root


def write_spec(root: Path, name: str, body: str) -> Path:
    path = root / f"{name}.yaml"
    path.write_text(body)
    return path


EVAL_PYTHON = sys.executable
