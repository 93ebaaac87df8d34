"""Environments never address the same cloud object by default (docs/environments.md).

Every resource name a target derives starts from ``name`` (the Kubernetes objects, SageMaker models,
endpoint configs and endpoint, the Azure ML endpoint and its deployments, the Docker image tag, the
lease and the owner tag). So when an environment is chosen, its ``name`` becomes ``<name>-<env>``
unless the overlay says where its objects live itself: its own ``name``, or a key that scopes the
objects elsewhere (Kubernetes ``target.namespace``, SageMaker ``target.region`` or a role in another
account, Azure ML ``target.subscription_id``/``resource_group``/``workspace``/``endpoint_name``, Docker
``target.image``).

:func:`collisions` then refuses two environments of one file that would still address one object,
naming both. It works on the merged data (before validation), so ``render``/``plan``/``apply`` of one
environment are refused as well as ``validate``. Plugin targets are not checked: their addressing is
their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Overlay keys under target: that put the environment's objects somewhere of their own.
SCOPE_KEYS: dict[str, tuple[str, ...]] = {
    "kubernetes": ("namespace",),
    "sagemaker": ("region",),
    "azureml": ("subscription_id", "resource_group", "workspace", "endpoint_name"),
    "docker": ("image",),
}
_ARN_ACCOUNT = re.compile(r"^arn:[^:]*:iam::(\d{12}):")
_NOT_LABEL = re.compile(r"[^a-z0-9]+")


def env_suffix(env: Any) -> str:
    """The environment as a DNS-label fragment: ``Prod_EU`` → ``prod-eu``."""
    return _NOT_LABEL.sub("-", str(env).lower()).strip("-")


def _target(data: Mapping[str, Any]) -> Mapping[str, Any]:
    t = data.get("target")
    return t if isinstance(t, Mapping) else {}


def account(data: Mapping[str, Any]) -> str | None:
    """The AWS account a SageMaker configuration deploys into (from its execution role's ARN)."""
    m = _ARN_ACCOUNT.match(str(_target(data).get("execution_role_arn") or ""))
    return m.group(1) if m else None


def own_scope(base: Mapping[str, Any], overlay: Mapping[str, Any], merged: Mapping[str, Any]) -> str | None:
    """The overlay key that gives the environment names or a place of its own, or None."""
    if "name" in overlay and overlay["name"] is not None:
        return "name"
    kind = _target(merged).get("kind")
    own = _target(overlay)
    for key in SCOPE_KEYS.get(str(kind), ()):
        if own.get(key) is not None:
            return f"target.{key}"
    if kind == "sagemaker" and own.get("execution_role_arn") is not None and account(merged) != account(base):
        return "target.execution_role_arn"
    return None


def qualified_name(
    base: Mapping[str, Any], overlay: Mapping[str, Any], merged: Mapping[str, Any], env: Any
) -> str | None:
    """``<name>-<env>`` when the environment must not share the base's names; None when it has its own."""
    name = merged.get("name")
    if not isinstance(name, str) or not name or own_scope(base, overlay, merged) is not None:
        return None
    suffix = env_suffix(env)
    return f"{name}-{suffix}" if suffix else None


def addresses(data: Mapping[str, Any]) -> dict[str, str]:
    """What one merged configuration addresses: a key per cloud object (equal keys = the same object)
    → the object in words. Empty for plugins and for data too broken to say (validation reports it)."""
    name = data.get("name")
    target = _target(data)
    kind = target.get("kind")
    if not isinstance(name, str):
        return {}
    if kind == "kubernetes":
        ns = target.get("namespace") or "default"
        return {f"kubernetes/{ns}/{name}": f"Kubernetes objects {ns}/{name}"}
    if kind == "sagemaker":
        region, acct = target.get("region"), account(data) or "?"
        endpoint = target.get("endpoint_name") or name
        out = {
            f"sagemaker/{acct}/{region}/name/{name}": f"SageMaker models and endpoint configs {name}-… ({region}, account {acct})"
        }
        if target.get("mode", "realtime") != "batch":
            out[f"sagemaker/{acct}/{region}/endpoint/{endpoint}"] = (
                f"SageMaker endpoint {endpoint} ({region}, account {acct})"
            )
        return out
    if kind == "azureml":
        ws = f"{target.get('subscription_id')}/{target.get('resource_group')}/{target.get('workspace')}"
        endpoint = target.get("endpoint_name") or name
        return {f"azureml/{ws}/{endpoint}": f"Azure ML endpoint {endpoint} (workspace {target.get('workspace')})"}
    if kind == "docker":
        image = target.get("image")
        return {f"docker/{image or name}": f"Docker image {image}" if image else f"Docker image {name}:<model digest>"}
    return {}


def collisions(env: Any, merged: Mapping[str, Any], others: Mapping[Any, Mapping[str, Any]]) -> list[tuple[Any, str]]:
    """(other environment, the object in words) for each other environment that addresses an object
    ``env`` addresses too."""
    mine = addresses(merged)
    out: list[tuple[Any, str]] = []
    for other in sorted(others, key=str):
        if other == env:
            continue
        shared = sorted(set(mine) & set(addresses(others[other])))
        if shared:
            out.append((other, mine[shared[0]]))
    return out
