"""Azure ML CLI v2 specs built as data from a RenderContext (pure: no SDK, no clock, no environ).

One deployment renders three specs — endpoint, deployment and model asset — shaped like the
examples in Azure/azureml-examples ``cli/endpoints``. The deployment references its model inline
(``model: {name, path: model, type}``) so ``az ml online-deployment create -f deployment.yaml``
works on its own; apply registers the same folder once (found again by its digest tag) and points
the deployment at that version instead.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError, show_dotted
from modeldeploy.model.custom import is_module_entry
from modeldeploy.spec.targets.azureml import AzureMLTarget, Probe
from modeldeploy.targets.azureml import naming

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
MODEL_DIR = "model"  # relative to the specs, i.e. azureml/model/
CODE_DIR = "code"
CONDA_FILE = "environment/conda.yaml"
MANAGED_TIMEOUT_MAX_S = 180  # managed online endpoints cap request_timeout_ms at 180 000
MODEL_TYPES = {"mlflow": "mlflow_model", "custom": "custom_model", "triton": "triton_model"}
_REF_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
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
    schema = {"managed": "managedOnlineDeployment", "kubernetes": "kubernetesOnlineDeployment", "batch": "modelBatchDeployment"}[mode]
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


# --- tags ----------------------------------------------------------------------------------------


def label_tags(ctx: RenderContext) -> dict[str, str]:
    """deploy.yaml labels as Azure tags. They go on endpoints and deployments (ARM resources), so a
    label Azure would not hold there is refused here rather than dropped or failed at apply time."""
    tags = {}
    for k, v in ctx.spec.labels.items():
        key, value = str(k), str(v)
        if key.startswith(naming.RESERVED_PREFIX):
            continue
        if len(key) > naming.ARM_TAG_NAME_MAX:
            raise RenderError(
                f"{show_dotted('labels', key[:40] + '...')}: an Azure tag name holds at most "
                f"{naming.ARM_TAG_NAME_MAX} characters; this one has {len(key)}"
            )
        if len(value) > naming.ARM_TAG_MAX:
            raise RenderError(
                f"{show_dotted('labels', key)}: an Azure tag value holds at most {naming.ARM_TAG_MAX} characters; "
                f"this one has {len(value)}"
            )
        tags[key] = value
    return tags


def base_tags(ctx: RenderContext) -> dict[str, str]:
    """Tags on every object: the user's labels plus what the signature policy needs."""
    tags = label_tags(ctx)
    tags[naming.TAG_NAME] = ctx.spec.name
    tags[naming.TAG_DIGEST] = ctx.ref.digest
    tags[naming.TAG_URI] = ctx.ref.pinned_uri
    sig = ctx.model.signature
    if sig is not None:
        tags[naming.TAG_SIG_DIGEST] = sig.digest()
    return tags


def _with_signature(ctx: RenderContext, tags: dict[str, str], limit: int) -> dict[str, str]:
    sig = ctx.model.signature
    if sig is None:
        return tags
    text = naming.compact_json(sig.to_canonical())
    return {**tags, naming.TAG_SIG: text} if len(text) <= limit else tags


def resource_tags(ctx: RenderContext) -> dict[str, str]:
    tags = {k: v for k, v in base_tags(ctx).items() if len(v) <= naming.ARM_TAG_MAX}
    return _with_signature(ctx, tags, naming.ARM_TAG_MAX)


def model_tags(ctx: RenderContext) -> dict[str, str]:
    reg = ctx.spec.model.registration
    extra = {k: v for k, v in (reg.tags.items() if reg else ()) if not k.startswith(naming.RESERVED_PREFIX)}
    return _with_signature(ctx, {**extra, **base_tags(ctx)}, naming.ASSET_TAG_MAX)


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


def inline_model(model: dict[str, Any]) -> dict[str, Any]:
    """The deployment's own model reference: the same folder, name and tags as model.yaml, so a
    deployment made with ``az ml online-deployment create`` registers a version observe can match."""
    return {"name": model["name"], "path": model["path"], "type": model["type"], "tags": model["tags"]}


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


# --- deployment ----------------------------------------------------------------------------------


def secret_reference(t: AzureMLTarget, env: str, secret: str, key: str) -> str:
    """A secret-injection reference Azure ML resolves when the deployment starts; never a value."""
    for part, what in ((secret, "secret"), (key, "key")):
        if not _REF_PART.match(part):
            raise RenderError(f"serving.secrets.{env}.{what} {part!r}: use letters, digits, '_', '.', '-' only")
    if t.key_vault:
        version = "" if key == "latest" else f"/{key}"
        return "${{keyvault:https://" + t.key_vault + ".vault.azure.net/secrets/" + secret + version + "}}"
    return "${{azureml://connections/" + secret + "/credentials/" + key + "}}"


def environment_variables(ctx: RenderContext) -> dict[str, str]:
    t: AzureMLTarget = ctx.spec.target
    serving = ctx.spec.serving
    env = dict(serving.env)
    if serving.workers > 1 and "WORKER_COUNT" not in env:
        env["WORKER_COUNT"] = str(serving.workers)  # azureml-inference-server-http's worker setting
    if serving.secrets and t.mode == "batch":
        raise RenderError("serving.secrets: batch deployments have no secret injection; read secrets in your code")
    for name, ref in serving.secrets.items():
        env[name] = secret_reference(t, name, ref.secret, ref.key)
    return dict(sorted(env.items()))


def _probe(p: Probe) -> dict[str, int]:
    return {
        "initial_delay": p.initial_delay,
        "period": p.period,
        "timeout": p.timeout,
        "failure_threshold": p.failure_threshold,
        "success_threshold": p.success_threshold,
    }


def _request_settings(ctx: RenderContext, mode: str) -> dict[str, int]:
    timeout = ctx.spec.serving.timeout_seconds
    if mode == "managed" and timeout > MANAGED_TIMEOUT_MAX_S:
        raise RenderError(
            f"serving.timeout_seconds {timeout}: managed online endpoints allow at most {MANAGED_TIMEOUT_MAX_S} s per request"
        )
    return {"request_timeout_ms": timeout * 1000, "max_concurrent_requests_per_instance": ctx.spec.serving.workers}


def _k8s_resources(ctx: RenderContext) -> dict[str, Any]:
    r = ctx.spec.resources
    requests: dict[str, str] = {"cpu": r.cpu, "memory": r.memory}
    out: dict[str, Any] = {"requests": requests}
    if r.gpu:
        requests["nvidia.com/gpu"] = str(r.gpu)
        out["limits"] = {"nvidia.com/gpu": str(r.gpu)}
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
    return (f"scaling (min_replicas {s.min_replicas}, max_replicas {s.max_replicas}) is not applied: {why}; "
            f"the deployment runs target.instance_count = {t.instance_count}")


def _scale_settings(ctx: RenderContext, mode: str) -> dict[str, Any]:
    s = ctx.spec.scaling
    if mode == "kubernetes" and s.max_replicas > max(1, s.min_replicas):
        return {
            "type": "target_utilization",
            "min_instances": max(1, s.min_replicas),
            "max_instances": s.max_replicas,
            "polling_interval": 10,
            "target_utilization_percentage": s.target_cpu_percent,
        }
    return {"type": "default"}


def _custom_parts(ctx: RenderContext) -> dict[str, Any]:
    t: AzureMLTarget = ctx.spec.target
    env = ctx.spec.model.environment
    return {
        "code_configuration": {"code": CODE_DIR, "scoring_script": ctx.spec.model.entry},
        "environment": {"image": (env.image if env and env.image else t.environment_image), "conda_file": CONDA_FILE},
    }


def code_digest_tag(ctx: RenderContext) -> dict[str, str]:
    """Custom models: the code's digest, so a code-only change is a new (blue/green) deployment."""
    if ctx.spec.model.type != "custom":
        return {}
    from modeldeploy.model.custom import code_digest

    return {naming.TAG_CODE_DIGEST: code_digest(code_folder(ctx))}


def deployment_body(ctx: RenderContext, mode: str, endpoint: str, model: dict[str, Any]) -> dict[str, Any]:
    """The deployment spec without ``$schema`` and ``name`` (the name is a hash of this)."""
    t: AzureMLTarget = ctx.spec.target
    body: dict[str, Any] = {"endpoint_name": endpoint, "model": inline_model(model), "tags": {**resource_tags(ctx), **code_digest_tag(ctx)}}
    if ctx.spec.model.type == "custom":
        body.update(_custom_parts(ctx))
    env = environment_variables(ctx)
    if mode == "batch":
        settings: dict[str, Any] = {
            "mini_batch_size": t.batch.mini_batch_size,
            "max_concurrency_per_instance": t.batch.max_concurrency_per_instance,
            "output_action": t.batch.output_action,
            "retry_settings": {"max_retries": t.batch.max_retries, "timeout": ctx.spec.serving.timeout_seconds},
            "error_threshold": t.batch.error_threshold,
            "logging_level": t.batch.logging_level,
        }
        if t.batch.output_action == "append_row":
            settings["output_file_name"] = t.batch.output_file_name
        if env:
            settings["environment_variables"] = env
        body.update(
            type="model",
            compute=f"azureml:{t.compute}",
            resources={"instance_count": t.instance_count},
            settings=settings,
        )
        return body
    body.update(
        instance_count=t.instance_count,
        app_insights_enabled=t.app_insights,
        request_settings=_request_settings(ctx, mode),
        liveness_probe=_probe(t.probes.liveness),
        readiness_probe=_probe(t.probes.readiness),
        scale_settings=_scale_settings(ctx, mode),
    )
    if env:
        body["environment_variables"] = env
    if t.data_collection.enabled:
        body["data_collector"] = {
            "sampling_rate": t.data_collection.sampling_rate,
            "collections": {"request": {"enabled": "true"}, "response": {"enabled": "true"}},
        }
    if mode == "kubernetes":
        body["type"] = "kubernetes"
        body["resources"] = _k8s_resources(ctx)
        if "instance_type" in t.model_fields_set:  # Kubernetes instance types are defined per cluster
            body["instance_type"] = t.instance_type
    else:
        body["instance_type"] = t.instance_type
        body["egress_public_network_access"] = t.egress_public_network_access
    return body


def custom_conda(ctx: RenderContext) -> dict[str, Any]:
    """The conda environment of a custom model (model.environment.conda_file, or Python plus the pip
    requirements of model.environment.requirements_file) plus the Azure ML inference server."""
    conda = copy.deepcopy(dict(ctx.model.conda)) if ctx.model.conda else None
    if conda is None:
        py = ctx.model.python_version or "3.11"
        conda = {"name": "model-env", "channels": ["conda-forge"], "dependencies": [f"python={py}", "pip", {"pip": list(ctx.model.requirements)}]}
    deps = list(conda.get("dependencies") or [])
    pip = next((d for d in deps if isinstance(d, dict) and "pip" in d), None)
    if pip is None:
        pip = {"pip": []}
        deps.append(pip)
    pip_list = list(pip["pip"] or [])
    if not any(str(p).split("=")[0].split("<")[0].split(">")[0].strip() == "azureml-inference-server-http" for p in pip_list):
        pip_list.append("azureml-inference-server-http")
    pip["pip"] = pip_list
    conda["dependencies"] = deps
    return conda


def code_folder(ctx: RenderContext) -> Path:
    """model.code, resolved against deploy.yaml's folder (it exists and holds model.entry)."""
    from modeldeploy.model.custom import code_folder as resolve_code

    folder = resolve_code(ctx.spec.model, ctx.base_dir)
    if folder is None:
        raise RenderError("model.type custom needs model.code and model.entry")
    return folder


def model_prefix(ctx: RenderContext) -> str:
    """Where the model files go under azureml/: triton_model assets are a model repository, so a
    single Triton model folder goes into model/<its name>/."""
    repo = getattr(ctx.model, "repository", None)
    if ctx.spec.model.type == "triton" and repo is not None and repo.single:
        return f"azureml/{MODEL_DIR}/{repo.models[0].name}"
    return f"azureml/{MODEL_DIR}"
