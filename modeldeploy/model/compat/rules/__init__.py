"""The rule registry, cfn-lint style: one module per rule family, each rule a class with declarative
metadata (id, title, scope, severity per mode, explanation). The order here is the order findings and
the rule table (``docs/signature.md``) come in."""

from __future__ import annotations

from modeldeploy.model.compat.base import Rule
from modeldeploy.model.compat.rules.datatypes import TypeIncompatible, TypeNarrowed, TypeWidened
from modeldeploy.model.compat.rules.inputs import (
    InputBecameOptional,
    InputBecameRequired,
    OptionalInputAdded,
    OptionalInputRemoved,
    RequiredInputAdded,
    RequiredInputRemoved,
)
from modeldeploy.model.compat.rules.outputs import (
    OutputAdded,
    OutputKindChanged,
    OutputRemoved,
    OutputSchemaAdded,
    OutputSchemaRemoved,
    OutputShapeChanged,
    OutputTypeChanged,
)
from modeldeploy.model.compat.rules.params import (
    ParamAdded,
    ParamAddedWithoutDefault,
    ParamDefaultChanged,
    ParamRemoved,
    ParamShapeChanged,
)
from modeldeploy.model.compat.rules.policy import InputExampleMismatch, InputKindNotAllowed, SignatureMissing
from modeldeploy.model.compat.rules.signature import (
    InputKindChanged,
    InputNamingChanged,
    InputSchemaAdded,
    InputSchemaRemoved,
    SignatureAdded,
    SignatureRemoved,
)
from modeldeploy.model.compat.rules.tensors import (
    TensorDtypeChanged,
    TensorShapeIncompatible,
    TensorShapeRelaxed,
    TensorShapeRestricted,
)

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
