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

The rules live in one module per family under :mod:`modeldeploy.model.compat.rules`; the shared
tables and the Rule base in :mod:`~modeldeploy.model.compat.base`; walking and checking in
:mod:`~modeldeploy.model.compat.engine`. Every public name stays importable from here.
"""

from __future__ import annotations

from modeldeploy.model.compat.base import (
    COLUMN_ACCEPTS,
    MODES,
    PARAM_ACCEPTS,
    SEVERITIES,
    Change,
    Rule,
    accepts,
    shape_accepts,
)
from modeldeploy.model.compat.engine import (
    apply_waivers,
    changes,
    check,
    check_input_kinds,
    check_required,
    is_breaking,
)
from modeldeploy.model.compat.rules import (
    COMPARISON_RULES,
    POLICY_RULES,
    RULES,
    RULES_BY_ID,
    rule_table,
)
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

__all__ = [
    "COLUMN_ACCEPTS", "COMPARISON_RULES", "MODES", "PARAM_ACCEPTS", "POLICY_RULES", "RULES", "RULES_BY_ID",
    "SEVERITIES", "Change", "Rule", "accepts", "apply_waivers", "changes", "check", "check_input_kinds",
    "check_required", "is_breaking", "rule_table", "shape_accepts",
    "InputBecameOptional", "InputBecameRequired", "InputExampleMismatch", "InputKindChanged",
    "InputKindNotAllowed", "InputNamingChanged", "InputSchemaAdded", "InputSchemaRemoved",
    "OptionalInputAdded", "OptionalInputRemoved", "OutputAdded", "OutputKindChanged", "OutputRemoved",
    "OutputSchemaAdded", "OutputSchemaRemoved", "OutputShapeChanged", "OutputTypeChanged", "ParamAdded",
    "ParamAddedWithoutDefault", "ParamDefaultChanged", "ParamRemoved", "ParamShapeChanged",
    "RequiredInputAdded", "RequiredInputRemoved", "SignatureAdded", "SignatureMissing", "SignatureRemoved",
    "TensorDtypeChanged", "TensorShapeIncompatible", "TensorShapeRelaxed", "TensorShapeRestricted",
    "TypeIncompatible", "TypeNarrowed", "TypeWidened",
]  # fmt: skip
