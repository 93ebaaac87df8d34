"""Real MLflow models for tests, saved with mlflow itself (a test-only dependency).

Every function writes a complete MLflow model folder (MLmodel, conda.yaml, python_env.yaml,
requirements.txt, the pickled model and, when asked, input_example.json / serving_input_example.json)
exactly as ``mlflow.sklearn.save_model`` / ``mlflow.pyfunc.save_model`` write it, and returns the
folder's path. Saving takes about half a second after mlflow is imported (~2 s, once per process),
so build fixtures once per session (``tmp_path_factory`` in a session-scoped fixture).

Signatures are given in MLflow's own JSON form (the list stored as a JSON string in MLmodel), so a
test can say exactly what the model declares::

    make_pyfunc_model(tmp / "v1", inputs=[{"name": "x", "type": "double"}],
                      params=[{"name": "t", "type": "float", "default": 0.5}])

``mlflow`` is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Pinned so saving never runs MLflow's requirement inference (slow, and machine-dependent output).
DEFAULT_REQUIREMENTS = ("mlflow==3.17.2", "cloudpickle>=2", "scikit-learn>=1.4")

ColumnsArg = Sequence[str] | Mapping[str, str]


def _schema(spec: Sequence[Mapping[str, Any]] | None):
    from mlflow.types.schema import Schema

    if spec is None:
        return None
    return Schema.from_json(json.dumps(list(spec)))


def _param_schema(spec: Sequence[Mapping[str, Any]] | None):
    from mlflow.types.schema import ParamSchema

    if spec is None:
        return None
    return ParamSchema.from_json(json.dumps(list(spec)))


def make_signature(
    inputs: Sequence[Mapping[str, Any]] | None,
    outputs: Sequence[Mapping[str, Any]] | None = None,
    params: Sequence[Mapping[str, Any]] | None = None,
):
    """An ``mlflow.models.ModelSignature`` from MLflow's JSON column/tensor/param dicts."""
    from mlflow.models import ModelSignature

    return ModelSignature(inputs=_schema(inputs), outputs=_schema(outputs), params=_param_schema(params))


def column_specs(columns: ColumnsArg, optional: Iterable[str] = ()) -> list[dict[str, Any]]:
    """``["a", "b"]`` (all double) or ``{"a": "long", "b": "string"}`` → MLflow column dicts."""
    types = dict(columns) if isinstance(columns, Mapping) else {c: "double" for c in columns}
    opt = set(optional)
    unknown = opt - set(types)
    if unknown:
        raise ValueError(f"optional columns {sorted(unknown)} are not in columns")
    return [{"name": n, "type": t, "required": n not in opt} for n, t in types.items()]


def tensor_spec(dtype: str = "float64", shape: Sequence[int] = (-1, 4), name: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": list(shape)}}
    if name is not None:
        out["name"] = name
    return out


def _pyfunc_class():
    import warnings

    import mlflow.pyfunc

    warnings.filterwarnings("ignore", message=".*type hints.*")

    class Echo(mlflow.pyfunc.PythonModel):
        """Returns its input: enough for the scoring server to load and serve the model."""

        def predict(self, context, model_input, params=None):  # noqa: D401
            return model_input

    return Echo


def make_pyfunc_model(
    dest: Path | str,
    *,
    inputs: Sequence[Mapping[str, Any]] | None,
    outputs: Sequence[Mapping[str, Any]] | None = None,
    params: Sequence[Mapping[str, Any]] | None = None,
    input_example: Any = None,
    requirements: Sequence[str] = DEFAULT_REQUIREMENTS,
) -> Path:
    """A trivial ``mlflow.pyfunc`` model (echoes its input) with exactly the signature given.

    ``inputs=None`` saves a model without a signature. ``input_example`` is passed to MLflow as is
    (a dict of lists for columns, a numpy array for tensors, ``(data, params)`` for params).
    """
    import warnings

    import mlflow.pyfunc

    dest = Path(dest)
    signature = make_signature(inputs, outputs, params) if inputs is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "add type hints to predict": irrelevant for an echo model
        mlflow.pyfunc.save_model(
            str(dest),
            python_model=_pyfunc_class()(),
            signature=signature,
            input_example=input_example,
            pip_requirements=list(requirements),
        )
    return dest


def make_sklearn_model(
    dest: Path | str,
    *,
    signature: str | None = "columns",
    columns: ColumnsArg = ("sepal_length", "sepal_width", "petal_length", "petal_width"),
    optional: Iterable[str] = (),
    params: Sequence[Mapping[str, Any]] | None = None,
    input_example: bool = False,
    outputs: Sequence[Mapping[str, Any]] | None = None,
    requirements: Sequence[str] = DEFAULT_REQUIREMENTS,
    signature_kind: str | None = None,
) -> Path:
    """A tiny real scikit-learn LogisticRegression saved with ``mlflow.sklearn.save_model``.

    ``signature``: ``"columns"`` (one double column per name; ``columns`` may map names to MLflow
    types, ``optional`` names become ``required: false``), ``"tensor"`` (float64, shape
    ``[-1, len(columns)]``) or ``None`` (no signature). ``signature_kind`` is an alias of
    ``signature``. ``input_example=True`` saves five rows of the training data as the example.
    """
    import warnings

    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    kind = signature_kind if signature_kind is not None else signature
    if kind not in ("columns", "tensor", None):
        raise ValueError(f"signature must be 'columns', 'tensor' or None, not {kind!r}")
    names = list(columns)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, len(names)))
    y = (x[:, 0] > 0).astype("int64")
    model = LogisticRegression().fit(x, y)

    sig = None
    example: Any = None
    if kind == "columns":
        sig = make_signature(column_specs(columns, optional), outputs or [{"type": "long"}], params)
        if input_example:
            example = {n: [float(v) for v in x[:5, i]] for i, n in enumerate(names)}
    elif kind == "tensor":
        sig = make_signature(
            [tensor_spec("float64", (-1, len(names)))], outputs or [tensor_spec("int64", (-1,))], params
        )
        if input_example:
            example = x[:5]
    elif input_example:
        example = {n: [float(v) for v in x[:5, i]] for i, n in enumerate(names)}

    dest = Path(dest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            model,
            str(dest),
            signature=sig,
            input_example=example,
            pip_requirements=list(requirements),
        )
    return dest
