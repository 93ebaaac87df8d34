"""The pod and container shapes shared by Deployment, Job, CronJob and KServe's container predictor.

Everything follows the *restricted* Pod Security Standard: non-root (uid 10001, the user the docker
target's image creates), no privilege escalation, every capability dropped, RuntimeDefault seccomp,
and (by default) a read-only root filesystem with an emptyDir at /tmp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeldeploy.rendering.serving import serving_env

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

PORT = 8080
PORT_NAME = "http"
CONTAINER = "model"
UID = 10001
TMP_VOLUME = "tmp"
MODEL_PATH = "/opt/ml/model"


TRITON_PORT = 8000  # Triton's HTTP port (the tritonserver image the docker target builds)


def image(ctx: RenderContext) -> str:
    """The serving image: target.image, else the reference the docker target builds by default
    (for custom models that tag covers the code too)."""
    if ctx.target.image:
        return ctx.target.image
    if ctx.target.registry:
        from modeldeploy.targets.docker.registry import image_reference

        return image_reference(ctx)
    if ctx.spec.model.type == "custom":
        from modeldeploy.targets.docker.kinds import custom_tag

        return f"{ctx.spec.name}:{custom_tag(ctx)}"
    return f"{ctx.spec.name}:{ctx.ref.short_digest}"


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(ctx: RenderContext) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": ctx.target.read_only_root_filesystem,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(ctx: RenderContext) -> dict[str, Any]:
    """Requests from spec.resources; memory is also the limit (an OOM kill beats a noisy node); no CPU
    limit (throttling hurts latency more than it protects neighbours); GPUs are limits only."""
    r = ctx.spec.resources
    out: dict[str, Any] = {
        "requests": {"cpu": r.cpu, "memory": r.memory},
        "limits": {"memory": r.memory},
    }
    if r.gpu:
        out["limits"]["nvidia.com/gpu"] = str(r.gpu)
    return out


def env(ctx: RenderContext, extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """serving.env as values and serving.secrets as secretKeyRef (never values), sorted by name.
    The serving settings are set too, so this deploy.yaml wins over whatever the image was built with."""
    s = ctx.spec.serving
    plain = serving_env(s)
    plain.update(extra or {})
    plain.update(s.env)
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in plain.items()]
    for key, ref in s.secrets.items():
        out.append({"name": key, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}})
    return sorted(out, key=lambda e: e["name"])


def http_probe(period: int, failures: int, timeout: int, path: str = "/ping") -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": PORT_NAME},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def probes(triton: bool = False) -> dict[str, Any]:
    """The model loads once at start (slow), then /ping is cheap: a patient startup probe (10 min),
    a quick readiness probe, a tolerant liveness probe. Triton: /v2/health/ready and /v2/health/live."""
    ready, live = ("/v2/health/ready", "/v2/health/live") if triton else ("/ping", "/ping")
    return {
        "startupProbe": http_probe(period=5, failures=120, timeout=5, path=ready),
        "readinessProbe": http_probe(period=10, failures=3, timeout=5, path=ready),
        "livenessProbe": http_probe(period=20, failures=3, timeout=5, path=live),
    }


def tmp_volume() -> dict[str, Any]:
    return {"name": TMP_VOLUME, "emptyDir": {}}


def tmp_mount() -> dict[str, Any]:
    return {"name": TMP_VOLUME, "mountPath": "/tmp"}


def serving_container(ctx: RenderContext, name: str = CONTAINER) -> dict[str, Any]:
    """The serving container; for model.type triton the tritonserver image (HTTP on 8000, Triton's
    health endpoints, only the user's env: Triton does not read modeldeploy's serving settings)."""
    triton = ctx.spec.model.type == "triton"
    c: dict[str, Any] = {
        "name": name,
        "image": image(ctx),
        "imagePullPolicy": ctx.target.image_pull_policy,
        "ports": [{"name": PORT_NAME, "containerPort": TRITON_PORT if triton else PORT, "protocol": "TCP"}],
        "env": user_env(ctx) if triton else env(ctx),
        "resources": resources(ctx),
        "securityContext": container_security_context(ctx),
        "volumeMounts": [tmp_mount()],
    }
    c.update(probes(triton))
    return c


def user_env(ctx: RenderContext) -> list[dict[str, Any]]:
    """serving.env and serving.secrets (as secretKeyRef) only, sorted by name."""
    s = ctx.spec.serving
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in s.env.items()]
    out += [{"name": k, "valueFrom": {"secretKeyRef": {"name": r.secret, "key": r.key}}} for k, r in s.secrets.items()]
    return sorted(out, key=lambda e: e["name"])


def service_account_name(ctx: RenderContext) -> str:
    return ctx.target.service_account.name or ctx.spec.name


def pod_spec(ctx: RenderContext, containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": service_account_name(ctx),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "containers": containers,
        "volumes": volumes,
        # In-flight requests may take up to the request timeout; let them finish before SIGKILL.
        "terminationGracePeriodSeconds": max(30, ctx.spec.serving.timeout_seconds + 5),
    }
    if ctx.target.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in ctx.target.image_pull_secrets]
    return spec
