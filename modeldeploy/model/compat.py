"""Signature compatibility: what changes between two model versions, and who it breaks.

The rules mirror how MLflow's scoring server enforces a signature (``mlflow/models/utils.py`` in
mlflow 3.17: ``_enforce_schema``, ``_enforce_named_col_schema``, ``_enforce_mlflow_datatype``,
``_enforce_tensor_spec``, ``_enforce_object``, ``_enforce_params_schema``,
``_enforce_param_datatype``):

* a required input missing from a request is an error; an optional one may be absent;
* an input the model does not declare is dropped with a warning (never rejected);
* column values are converted only along MLflow's safe casts (:data:`COLUMN_ACCEPTS`);
* a tensor's dtype must match exactly; its shape must match with ``-1`` as a wildcard;
* a param a request leaves out takes its default; an undeclared param is ignored with a warning;
  param values convert along :data:`PARAM_ACCEPTS`.

Modes (``signature.compatibility``):

* ``backward`` — every request valid for the OLD model is accepted by the NEW one, and consumers
  written for the OLD outputs still understand the NEW outputs (safe to roll forward);
* ``forward`` — the reverse: requests written for the NEW model are accepted by the OLD one, and
  NEW consumers understand OLD outputs (safe to roll back);
* ``full`` — both; a finding's severity is the worse of the two;
* ``none`` — no findings.

Each rule is one class with declarative metadata. A rule detects one kind of change between OLD
and NEW and states its severity when the change is judged backward and forward; :func:`check`
picks the severity for the mode. :data:`RULES` is the table ``docs/signature.md`` is built from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Iterable, Iterator, Sequence

from modeldeploy.model.signature import (
    AnyType,
    ArrayType,
    ColumnSpec,
    DataType,
    MapType,
    ObjectType,
    ParamSpec,
    ScalarType,
    Schema,
    Signature,
    TensorSpec,
)
from modeldeploy.model.findings import Finding

MODES = ("none", "backward", "forward", "full")
SEVERITIES = ("info", "warning", "breaking")

# Column values: declared type → the value types MLflow converts into it (besides itself).
# Measured against mlflow 3.17's ``_enforce_mlflow_datatype`` (tests/unit/model/test_compat.py runs
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
    if isinstance(declared, AnyType):
        return True
    if isinstance(declared, ScalarType) and isinstance(sent, ScalarType):
        return declared.name == sent.name or sent.name in table.get(declared.name, frozenset())
    if isinstance(declared, ArrayType) and isinstance(sent, ArrayType):
        return accepts(declared.items, sent.items, table)
    if isinstance(declared, MapType) and isinstance(sent, MapType):
        return accepts(declared.values, sent.values, table)
    if isinstance(declared, ObjectType) and isinstance(sent, ObjectType):
        for prop in sent.properties:
            mine = declared.property(prop.name)
            if mine is None or not accepts(mine.type, prop.type, table):
                return False
        return all(not p.required or (s := sent.property(p.name)) is not None and s.required for p in declared.properties)
    return False


def shape_accepts(declared: Sequence[int], sent: Sequence[int]) -> bool:
    """``_enforce_tensor_spec``: same rank; each fixed declared dim equals the sent one (-1 = any)."""
    if len(declared) != len(sent):
        return False
    return all(d == -1 or (d == s and s != -1) for d, s in zip(declared, sent))


# --- the change a rule looks at ------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between OLD and NEW at one field (``inputs.age``, ``params.temperature``)."""

    field: str
    old: Any = None  # a Spec / ParamSpec / Schema / Signature, or None when absent
    new: Any = None


def _describe(value: Any) -> str:
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


def _name(field: str) -> str:
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
        return f"{cls.title}: {_name(change.field)}"

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


# signature and schema level


class SignatureAdded(Rule):
    """The new model has a signature, the old one had none: the scoring server starts enforcing one
    (``_enforce_schema`` runs only when the model has an input schema)."""

    id, scope = "SIG001", "signature"
    title = "signature added"
    backward, forward = "warning", "info"
    explanation = "Requests the old model took unchecked are now validated and may be rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "signature" and change.old is None and change.new is not None

    @classmethod
    def message(cls, change: Change) -> str:
        return "the new model declares a signature; the old one had none, so requests were not checked before"


class SignatureRemoved(Rule):
    """The new model has no signature: nothing is enforced and consumers lose the output contract."""

    id, scope = "SIG002", "signature"
    title = "signature removed"
    backward, forward = "warning", "warning"
    explanation = "No request is validated any more and outputs carry no contract."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "signature" and change.old is not None and change.new is None

    @classmethod
    def message(cls, change: Change) -> str:
        return "the new model has no signature; requests are no longer validated"


class InputKindChanged(Rule):
    """Columns became tensors or the reverse: ``_enforce_schema`` takes a different path
    (``_enforce_tensor_schema`` vs ``_enforce_named_col_schema``) and request bodies change shape."""

    id, scope = "SIG010", "inputs"
    title = "input kind changed"
    backward, forward = "breaking", "breaking"
    explanation = "Column inputs became tensors (or the reverse); existing requests no longer fit."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return isinstance(o, Schema) and isinstance(n, Schema) and change.field == "inputs" and o.kind != n.kind

    @classmethod
    def message(cls, change: Change) -> str:
        return f"inputs changed from {change.old.kind} to {change.new.kind}"


class InputNamingChanged(Rule):
    """Named inputs became positional or the reverse (``Schema.has_input_names``): the server then
    matches request columns by position instead of by name."""

    id, scope = "SIG011", "inputs"
    title = "input naming changed"
    backward, forward = "breaking", "breaking"
    explanation = "Inputs switched between named and positional matching."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return (
            isinstance(o, Schema) and isinstance(n, Schema) and change.field == "inputs"
            and o.kind == n.kind and bool(o.specs) and bool(n.specs) and o.has_names != n.has_names
        )

    @classmethod
    def message(cls, change: Change) -> str:
        how = "named" if change.new.has_names else "positional (unnamed)"
        return f"inputs are now {how}"


class InputSchemaAdded(Rule):
    """The signature gained an input schema where it had none: inputs start being validated."""

    id, scope = "SIG012", "inputs"
    title = "input schema added"
    backward, forward = "warning", "info"
    explanation = "Inputs were not validated before; requests may now be rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "inputs" and change.old is None and isinstance(change.new, Schema)


class InputSchemaRemoved(Rule):
    """The signature lost its input schema: inputs are no longer validated."""

    id, scope = "SIG013", "inputs"
    title = "input schema removed"
    backward, forward = "info", "warning"
    explanation = "Inputs are no longer validated by the new model."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "inputs" and isinstance(change.old, Schema) and change.new is None


# individual inputs


def _input(change: Change) -> bool:
    return change.field.startswith("inputs.")


class RequiredInputAdded(Rule):
    """``_enforce_schema``: a required input missing from a request raises "Model is missing inputs"."""

    id, scope = "SIG101", "inputs"
    title = "required input added"
    backward, forward = "breaking", "warning"
    explanation = "Old clients do not send it and the new model rejects their requests."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and change.old is None and change.new is not None and change.new.required


class OptionalInputAdded(Rule):
    """``_enforce_named_col_schema`` skips optional columns a request leaves out."""

    id, scope = "SIG102", "inputs"
    title = "optional input added"
    backward, forward = "info", "warning"
    explanation = "Old clients may leave it out; the old model would drop it if new clients send it."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and change.old is None and change.new is not None and not change.new.required


class RequiredInputRemoved(Rule):
    """``_enforce_schema`` drops undeclared inputs with a warning ("These inputs will be ignored"),
    so old clients are not rejected — but the value they send is silently unused."""

    id, scope = "SIG103", "inputs"
    title = "required input removed"
    backward, forward = "warning", "breaking"
    explanation = "Old clients still send it and the new model drops it; a rollback would reject new clients."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and change.old is not None and change.new is None and change.old.required


class OptionalInputRemoved(Rule):
    """As SIG103 for an optional input: dropped with a warning by the new model."""

    id, scope = "SIG104", "inputs"
    title = "optional input removed"
    backward, forward = "warning", "info"
    explanation = "Clients that send it have it dropped by the new model."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and change.old is not None and change.new is None and not change.old.required


class InputBecameOptional(Rule):
    """``Schema.optional_input_names``: the new model lets requests omit it."""

    id, scope = "SIG105", "inputs"
    title = "input became optional"
    backward, forward = "info", "breaking"
    explanation = "Every old request still fits; new clients may omit it, which the old model rejects."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return _input(change) and isinstance(o, ColumnSpec) and isinstance(n, ColumnSpec) and o.required and not n.required


class InputBecameRequired(Rule):
    """``Schema.required_input_names``: requests without it are rejected."""

    id, scope = "SIG106", "inputs"
    title = "input became required"
    backward, forward = "breaking", "info"
    explanation = "Old clients that omit it are rejected by the new model."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return _input(change) and isinstance(o, ColumnSpec) and isinstance(n, ColumnSpec) and not o.required and n.required


def _typed(change: Change) -> tuple[DataType, DataType, dict[str, frozenset[str]]] | None:
    o, n = change.old, change.new
    if change.field.startswith("inputs.") and isinstance(o, ColumnSpec) and isinstance(n, ColumnSpec):
        return o.type, n.type, COLUMN_ACCEPTS
    if change.field.startswith("params.") and isinstance(o, ParamSpec) and isinstance(n, ParamSpec):
        return o.type, n.type, PARAM_ACCEPTS
    return None


def _type_change(change: Change) -> tuple[bool, bool] | None:
    """(new accepts old values, old accepts new values) when the type changed, else None."""
    typed = _typed(change)
    if typed is None or typed[0] == typed[1]:
        return None
    old, new, table = typed
    return accepts(new, old, table), accepts(old, new, table)


class TypeWidened(Rule):
    """``_enforce_mlflow_datatype`` (columns) / ``_enforce_param_datatype`` (params) convert old
    values into the new type (e.g. integer → long, float → double), but not the reverse."""

    id, scope = "SIG110", "inputs, params"
    title = "type widened"
    backward, forward = "info", "breaking"
    explanation = "Old values convert safely to the new type (int→long, float→double); not the other way."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _type_change(change) == (True, False)

    @classmethod
    def message(cls, change: Change) -> str:
        o, n, _ = _typed(change)  # type: ignore[misc]
        return f"{_name(change.field)}: {o.render()} → {n.render()} (old values convert safely)"


class TypeNarrowed(Rule):
    """``_enforce_mlflow_datatype`` refuses unsafe casts (long → integer, double → float, float →
    integer); ``_enforce_param_datatype`` likewise outside ``_ALLOWED_CONVERSIONS_FOR_PARAMS``."""

    id, scope = "SIG111", "inputs, params"
    title = "type narrowed"
    backward, forward = "breaking", "info"
    explanation = "Old values do not convert to the new type (long→integer, double→float) and are rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _type_change(change) == (False, True)

    @classmethod
    def message(cls, change: Change) -> str:
        o, n, _ = _typed(change)  # type: ignore[misc]
        return f"{_name(change.field)}: {o.render()} → {n.render()} (old values are rejected)"


class TypeIncompatible(Rule):
    """Neither type converts into the other under ``_enforce_mlflow_datatype`` — e.g. long → double
    (ints wider than 6 bytes are refused), string → double, float → integer."""

    id, scope = "SIG112", "inputs, params"
    title = "type changed incompatibly"
    backward, forward = "breaking", "breaking"
    explanation = "Values of either type are rejected by the other (long→double, string→double, float→int)."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _type_change(change) == (False, False)

    @classmethod
    def message(cls, change: Change) -> str:
        o, n, _ = _typed(change)  # type: ignore[misc]
        return f"{_name(change.field)}: {o.render()} → {n.render()} (no safe conversion either way)"


def _tensors(change: Change) -> tuple[TensorSpec, TensorSpec] | None:
    o, n = change.old, change.new
    if isinstance(o, TensorSpec) and isinstance(n, TensorSpec):
        return o, n
    return None


class TensorDtypeChanged(Rule):
    """``_enforce_tensor_spec``: "dtype of input ... does not match expected dtype" — exact match only."""

    id, scope = "SIG120", "inputs"
    title = "tensor dtype changed"
    backward, forward = "breaking", "breaking"
    explanation = "Tensor dtypes must match exactly; no conversion is made."

    @classmethod
    def applies(cls, change: Change) -> bool:
        t = _tensors(change)
        return _input(change) and t is not None and t[0].dtype != t[1].dtype

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{_name(change.field)}: dtype {change.old.dtype} → {change.new.dtype}"


def _shape_change(change: Change) -> tuple[bool, bool] | None:
    t = _tensors(change)
    if t is None or t[0].shape == t[1].shape:
        return None
    return shape_accepts(t[1].shape, t[0].shape), shape_accepts(t[0].shape, t[1].shape)


class TensorShapeRelaxed(Rule):
    """``_enforce_tensor_spec`` treats -1 as a wildcard: a fixed dim that became -1 accepts more."""

    id, scope = "SIG121", "inputs"
    title = "tensor shape relaxed"
    backward, forward = "info", "breaking"
    explanation = "A fixed dimension became -1: old tensors still fit, new clients may send sizes the old model refuses."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and _shape_change(change) == (True, False)

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{_name(change.field)}: shape {change.old.shape_text()} → {change.new.shape_text()}"


class TensorShapeRestricted(Rule):
    """``_enforce_tensor_spec``: a -1 that became a fixed size rejects every other size."""

    id, scope = "SIG122", "inputs"
    title = "tensor shape restricted"
    backward, forward = "breaking", "info"
    explanation = "A -1 dimension became fixed: old tensors of other sizes are rejected."

    message = TensorShapeRelaxed.message

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and _shape_change(change) == (False, True)


class TensorShapeIncompatible(Rule):
    """``_enforce_tensor_spec``: rank must match and fixed dims must be equal."""

    id, scope = "SIG123", "inputs"
    title = "tensor shape incompatible"
    backward, forward = "breaking", "breaking"
    explanation = "Rank changed or a fixed dimension changed size; no tensor fits both."

    message = TensorShapeRelaxed.message

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and _shape_change(change) == (False, False)


# outputs (consumers)


def _output(change: Change) -> bool:
    return change.field.startswith("outputs.")


class OutputRemoved(Rule):
    """Consumers of the old model read an output the new model no longer produces."""

    id, scope = "SIG201", "outputs"
    title = "output removed"
    backward, forward = "breaking", "info"
    explanation = "Consumers written for the old model read an output that is gone."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _output(change) and change.old is not None and change.new is None


class OutputAdded(Rule):
    """A new output: old consumers ignore it; consumers written for it break on a rollback."""

    id, scope = "SIG202", "outputs"
    title = "output added"
    backward, forward = "info", "breaking"
    explanation = "Old consumers ignore it; consumers that rely on it break if the old model comes back."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _output(change) and change.old is None and change.new is not None


class OutputTypeChanged(Rule):
    """An output's type or tensor dtype changed: consumers parse predictions with the old type."""

    id, scope = "SIG203", "outputs"
    title = "output type changed"
    backward, forward = "breaking", "breaking"
    explanation = "Consumers decode predictions with the old type."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        if not _output(change) or o is None or n is None:
            return False
        if type(o) is not type(n):
            return True
        if isinstance(o, TensorSpec):
            return o.dtype != n.dtype
        return o.type != n.type

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{_name(change.field)}: {change.old.type_text()} → {change.new.type_text()}"


class OutputShapeChanged(Rule):
    """An output tensor's shape changed (same dtype): consumers that index fixed dims may break."""

    id, scope = "SIG204", "outputs"
    title = "output shape changed"
    backward, forward = "warning", "warning"
    explanation = "Consumers that rely on the old dimensions may break."

    message = TensorShapeRelaxed.message

    @classmethod
    def applies(cls, change: Change) -> bool:
        t = _tensors(change)
        return _output(change) and t is not None and t[0].dtype == t[1].dtype and t[0].shape != t[1].shape


class OutputKindChanged(Rule):
    """Output schema changed between columns and tensors (or appeared/disappeared)."""

    id, scope = "SIG205", "outputs"
    title = "output schema changed"
    backward, forward = "breaking", "breaking"
    explanation = "Outputs changed between columns and tensors, or between named and unnamed."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return (
            change.field == "outputs" and isinstance(o, Schema) and isinstance(n, Schema)
            and (o.kind != n.kind or (bool(o.specs) and bool(n.specs) and o.has_names != n.has_names))
        )

    @classmethod
    def message(cls, change: Change) -> str:
        return f"outputs changed from {_describe(change.old)} to {_describe(change.new)}"


class OutputSchemaAdded(Rule):
    """The signature gained outputs where it declared none."""

    id, scope = "SIG206", "outputs"
    title = "output schema added"
    backward, forward = "info", "warning"
    explanation = "Outputs are now declared; nothing changes for existing consumers."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "outputs" and change.old is None and isinstance(change.new, Schema)


class OutputSchemaRemoved(Rule):
    """The signature no longer declares outputs: consumers lose their contract."""

    id, scope = "SIG207", "outputs"
    title = "output schema removed"
    backward, forward = "warning", "info"
    explanation = "Outputs are no longer declared; consumers lose their contract."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "outputs" and isinstance(change.old, Schema) and change.new is None


# params


def _param(change: Change) -> bool:
    return change.field.startswith("params.")


class ParamAdded(Rule):
    """``_enforce_params_schema`` fills a param a request leaves out with its default."""

    id, scope = "SIG301", "params"
    title = "param added"
    backward, forward = "info", "warning"
    explanation = "Old clients leave it out and get the default; the old model ignores it if new clients send it."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _param(change) and change.old is None and change.new is not None and change.new.default is not None


class ParamAddedWithoutDefault(Rule):
    """``_enforce_params_schema`` passes ``default`` (here null) when a request leaves the param out."""

    id, scope = "SIG302", "params"
    title = "param added without default"
    backward, forward = "warning", "warning"
    explanation = "Old clients leave it out and the model receives null."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _param(change) and change.old is None and change.new is not None and change.new.default is None


class ParamRemoved(Rule):
    """``_enforce_params_schema``: "Unrecognized params ... are ignored for inference"."""

    id, scope = "SIG303", "params"
    title = "param removed"
    backward, forward = "warning", "info"
    explanation = "Old clients still send it; the new model ignores it with a warning."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _param(change) and change.old is not None and change.new is None


class ParamDefaultChanged(Rule):
    """The default a request gets when it leaves the param out (``param_spec.default``) changed."""

    id, scope = "SIG304", "params"
    title = "param default changed"
    backward, forward = "warning", "warning"
    explanation = "Clients that rely on the default get different behaviour."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return _param(change) and isinstance(o, ParamSpec) and isinstance(n, ParamSpec) and o.type == n.type and o.default != n.default

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{_name(change.field)}: default {json.dumps(change.old.default)} → {json.dumps(change.new.default)}"


class ParamShapeChanged(Rule):
    """``ParamSpec.validate_type_and_shape``: shape (-1,) needs a 1-D list, shape null a scalar."""

    id, scope = "SIG305", "params"
    title = "param shape changed"
    backward, forward = "breaking", "breaking"
    explanation = "A scalar param became a list or the reverse; values of the old shape are rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return _param(change) and isinstance(o, ParamSpec) and isinstance(n, ParamSpec) and o.shape != n.shape

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{_name(change.field)}: shape {change.old.shape} → {change.new.shape}"


# policy-level rules (not comparisons)


class SignatureMissing(Rule):
    """``signature.required``: the model must declare a signature."""

    id, scope = "SIG901", "policy"
    title = "signature missing"
    backward, forward = "breaking", "breaking"
    explanation = "signature.required is true and the model has no signature."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "policy.required" and change.new is None


class InputKindNotAllowed(Rule):
    """``signature.input_kinds``: only the listed input kinds (columns, tensors) are allowed."""

    id, scope = "SIG902", "policy"
    title = "input kind not allowed"
    backward, forward = "breaking", "breaking"
    explanation = "The model's input kind is not in signature.input_kinds."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "policy.input_kinds"


class InputExampleMismatch(Rule):
    """``signature.check_input_example``: the saved input example must pass the model's own
    signature, as ``mlflow.models.validate_serving_input`` would check it."""

    id, scope = "SIG903", "policy"
    title = "input example does not match signature"
    backward, forward = "breaking", "breaking"
    explanation = "The model's saved input example would be rejected by its own signature."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field.startswith("example")


COMPARISON_RULES: tuple[type[Rule], ...] = (
    SignatureAdded, SignatureRemoved,
    InputKindChanged, InputNamingChanged, InputSchemaAdded, InputSchemaRemoved,
    RequiredInputAdded, OptionalInputAdded, RequiredInputRemoved, OptionalInputRemoved,
    InputBecameOptional, InputBecameRequired,
    TypeWidened, TypeNarrowed, TypeIncompatible,
    TensorDtypeChanged, TensorShapeRelaxed, TensorShapeRestricted, TensorShapeIncompatible,
    OutputRemoved, OutputAdded, OutputTypeChanged, OutputShapeChanged, OutputKindChanged,
    OutputSchemaAdded, OutputSchemaRemoved,
    ParamAdded, ParamAddedWithoutDefault, ParamRemoved, ParamDefaultChanged, ParamShapeChanged,
)  # fmt: skip
POLICY_RULES: tuple[type[Rule], ...] = (SignatureMissing, InputKindNotAllowed, InputExampleMismatch)
RULES: tuple[type[Rule], ...] = COMPARISON_RULES + POLICY_RULES
RULES_BY_ID = {r.id: r for r in RULES}


def rule_table() -> list[dict[str, str]]:
    """The rule table (id, title, scope, severity per mode, explanation) for docs and ``--format json``."""
    return [r.metadata() for r in RULES]


# --- walking two signatures ----------------------------------------------------------------------


def _pairs(old: Schema | None, new: Schema | None, part: str) -> Iterator[Change]:
    o = old.keyed() if old is not None else {}
    n = new.keyed() if new is not None else {}
    for key in [*o, *[k for k in n if k not in o]]:
        a, b = o.get(key), n.get(key)
        if a != b:
            yield Change(f"{part}.{key}", a, b)


def _schema_changes(old: Schema | None, new: Schema | None, part: str) -> Iterator[Change]:
    yield Change(part, old, new)
    if old is None or new is None or old.kind != new.kind or (old.specs and new.specs and old.has_names != new.has_names):
        return  # the whole schema changed shape; per-field findings would only repeat it
    yield from _pairs(old, new, part)


def _param_changes(old: Sequence[ParamSpec] | None, new: Sequence[ParamSpec] | None) -> Iterator[Change]:
    o = {p.name: p for p in old or ()}
    n = {p.name: p for p in new or ()}
    for key in [*o, *[k for k in n if k not in o]]:
        if o.get(key) != n.get(key):
            yield Change(f"params.{key}", o.get(key), n.get(key))


def changes(old: Signature | None, new: Signature | None) -> list[Change]:
    """Every difference between two signatures, in a stable order (inputs, outputs, params)."""
    if old is None or new is None:
        return [Change("signature", old, new)] if old is not new else []
    out = list(_schema_changes(old.inputs, new.inputs, "inputs"))
    out += _schema_changes(old.outputs, new.outputs, "outputs")
    out += _param_changes(old.params, new.params)
    return out


def _finding(rule: type[Rule], change: Change, severity: str) -> Finding:
    return Finding(
        rule=rule.id,
        severity=severity,
        field=change.field,
        old=_describe(change.old),
        new=_describe(change.new),
        message=rule.message(change),
    )


def apply_waivers(findings: Iterable[Finding], waivers: Iterable[Any]) -> list[Finding]:
    """Mark findings matched by a waiver (same rule; ``field`` absent, the full field such as
    ``inputs.age``, or just the name ``age``) with the waiver's reason."""
    waivers = list(waivers)
    out = []
    for f in findings:
        for w in waivers:
            if w.rule == f.rule and (w.field is None or w.field in (f.field, _name(f.field))):
                f = replace(f, waived=w.reason)
                break
        out.append(f)
    return out


def check(old: Signature | None, new: Signature | None, mode: str, waivers: Iterable[Any] = ()) -> list[Finding]:
    """Findings for deploying ``new`` where ``old`` runs, judged by ``mode``.

    ``waivers`` are ``modeldeploy.spec.models.Waiver`` values (anything with rule, field, reason).
    """
    if mode not in MODES:
        raise ValueError(f"unknown compatibility mode {mode!r} (one of {', '.join(MODES)})")
    if mode == "none":
        return []
    found = []
    for change in changes(old, new):
        for rule in COMPARISON_RULES:
            if rule.applies(change):
                found.append(_finding(rule, change, rule.severity(mode) or "info"))
    return apply_waivers(found, waivers)


def check_input_kinds(sig: Signature | None, allowed: Iterable[str] | None) -> list[Finding]:
    """SIG902 when the signature's input kind (columns | tensors) is not among ``allowed``."""
    if allowed is None or sig is None or sig.inputs is None:
        return []
    allowed = list(allowed)
    if sig.inputs.kind in allowed:
        return []
    return [
        Finding(
            rule=InputKindNotAllowed.id,
            severity="breaking",
            field="inputs",
            old=", ".join(allowed),
            new=sig.inputs.kind,
            message=f"inputs are {sig.inputs.kind}; signature.input_kinds allows {', '.join(allowed)}",
        )
    ]


def check_required(sig: Signature | None, required: bool) -> list[Finding]:
    """SIG901 when ``signature.required`` is set and the model has no signature."""
    if not required or sig is not None:
        return []
    return [
        Finding(
            rule=SignatureMissing.id,
            severity="breaking",
            field="signature",
            old="",
            new="",
            message="the model has no signature and signature.required is true; log it with a signature",
        )
    ]


def is_breaking(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "breaking" and not f.waived for f in findings)
