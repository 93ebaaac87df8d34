"""Azure ML CLI v2 specs built as data from a RenderContext (pure: no SDK, no clock, no environ).

One deployment renders three specs — endpoint, deployment and model asset — shaped like the
examples in Azure/azureml-examples ``cli/endpoints``. The deployment references its model inline
(``model: {name, path: model, type}``) so ``az ml online-deployment create -f deployment.yaml``
works on its own; apply registers the same folder once (found again by its digest tag) and points
the deployment at that version instead.

The deployment's own spec is built in deployment.py, the tags on every object in tags.py.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError
from modeldeploy.model.custom import is_module_entry
from modeldeploy.spec.targets.azureml import AzureMLTarget
from modeldeploy.targets.azureml import naming
from modeldeploy.targets.azureml.deployment import deployment_body
from modeldeploy.targets.azureml.tags import model_tags, resource_tags

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
MODEL_DIR = "model"  # relative to the specs, i.e. azureml/model/
MODEL_TYPES = {"mlflow": "mlflow_model", "custom": "custom_model", "triton": "triton_model"}
#: Deployment fields that can change in place (a scale change is not a new blue/green deployment).
IN_PLACE_FIELDS = ("instance_count", "scale_settings", "name")


@dataclass(frozen=True)
class Specs:
    """The specs of one deployment, as data, plus the names everything else refers to."""

    mode: str  # managed | kubernetes | batch
    endpoint: dict[str, Any]
    deployment: dict[str, Any]
    model: dict[str, Any]
    conda: dict[str, Any] | None = None  # environment/conda.yaml for custom models

    @property
    def endpoint_name(self) -> str:
        return self.endpoint["name"]

    @property
    def deployment_name(self) -> str:
        return self.deployment["name"]

    @property
    def model_name(self) -> str:
        return self.model["name"]


def target_mode(t: AzureMLTarget) -> str:
    if t.mode == "batch":
        return "batch"
    return "kubernetes" if t.kubernetes else "managed"


def build_specs(ctx: RenderContext) -> Specs:
    t: AzureMLTarget = ctx.spec.target
    mode = target_mode(t)
    model_type = ctx.spec.model.type
    _check_supported(ctx, mode, model_type, t)
    ep_name = naming.endpoint_name(ctx.spec.name, t.endpoint_name)
    model = model_spec(ctx)
    endpoint = endpoint_spec(ctx, mode, ep_name)
    body = deployment_body(ctx, mode, ep_name, model)
    content = {k: v for k, v in body.items() if k not in IN_PLACE_FIELDS}
    if mode == "batch":
        content["resources"] = None
    name = naming.deployment_name(naming.deployment_prefix(ctx.spec.name, t.deployment_prefix), content)
    schema = {
        "managed": "managedOnlineDeployment",
        "kubernetes": "kubernetesOnlineDeployment",
        "batch": "modelBatchDeployment",
    }[mode]
    deployment = {"$schema": SCHEMA.format(schema), "name": name, **body}
    conda = custom_conda(ctx) if model_type == "custom" else None
    return Specs(mode, endpoint, deployment, model, conda)


#: Azure ML VM sizes with NVIDIA GPUs: the N-series (NC, ND, NV families).
GPU_SIZES = re.compile(r"^Standard_N[CDV]", re.IGNORECASE)


def _check_supported(ctx: RenderContext, mode: str, model_type: str, t: AzureMLTarget) -> None:
    if model_type == "triton" and mode != "managed":
        raise RenderError(
            f"model.type triton: Azure ML serves triton_model without code on managed online endpoints only (this is {mode}); "
            "for Kubernetes or batch use model.type custom with a scoring script"
        )
    entry = ctx.spec.model.entry
    if model_type == "custom" and entry is not None and not is_module_entry(entry):
        raise RenderError(
            f"model.entry {entry!r}: Azure ML runs a scoring script with init() and run(raw_data), e.g. score.py, not a command"
        )
    gpu = ctx.spec.resources.gpu
    if gpu and mode == "managed" and not GPU_SIZES.match(t.instance_type):
        raise RenderError(
            f"resources.gpu {gpu}: instance_type {t.instance_type} has no GPU; use an N-series size such as "
            "Standard_NC6s_v3, Standard_NC4as_T4_v3 or Standard_ND96asr_v4"
        )


# --- model ---------------------------------------------------------------------------------------


def model_spec(ctx: RenderContext) -> dict[str, Any]:
    reg = ctx.spec.model.registration
    name = naming.model_asset_name(ctx.spec.name, reg.name if reg else None)
    out: dict[str, Any] = {
        "$schema": SCHEMA.format("model"),
        "name": name,
        "type": MODEL_TYPES[ctx.spec.model.type],
        "path": MODEL_DIR,
        "description": (reg.description if reg and reg.description else f"{ctx.ref.pinned_uri} ({ctx.ref.digest})"),
        "tags": model_tags(ctx),
    }
    return out


# --- endpoint ------------------------------------------------------------------------------------


def endpoint_spec(ctx: RenderContext, mode: str, name: str) -> dict[str, Any]:
    t: AzureMLTarget = ctx.spec.target
    tags = resource_tags(ctx)
    if mode == "batch":
        return {"$schema": SCHEMA.format("batchEndpoint"), "name": name, "auth_mode": "aad_token", "tags": tags}
    out: dict[str, Any] = {"name": name, "auth_mode": t.auth_mode or "key", "tags": tags}
    if mode == "kubernetes":
        out["$schema"] = SCHEMA.format("kubernetesOnlineEndpoint")
        out["compute"] = f"azureml:{t.compute}"
    else:
        out["$schema"] = SCHEMA.format("managedOnlineEndpoint")
        out["public_network_access"] = t.public_network_access
    if ctx.spec.serving.secrets and not t.key_vault:
        # Lets the endpoint's identity read workspace connections (secret injection).
        out["properties"] = {"enforce_access_to_default_secret_stores": "enabled"}
    return out


def scaling_note(ctx: RenderContext) -> str | None:
    """Managed online and batch deployments take no replica range from deploy.yaml: say so when the
    spec sets one that differs from the instance count they will run."""
    t: AzureMLTarget = ctx.spec.target
    mode = target_mode(t)
    s = ctx.spec.scaling
    if mode == "kubernetes" or "scaling" not in ctx.spec.model_fields_set:
        return None
    if s.min_replicas == s.max_replicas == t.instance_count:
        return None
    why = {
        "managed": "managed online endpoints autoscale through an Azure Monitor autoscale setting, which modeldeploy does not manage",
        "batch": "batch deployments run a fixed number of nodes per job",
    }[mode]
    return (
        f"scaling (min_replicas {s.min_replicas}, max_replicas {s.max_replicas}) is not applied: {why}; "
        f"the deployment runs target.instance_count = {t.instance_count}"
    )


def custom_conda(ctx: RenderContext) -> dict[str, Any]:
    """The conda environment of a custom model (model.environment.conda_file, or Python plus the pip
    requirements of model.environment.requirements_file) plus the Azure ML inference server."""
    conda = copy.deepcopy(dict(ctx.model.conda)) if ctx.model.conda else None
    if conda is None:
        py = ctx.model.python_version or "3.11"
        conda = {
            "name": "model-env",
            "channels": ["conda-forge"],
            "dependencies": [f"python={py}", "pip", {"pip": list(ctx.model.requirements)}],
        }
    deps = list(conda.get("dependencies") or [])
    pip = next((d for d in deps if isinstance(d, dict) and "pip" in d), None)
    if pip is None:
        pip = {"pip": []}
        deps.append(pip)
    pip_list = list(pip["pip"] or [])
    if not any(
        str(p).split("=")[0].split("<")[0].split(">")[0].strip() == "azureml-inference-server-http" for p in pip_list
    ):
        pip_list.append("azureml-inference-server-http")
    pip["pip"] = pip_list
    conda["dependencies"] = deps
    return conda


def model_prefix(ctx: RenderContext) -> str:
    """Where the model files go under azureml/: triton_model assets are a model repository, so a
    single Triton model folder goes into model/<its name>/."""
    repo = getattr(ctx.model, "repository", None)
    if ctx.spec.model.type == "triton" and repo is not None and repo.single:
        return f"azureml/{MODEL_DIR}/{repo.models[0].name}"
    return f"azureml/{MODEL_DIR}"
