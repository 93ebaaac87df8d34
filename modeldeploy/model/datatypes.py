"""MLflow's data types as typed, immutable values (no mlflow import): scalars, ``any``, arrays, maps
and objects, parsed from the JSON MLflow writes in a signature (``mlflow/types/schema.py``), and the
error a signature that cannot be parsed raises. Column, tensor and param specs built on these types
are in ``signature.py``.

The scalar type and the error are defined in :mod:`~modeldeploy.model.scalartypes`; ``any``, arrays,
maps and objects in :mod:`~modeldeploy.model.complextypes`, imported when a signature uses one: a
model of scalar columns, the common case, defined their five frozen dataclasses (~0.7 ms each) on
every ``validate`` for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modeldeploy.model.scalartypes import (
    COMPLEX_TYPES,
    SCALAR_TYPES,
    ScalarType,
    SignatureError,
    need_dict,
    signature_error,
)

if TYPE_CHECKING:
    from modeldeploy.model.complextypes import DataType

__all__ = [
    "COMPLEX_TYPES", "SCALAR_TYPES", "ScalarType", "SignatureError", "need_dict", "parse_type",
    "signature_error",
]  # fmt: skip


def parse_type(spec: Mapping[str, Any], part: str, where: str) -> DataType:
    """A data type from MLflow's JSON (``{"type": "array", "items": {...}}`` etc.)."""
    spec = need_dict(spec, part, where)
    t = spec.get("type")
    if t in SCALAR_TYPES or t == "sparkml_vector":
        return ScalarType(t)
    if t in ("any", "array", "map", "object"):
        from modeldeploy.model.complextypes import parse_complex

        return parse_complex(t, spec, part, where, parse_type)
    known = ", ".join(SCALAR_TYPES + COMPLEX_TYPES)
    raise signature_error(part, f"{where}: unknown type {t!r} (known: {known}, tensor)")
