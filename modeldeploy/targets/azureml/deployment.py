"""The deployment spec as data (online: managed or Kubernetes; batch): request settings, probes,
scaling, environment variables with secret references, and a custom model's code and environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError
from modeldeploy.spec.targets.azureml import AzureMLTarget, Probe
from modeldeploy.targets.azureml import naming
from modeldeploy.targets.azureml.tags import resource_tags

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

CODE_DIR = "code"
CONDA_FILE = "environment/conda.yaml"
MANAGED_TIMEOUT_MAX_S = 180  # managed online endpoints cap request_timeout_ms at 180 000
_REF_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def inline_model(model: dict[str, Any]) -> dict[str, Any]:
    """The deployment's own model reference: the same folder, name and tags as model.yaml, so a
    deployment made with ``az ml online-deployment create`` registers a version observe can match."""
    return {"name": model["name"], "path": model["path"], "type": model["type"], "tags": model["tags"]}


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
    body: dict[str, Any] = {
        "endpoint_name": endpoint,
        "model": inline_model(model),
        "tags": {**resource_tags(ctx), **code_digest_tag(ctx)},
    }
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


def code_folder(ctx: RenderContext) -> Path:
    """model.code, resolved against deploy.yaml's folder (it exists and holds model.entry)."""
    from modeldeploy.model.custom import code_folder as resolve_code

    folder = resolve_code(ctx.spec.model, ctx.base_dir)
    if folder is None:
        raise RenderError("model.type custom needs model.code and model.entry")
    return folder
