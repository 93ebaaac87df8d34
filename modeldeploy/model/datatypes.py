"""MLflow's data types as typed, immutable values (no mlflow import): scalars, ``any``, arrays, maps
and objects, parsed from the JSON MLflow writes in a signature (``mlflow/types/schema.py``), and the
error a signature that cannot be parsed raises. Column, tensor and param specs built on these types
are in ``signature.py``.
"""

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


@dataclass(frozen=True)
class AnyType:
    def to_canonical(self) -> dict[str, Any]:
        return {"type": "any"}

    def render(self) -> str:
        return "any"


@dataclass(frozen=True)
class ArrayType:
    items: DataType

    def to_canonical(self) -> dict[str, Any]:
        return {"type": "array", "items": self.items.to_canonical()}

    def render(self) -> str:
        return f"array<{self.items.render()}>"


@dataclass(frozen=True)
class MapType:
    values: DataType

    def to_canonical(self) -> dict[str, Any]:
        return {"type": "map", "values": self.values.to_canonical()}

    def render(self) -> str:
        return f"map<string, {self.values.render()}>"


@dataclass(frozen=True)
class Property:
    name: str
    type: DataType
    required: bool = True

    def to_canonical(self) -> dict[str, Any]:
        return {**self.type.to_canonical(), "required": self.required}


@dataclass(frozen=True)
class ObjectType:
    properties: tuple[Property, ...]

    def to_canonical(self) -> dict[str, Any]:
        return {"type": "object", "properties": {p.name: p.to_canonical() for p in self.properties}}

    def render(self) -> str:
        inner = ", ".join(f"{p.name}{'' if p.required else '?'}: {p.type.render()}" for p in self.properties)
        return f"object{{{inner}}}"

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


DataType = ScalarType | AnyType | ArrayType | MapType | ObjectType


def signature_error(part: str, message: str) -> SignatureError:
    return SignatureError(message, part=part)


def need_dict(value: Any, part: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise signature_error(part, f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def parse_type(spec: Mapping[str, Any], part: str, where: str) -> DataType:
    """A data type from MLflow's JSON (``{"type": "array", "items": {...}}`` etc.)."""
    spec = need_dict(spec, part, where)
    t = spec.get("type")
    if t in SCALAR_TYPES or t == "sparkml_vector":
        return ScalarType(t)
    if t == "any":
        return AnyType()
    if t == "array":
        if "items" not in spec:
            raise signature_error(part, f"{where}: array type needs 'items'")
        return ArrayType(parse_type(spec["items"], part, f"{where}.items"))
    if t == "map":
        if "values" not in spec:
            raise signature_error(part, f"{where}: map type needs 'values'")
        return MapType(parse_type(spec["values"], part, f"{where}.values"))
    if t == "object":
        props = spec.get("properties")
        if not isinstance(props, Mapping):
            raise signature_error(part, f"{where}: object type needs a 'properties' mapping")
        out = []
        for name in props:  # keep MLflow's order; canonical JSON sorts keys anyway
            p = need_dict(props[name], part, f"{where}.properties.{name}")
            required = p.get("required", True)  # Property.from_json_dict defaults to True
            out.append(Property(str(name), parse_type(p, part, f"{where}.properties.{name}"), bool(required)))
        return ObjectType(tuple(sorted(out, key=lambda p: p.name)))
    known = ", ".join(SCALAR_TYPES + COMPLEX_TYPES)
    raise signature_error(part, f"{where}: unknown type {t!r} (known: {known}, tensor)")
