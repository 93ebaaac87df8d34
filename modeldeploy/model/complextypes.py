"""MLflow's complex data types (``any``, arrays, maps, objects) as typed, immutable values, and
``DataType``, the union of every type. :mod:`~modeldeploy.model.datatypes` (the public face and the
parser's entry point) imports this module when a signature uses one of these types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modeldeploy.model.scalartypes import ScalarType, need_dict, signature_error


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


ComplexType = AnyType | ArrayType | MapType | ObjectType
DataType = ScalarType | ComplexType


def parse_complex(
    t: str, spec: Mapping[str, Any], part: str, where: str, parse: Callable[[Mapping[str, Any], str, str], DataType]
) -> ComplexType:
    """``any``, ``array``, ``map`` or ``object`` from MLflow's JSON; ``parse`` parses their element
    types (:func:`modeldeploy.model.datatypes.parse_type`)."""
    if t == "any":
        return AnyType()
    if t == "array":
        if "items" not in spec:
            raise signature_error(part, f"{where}: array type needs 'items'")
        return ArrayType(parse(spec["items"], part, f"{where}.items"))
    if t == "map":
        if "values" not in spec:
            raise signature_error(part, f"{where}: map type needs 'values'")
        return MapType(parse(spec["values"], part, f"{where}.values"))
    # object
    props = spec.get("properties")
    if not isinstance(props, Mapping):
        raise signature_error(part, f"{where}: object type needs a 'properties' mapping")
    out = []
    for name in props:  # keep MLflow's order; canonical JSON sorts keys anyway
        p = need_dict(props[name], part, f"{where}.properties.{name}")
        required = p.get("required", True)  # Property.from_json_dict defaults to True
        out.append(Property(str(name), parse(p, part, f"{where}.properties.{name}"), bool(required)))
    return ObjectType(tuple(sorted(out, key=lambda p: p.name)))
