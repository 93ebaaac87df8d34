"""Signature and schema level (SIG0xx): a signature or a whole input schema appears, disappears or changes kind."""

from __future__ import annotations

from modeldeploy.model.compat.base import Change, Rule
from modeldeploy.model.signature import Schema


class SignatureAdded(Rule):
    """The new model has a signature, the old one had none: the scoring server starts enforcing one
    (``_enforce_schema`` runs only when the model has an input schema)."""

    id, scope = "SIG001", "signature"
    title = "signature added"
    effect = "requests are now checked and may be rejected"
    backward, forward = "warning", "info"
    explanation = "Requests the old model took unchecked are now validated and may be rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "signature" and change.old is None and change.new is not None


class SignatureRemoved(Rule):
    """The new model has no signature: nothing is enforced and consumers lose the output contract."""

    id, scope = "SIG002", "signature"
    title = "signature removed"
    effect = "requests are no longer checked"
    backward, forward = "warning", "warning"
    explanation = "No request is validated any more and outputs carry no contract."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return change.field == "signature" and change.old is not None and change.new is None


class InputKindChanged(Rule):
    """Columns became tensors or the reverse: ``_enforce_schema`` takes a different path
    (``_enforce_tensor_schema`` vs ``_enforce_named_col_schema``) and request bodies change shape."""

    id, scope = "SIG010", "inputs"
    title = "input kind changed"
    effect = "existing requests no longer fit"
    backward, forward = "breaking", "breaking"
    explanation = "Column inputs became tensors (or the reverse); existing requests no longer fit."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return isinstance(o, Schema) and isinstance(n, Schema) and change.field == "inputs" and o.kind != n.kind


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
            isinstance(o, Schema)
            and isinstance(n, Schema)
            and change.field == "inputs"
            and o.kind == n.kind
            and bool(o.specs)
            and bool(n.specs)
            and o.has_names != n.has_names
        )

    @classmethod
    def message(cls, change: Change) -> str:
        return f"{cls.title}: request values are now matched by {'name' if change.new.has_names else 'position'}"


class InputSchemaAdded(Rule):
    """The signature gained an input schema where it had none: inputs start being validated."""

    id, scope = "SIG012", "inputs"
    title = "input schema added"
    effect = "requests may now be rejected"
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
