"""The base of MLflow's data types (no mlflow import): the scalar type, the error a signature that
cannot be parsed raises, and the helpers the parsers share. :mod:`~modeldeploy.model.datatypes` is
the public face (and the parser); ``any``, arrays, maps and objects are in
:mod:`~modeldeploy.model.complextypes`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modeldeploy.errors import ModelError

SCALAR_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")
COMPLEX_TYPES = ("array", "object", "map", "any", "sparkml_vector")


class SignatureError(ModelError):
    """A signature's JSON cannot be parsed. ``part`` is inputs/outputs/params (or '' for the whole)."""

    def __init__(self, message: str, *, part: str = ""):
        super().__init__(message)
        self.part = part


# --- data types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalarType:
    """boolean, integer, long, float, double, string, binary, datetime (and sparkml_vector)."""

    name: str

    def to_canonical(self) -> dict[str, Any]:
        return {"type": self.name}

    def render(self) -> str:
        return self.name


def signature_error(part: str, message: str) -> SignatureError:
    return SignatureError(message, part=part)


def need_dict(value: Any, part: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise signature_error(part, f"{what} must be a JSON object, got {type(value).__name__}")
    return value
