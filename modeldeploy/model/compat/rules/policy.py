"""Policy (SIG9xx): what signature.required, signature.input_kinds and the input example check ask for; not comparisons."""

from __future__ import annotations

from modeldeploy.model.compat.base import Change, Rule


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
