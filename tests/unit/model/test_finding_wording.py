"""Every signature rule's message reads once: every report (plan text and markdown, ``signature
diff`` text/markdown/json, ``validate``) prints the field and the old and new value beside the
message, so the message names neither and carries no ``old → new`` of its own."""

from __future__ import annotations

import itertools

from modeldeploy.model.compat import COMPARISON_RULES, check
from modeldeploy.model.compat.base import field_name
from modeldeploy.model.signature import Signature


def _col(name: str, type_: str = "double", required: bool = True, **kw) -> dict:
    return {"name": name, "type": type_, "required": required, **kw}


def _tensor(dtype: str, shape: list[int], name: str = "pixels") -> dict:
    return {"name": name, "type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}


def _param(name: str, type_: str, default, shape=None) -> dict:
    return {"name": name, "type": type_, "default": default, "shape": shape}


COLUMNS = [
    {
        "inputs": [_col("sepal_length"), _col("sepal_width", "long"), _col("petal_note", "string", False)],
        "outputs": [_col("species", "long")],
        "params": [_param("threshold", "double", 0.5), _param("top_k", "long", 3)],
    },
    {
        "inputs": [
            _col("sepal_length", "float"),
            _col("sepal_width", "double"),
            _col("petal_note", "string", True),
            _col("region", "string"),
            _col("comment", "string", False),
        ],
        "outputs": [_col("species", "double"), _col("score", "double")],
        "params": [
            _param("threshold", "double", 0.7),
            _param("top_k", "long", [3], [-1]),
            _param("mode_name", "string", None),
        ],
    },
    {"inputs": [_col("sepal_length", "integer")]},
    {"inputs": [{"type": "double", "required": True}]},  # unnamed columns
    {"outputs": [_col("species", "long")]},  # no input schema
]
TENSORS = [
    {"inputs": [_tensor("float64", [-1, 4])], "outputs": [_tensor("int64", [-1], "label")]},
    {"inputs": [_tensor("float32", [-1, -1])], "outputs": [_tensor("int64", [-1, 1], "label")]},
    {"inputs": [_tensor("float64", [-1, 8])], "outputs": [_tensor("float64", [-1], "label")]},
    {"inputs": [_tensor("float64", [-1, 4, 1])]},
]


def _all_findings():
    sigs = [Signature.from_canonical(s) for s in COLUMNS + TENSORS] + [None]
    for old, new in itertools.permutations(sigs, 2):
        yield from check(old, new, "full")


def test_every_rule_message_names_neither_the_field_nor_the_change() -> None:
    seen = set()
    for f in _all_findings():
        seen.add(f.rule)
        assert "→" not in f.message and " from " not in f.message, (f.rule, f.message)
        assert f.message.count(":") <= 1, (f.rule, f.message)  # "title: effect", nothing more
        if "." in f.field:  # a column, tensor, output or param: its name and its old/new type
            name = field_name(f.field)
            assert name not in f.message.split() and f"{name}:" not in f.message, (f.rule, f.message)
            for side in (f.old, f.new):
                assert not side or side not in f.message, (f.rule, side, f.message)
    # the table above triggers every comparison rule, so none is left unchecked
    assert seen == {r.id for r in COMPARISON_RULES}, sorted({r.id for r in COMPARISON_RULES} - seen)


def test_policy_findings_read_once() -> None:
    from modeldeploy.model.compat import check_input_kinds, check_required

    tensor = Signature.from_canonical(TENSORS[0])
    (kind,) = check_input_kinds(tensor, ["columns"])
    assert (kind.old, kind.new) == ("columns", "tensors")
    assert "columns" not in kind.message and "tensors" not in kind.message
    (missing,) = check_required(None, True)
    assert "→" not in missing.message
