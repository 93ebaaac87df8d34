"""Score a table with an MLflow model, in batches. Run by the evaluation interpreter, never imported
by modeldeploy (this file needs mlflow and the model's requirements; modeldeploy needs neither).

    python -I score_model.py MODEL_DIR INPUT.csv DTYPES.json OUTPUT.json BATCH_SIZE

DTYPES.json maps column → pandas dtype so the model sees the types of the original data. OUTPUT.json:
``{"predictions": [...], "classes": [...] | null, "probabilities": [[...], ...] | null}``; the
probabilities come from the model's ``predict_proba`` when its flavor has one (scikit-learn does),
exactly as ``mlflow.evaluate`` gets them.
"""

import json
import sys


def _column(pred):
    import numpy as np
    import pandas as pd

    if isinstance(pred, pd.DataFrame):
        if pred.shape[1] == 1:
            pred = pred.iloc[:, 0]
        else:
            for name in ("predictions", "prediction", "label"):
                if name in pred.columns:
                    pred = pred[name]
                    break
            else:
                raise SystemExit(
                    f"the model returned {pred.shape[1]} output columns; evaluation needs one prediction per row"
                )
    arr = np.asarray(pred)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise SystemExit(f"the model returned an array of shape {arr.shape}; evaluation needs one prediction per row")
    return arr


def _plain(values):
    out = []
    for v in values:
        if hasattr(v, "item"):
            v = v.item()
        out.append(v)
    return out


def main(argv):
    model_dir, input_path, dtypes_path, output_path, batch = argv[1], argv[2], argv[3], argv[4], int(argv[5])
    import mlflow.pyfunc
    import numpy as np
    import pandas as pd

    with open(dtypes_path) as f:
        dtypes = json.load(f)
    dates = [k for k, v in dtypes.items() if v.startswith("datetime64")]
    given = {k: ("string" if v == "object" else v) for k, v in dtypes.items() if v != "bool" and k not in dates}
    frame = pd.read_csv(input_path, dtype=given, parse_dates=dates or False, keep_default_na=True)
    for k, v in dtypes.items():
        if v == "object":
            frame[k] = frame[k].astype(object).where(frame[k].notna(), None)
        elif v == "bool":
            frame[k] = frame[k].astype(bool)
    model = mlflow.pyfunc.load_model(model_dir)
    impl = getattr(model, "_model_impl", None)
    proba_fn = getattr(impl, "predict_proba", None)
    classes = None
    raw = getattr(impl, "get_raw_model", None)
    if proba_fn is not None and raw is not None:
        classes = getattr(raw(), "classes_", None)
    if classes is None:
        proba_fn = None
    predictions, probabilities = [], []
    for start in range(0, len(frame), batch):
        part = frame.iloc[start : start + batch].reset_index(drop=True)
        predictions.extend(_plain(_column(model.predict(part))))
        if proba_fn is not None:
            try:
                probabilities.extend(np.asarray(proba_fn(part), dtype=float).tolist())
            except Exception:
                proba_fn, probabilities = None, []
    out = {
        "predictions": predictions,
        "classes": _plain(classes) if proba_fn is not None else None,
        "probabilities": probabilities if proba_fn is not None else None,
    }
    with open(output_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv)
