"""What every compatibility rule shares: the conversion tables, the Change a rule looks at, and the
Rule base class with its declarative metadata."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from modeldeploy.model.datatypes import ScalarType
from modeldeploy.model.signature import (
    ColumnSpec,
    ParamSpec,
    Schema,
    Signature,
    TensorSpec,
)

if TYPE_CHECKING:
    from modeldeploy.model.complextypes import DataType

MODES = ("none", "backward", "forward", "full")
SEVERITIES = ("info", "warning", "breaking")

# Column values: declared type → the value types MLflow converts into it (besides itself).
# Measured against mlflow 3.17's ``_enforce_mlflow_datatype`` (tests/unit/model/test_model_compat.py runs
# it on every pair): int32 → int64 and float32 → float64 are upcasts; int → float64 only for ints of
# at most 6 bytes, so ``long → double`` is rejected; object columns pass as string or binary.
# One quirk is deliberately left out: MLflow passes a ``binary`` (object) column through unchanged
# where ``boolean`` is declared — the model then receives bytes, so we do not call that compatible.
COLUMN_ACCEPTS: dict[str, frozenset[str]] = {
    "boolean": frozenset(),
    "integer": frozenset(),
    "long": frozenset({"integer"}),
    "float": frozenset(),
    "double": frozenset({"integer", "float"}),
    "string": frozenset({"binary"}),
    "binary": frozenset({"string"}),
    "datetime": frozenset(),
}

# Param values: ``_ALLOWED_CONVERSIONS_FOR_PARAMS`` used by ``_enforce_param_datatype``.
PARAM_ACCEPTS: dict[str, frozenset[str]] = {
    "long": frozenset({"integer"}),
    "float": frozenset({"integer", "long"}),
    "double": frozenset({"integer", "long", "float"}),
}


# --- type acceptance -----------------------------------------------------------------------------


def accepts(declared: DataType, sent: DataType, table: dict[str, frozenset[str]] = COLUMN_ACCEPTS) -> bool:
    """Does a model declaring ``declared`` accept every value valid for ``sent``?

    Follows ``_enforce_type``: ``any`` accepts everything; arrays and maps compare their element
    types; an object (``_enforce_object``) needs every required property and rejects undeclared ones.
    """
    if isinstance(declared, ScalarType):
        return isinstance(sent, ScalarType) and (
            declared.name == sent.name or sent.name in table.get(declared.name, frozenset())
        )
    from modeldeploy.model.complextypes import AnyType, ArrayType, MapType, ObjectType  # only when one is used

    if isinstance(declared, AnyType):
        return True
    if isinstance(declared, ArrayType) and isinstance(sent, ArrayType):
        return accepts(declared.items, sent.items, table)
    if isinstance(declared, MapType) and isinstance(sent, MapType):
        return accepts(declared.values, sent.values, table)
    if isinstance(declared, ObjectType) and isinstance(sent, ObjectType):
        for prop in sent.properties:
            mine = declared.property(prop.name)
            if mine is None or not accepts(mine.type, prop.type, table):
                return False
        return all(
            not p.required or (s := sent.property(p.name)) is not None and s.required for p in declared.properties
        )
    return False


def shape_accepts(declared: Sequence[int], sent: Sequence[int]) -> bool:
    """``_enforce_tensor_spec``: same rank; each fixed declared dim equals the sent one (-1 = any)."""
    if len(declared) != len(sent):
        return False
    return all(d == -1 or (d == s and s != -1) for d, s in zip(declared, sent, strict=False))


# --- the change a rule looks at ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between OLD and NEW at one field (``inputs.age``, ``params.temperature``)."""

    field: str
    old: Any = None  # a Spec / ParamSpec / Schema / Signature, or None when absent
    new: Any = None


def describe(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, ColumnSpec):
        return f"{value.type_text()} ({'required' if value.required else 'optional'})"
    if isinstance(value, TensorSpec):
        return f"{value.type_text()} {value.shape_text()}"
    if isinstance(value, ParamSpec):
        shape = "" if value.shape is None else f" shape={list(value.shape)}"
        return f"{value.type_text()} default={json.dumps(value.default, sort_keys=True)}{shape}"
    if isinstance(value, Schema):
        return value.kind + ("" if value.has_names else " (unnamed)")
    if isinstance(value, Signature):
        return "signature"
    return str(value)


def field_name(field: str) -> str:
    return field.split(".", 1)[1] if "." in field else field


# --- rules ---------------------------------------------------------------------------------------


class Rule:
    """One kind of change. Subclasses set the metadata and implement :meth:`applies`."""

    id: ClassVar[str]
    title: ClassVar[str]
    backward: ClassVar[str]  # severity when judging backward compatibility
    forward: ClassVar[str]  # severity when judging forward compatibility
    explanation: ClassVar[str]  # one line: what the scoring server does
    scope: ClassVar[str]  # signature | inputs | outputs | params
    #: What the change does to a client, in a few words, after the title in the message ("type
    #: narrowed: old values are rejected"). Every report already shows the field and its old and new
    #: value beside the message, so a message repeats neither.
    effect: ClassVar[str] = ""

    @classmethod
    def severity(cls, mode: str) -> str | None:
        if mode == "backward":
            return cls.backward
        if mode == "forward":
            return cls.forward
        if mode == "full":
            return max(cls.backward, cls.forward, key=SEVERITIES.index)
        return None

    @classmethod
    def applies(cls, change: Change) -> bool:
        raise TypeError(f"{cls.__name__} must define applies()")

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{cls.title}: {cls.effect}" if cls.effect else cls.title

    @classmethod
    def metadata(cls) -> dict[str, str]:
        return {
            "id": cls.id,
            "title": cls.title,
            "scope": cls.scope,
            "backward": cls.backward,
            "forward": cls.forward,
            "full": cls.severity("full") or "",
            "explanation": cls.explanation,
        }
