"""Names, labels and annotations shared by every Kubernetes object modeldeploy renders.

Selectors use only ``app.kubernetes.io/name`` and ``app.kubernetes.io/instance`` (selectors are
immutable, so nothing that changes between releases may be in them). The model version label and the
model annotations sit on the workload and its pod template only, so a new model shows up in a plan as a
change to the workload, not to every object.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

MANAGER = "modeldeploy"
TOOLING = "modeldeploy/v1"

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
VERSION = "app.kubernetes.io/version"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"

APPLYSET_ID = "applyset.kubernetes.io/id"
APPLYSET_PART_OF = "applyset.kubernetes.io/part-of"
APPLYSET_TOOLING = "applyset.kubernetes.io/tooling"
APPLYSET_GKS = "applyset.kubernetes.io/contains-group-kinds"

A_NAME = "modeldeploy.io/name"
A_MODEL_URI = "modeldeploy.io/model-uri"
A_MODEL_VERSION = "modeldeploy.io/model-version"
A_MODEL_DIGEST = "modeldeploy.io/model-digest"
A_SIGNATURE = "modeldeploy.io/signature"
A_SIGNATURE_DIGEST = "modeldeploy.io/signature-digest"
A_CHECKSUM = "modeldeploy.io/config-checksum"

RESERVED_LABELS = {NAME, INSTANCE, VERSION, COMPONENT, PART_OF, MANAGED_BY, APPLYSET_ID, APPLYSET_PART_OF}

# Kubernetes caps all annotations of one object at 256 KiB; a signature larger than this is recorded by
# digest only (the MLmodel at the model URI has the full text).
MAX_SIGNATURE_ANNOTATION = 64 * 1024

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def applyset_id(parent_name: str, namespace: str, kind: str = "ConfigMap", group: str = "") -> str:
    """The ApplySet id of a parent object, as kubectl computes it (KEP-3659):
    ``applyset-<base64url(sha256(<name>.<namespace>.<kind>.<group>)) without padding>-v1``."""
    digest = hashlib.sha256(f"{parent_name}.{namespace}.{kind}.{group}".encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


def parent_name(name: str) -> str:
    return f"{name}-applyset"


def selector_labels(name: str) -> dict[str, str]:
    return {NAME: name, INSTANCE: name}


def model_version_label(ctx: RenderContext) -> str:
    v = ctx.ref.version or ctx.ref.short_digest
    return v if len(v) <= 63 and _LABEL_VALUE.match(v) else ctx.ref.short_digest


def common_labels(ctx: RenderContext, component: str) -> dict[str, str]:
    """Labels on every object: recommended ones, the ApplySet membership and deploy.yaml ``labels``."""
    name = ctx.spec.name
    out: dict[str, str] = {}
    for key, value in ctx.spec.labels.items():
        if key in RESERVED_LABELS:
            raise RenderError(f"labels.{key}: modeldeploy sets this label itself; choose another key")
        out[key] = value
    ns = ctx.target.namespace
    out.update(selector_labels(name))
    out.update({COMPONENT: component, PART_OF: name, MANAGED_BY: MANAGER})
    out[APPLYSET_PART_OF] = applyset_id(parent_name(name), ns)
    return out


def base_annotations(ctx: RenderContext) -> dict[str, str]:
    return {A_NAME: ctx.spec.name}


def signature_json(ctx: RenderContext) -> tuple[str | None, str | None]:
    """(canonical signature JSON or None when too large/absent, signature digest or None)."""
    sig = getattr(ctx.model, "signature", None)
    if sig is None:
        return None, None
    text = json.dumps(sig.to_canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return (text if len(text.encode("utf-8")) <= MAX_SIGNATURE_ANNOTATION else None), digest


def model_annotations(ctx: RenderContext) -> dict[str, str]:
    """What the signature policy and `status` read back from the live workload."""
    out = base_annotations(ctx)
    out[A_MODEL_URI] = ctx.ref.pinned_uri
    out[A_MODEL_DIGEST] = ctx.ref.digest
    if ctx.ref.version:
        out[A_MODEL_VERSION] = str(ctx.ref.version)
    text, digest = signature_json(ctx)
    if digest:
        out[A_SIGNATURE_DIGEST] = digest
    if text:
        out[A_SIGNATURE] = text
    return out


def checksum(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_metadata(obj: Mapping[str, Any], where: str) -> None:
    """Label/annotation syntax checks the OpenAPI schemas cannot express (they only say map of strings)."""
    for path, meta in _metadata_blocks(obj):
        for key, value in (meta.get("labels") or {}).items():
            _check_key(key, f"{where}: {path}labels")
            if len(value) > 63 or not _LABEL_VALUE.match(value):
                raise RenderError(
                    f"{where}: {path}labels.{key}: value {value!r} is not a valid label value "
                    "(at most 63 of A-Z a-z 0-9 - _ ., starting and ending alphanumeric)"
                )
        annotations = meta.get("annotations") or {}
        for key in annotations:
            _check_key(key, f"{where}: {path}annotations")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
        if size > 256 * 1024:
            raise RenderError(f"{where}: {path}annotations total {size} bytes, over Kubernetes' 256 KiB limit")


def _check_key(key: str, where: str) -> None:
    prefix, _, name = key.rpartition("/")
    ok = bool(name) and len(name) <= 63 and _QUALIFIED_NAME.match(name)
    if prefix:
        ok = ok and len(prefix) <= 253 and bool(_DNS_SUBDOMAIN.match(prefix))
    if not ok:
        raise RenderError(f"{where}.{key}: not a valid key ([prefix/]name, name at most 63 characters)")


def _metadata_blocks(obj: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out = [("metadata.", obj.get("metadata") or {})]
    spec = obj.get("spec") or {}
    template = spec.get("template") or (spec.get("jobTemplate") or {}).get("spec", {}).get("template")
    if isinstance(template, Mapping):
        prefix = "spec.template." if "template" in spec else "spec.jobTemplate.spec.template."
        out.append((prefix + "metadata.", template.get("metadata") or {}))
    if "jobTemplate" in spec:
        out.append(("spec.jobTemplate.metadata.", spec["jobTemplate"].get("metadata") or {}))
    return out
