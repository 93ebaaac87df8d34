"""Offline validation of every rendered object before it is written.

Built-in kinds go through kubernetes-validate's strict schemas (unknown fields are errors) for the
configured Kubernetes version. InferenceService goes through KServe's own CRD schema, shipped in
``schemas/`` and tightened the way kubernetes-validate tightens built-in schemas: an object schema that
lists properties and does not preserve unknown fields rejects any other key (the API server would
silently prune it, which hides typos).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from modeldeploy.errors import RenderError, missing_dependency
from modeldeploy.targets.kubernetes import meta
from modeldeploy.targets.kubernetes.schemarefs import KeepRefs, inline_refs

SCHEMA_DIR = Path(__file__).with_name("schemas")
CRD_SCHEMAS = {("serving.kserve.io/v1beta1", "InferenceService"): "inferenceservice-v1beta1.json"}


def describe(obj: Mapping[str, Any]) -> str:
    md = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')} {md.get('namespace', '')}/{md.get('name', '?')}".replace(" /", " ")


def validate_object(obj: Mapping[str, Any], kubernetes_version: str) -> None:
    """Raise RenderError naming the object and the offending field, or return quietly (an object
    that passed before in this process is not checked again: rendering.checked)."""
    from modeldeploy.rendering.checked import once

    once("kubernetes", (obj, kubernetes_version), lambda: _validate_object(obj, kubernetes_version))


def _validate_object(obj: Mapping[str, Any], kubernetes_version: str) -> None:
    where = describe(obj)
    meta.check_metadata(obj, where)
    crd = CRD_SCHEMAS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if crd is not None:
        _validate_crd(obj, crd, where)
    else:
        _validate_builtin(obj, kubernetes_version, where)


def _field(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(object)"


def _validate_builtin(obj: Mapping[str, Any], version: str, where: str) -> None:
    try:
        import jsonschema
        import kubernetes_validate
        from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError
    except ImportError as exc:
        needs = f"validating {where} needs kubernetes-validate"
        raise missing_dependency(exc, ["jsonschema", "kubernetes_validate"], needs, "kubernetes") from None
    try:
        validator = builtin_validator(version, str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        validator.validate(dict(obj))
    except jsonschema.ValidationError as exc:
        raise RenderError(f"{where}: {_field(exc.path)}: {exc.message} (Kubernetes {version} schema)") from None
    except SchemaNotFoundError as exc:
        raise RenderError(f"{where}: {exc.message}") from None
    except VersionNotSupportedError as exc:
        raise RenderError(f"target.kubernetes_version: {exc.message}") from None
    except IndexError:  # kubernetes-validate has no schema at or below this version
        oldest = kubernetes_validate.utils.all_versions()[0]
        raise RenderError(
            f"target.kubernetes_version: {version} is older than any schema kubernetes-validate ships (oldest {oldest})"
        ) from None


@cache
def builtin_validator(desired_version: str, api_version: str, kind: str) -> Any:
    """kubernetes-validate's strict validator for one (version, apiVersion, kind), built once per
    process. ``kubernetes_validate.validate`` re-reads ~1 MB of JSON schema and rebuilds the validator
    for every object; this follows the same steps (its version choice, file layout and the
    strict schemas) with the library's own helpers, and keeps the result."""
    import re

    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    if desired_version.startswith("v"):
        desired_version = desired_version[1:]
    if utils.major_minor(desired_version) > utils.latest_version():
        raise utils.VersionNotSupportedError(version=utils.major_minor(desired_version))
    version = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(desired_version)][-1]
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"v{version}-local-strict"
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", desired_version
        )
    except FileNotFoundError:
        raise utils.SchemaNotFoundError(
            version=utils.major_minor(desired_version), kind=kind, api_version=api_version
        ) from None
    defs = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", desired_version)
    registry = Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())
    validator = jsonschema.validators.Draft202012Validator
    inlined = _inlined(schema, registry, validator.VALIDATORS)
    if _context_dependent(inlined):
        return validator(inlined, registry=registry)
    return _passes_remembered(validator)(inlined, registry=registry)


def _inlined(schema: dict[str, Any], registry: Any, keywords: Any) -> dict[str, Any]:
    """The schema with its $refs replaced by their targets (the same validation, several times
    faster: see schemarefs.py), or as it is when that cannot be done faithfully."""
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    try:
        resource = DRAFT202012.create_resource(schema)
        return inline_refs(schema, registry.resolver_with_root(resource), keywords)
    except (KeepRefs, Unresolvable):  # an unresolvable $ref fails, as before, when an object reaches it
        return schema


@cache
def crd_validator(filename: str) -> Any:
    import jsonschema

    schema = json.loads((SCHEMA_DIR / filename).read_text(encoding="utf-8"))
    strict = _close_objects(copy.deepcopy(schema))
    return jsonschema.Draft7Validator(strict)


def _close_objects(node: Any) -> Any:
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)
    return node


def _validate_crd(obj: Mapping[str, Any], filename: str, where: str) -> None:
    import jsonschema

    validator = crd_validator(filename)
    errors = sorted(validator.iter_errors(obj), key=lambda e: (list(map(str, e.path)), e.message))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise RenderError(f"{where}: {_field(best.path)}: {best.message} (KServe CRD schema)")


_SUBTREES_PASSED: set[tuple[int, bytes]] = set()


def _passes_remembered(cls: Any) -> Any:
    """``cls`` whose ``properties`` and ``items`` keywords skip a container value that already passed
    its subschema in this process.

    A monorepo renders the same pod template, probes, resources and volumes again and again under
    objects that differ only in a few names. Whether a value is valid against a subschema depends on
    nothing else when the schema holds no reference (all ``$ref``s inlined) and no keyword that
    collects annotations across subschemas (``unevaluated*``) — ``_context_dependent``; a schema
    that holds one is used without this. So a (subschema, value) pair that produced no error before
    produces none again; only a pass is remembered, and errors come from pairs walked as before — the
    same errors in the same order, so ``best_match`` picks the same one. The value is keyed by its
    pickle (exact types: ``True`` is not ``1``); the subschema by identity (the validator, and so its
    schema, lives for the process). Scalars are walked as before (cheaper than a key)."""
    import pickle

    import jsonschema
    from jsonschema import _keywords

    def walk(validator: Any, value: Any, subschema: Any, path: Any, schema_path: Any) -> Any:
        if type(value) not in (dict, list) or type(subschema) is not dict:
            yield from validator.descend(value, subschema, path=path, schema_path=schema_path)
            return
        try:
            key = (id(subschema), pickle.dumps(value, protocol=5))
        except Exception:  # noqa: BLE001 - not picklable: walked as before
            yield from validator.descend(value, subschema, path=path, schema_path=schema_path)
            return
        if key in _SUBTREES_PASSED:
            return
        errors = list(validator.descend(value, subschema, path=path, schema_path=schema_path))
        if errors:
            yield from errors
        else:
            if len(_SUBTREES_PASSED) >= 100_000:
                _SUBTREES_PASSED.clear()
            _SUBTREES_PASSED.add(key)

    def properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        for prop, subschema in properties.items():
            if prop in instance:
                yield from walk(validator, instance[prop], subschema, prop, prop)

    def items(validator: Any, items: Any, instance: Any, schema: Any) -> Any:
        if items is False or not validator.is_type(instance, "array") or "prefixItems" in schema:
            yield from _keywords.items(validator, items, instance, schema)
            return
        for index in range(len(instance)):
            yield from walk(validator, instance[index], items, index, None)

    return jsonschema.validators.extend(cls, {"properties": properties, "items": items})


_CONTEXT = frozenset({"$ref", "$dynamicRef", "$recursiveRef", "unevaluatedProperties", "unevaluatedItems"})


def _context_dependent(node: Any) -> bool:
    """True when a schema holds a keyword whose result depends on more than the (subschema, value)
    pair: a reference (resolved against the walk's base URI) or one that collects annotations across
    subschemas."""
    if isinstance(node, dict):
        return bool(_CONTEXT & node.keys()) or any(_context_dependent(v) for v in node.values())
    if isinstance(node, list):
        return any(_context_dependent(v) for v in node)
    return False
