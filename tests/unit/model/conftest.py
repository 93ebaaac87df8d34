"""Real MLflow model versions for the signature tests, saved once per session with mlflow itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.modelfactory import make_pyfunc_model, make_sklearn_model, tensor_spec

# Version 1 and 2 of a column model: v2 changes one thing of each kind the checker knows about.
COLS_V1 = dict(
    inputs=[
        {"name": "x", "type": "double"},
        {"name": "y", "type": "integer"},
        {"name": "u", "type": "string"},
        {"name": "z", "type": "string", "required": False},
        {"name": "n", "type": "long"},
    ],
    outputs=[{"type": "double"}],
    params=[
        {"name": "t", "type": "float", "default": 0.5},
        {"name": "mode", "type": "string", "default": "fast"},
    ],
)
COLS_V2 = dict(
    inputs=[
        {"name": "x", "type": "float"},  # narrowed: double values are rejected (SIG111)
        {"name": "y", "type": "long"},  # widened: integer → long (SIG110)
        {"name": "u", "type": "string", "required": False},  # became optional (SIG105)
        {"name": "n", "type": "double"},  # long → double is rejected by MLflow (SIG112)
        {"name": "w", "type": "double"},  # required added (SIG101)
        {"name": "v", "type": "boolean", "required": False},  # optional added (SIG102)
    ],  # z (optional) removed (SIG104)
    outputs=[{"type": "long"}],  # output retyped (SIG203)
    params=[
        {"name": "t", "type": "float", "default": 0.7},  # default changed (SIG304)
        {"name": "k", "type": "long", "default": 3},  # param added (SIG301)
    ],  # mode removed (SIG303)
)
TENSOR_V1 = dict(inputs=[tensor_spec("float64", (-1, 4))], outputs=[tensor_spec("int64", (-1,))])
TENSOR_V2 = dict(inputs=[tensor_spec("float32", (-1, -1))], outputs=[tensor_spec("int64", (-1, 1))])


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    out = {
        "cols_v1": make_pyfunc_model(root / "cols_v1", **COLS_V1),
        "cols_v2": make_pyfunc_model(root / "cols_v2", **COLS_V2),
        "tensor_v1": make_pyfunc_model(root / "tensor_v1", **TENSOR_V1),
        "tensor_v2": make_pyfunc_model(root / "tensor_v2", **TENSOR_V2),
        "nosig": make_pyfunc_model(root / "nosig", inputs=None),
        "sk_columns": make_sklearn_model(root / "sk_columns", input_example=True, optional=["petal_width"]),
        "sk_tensor": make_sklearn_model(root / "sk_tensor", signature="tensor", input_example=True),
        "sk_nosig": make_sklearn_model(root / "sk_nosig", signature=None),
        "sk_bad_example": make_sklearn_model(
            root / "sk_bad_example", input_example=True, columns={"a": "long", "b": "double"}
        ),
    }
    return out
