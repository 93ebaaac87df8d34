"""Value types of inputs and params (SIG110-SIG112): widened, narrowed or incompatible, by MLflow's casts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modeldeploy.model.compat.base import COLUMN_ACCEPTS, PARAM_ACCEPTS, Change, Rule, accepts
from modeldeploy.model.signature import ColumnSpec, ParamSpec

if TYPE_CHECKING:
    from modeldeploy.model.complextypes import DataType


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
    effect = "old values convert to the new type, not back"
    backward, forward = "info", "breaking"
    explanation = "Old values convert safely to the new type (int→long, float→double); not the other way."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _type_change(change) == (True, False)


class TypeNarrowed(Rule):
    """``_enforce_mlflow_datatype`` refuses unsafe casts (long → integer, double → float, float →
    integer); ``_enforce_param_datatype`` likewise outside ``_ALLOWED_CONVERSIONS_FOR_PARAMS``."""

    id, scope = "SIG111", "inputs, params"
    title = "type narrowed"
    effect = "old values are rejected; new values convert back"
    backward, forward = "breaking", "info"
    explanation = "Old values do not convert to the new type (long→integer, double→float) and are rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _type_change(change) == (False, True)


class TypeIncompatible(Rule):
    """Neither type converts into the other under ``_enforce_mlflow_datatype`` — e.g. long → double
    (ints wider than 6 bytes are refused), string → double, float → integer."""

    id, scope = "SIG112", "inputs, params"
    title = "type changed incompatibly"
    effect = "neither type's values convert to the other"
    backward, forward = "breaking", "breaking"
    explanation = "Values of either type are rejected by the other (long→double, string→double, float→int)."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _type_change(change) == (False, False)
