"""Tensor inputs (SIG120-SIG123): dtype and shape, with -1 as a wildcard."""

from __future__ import annotations

from modeldeploy.model.compat.base import Change, Rule, shape_accepts
from modeldeploy.model.compat.rules.inputs import _input
from modeldeploy.model.signature import TensorSpec


def _tensors(change: Change) -> tuple[TensorSpec, TensorSpec] | None:
    o, n = change.old, change.new
    if isinstance(o, TensorSpec) and isinstance(n, TensorSpec):
        return o, n
    return None


class TensorDtypeChanged(Rule):
    """``_enforce_tensor_spec``: "dtype of input ... does not match expected dtype" — exact match only."""

    id, scope = "SIG120", "inputs"
    title = "tensor dtype changed"
    effect = "no conversion is made, old tensors are rejected"
    backward, forward = "breaking", "breaking"
    explanation = "Tensor dtypes must match exactly; no conversion is made."

    @classmethod
    def applies(cls, change: Change) -> bool:
        t = _tensors(change)
        return _input(change) and t is not None and t[0].dtype != t[1].dtype


def _shape_change(change: Change) -> tuple[bool, bool] | None:
    t = _tensors(change)
    if t is None or t[0].shape == t[1].shape:
        return None
    return shape_accepts(t[1].shape, t[0].shape), shape_accepts(t[0].shape, t[1].shape)


class TensorShapeRelaxed(Rule):
    """``_enforce_tensor_spec`` treats -1 as a wildcard: a fixed dim that became -1 accepts more."""

    id, scope = "SIG121", "inputs"
    title = "tensor shape relaxed"
    effect = "old tensors still fit"
    backward, forward = "info", "breaking"
    explanation = (
        "A fixed dimension became -1: old tensors still fit, new clients may send sizes the old model refuses."
    )

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and _shape_change(change) == (True, False)


class TensorShapeRestricted(Rule):
    """``_enforce_tensor_spec``: a -1 that became a fixed size rejects every other size."""

    id, scope = "SIG122", "inputs"
    title = "tensor shape restricted"
    effect = "tensors of other sizes are rejected"
    backward, forward = "breaking", "info"
    explanation = "A -1 dimension became fixed: old tensors of other sizes are rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and _shape_change(change) == (False, True)


class TensorShapeIncompatible(Rule):
    """``_enforce_tensor_spec``: rank must match and fixed dims must be equal."""

    id, scope = "SIG123", "inputs"
    title = "tensor shape incompatible"
    effect = "no tensor fits both"
    backward, forward = "breaking", "breaking"
    explanation = "Rank changed or a fixed dimension changed size; no tensor fits both."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and _shape_change(change) == (False, False)
