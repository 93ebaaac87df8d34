"""Outputs (SIG201-SIG207): what consumers of the predictions see."""

from __future__ import annotations

from modeldeploy.model.compat.base import Change, Rule
from modeldeploy.model.compat.rules.tensors import _tensors
from modeldeploy.model.signature import Schema, TensorSpec


def _output(change: Change) -> bool:
    return change.field.startswith("outputs.")


class OutputRemoved(Rule):
    """Consumers of the old model read an output the new model no longer produces."""

    id, scope = "SIG201", "outputs"
    title = "output removed"
    effect = "consumers that read it break"
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
    effect = "consumers decode predictions with the old type"
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
            return bool(o.dtype != n.dtype)
        return bool(o.type != n.type)


class OutputShapeChanged(Rule):
    """An output tensor's shape changed (same dtype): consumers that index fixed dims may break."""

    id, scope = "SIG204", "outputs"
    title = "output shape changed"
    effect = "consumers that rely on the old dimensions may break"
    backward, forward = "warning", "warning"
    explanation = "Consumers that rely on the old dimensions may break."

    @classmethod
    def applies(cls, change: Change) -> bool:
        t = _tensors(change)
        return _output(change) and t is not None and t[0].dtype == t[1].dtype and t[0].shape != t[1].shape


class OutputKindChanged(Rule):
    """Output schema changed between columns and tensors (or appeared/disappeared)."""

    id, scope = "SIG205", "outputs"
    title = "output schema changed"
    effect = "consumers parse predictions differently"
    backward, forward = "breaking", "breaking"
    explanation = "Outputs changed between columns and tensors, or between named and unnamed."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return (
            change.field == "outputs"
            and isinstance(o, Schema)
            and isinstance(n, Schema)
            and (o.kind != n.kind or (bool(o.specs) and bool(n.specs) and o.has_names != n.has_names))
        )


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
