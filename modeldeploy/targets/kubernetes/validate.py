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

from modeldeploy.errors import MissingDependencyError, RenderError
from modeldeploy.targets.kubernetes import meta
from modeldeploy.targets.kubernetes.schemarefs import KeepRefs, inline_refs

SCHEMA_DIR = Path(__file__).with_name("schemas")
CRD_SCHEMAS = {("serving.kserve.io/v1beta1", "InferenceService"): "inferenceservice-v1beta1.json"}
INSTALL_HINT = "pip install 'modeldeploy[kubernetes]'"


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
    except ImportError:
        raise MissingDependencyError(f"validating {where} needs kubernetes-validate", hint=INSTALL_HINT) from None
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
    return validator(_inlined(schema, registry, validator.VALIDATORS), registry=registry)


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
