"""modeldeploy.model.example: saved input examples (written by mlflow) against their own signature."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from modeldeploy.model.example import check_input_example, read_example
from modeldeploy.model.info import read_model
from tests.modelfactory import make_pyfunc_model, tensor_spec


def test_conforming_examples_pass(models: dict[str, Path]) -> None:
    for name in ("sk_columns", "sk_tensor", "sk_nosig", "cols_v1"):
        assert check_input_example(read_model(models[name])) == []


def test_mismatching_example_found(models: dict[str, Path]) -> None:
    # The factory saved float data for a column declared long; mlflow saved it regardless.
    findings = check_input_example(read_model(models["sk_bad_example"]))
    assert [(f.rule, f.field, f.severity) for f in findings] == [("SIG903", "example.inputs.a", "breaking")]
    f = findings[0]  # the message reads once: the report shows the field and long → number beside it
    assert (f.old, f.new, f.message) == ("long", "number", "input example row 0 would be rejected")


def test_example_forms(tmp_path: Path) -> None:
    """Every example form mlflow writes: json_object with params, dataframe split, named tensors."""
    import pandas as pd

    params = make_pyfunc_model(
        tmp_path / "params",
        inputs=[{"name": "x", "type": "double"}],
        params=[{"name": "t", "type": "float", "default": 0.5}],
        input_example=({"x": [1.0, 2.0]}, {"t": 0.7}),
    )
    frame = make_pyfunc_model(
        tmp_path / "frame",
        inputs=[{"name": "x", "type": "double"}, {"name": "s", "type": "string"}],
        input_example=pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]}),
    )
    named = make_pyfunc_model(
        tmp_path / "named", inputs=[tensor_spec("float64", (-1, 2), name="a")], input_example={"a": np.zeros((2, 2))}
    )
    for m in (params, frame, named):
        assert check_input_example(read_model(m)) == []
    assert read_example(read_model(params)).params == {"t": 0.7}

    # Without serving_input_example.json the raw input_example.json is read the same way.
    for m in (params, frame, named):
        (m / "serving_input_example.json").unlink()
        assert check_input_example(read_model(m)) == []

    # Break each one by editing the saved example.
    (params / "input_example.json").write_text(json.dumps({"inputs": {"x": [1.0]}, "params": {"t": "hot", "zz": 1}}))
    assert [f.field for f in check_input_example(read_model(params))] == ["example.params.t", "example.params.zz"]
    (frame / "input_example.json").write_text(json.dumps({"columns": ["x"], "data": [[1.0]]}))
    assert [f.field for f in check_input_example(read_model(frame))] == ["example.inputs.s"]
    (named / "input_example.json").write_text(json.dumps({"a": [[0.0, 0.0, 0.0]]}))
    f = check_input_example(read_model(named))
    assert [(x.field, x.old, x.new) for x in f] == [("example.inputs.a", "(-1, 2)", "(1, 3)")]
    assert f[0].message == "input example tensor does not fit the declared shape"


def test_unreadable_example_is_a_finding(models: dict[str, Path], tmp_path: Path) -> None:
    m = shutil.copytree(models["sk_tensor"], tmp_path / "m")
    (m / "serving_input_example.json").unlink()
    (m / "input_example.json").write_text("[[1, 2,")
    findings = check_input_example(read_model(m))
    assert [f.field for f in findings] == ["example"] and "invalid JSON" in findings[0].message


def test_tensor_dtype_and_old_inputs_form(models: dict[str, Path], tmp_path: Path) -> None:
    m = shutil.copytree(models["sk_tensor"], tmp_path / "m")
    (m / "serving_input_example.json").unlink()
    (m / "input_example.json").write_text(json.dumps({"inputs": [[1, 2, 3, "x"]]}))  # MLflow 1.x form
    findings = check_input_example(read_model(m))
    assert [(f.old, f.new, f.message) for f in findings] == [
        ("float64", "string", "input example tensor holds values of another type")
    ]
