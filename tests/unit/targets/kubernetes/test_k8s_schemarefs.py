"""The built-in kinds' schemas with their $refs inlined (schemarefs.py) validate exactly as the originals.

Every manifest of the golden trees (each built-in kind the target renders) and systematic mutations of
each — an unknown key, a wrong type, a required key removed, at every mapping of the object — are
validated by the inlined validator and by one built the way kubernetes-validate builds it (the schema as
shipped, $refs resolved through the registry): the errors (instance path, message, keyword) are the
same, in the same order, and so is the first one, which is what a render reports.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from modeldeploy.targets.kubernetes import schemarefs
from modeldeploy.targets.kubernetes.validate import CRD_SCHEMAS, builtin_validator

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "kubernetes"
VERSIONS = ("1.30", "1.37")


def _manifests() -> list[dict[str, Any]]:
    out = []
    for path in sorted(GOLDEN.glob("*/expected/k8s/*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if (
                isinstance(obj, dict)
                and obj.get("kind") not in (None, "Kustomization")
                and (obj.get("apiVersion"), obj.get("kind")) not in CRD_SCHEMAS
            ):
                out.append(obj)
    return out


def _reference(version: str, api_version: str, kind: str) -> Any:
    """kubernetes-validate's own steps: the shipped schema and its definitions in a registry."""
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    chosen = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(version)][-1]
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{chosen}-local-strict"
    schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    defs = utils.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _mutations(obj: Any) -> Iterator[Any]:
    """The object itself, then one change at a time at every mapping inside it."""
    yield obj
    paths: list[list[Any]] = []

    def walk(value: Any, path: list[Any]) -> None:
        if isinstance(value, dict):
            paths.append(path)
            for k, v in value.items():
                walk(v, [*path, k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, [*path, i])

    walk(obj, [])
    for path in paths:
        for change in ("unknown", "retype", "drop"):
            mutated = copy.deepcopy(obj)
            target = mutated
            for step in path:
                target = target[step]
            if change == "unknown":
                target["notAField"] = 1
            elif change == "retype":
                for key, value in list(target.items())[:2]:
                    target[key] = 7 if isinstance(value, str) else "seven"
            elif target:
                del target[next(iter(target))]
            yield mutated


def _errors(validator: Any, obj: Any) -> list[tuple[list[Any], str, Any]]:
    return [(list(e.path), e.message, e.validator) for e in validator.iter_errors(obj)]


@pytest.mark.parametrize("version", VERSIONS)
def test_inlined_schemas_report_what_the_shipped_ones_report(version: str) -> None:
    manifests = _manifests()
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds, kinds
    checked = failing = 0
    for obj in manifests:
        fast = builtin_validator(version, obj["apiVersion"], obj["kind"])
        assert "$ref" not in repr(fast.schema), f"{obj['kind']}: its schema was not inlined"
        reference = _reference(version, obj["apiVersion"], obj["kind"])
        for mutated in _mutations(obj):
            expected = _errors(reference, mutated)
            assert _errors(fast, mutated) == expected, (obj["kind"], mutated)
            checked += 1
            failing += bool(expected)
    assert failing > checked // 2  # the mutations do break the objects


def test_a_schema_that_cannot_be_inlined_faithfully_is_kept() -> None:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    keywords = jsonschema.Draft202012Validator.VALIDATORS
    dialect = "https://json-schema.org/draft/2020-12/schema"
    defs = {
        "$schema": dialect,
        "$id": "https://x/d.json",
        "$defs": {"a": {"type": "string"}, "loop": {"$ref": "#/$defs/loop"}},
    }
    for sub in (
        {"$ref": "d.json#/$defs/a", "minLength": 2},  # a $ref beside a validating keyword
        {"$ref": "d.json#/$defs/loop"},  # a cycle
        {"dependencies": {"x": {"$ref": "d.json#/$defs/a"}}},  # a place this does not walk
    ):
        schema = {"$schema": dialect, "$id": "https://x/s.json", "properties": {"p": sub}}
        registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
        resolver = registry.resolver_with_root(DRAFT202012.create_resource(schema))
        with pytest.raises(schemarefs.KeepRefs):
            schemarefs.inline_refs(schema, resolver, keywords)
    schema = {"$schema": dialect, "$id": "https://x/s.json", "properties": {"p": {"$ref": "d.json#/$defs/a", "x": 1}}}
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
    inlined = schemarefs.inline_refs(schema, registry.resolver_with_root(DRAFT202012.create_resource(schema)), keywords)
    assert inlined["properties"]["p"] == {"type": "string"}
