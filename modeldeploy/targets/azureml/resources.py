"""Desired resources from the rendered specs, and live objects projected onto the same shape.

The plan engine diffs ``Resource.body`` against ``LiveResource.body`` field by field, so both sides
go through the same :func:`normalise_*` functions: server-managed fields are dropped, values the
service rewrites (enum case, ARM ids for compute, 0% traffic entries, deployment name case) are
normalised, and the deployment's model is compared by the digest tag of the version it uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modeldeploy.planning.resources import Resource
from modeldeploy.targets.azureml import naming
from modeldeploy.targets.azureml.specs import Specs
from modeldeploy.targets.azureml.workspace import normalise_traffic

ENDPOINT_KEYS = ("name", "auth_mode", "public_network_access", "compute", "tags", "properties")
DEPLOYMENT_KEYS = (
    "name",
    "endpoint_name",
    "type",
    "model",
    "instance_type",
    "instance_count",
    "app_insights_enabled",
    "egress_public_network_access",
    "environment_variables",
    "request_settings",
    "liveness_probe",
    "readiness_probe",
    "scale_settings",
    "data_collector",
    "resources",
    "code_configuration",
    "environment",
    "compute",
    "settings",
    "tags",
)
OPEN_MAPS = {"tags", "environment_variables"}  # compared whole: an extra live key is a change
_LOWER = {
    "auth_mode",
    "public_network_access",
    "egress_public_network_access",
    "type",
    "enabled",
    "output_action",
    "logging_level",
}
SECRET_PROPERTY = "enforce_access_to_default_secret_stores"
LEASE_TAG = "modeldeploy.lease"  # = azureml.lease.TAG_LEASE (kept SDK- and import-free here)


def kinds(mode: str) -> dict[str, str]:
    if mode == "batch":
        return {
            "endpoint": "azureml_batch_endpoint",
            "deployment": "azureml_batch_deployment",
            "traffic": "azureml_batch_default",
        }
    return {
        "endpoint": "azureml_online_endpoint",
        "deployment": "azureml_online_deployment",
        "traffic": "azureml_traffic",
    }


def model_address(name: str) -> str:
    return f"azureml_model.{name}"


def endpoint_address(mode: str, endpoint: str) -> str:
    return f"{kinds(mode)['endpoint']}.{endpoint}"


def deployment_address(mode: str, endpoint: str, deployment: str) -> str:
    return f"{kinds(mode)['deployment']}.{endpoint}/{deployment}"


def traffic_address(mode: str, endpoint: str) -> str:
    return f"{kinds(mode)['traffic']}.{endpoint}"


# --- normalisation (applied to desired and live alike) ---------------------------------------------


def _norm(value: Any, key: str = "") -> Any:
    if isinstance(value, Mapping):
        return {str(k): _norm(v, str(k)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0])) if v is not None}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer() and key != "sampling_rate":
        return int(value)
    if key == "sampling_rate":
        return float(value)
    if isinstance(value, str) and key in _LOWER:
        return value.lower()
    return value


def _compute(value: Any) -> str | None:
    """``azureml:cluster``, ``cluster`` or an ARM id ``…/computes/cluster`` → ``cluster``."""
    if not value:
        return None
    s = str(value)
    if s.startswith("azureml:"):
        s = s[len("azureml:") :]
    return s.rstrip("/").rsplit("/", 1)[-1]


def _project(live: Any, shape: Any) -> Any:
    """``live`` restricted to the keys ``shape`` has, recursively (records), so fields the service
    fills in that modeldeploy does not manage do not show as changes."""
    if isinstance(shape, Mapping) and isinstance(live, Mapping):
        return {k: _project(live[k], v) for k, v in shape.items() if k in live}
    return live


def normalise_endpoint(spec: Mapping[str, Any], shape: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ENDPOINT_KEYS:
        if key not in spec or spec[key] in (None, {}, ""):
            continue
        value = spec[key]
        if key == "compute":
            value = _compute(value)
        elif key == "tags":
            # The lease (azureml/lease.py) lives in a tag on the live endpoint; it is not configuration.
            value = {k: v for k, v in value.items() if k != LEASE_TAG}
            if not value:
                continue
        elif key == "properties":
            value = {k: str(v).lower() for k, v in value.items() if k == SECRET_PROPERTY}
            if not value:
                continue
        elif key == "public_network_access" and shape is not None and key not in shape:
            continue  # Kubernetes endpoints report it but it does not apply
        out[key] = value
    return _norm(out)


def normalise_deployment(
    spec: Mapping[str, Any], shape: Mapping[str, Any] | None = None, model: Any = None
) -> dict[str, Any]:
    """A deployment spec in plan shape. ``shape`` (the desired body) restricts live records to the
    fields modeldeploy manages; ``model`` replaces the spec's model reference."""
    out: dict[str, Any] = {}
    for key in DEPLOYMENT_KEYS:
        if key not in spec or spec[key] in (None, {}, ""):
            continue
        value = spec[key]
        if key == "model":
            value = model
        elif key == "compute":
            value = _compute(value)
        elif key == "name":
            value = str(value).lower()
        elif shape is not None and key not in OPEN_MAPS:
            if key not in shape:
                continue  # a record modeldeploy does not set (service default)
            value = _project(value, shape[key])
        out[key] = value
    return _norm(out)


def deployment_model(specs: Specs, digest: str) -> dict[str, str]:
    return {"name": specs.model_name, "digest": digest}


# --- desired ---------------------------------------------------------------------------------------


def desired_resources(specs: Specs, digest: str) -> list[Resource]:
    mode = specs.mode
    k = kinds(mode)
    ep, dep = specs.endpoint_name, specs.deployment_name
    model_addr = model_address(specs.model_name)
    ep_addr = endpoint_address(mode, ep)
    dep_addr = deployment_address(mode, ep, dep)
    model_body = {"name": specs.model_name, "type": specs.model["type"], "digest": digest}
    ep_body = normalise_endpoint(specs.endpoint)
    dep_body = normalise_deployment(specs.deployment, model=deployment_model(specs, digest))
    if mode == "batch":
        traffic_body: dict[str, Any] = {"deployment_name": dep}
    elif mode == "kubernetes":
        traffic_body = {"traffic": {dep: 100}}
    else:
        traffic_body = {"traffic": {dep: 100}, "mirror_traffic": {}}
    return [
        Resource(
            model_addr,
            "azureml_model",
            specs.model_name,
            model_body,
            immutable=True,
            replace_reason="a model version's files cannot change; a new digest registers a new version",
        ),
        Resource(
            ep_addr,
            k["endpoint"],
            ep,
            ep_body,
            replace_on=("compute",),
            replace_reason="an endpoint's compute cannot be changed",
        ),
        Resource(dep_addr, k["deployment"], dep, dep_body, depends_on=(model_addr, ep_addr), sensitive_paths=()),
        Resource(traffic_address(mode, ep), k["traffic"], ep, traffic_body, depends_on=(dep_addr,)),
    ]


def live_traffic_body(
    mode: str, traffic: Mapping[str, int], mirror: Mapping[str, int], default: str | None
) -> dict[str, Any]:
    if mode == "batch":
        return {"deployment_name": default} if default else {}
    body: dict[str, Any] = {"traffic": normalise_traffic(traffic)}
    if mode == "managed":
        body["mirror_traffic"] = normalise_traffic(mirror)
    return body


def owned(tags: Mapping[str, str], name: str) -> bool:
    return tags.get(naming.TAG_NAME) == name
