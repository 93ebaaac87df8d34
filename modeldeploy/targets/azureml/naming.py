"""Names and tags of the Azure ML objects one deployment owns (pure; no SDK)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from modeldeploy.spec.targets.azureml import AZURE_NAME_MAX, AZURE_NAME_MIN, PREFIX_MAX, check_azure_name

TAG_NAME = "modeldeploy.name"
TAG_DIGEST = "modeldeploy.model.digest"
TAG_URI = "modeldeploy.model.uri"
TAG_SIG_DIGEST = "modeldeploy.signature.digest"
TAG_SIG = "modeldeploy.signature"
TAG_CODE_DIGEST = "modeldeploy.code.digest"
RESERVED_PREFIX = "modeldeploy."

#: Endpoints and deployments are ARM resources: tag values are limited to 256 characters.
ARM_TAG_MAX = 256
#: ... and tag names to 512.
ARM_TAG_NAME_MAX = 512
#: Model versions are workspace assets; we keep their tags below this size (the signature JSON is
#: left off beyond it and only its digest is recorded).
ASSET_TAG_MAX = 8192


def _short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _fit(base: str, max_len: int) -> str:
    """``base`` made into an Azure name of at most ``max_len`` characters, deterministically."""
    s = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or "model"
    if not s[0].isalpha():
        s = "m-" + s
    if len(s) > max_len:
        s = s[: max_len - 9].rstrip("-") + "-" + _short_hash(base)
    while len(s) < AZURE_NAME_MIN:
        s += "-ep" if len(s) + 3 <= max_len else "0"
    return s


def endpoint_name(spec_name: str, explicit: str | None) -> str:
    """The endpoint's name: ``target.endpoint_name`` or one derived from ``name`` (DNS labels can be
    longer than 32 characters or start with a digit; the result always passes Azure's rule)."""
    if explicit:
        return check_azure_name(explicit, "endpoint_name")
    return check_azure_name(_fit(spec_name, AZURE_NAME_MAX), "derived endpoint name")


def deployment_prefix(spec_name: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    s = _fit(spec_name, PREFIX_MAX)
    return s


def deployment_name(prefix: str, content: Mapping[str, Any]) -> str:
    """``<prefix>-<8 hex>``: the hex is a hash of what makes the deployment what it is (model digest,
    environment, probes, request settings…), so any such change is a new blue/green deployment."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return check_azure_name(f"{prefix}-{_short_hash(text)}", "deployment name")


def model_asset_name(spec_name: str, registered: str | None) -> str:
    name = registered or spec_name
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9\-._]{0,254}", name):
        from modeldeploy.errors import RenderError

        raise RenderError(f"model name {name!r} is not a valid Azure ML asset name (letters, digits, '-', '_', '.')")
    return name


def compact_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
