"""Re-create the example model in ./model with real MLflow (needs `pip install mlflow scikit-learn`).

The committed ./model folder is what the example uses; this script is how it was made. It trains a
small logistic regression on the iris data set (shipped inside scikit-learn, no download) and saves
it with a column signature and an input example.
"""

import shutil
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent


def main() -> None:
    iris = load_iris(as_frame=True)
    X = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    y = iris.target
    model = LogisticRegression(max_iter=500).fit(X, y)
    signature = infer_signature(X, pd.Series(model.predict(X), name="species"))
    dest = HERE / "model"
    if dest.exists():
        shutil.rmtree(dest)
    import numpy, scipy, sklearn, skops  # noqa: E401 - pinned below from what is installed

    mlflow.sklearn.save_model(
        model,
        dest,
        # Exactly what serving needs; inference from the interpreter would also pick up test tools.
        pip_requirements=[
            f"mlflow-skinny=={mlflow.__version__}",
            f"scikit-learn=={sklearn.__version__}",
            f"skops=={skops.__version__}",
            f"numpy=={numpy.__version__}",
            f"pandas=={pd.__version__}",
            f"scipy=={scipy.__version__}",
        ],
        signature=signature,
        input_example=X.head(3),
        # skops instead of pickle: loading the model cannot run arbitrary code.
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
    )
    print(f"saved {dest}")


if __name__ == "__main__":
    main()
