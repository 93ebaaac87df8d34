"""Does a model's saved input example pass the model's own signature?

Read as plain JSON (no numpy/pandas): ``serving_input_example.json`` when present (it is exactly
the request MLflow's scoring server would get: ``dataframe_split``, ``dataframe_records``,
``inputs`` or ``instances``, plus ``params``), otherwise ``input_example.json`` in any of the forms
MLflow has written — pandas ``split`` (``columns``/``data``) or ``records``, a dict of columns or of
named tensors, a bare array, the pre-2.0 ``{"inputs": ...}``, and ``{"inputs": ..., "params": ...}``.

The checks follow the REST path of the scoring server, which casts JSON values per schema column
before ``_enforce_schema``: required columns must be present; values must be castable (an integer
column needs integral numbers, a float column any number, a string column text, …); tensors must
have the declared rank and fixed dimensions and leaves of the dtype's kind; params must be declared
and convertible (``_enforce_param_datatype``). Every problem is a SIG903 finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from modeldeploy.errors import ModelError
from modeldeploy.model.compat import InputExampleMismatch
from modeldeploy.model.datatypes import ScalarType
from modeldeploy.model.files import read_json
from modeldeploy.model.findings import Finding
from modeldeploy.model.info import ModelInfo
from modeldeploy.model.signature import (
    ColumnSpec,
    ParamSpec,
    Schema,
    Signature,
    TensorSpec,
    label,
)

if TYPE_CHECKING:
    from modeldeploy.model.complextypes import DataType

MAX_LEAVES = 1_000_000  # leaves checked per tensor; shapes are always computed fully


@dataclass(frozen=True)
class Payload:
    """An example normalised to one of: columns (name → values), rows (positional), array, tensors."""

    form: str  # "columns" | "rows" | "array" | "tensors"
    data: Any
    params: Any = None


def _finding(field: str, expected: str, found: str, message: str) -> Finding:
    """Every report shows ``field`` and ``expected → found`` beside the message, so a message says
    what is wrong without naming the field or either side again."""
    return Finding(
        rule=InputExampleMismatch.id, severity="breaking", field=field, old=expected, new=found, message=message
    )


# --- reading ------------------------------------------------------------------------------------


def _from_request(body: dict[str, Any]) -> Payload:
    params = body.get("params")
    if "dataframe_split" in body:
        return _split(body["dataframe_split"], params)
    if "dataframe_records" in body:
        return _records(body["dataframe_records"], params)
    data = body.get("inputs", body.get("instances"))
    return _loose(data, params)


def _split(split: Any, params: Any) -> Payload:
    if not isinstance(split, dict) or not isinstance(split.get("data"), list):
        return Payload("array", split, params)
    cols = split.get("columns")
    rows = split["data"]
    if cols is None:
        return Payload("rows", rows, params)
    out: dict[str, list[Any]] = {str(c): [] for c in cols}
    for row in rows:
        for c, v in zip(cols, row if isinstance(row, list) else [row], strict=False):
            out[str(c)].append(v)
    return Payload("columns", out, params)


def _records(records: Any, params: Any) -> Payload:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return Payload("array", records, params)
    names = list(dict.fromkeys(k for r in records for k in r))
    return Payload("columns", {n: [r.get(n) for r in records if n in r] for n in names}, params)


def _loose(data: Any, params: Any) -> Payload:
    if isinstance(data, dict):
        return Payload("tensors", data, params)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return _records(data, params)
    return Payload("array", data, params)


def _from_example_file(data: Any, orient: str | None) -> Payload:
    if isinstance(data, dict) and "params" in data and ("inputs" in data or len(data) == 2):
        inner = _from_example_file(data.get("inputs"), orient)
        return Payload(inner.form, inner.data, data["params"])
    if isinstance(data, dict) and "data" in data and ("columns" in data or orient == "split"):
        return _split(data, None)
    if isinstance(data, dict) and set(data) == {"inputs"}:  # MLflow 1.x tensor examples
        return _loose(data["inputs"], None)
    if isinstance(data, list) and (orient == "records" or (data and all(isinstance(r, dict) for r in data))):
        return _records(data, None)
    return _loose(data, None)


def read_example(model: ModelInfo) -> Payload | None:
    """The model's example as a :class:`Payload` (None when the model has none)."""
    info = model.input_example
    if info is None:
        return None
    if info.serving_input_path and (model.path / info.serving_input_path).is_file():
        body = read_json(model.path / info.serving_input_path, f"{model.path.name}/{info.serving_input_path}")
        if isinstance(body, dict):
            return _from_request(body)
    data = read_json(model.path / info.artifact_path, f"{model.path.name}/{info.artifact_path}")
    return _from_example_file(data, info.pandas_orient)


# --- value checks --------------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return _is_int(v) or isinstance(v, float)


_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: _is_int(v) or (isinstance(v, float) and v.is_integer()),
    "long": lambda v: _is_int(v) or (isinstance(v, float) and v.is_integer()),
    "float": _is_number,
    "double": _is_number,
    "string": lambda v: isinstance(v, str),
    "binary": lambda v: isinstance(v, str),  # base64 text over JSON
    "datetime": lambda v: isinstance(v, str),
    "sparkml_vector": lambda v: isinstance(v, (list, dict)),
}


def value_problem(t: DataType, v: Any, required: bool = True) -> str | None:
    """Why ``v`` (plain JSON) cannot be cast to ``t``, or None. Mirrors ``_enforce_type``."""
    if v is None:
        if required and not (isinstance(t, ScalarType) and t.name in ("float", "double")):
            return "null in a required value"
        return None
    if isinstance(t, ScalarType):
        return None if _SCALAR_CHECKS[t.name](v) else f"{_json_kind(v)} is not {t.name}"
    from modeldeploy.model.complextypes import AnyType, ArrayType, MapType, ObjectType  # only when one is used

    if isinstance(t, AnyType):
        return None
    if isinstance(t, ArrayType):
        if not isinstance(v, list):
            return f"{_json_kind(v)} is not an array"
        return next((f"item {i}: {p}" for i, x in enumerate(v) if (p := value_problem(t.items, x)) is not None), None)
    if isinstance(t, MapType):
        if not isinstance(v, dict):
            return f"{_json_kind(v)} is not a map"
        return next((f"key {k!r}: {p}" for k, x in v.items() if (p := value_problem(t.values, x)) is not None), None)
    if isinstance(t, ObjectType):
        if not isinstance(v, dict):
            return f"{_json_kind(v)} is not an object"
        missing = [p.name for p in t.properties if p.required and p.name not in v]
        if missing:
            return f"missing required properties {missing}"
        extra = [k for k in v if t.property(k) is None]
        if extra:
            return f"properties not in the schema {extra}"
        for k, x in v.items():
            prop = t.property(k)
            if prop is not None and (p := value_problem(prop.type, x, prop.required)) is not None:
                return f"property {k!r}: {p}"
    return None


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if _is_int(v):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(v), type(v).__name__)


def _rejected(what: str, problem: str, found: str) -> str:
    """``input example row 3 would be rejected``, with the problem in brackets unless it only says
    again that ``found`` is not the expected type (the report shows both)."""
    plain = problem.startswith(f"{found} is not ") or problem == "expected a list"
    return f"{what} would be rejected" + ("" if plain else f" ({problem})")


def _check_column(spec: ColumnSpec, name: str, values: list[Any]) -> Iterator[Finding]:
    for i, v in enumerate(values):
        problem = value_problem(spec.type, v, spec.required)
        if problem is not None:
            found = "null" if v is None else _json_kind(v)
            yield _finding(
                f"example.inputs.{name}", spec.type_text(), found, _rejected(f"input example row {i}", problem, found)
            )
            return


def _check_columns(schema: Schema, payload: Payload) -> Iterator[Finding]:
    if schema.has_names:
        if payload.form not in ("columns", "tensors"):
            yield _finding("example.inputs", "named columns", payload.form, "input example has no column names")
            return
        cols = {k: (v if isinstance(v, list) else [v]) for k, v in payload.data.items()}
        for i, spec in enumerate(schema.specs):
            name = label(spec, i)
            if name not in cols:
                if spec.required:
                    yield _finding(
                        f"example.inputs.{name}",
                        spec.type_text(),
                        "missing",
                        "input example lacks this required column",
                    )
                continue
            yield from _check_column(cast(ColumnSpec, spec), name, cols[name])
        return
    # Unnamed columns are matched by position (``_enforce_unnamed_col_schema``).
    if payload.form == "columns":
        columns = list(payload.data.values())
    elif payload.form == "rows" or (
        payload.form == "array"
        and isinstance(payload.data, list)
        and payload.data
        and all(isinstance(r, list) for r in payload.data)
    ):
        width = max((len(r) for r in payload.data), default=0)
        columns = [[r[i] for r in payload.data if i < len(r)] for i in range(width)]
    elif payload.form == "array":
        columns = [payload.data if isinstance(payload.data, list) else [payload.data]]
    else:
        columns = [v if isinstance(v, list) else [v] for v in payload.data.values()]
    if len(columns) < len(schema.specs):
        yield _finding(
            "example.inputs",
            f"{len(schema.specs)} columns",
            f"{len(columns)} columns",
            "input example has fewer columns than the signature",
        )
        return
    for i, spec in enumerate(schema.specs):
        yield from _check_column(cast(ColumnSpec, spec), label(spec, i), columns[i])


def _shape(v: Any) -> tuple[int, ...] | None:
    """Shape of a nested JSON list (None when ragged)."""
    if not isinstance(v, list):
        return ()
    if not v:
        return (0,)
    inner = [_shape(x) for x in v]
    if any(s is None for s in inner) or len(set(inner)) != 1:
        return None
    return (len(v), *inner[0])  # type: ignore[misc]


def _leaves(v: Any) -> Iterator[Any]:
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(reversed(x))
        else:
            yield x


def _dtype_ok(dtype: str, v: Any) -> bool:
    if dtype.startswith(("int", "uint")):
        return _is_int(v)
    if dtype.startswith("float"):
        return _is_number(v)
    if dtype == "bool":
        return isinstance(v, bool)
    if dtype in ("str", "bytes"):
        return isinstance(v, str)
    return True  # object and anything exotic: MLflow does not constrain it


def _check_tensor(spec: TensorSpec, name: str, value: Any) -> Iterator[Finding]:
    field = f"example.inputs.{name}"
    shape = _shape(value)
    expected = spec.shape
    if shape is None:
        if not (len(expected) >= 1 and -1 in expected and spec.dtype == "object"):
            yield _finding(field, spec.shape_text(), "ragged", "input example tensor has rows of different lengths")
        return
    if len(shape) != len(expected) or any(e != -1 and e != s for e, s in zip(expected, shape, strict=False)):
        got = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        yield _finding(field, spec.shape_text(), got, "input example tensor does not fit the declared shape")
        return
    for i, leaf in enumerate(_leaves(value)):
        if i >= MAX_LEAVES:
            break
        if not _dtype_ok(spec.dtype, leaf):
            yield _finding(field, spec.dtype, _json_kind(leaf), "input example tensor holds values of another type")
            return


def _check_tensors(schema: Schema, payload: Payload) -> Iterator[Finding]:
    if payload.form in ("columns", "rows"):
        return  # a DataFrame fed to a tensor model is converted by MLflow; nothing to check offline
    if schema.has_names and isinstance(payload.data, dict):
        for i, spec in enumerate(schema.specs):
            name = label(spec, i)
            if name not in payload.data:
                yield _finding(f"example.inputs.{name}", spec.type_text(), "missing", "input example lacks this tensor")
            else:
                yield from _check_tensor(cast(TensorSpec, spec), name, payload.data[name])
        return
    if len(schema.specs) == 1:
        yield from _check_tensor(cast(TensorSpec, schema.specs[0]), label(schema.specs[0], 0), payload.data)


def _param_ok(spec: ParamSpec, v: Any) -> str | None:
    if spec.shape == (-1,):
        if not isinstance(v, list):
            return "expected a list"
        return next((p for x in v if (p := _param_ok(ParamSpec(spec.name, spec.type, None), x))), None)
    if isinstance(spec.type, ScalarType) and spec.type.name in ("integer", "long"):
        return None if _is_int(v) else f"{_json_kind(v)} is not {spec.type.name}"
    return value_problem(spec.type, v, required=False)


def _check_params(sig: Signature, params: Any) -> Iterator[Finding]:
    if params is None:
        return
    if not isinstance(params, dict):
        yield _finding(
            "example.params", "object", _json_kind(params), "input example params are not a mapping of names to values"
        )
        return
    for name, value in params.items():
        spec = sig.param(name)
        if spec is None:
            yield _finding(
                f"example.params.{name}",
                "",
                _json_kind(value),
                "input example passes a param the signature does not declare (it would be ignored)",
            )
            continue
        problem = _param_ok(spec, value)
        if problem:
            found = _json_kind(value)
            yield _finding(
                f"example.params.{name}", spec.type_text(), found, _rejected("input example param", problem, found)
            )


def check_input_example(model: ModelInfo) -> list[Finding]:
    """SIG903 findings for a saved input example that the model's own signature would reject."""
    sig = model.signature
    if sig is None or model.input_example is None:
        return []
    try:
        payload = read_example(model)
    except ModelError as exc:
        return [_finding("example", "valid JSON", "unreadable", exc.lines()[0].split("error: ", 1)[-1])]
    if payload is None:
        return []
    out: list[Finding] = []
    if sig.inputs is not None and payload.data is not None:
        checker = _check_tensors if sig.inputs.kind == "tensors" else _check_columns
        out.extend(checker(sig.inputs, payload))
    out.extend(_check_params(sig, payload.params))
    return out
