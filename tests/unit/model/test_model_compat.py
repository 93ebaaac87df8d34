"""modeldeploy.model.compat against MLflow's real enforcement code.

The conversion tables and the backward verdicts are checked against mlflow 3.17's own
``_enforce_mlflow_datatype`` / ``_enforce_schema`` / ``_enforce_tensor_spec`` /
``_ALLOWED_CONVERSIONS_FOR_PARAMS`` (the code the scoring server runs), and the rules against model
versions saved with mlflow.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import pytest

from modeldeploy.model.compat import (
    COLUMN_ACCEPTS,
    PARAM_ACCEPTS,
    RULES,
    check,
    check_input_kinds,
    check_required,
    is_breaking,
    rule_table,
)
from modeldeploy.model.datatypes import SCALAR_TYPES
from modeldeploy.model.info import read_model
from modeldeploy.model.signature import Signature
from modeldeploy.spec.models import Waiver

# MLflow lets an object column through unchanged where boolean is declared; the model would get bytes.
DOCUMENTED_QUIRKS = {("binary", "boolean")}


def _samples():
    import numpy as np
    import pandas as pd

    return {
        "boolean": pd.Series([True, False]),
        "integer": pd.Series(np.array([2, 3], dtype=np.int32)),
        "long": pd.Series(np.array([2**40, 3], dtype=np.int64)),  # not only 0/1: MLflow special-cases those
        "float": pd.Series(np.array([1.5, 2.5], dtype=np.float32)),
        "double": pd.Series(np.array([1.5, 2.5], dtype=np.float64)),
        "string": pd.Series(["a", "b"], dtype=object),
        "binary": pd.Series([b"a", b"b"], dtype=object),
        "datetime": pd.Series(np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[ns]")),
    }


def _mlflow_accepts(declared: str, sent: str) -> bool:
    from mlflow.models.utils import _enforce_mlflow_datatype
    from mlflow.types.schema import DataType

    try:
        _enforce_mlflow_datatype("c", _samples()[sent].copy(), DataType[declared])
        return True
    except Exception:
        return False


@pytest.mark.parametrize("declared,sent", list(itertools.product(SCALAR_TYPES, SCALAR_TYPES)))
def test_column_table_matches_enforce_mlflow_datatype(declared: str, sent: str) -> None:
    ours = declared == sent or sent in COLUMN_ACCEPTS[declared]
    theirs = _mlflow_accepts(declared, sent)
    if (sent, declared) in DOCUMENTED_QUIRKS:
        assert theirs and not ours
    else:
        assert ours == theirs, f"{sent} values into a {declared} column: mlflow says {theirs}"


def test_param_table_is_mlflows() -> None:
    from mlflow.models.utils import _ALLOWED_CONVERSIONS_FOR_PARAMS

    theirs = {k.name: frozenset(t.name for t in v) for k, v in _ALLOWED_CONVERSIONS_FOR_PARAMS.items()}
    assert PARAM_ACCEPTS == theirs


# --- backward verdicts against _enforce_schema ---------------------------------------------------

COLUMN_VARIANTS = [
    {"name": "c", "type": t, "required": r}
    for t in ("integer", "long", "float", "double", "string")
    for r in (True, False)
]


def _frame(specs, include_optional: bool):
    import pandas as pd

    s = _samples()
    return pd.DataFrame({c["name"]: s[c["type"]] for c in specs if c.get("required", True) or include_optional})


def _mlflow_rejects(old_specs, new_specs) -> bool:
    """Does the scoring server's _enforce_schema reject any request that was valid for old_specs?"""
    from mlflow.models.utils import _enforce_schema
    from mlflow.types.schema import Schema

    new_schema = Schema.from_json(json.dumps(new_specs))
    for include_optional in (True, False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _enforce_schema(_frame(old_specs, include_optional), new_schema)
        except Exception:
            return True
    return False


def _sig(specs) -> Signature:
    return Signature.from_canonical({"inputs": specs})


@pytest.mark.parametrize("old,new", list(itertools.product(COLUMN_VARIANTS, COLUMN_VARIANTS)))
def test_backward_verdict_matches_scoring_server(old, new) -> None:
    old_specs = [{"name": "a", "type": "double"}, old]
    new_specs = [{"name": "a", "type": "double"}, new]
    findings = check(_sig(old_specs), _sig(new_specs), "backward")
    assert is_breaking(findings) == _mlflow_rejects(old_specs, new_specs), findings


@pytest.mark.parametrize(
    "old,new",
    [
        ([{"name": "a", "type": "double"}], [{"name": "a", "type": "double"}, {"name": "b", "type": "long"}]),
        (
            [{"name": "a", "type": "double"}],
            [{"name": "a", "type": "double"}, {"name": "b", "type": "long", "required": False}],
        ),
        ([{"name": "a", "type": "double"}, {"name": "b", "type": "long"}], [{"name": "a", "type": "double"}]),
        (
            [{"name": "a", "type": "double"}, {"name": "b", "type": "long", "required": False}],
            [{"name": "a", "type": "double"}],
        ),
    ],
)
def test_added_and_removed_columns_match_scoring_server(old, new) -> None:
    for a, b in ((old, new), (new, old)):  # both directions: backward of (b, a) is forward of (a, b)
        assert is_breaking(check(_sig(a), _sig(b), "backward")) == _mlflow_rejects(a, b)
        assert is_breaking(check(_sig(b), _sig(a), "forward")) == _mlflow_rejects(a, b)


SHAPES = [(-1, 4), (-1, -1), (2, 4), (-1, 4, 1), (-1, 3)]


@pytest.mark.parametrize("old,new", list(itertools.product(SHAPES, SHAPES)))
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float64", "float32")])
def test_tensor_verdict_matches_enforce_tensor_spec(old, new, dtypes) -> None:
    import numpy as np
    from mlflow.models.utils import _enforce_tensor_spec
    from mlflow.types.schema import TensorSpec as MTensorSpec

    def spec(shape, dtype):
        return [{"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": list(shape)}}]

    rejected = False
    for fill in (2, 5):  # every -1 takes two different sizes: a request valid for old
        arr = np.zeros([fill if d == -1 else d for d in old], dtype=dtypes[0])
        try:
            _enforce_tensor_spec(arr, MTensorSpec(np.dtype(dtypes[1]), new))
        except Exception:
            rejected = True
    findings = check(_sig(spec(old, dtypes[0])), _sig(spec(new, dtypes[1])), "backward")
    assert is_breaking(findings) == rejected, findings


# --- rules on real saved model versions ----------------------------------------------------------


def _by_field(findings):
    return {(f.field, f.rule): f.severity for f in findings}


def test_column_versions_backward(models: dict[str, Path]) -> None:
    old = read_model(models["cols_v1"]).signature
    new = read_model(models["cols_v2"]).signature
    assert _by_field(check(old, new, "backward")) == {
        ("inputs.x", "SIG111"): "breaking",
        ("inputs.y", "SIG110"): "info",
        ("inputs.u", "SIG105"): "info",
        ("inputs.z", "SIG104"): "warning",
        ("inputs.n", "SIG112"): "breaking",
        ("inputs.w", "SIG101"): "breaking",
        ("inputs.v", "SIG102"): "info",
        ("outputs.[0]", "SIG203"): "breaking",
        ("params.t", "SIG304"): "warning",
        ("params.mode", "SIG303"): "warning",
        ("params.k", "SIG301"): "info",
    }


def test_column_versions_forward_and_full(models: dict[str, Path]) -> None:
    old = read_model(models["cols_v1"]).signature
    new = read_model(models["cols_v2"]).signature
    fwd = _by_field(check(old, new, "forward"))
    assert fwd[("inputs.x", "SIG111")] == "info"
    assert fwd[("inputs.y", "SIG110")] == "breaking"
    assert fwd[("inputs.u", "SIG105")] == "breaking"
    assert fwd[("inputs.w", "SIG101")] == "warning"
    assert fwd[("params.k", "SIG301")] == "warning"
    full = _by_field(check(old, new, "full"))
    assert all(
        full[k] == max(v, fwd[k], key=["info", "warning", "breaking"].index)
        for k, v in _by_field(check(old, new, "backward")).items()
    )
    # The reverse deployment judged backward is the forward judgement of the original one.
    rev = check(new, old, "backward")
    assert is_breaking(rev)
    assert check(old, new, "none") == []


def test_identical_versions_have_no_findings(models: dict[str, Path]) -> None:
    for name in ("cols_v1", "tensor_v1", "sk_columns"):
        sig = read_model(models[name]).signature
        assert check(sig, sig, "full") == []


def test_tensor_versions(models: dict[str, Path]) -> None:
    old = read_model(models["tensor_v1"]).signature
    new = read_model(models["tensor_v2"]).signature
    assert _by_field(check(old, new, "backward")) == {
        ("inputs.[0]", "SIG120"): "breaking",
        ("inputs.[0]", "SIG121"): "info",
        ("outputs.[0]", "SIG204"): "warning",
    }
    assert _by_field(check(new, old, "backward"))[("inputs.[0]", "SIG122")] == "breaking"


def test_signature_added_removed_and_kind_changed(models: dict[str, Path]) -> None:
    cols = read_model(models["sk_columns"]).signature
    tensor = read_model(models["sk_tensor"]).signature
    nosig = read_model(models["nosig"]).signature
    assert nosig is None
    assert [(f.rule, f.severity) for f in check(None, cols, "backward")] == [("SIG001", "warning")]
    assert [(f.rule, f.severity) for f in check(cols, None, "full")] == [("SIG002", "warning")]
    kinds = _by_field(check(cols, tensor, "backward"))
    assert kinds[("inputs", "SIG010")] == "breaking"
    assert kinds[("outputs", "SIG205")] == "breaking"
    assert not any(f.startswith("inputs.") for f, _ in kinds)  # no per-column noise after a kind change


def test_param_shape_and_type_changes() -> None:
    old = Signature.from_canonical(
        {"inputs": [{"type": "string"}], "params": [{"name": "p", "type": "integer", "default": 1}]}
    )
    widened = Signature.from_canonical(
        {"inputs": [{"type": "string"}], "params": [{"name": "p", "type": "double", "default": 1.0}]}
    )
    listed = Signature.from_canonical(
        {"inputs": [{"type": "string"}], "params": [{"name": "p", "type": "integer", "default": [1], "shape": [-1]}]}
    )
    nodefault = Signature.from_canonical(
        {"inputs": [{"type": "string"}], "params": [{"name": "q", "type": "string", "default": None}]}
    )
    assert _by_field(check(old, widened, "backward")) == {("params.p", "SIG110"): "info"}
    assert _by_field(check(widened, old, "backward")) == {("params.p", "SIG111"): "breaking"}
    assert _by_field(check(old, listed, "backward"))[("params.p", "SIG305")] == "breaking"
    assert _by_field(check(Signature(old.inputs), nodefault, "backward")) == {("params.q", "SIG302"): "warning"}


def test_complex_types() -> None:
    def sig(t):
        return Signature.from_canonical({"inputs": [{"name": "c", "required": True, **t}]})

    arr_long = sig({"type": "array", "items": {"type": "long"}})
    arr_int = sig({"type": "array", "items": {"type": "integer"}})
    obj1 = sig({"type": "object", "properties": {"a": {"type": "string"}}})
    obj2 = sig({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "long", "required": False}}})
    obj3 = sig({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "long"}}})
    anyt = sig({"type": "any"})
    assert _by_field(check(arr_int, arr_long, "backward")) == {("inputs.c", "SIG110"): "info"}
    assert _by_field(check(obj1, obj2, "backward")) == {("inputs.c", "SIG110"): "info"}  # new optional property
    # new required property: old objects lack it, and the old model rejects new objects' extra key
    assert _by_field(check(obj1, obj3, "backward")) == {("inputs.c", "SIG112"): "breaking"}
    assert _by_field(check(obj2, obj1, "backward")) == {("inputs.c", "SIG111"): "breaking"}  # old clients may send b
    assert _by_field(check(arr_long, anyt, "backward")) == {("inputs.c", "SIG110"): "info"}


def test_waivers(models: dict[str, Path]) -> None:
    old = read_model(models["cols_v1"]).signature
    new = read_model(models["cols_v2"]).signature
    waivers = [
        Waiver(rule="SIG101", field="w", reason="all clients send w since March"),
        Waiver(rule="SIG111", field="inputs.x", reason="x fits in float32"),
        Waiver(rule="SIG112", reason="n is always small"),
        Waiver(rule="SIG203", field="other", reason="does not match"),
    ]
    findings = check(old, new, "backward", waivers)
    waived = {f.field: f.waived for f in findings if f.waived}
    assert waived == {
        "inputs.w": "all clients send w since March",
        "inputs.x": "x fits in float32",
        "inputs.n": "n is always small",
    }
    assert is_breaking(findings)  # SIG203 on outputs is not waived
    assert [f.rule for f in findings if f.severity == "breaking" and not f.waived] == ["SIG203"]
    assert findings[0].to_json().get("waived") is None or isinstance(findings[0].to_json()["waived"], str)


def test_policy_checks(models: dict[str, Path]) -> None:
    tensor = read_model(models["sk_tensor"]).signature
    assert [f.rule for f in check_input_kinds(tensor, ["columns"])] == ["SIG902"]
    assert check_input_kinds(tensor, ["columns", "tensors"]) == []
    assert check_input_kinds(tensor, None) == []
    assert [f.rule for f in check_required(None, True)] == ["SIG901"]
    assert check_required(None, False) == [] and check_required(tensor, True) == []


def test_rule_table_is_complete_and_unique() -> None:
    table = rule_table()
    ids = [r["id"] for r in table]
    assert len(ids) == len(set(ids)) == len(RULES)
    for rule in RULES:
        assert rule.__doc__ and rule.explanation and rule.title
        assert rule.backward in ("info", "warning", "breaking") and rule.forward in ("info", "warning", "breaking")


def test_unknown_mode_rejected() -> None:
    with pytest.raises(ValueError, match="unknown compatibility mode"):
        check(None, None, "sideways")
