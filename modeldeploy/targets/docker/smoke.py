"""The smoke test after a local start: the model's saved input example as a request, and whether the
answer fits the output signature (plain JSON; no numpy/pandas)."""

from __future__ import annotations

import json
from typing import Any

from modeldeploy.model.datatypes import ScalarType
from modeldeploy.model.files import read_json
from modeldeploy.model.info import ModelInfo
from modeldeploy.model.signature import ColumnSpec, Signature, TensorSpec


def example_request(model: ModelInfo) -> tuple[bytes, int | None] | None:
    """The request body (MLflow's scoring protocol) and how many rows it holds (None: unknown)."""
    from modeldeploy.model.example import read_example

    info = model.input_example
    if info is None:
        return None
    if info.serving_input_path and (model.path / info.serving_input_path).is_file():
        body = read_json(model.path / info.serving_input_path, f"{model.path.name}/{info.serving_input_path}")
    else:
        data = read_json(model.path / info.artifact_path, f"{model.path.name}/{info.artifact_path}")
        if isinstance(data, dict) and "data" in data and "columns" in data:
            body = {"dataframe_split": data}
        elif isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
            body = {"dataframe_records": data}
        elif isinstance(data, dict) and "inputs" in data:
            body = data
        else:
            body = {"inputs": data}
    payload = read_example(model)
    rows = _rows(payload.data, payload.form) if payload is not None else None
    return json.dumps(body).encode(), rows


def _rows(data: Any, form: str) -> int | None:
    if form == "columns" and isinstance(data, dict) and data:
        first = next(iter(data.values()))
        return len(first) if isinstance(first, list) else None
    if form == "rows" and isinstance(data, list):
        return len(data)
    if form == "array" and isinstance(data, list):
        return len(data)
    return None


def _shape(value: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def check_answer(signature: Signature | None, answer: Any, rows: int | None) -> str | None:
    """Why ``answer`` (the scoring server's JSON) does not fit the output signature, or None."""
    from modeldeploy.model.example import value_problem

    if not isinstance(answer, dict) or "predictions" not in answer:
        return 'the answer has no "predictions"'
    preds = answer["predictions"]
    outputs = signature.outputs if signature is not None else None
    if isinstance(preds, list) and rows is not None and len(preds) != rows:
        return f"{len(preds)} prediction(s) for {rows} input row(s)"
    if not outputs or not outputs.specs:
        return None
    specs = outputs.specs
    if isinstance(specs[0], TensorSpec):
        tensors = preds if isinstance(preds, dict) and len(specs) > 1 else {specs[0].name: preds}
        for spec in specs:
            assert isinstance(spec, TensorSpec)
            value = tensors.get(spec.name) if isinstance(tensors, dict) else None
            if value is None:
                return f"tensor {spec.name!r} is missing"
            got = _shape(value)
            if len(got) != len(spec.shape) or any(w not in (-1, g) for w, g in zip(spec.shape, got, strict=True)):
                return f"tensor {spec.name or '[0]'} has shape {got}, the signature says {spec.shape}"
        return None
    columns = [s for s in specs if isinstance(s, ColumnSpec)]
    if not isinstance(preds, list):
        return f"predictions is a {type(preds).__name__}, the signature declares columns"
    for i, item in enumerate(preds):
        if isinstance(item, dict):
            for spec in columns:
                if spec.name is not None and spec.name not in item:
                    if spec.required and len(columns) > 1:
                        return f"row {i} has no column {spec.name!r}"
                    continue
                value = item.get(spec.name) if spec.name is not None else None
                problem = value_problem(spec.type, value, spec.required) if spec.name in item else None
                if problem:
                    return f"row {i} column {spec.name!r}: {problem}"
        elif len(columns) == 1:
            problem = value_problem(columns[0].type, item, columns[0].required)
            if problem:
                return f"row {i}: {problem}"
            if isinstance(columns[0].type, ScalarType) and isinstance(item, (list, dict)):
                return f"row {i}: a {type(item).__name__} where the signature has one {columns[0].type.name}"
        elif isinstance(item, list) and len(item) != len(columns):
            return f"row {i} has {len(item)} value(s), the signature {len(columns)} column(s)"
    return None
