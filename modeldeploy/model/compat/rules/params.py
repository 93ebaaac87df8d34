"""Params (SIG301-SIG305): inference parameters added, removed, or with a new default or shape."""

from __future__ import annotations

from modeldeploy.model.compat.base import Change, Rule
from modeldeploy.model.signature import ParamSpec


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
    effect = "requests without it pass null"
    backward, forward = "warning", "warning"
    explanation = "Old clients leave it out and the model receives null."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _param(change) and change.old is None and change.new is not None and change.new.default is None


class ParamRemoved(Rule):
    """``_enforce_params_schema``: "Unrecognized params ... are ignored for inference"."""

    id, scope = "SIG303", "params"
    title = "param removed"
    effect = "the new model ignores it"
    backward, forward = "warning", "info"
    explanation = "Old clients still send it; the new model ignores it with a warning."

    @classmethod
    def applies(cls, change: Change) -> bool:
        return _param(change) and change.old is not None and change.new is None


class ParamDefaultChanged(Rule):
    """The default a request gets when it leaves the param out (``param_spec.default``) changed."""

    id, scope = "SIG304", "params"
    title = "param default changed"
    effect = "clients that rely on the default get different behaviour"
    backward, forward = "warning", "warning"
    explanation = "Clients that rely on the default get different behaviour."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return (
            _param(change)
            and isinstance(o, ParamSpec)
            and isinstance(n, ParamSpec)
            and o.type == n.type
            and o.default != n.default
        )


class ParamShapeChanged(Rule):
    """``ParamSpec.validate_type_and_shape``: shape (-1,) needs a 1-D list, shape null a scalar."""

    id, scope = "SIG305", "params"
    title = "param shape changed"
    effect = "values of the old shape are rejected"
    backward, forward = "breaking", "breaking"
    explanation = "A scalar param became a list or the reverse; values of the old shape are rejected."

    @classmethod
    def applies(cls, change: Change) -> bool:
        o, n = change.old, change.new
        return _param(change) and isinstance(o, ParamSpec) and isinstance(n, ParamSpec) and o.shape != n.shape
