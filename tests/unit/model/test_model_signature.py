"""modeldeploy.model.signature: parsing MLflow's JSON, the canonical form, digest and rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeldeploy.errors import ModelError
from modeldeploy.model.datatypes import SCALAR_TYPES, SignatureError
from modeldeploy.model.info import read_model
from modeldeploy.model.signature import Signature


def test_canonical_agrees_with_mlflow(models: dict[str, Path]) -> None:
    """Our canonical inputs equal MLflow's own Schema.to_dict() up to the normalisation we document
    (explicit name and boolean required)."""
    from mlflow.models import Model

    for name in ("cols_v1", "cols_v2", "tensor_v1", "sk_columns", "sk_tensor"):
        theirs = Model.load(str(models[name])).signature
        ours = read_model(models[name]).signature
        for part in ("inputs", "outputs"):
            expected = json.loads(json.dumps([{"name": None, **d} for d in getattr(theirs, part).to_dict()]))
            for d in expected:
                if d["type"] != "tensor":
                    d["required"] = bool(d.get("required", True))
            assert ours.to_canonical()[part] == expected
        if theirs.params is not None:
            assert ours.to_canonical()["params"] == [{"shape": None, **p} for p in theirs.params.to_dict()]


def test_round_trip_and_digest(models: dict[str, Path]) -> None:
    for name in ("cols_v1", "tensor_v2", "sk_columns"):
        sig = read_model(models[name]).signature
        canonical = sig.to_canonical()
        again = Signature.from_canonical(json.loads(json.dumps(canonical)))
        assert again == sig
        assert again.digest() == sig.digest()
        assert sig.digest().startswith("sha256:") and len(sig.digest()) == 71
    a = read_model(models["cols_v1"]).signature
    b = read_model(models["cols_v2"]).signature
    assert a.digest() != b.digest()


def test_digest_ignores_key_order_and_object_property_order() -> None:
    one = Signature.from_mlmodel(
        {"inputs": '[{"name": "o", "type": "object", "properties": {"a": {"type": "long"}, "b": {"type": "string"}}}]'}
    )
    two = Signature.from_mlmodel(
        {"inputs": '[{"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "long"}}, "name": "o"}]'}
    )
    assert one.digest() == two.digest()


def test_required_defaults_follow_mlflow() -> None:
    sig = Signature.from_mlmodel(
        {
            "inputs": json.dumps(
                [
                    {"name": "s", "type": "string"},
                    {"name": "a", "type": "array", "items": {"type": "long"}},
                    {"name": "m", "type": "map", "values": {"type": "double"}, "required": None},
                    {"name": "o", "type": "object", "properties": {"p": {"type": "long"}}, "required": True},
                ]
            )
        }
    )
    assert [s.required for s in sig.inputs.specs] == [True, False, False, True]
    assert sig.inputs.specs[3].type.properties[0].required is True


def test_render_table(models: dict[str, Path]) -> None:
    text = read_model(models["cols_v1"]).signature.render()
    assert text.splitlines()[:3] == [
        "inputs (columns):",
        "  name  type     required/shape",
        "  x     double   required",
    ]
    assert "  z     string   optional" in text
    assert "  t     float   default=0.5" in text
    assert '  mode  string  default="fast"' in text
    tensor = read_model(models["tensor_v1"]).signature.render()
    assert "  [0]   tensor<float64>  (-1, 4)" in tensor


@pytest.mark.parametrize(
    "data,message",
    [
        ({"inputs": "[{"}, "signature.inputs is not valid JSON"),
        ({"inputs": '{"a": 1}'}, "inputs must be a JSON list"),
        ({"inputs": '[{"name": "x"}]'}, "missing 'type'"),
        ({"inputs": '[{"name": "x", "type": "tensor"}]'}, "tensor-spec must be a JSON object"),
        ({"inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [1.5]}}]'}, "list of integers"),
        (
            {
                "inputs": '[{"name": "x", "type": "double"}, {"type": "tensor", "tensor-spec": {"dtype": "int8", "shape": [1]}}]'
            },
            "mixes column and tensor",
        ),
        ({"inputs": '[{"name": "x", "type": "double"}, {"type": "double"}]'}, "every spec has a name or none"),
        ({"inputs": '[{"name": "x", "type": "double"}, {"name": "x", "type": "long"}]'}, "duplicate name"),
        ({"inputs": '[{"name": "x", "type": "array"}]'}, "needs 'items'"),
        ({"params": '[{"type": "long", "default": 1}]'}, "missing 'name'"),
        ({"params": '[{"name": "a", "default": 1}]'}, "missing 'type'"),
        ({"outputs": 5}, "must be a JSON string"),
    ],
)
def test_parse_errors(data, message) -> None:
    with pytest.raises(SignatureError, match=message) as e:
        Signature.from_mlmodel(data)
    assert isinstance(e.value, ModelError)


def test_from_canonical_rejects_unknown_keys() -> None:
    with pytest.raises(SignatureError, match="unknown signature key"):
        Signature.from_canonical({"inputs": [], "extra": 1})


_names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
_scalar = st.sampled_from(SCALAR_TYPES).map(lambda t: {"type": t})
_types = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        inner.map(lambda t: {"type": "array", "items": t}),
        inner.map(lambda t: {"type": "map", "values": t}),
        st.dictionaries(_names, inner.map(lambda t: {**t, "required": True}), min_size=1, max_size=3).map(
            lambda p: {"type": "object", "properties": p}
        ),
    ),
    max_leaves=4,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_names, _types, st.booleans()), min_size=1, max_size=5, unique_by=lambda c: c[0]))
def test_canonical_round_trip_property(columns) -> None:
    specs = [{"name": n, **t, "required": r} for n, t, r in columns]
    sig = Signature.from_canonical({"inputs": specs})
    assert Signature.from_canonical(sig.to_canonical()) == sig
    assert Signature.from_mlmodel({"inputs": json.dumps(specs)}).digest() == sig.digest()
