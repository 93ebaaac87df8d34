"""kubernetes-validate's schemas with their ``$ref``s replaced by what they point to, for speed.

A Deployment's schema reaches ~40 definitions through ``$ref``, and jsonschema resolves every ``$ref``
again for every object (a registry lookup, a new validator, a subresource per step): most of the time
of validating a manifest. :func:`inline_refs` builds, once per schema, the same schema with each
``{"$ref": …}`` (beside it only annotations such as ``description`` or ``x-kubernetes-patch-strategy``,
which the validator has no keyword for and so validate nothing) replaced by
the schema it resolves to, resolved by the registry itself (``referencing``'s ``lookup``), shared
rather than copied.

The result validates exactly as the original: in draft 2020-12 a ``$ref`` validates the instance
against its target in place — the same keywords in the same order, no step added to an error's path,
the same messages — and the target's base URI matters only to the references inside it, which are
all inlined too. Whatever this does not reproduce — a ``$ref`` beside a validating keyword, a cycle of
references, a ``$dynamicRef`` or an ``$id`` below the root, any ``$ref`` left in a place it does not
walk — raises :class:`KeepRefs`, and the caller validates with the original schema.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_VALUES = (
    "additionalProperties",
    "items",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


class KeepRefs(Exception):
    """This schema is validated with its references as they are."""


def inline_refs(schema: dict[str, Any], resolver: Any, keywords: Collection[str]) -> dict[str, Any]:
    """``schema`` (the root, with its ``$id``) with every reference replaced by its target;
    ``keywords`` are the validator's (``Validator.VALIDATORS``): any other key validates nothing."""
    done: dict[int, Any] = {}
    active: set[int] = set()

    def node(sub: Any, res: Any, root: bool = False) -> Any:
        if not isinstance(sub, dict):
            return sub  # true/false
        if not root and ("$id" in sub or "$dynamicRef" in sub or "$dynamicAnchor" in sub or "$anchor" in sub):
            raise KeepRefs("a subschema with its own identity")
        ref = sub.get("$ref")
        if ref is not None:
            if not isinstance(ref, str) or any(word in keywords for word in sub if word != "$ref"):
                raise KeepRefs("a $ref beside a validating keyword")
            resolved = res.lookup(ref)
            key = id(resolved.contents)
            if key in done:
                return done[key]
            if key in active:
                raise KeepRefs("a cycle of references")
            active.add(key)
            out = node(resolved.contents, resolved.resolver)
            active.discard(key)
            done[key] = out
            return out
        out = dict(sub)
        for word in _SCHEMA_MAPS:
            if isinstance(sub.get(word), dict):
                out[word] = {name: node(s, res) for name, s in sub[word].items()}
        for word in _SCHEMA_VALUES:
            if word in sub:
                out[word] = node(sub[word], res)
        for word in _SCHEMA_LISTS:
            if isinstance(sub.get(word), list):
                out[word] = [node(s, res) for s in sub[word]]
        return out

    inlined = node(schema, resolver, root=True)
    inlined.pop("$defs", None)  # definitions are not validated by themselves
    _no_refs_left(inlined, set())
    return inlined


def _no_refs_left(value: Any, seen: set[int]) -> None:
    """KeepRefs if a reference is left anywhere (a keyword this module does not walk held one)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, dict):
        if "$ref" in value or "$dynamicRef" in value:
            raise KeepRefs("a reference in a keyword this module does not walk")
        for v in value.values():
            _no_refs_left(v, seen)
    elif isinstance(value, list):
        for v in value:
            _no_refs_left(v, seen)
