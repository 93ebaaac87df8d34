"""Individual inputs (SIG101-SIG106): an input appears, disappears or changes between required and optional."""

from __future__ import annotations

from modeldeploy.model.compat.base import Change, Rule
from modeldeploy.model.signature import ColumnSpec


def _input(change: Change) -> bool:
    return change.field.startswith("inputs.")


class RequiredInputAdded(Rule):
    """``_enforce_schema``: a required input missing from a request raises "Model is missing inputs"."""

    id, scope = "SIG101", "inputs"
    title = "required input added"
    effect = "requests without it are rejected"
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
    effect = "the new model ignores it"
    backward, forward = "warning", "breaking"
    explanation = "Old clients still send it and the new model drops it; a rollback would reject new clients."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _input(change) and change.old is not None and change.new is None and change.old.required


class OptionalInputRemoved(Rule):
    """As SIG103 for an optional input: dropped with a warning by the new model."""

    id, scope = "SIG104", "inputs"
    title = "optional input removed"
    effect = "the new model ignores it"
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
        return (
            _input(change) and isinstance(o, ColumnSpec) and isinstance(n, ColumnSpec) and o.required and not n.required
        )


class InputBecameRequired(Rule):
    """``Schema.required_input_names``: requests without it are rejected."""

    id, scope = "SIG106", "inputs"
    title = "input became required"
    effect = "requests without it are rejected"
    backward, forward = "breaking", "info"
    explanation = "Old clients that omit it are rejected by the new model."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return (
            _input(change) and isinstance(o, ColumnSpec) and isinstance(n, ColumnSpec) and not o.required and n.required
        )
