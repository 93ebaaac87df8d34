"""The Kubernetes objects for one deployment, built as plain data (never templated text).

``build(ctx)`` returns one :class:`Manifest` per object with the file it is written to; names are the
deployment name (the ApplySet parent adds ``-applyset``), so re-rendering never invents new names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import RenderError
from modeldeploy.targets.kubernetes import meta, pod

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

KSERVE_API = "serving.kserve.io/v1beta1"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"


@dataclass(frozen=True)
class Manifest:
    file: str  # base name inside k8s/, e.g. deployment.yaml
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


# Group of each kind, for the ApplySet's contains-group-kinds annotation ("" is the core group).
GROUPS = {
    "ConfigMap": "",
    "ServiceAccount": "",
    "Service": "",
    "Deployment": "apps",
    "HorizontalPodAutoscaler": "autoscaling",
    "PodDisruptionBudget": "policy",
    "Ingress": "networking.k8s.io",
    "NetworkPolicy": "networking.k8s.io",
    "Job": "batch",
    "CronJob": "batch",
    "InferenceService": "serving.kserve.io",
}


def _metadata(
    ctx: RenderContext, name: str, component: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": ctx.target.namespace,
        "labels": meta.common_labels(ctx, component),
        "annotations": annotations if annotations is not None else meta.base_annotations(ctx),
    }


def _workload_labels(ctx: RenderContext, component: str) -> dict[str, str]:
    labels = meta.common_labels(ctx, component)
    labels[meta.VERSION] = meta.model_version_label(ctx)
    return labels


def _pod_template(ctx: RenderContext, component: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Pod template with the model digest and a checksum of everything that configures the pod, so a
    change that leaves the image tag alone (new model behind a fixed tag, env, secrets refs) still rolls pods."""
    labels = _workload_labels(ctx, component)
    annotations = {
        meta.A_MODEL_DIGEST: ctx.ref.digest,
        meta.A_CHECKSUM: meta.checksum({"labels": labels, "model": ctx.ref.digest, "spec": spec}),
    }
    return {"metadata": {"labels": labels, "annotations": annotations}, "spec": spec}


def _has_hpa(ctx: RenderContext) -> bool:
    return ctx.spec.scaling.max_replicas > ctx.spec.scaling.min_replicas


def service_account(ctx: RenderContext, component: str) -> Manifest | None:
    sa = ctx.target.service_account
    if not sa.create:
        return None
    md = _metadata(ctx, pod.service_account_name(ctx), component)
    md["annotations"].update(sa.annotations)
    return Manifest(
        "serviceaccount.yaml",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": md,
            "automountServiceAccountToken": False,
        },
    )


def deployment(ctx: RenderContext) -> Manifest:
    name = ctx.spec.name
    if ctx.spec.scaling.min_replicas == 0:
        raise RenderError(
            "scaling.min_replicas 0 (scale to zero) needs flavor kserve; a Deployment's HPA keeps at least one replica"
        )
    spec = pod.pod_spec(ctx, [pod.serving_container(ctx)], [pod.tmp_volume()])
    body: dict[str, Any] = {
        "selector": {"matchLabels": meta.selector_labels(name)},
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": ctx.target.progress_deadline_seconds,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": _pod_template(ctx, "predictor", spec),
    }
    if not _has_hpa(ctx):
        body["replicas"] = ctx.spec.scaling.min_replicas
    md = _workload_metadata(ctx, "predictor")
    return Manifest("deployment.yaml", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": body})


def checkov_skips(ctx: RenderContext) -> dict[str, str]:
    """The scanner skips the spec asks for (``target.scanner_skips``), as the annotations checkov reads
    (``checkov.io/skip<N>: CHECK=reason``). None unless asked: a team's scanner is never switched off
    behind its back."""
    skips = ctx.target.scanner_skips
    return {f"checkov.io/skip{i}": f"{s.id}={s.reason}" for i, s in enumerate(skips, 1)}


def _workload_metadata(ctx: RenderContext, component: str) -> dict[str, Any]:
    md = _metadata(ctx, ctx.spec.name, component, {**meta.model_annotations(ctx), **checkov_skips(ctx)})
    md["labels"] = _workload_labels(ctx, component)
    return md


def network_policy(ctx: RenderContext, component: str) -> Manifest | None:
    """Online pods admit traffic on the serving port only; batch pods serve nothing and admit none."""
    if not ctx.target.network_policy:
        return None
    ingress = [] if component == "batch" else [{"ports": [{"port": pod.PORT_NAME, "protocol": "TCP"}]}]
    return Manifest(
        "networkpolicy.yaml",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _metadata(ctx, ctx.spec.name, component),
            "spec": {
                "podSelector": {"matchLabels": meta.selector_labels(ctx.spec.name)},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        },
    )


def service(ctx: RenderContext) -> Manifest:
    name = ctx.spec.name
    return Manifest(
        "service.yaml",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _metadata(ctx, name, "predictor"),
            "spec": {
                "type": ctx.target.service_type,
                "selector": meta.selector_labels(name),
                "ports": [
                    {
                        "name": pod.PORT_NAME,
                        "port": ctx.target.service_port,
                        "targetPort": pod.PORT_NAME,
                        "protocol": "TCP",
                    }
                ],
            },
        },
    )


def hpa(ctx: RenderContext) -> Manifest | None:
    if not _has_hpa(ctx):
        return None
    s = ctx.spec.scaling
    return Manifest(
        "hpa.yaml",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _metadata(ctx, ctx.spec.name, "predictor"),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.spec.name},
                "minReplicas": s.min_replicas,
                "maxReplicas": s.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": s.target_cpu_percent},
                        },
                    }
                ],
            },
        },
    )


def pdb(ctx: RenderContext) -> Manifest:
    return Manifest(
        "pdb.yaml",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _metadata(ctx, ctx.spec.name, "predictor"),
            "spec": {
                "maxUnavailable": ctx.target.pdb_max_unavailable,
                "selector": {"matchLabels": meta.selector_labels(ctx.spec.name)},
            },
        },
    )


def ingress(ctx: RenderContext) -> Manifest | None:
    cfg = ctx.target.ingress
    if cfg is None:
        return None
    md = _metadata(ctx, ctx.spec.name, "predictor")
    md["annotations"].update(cfg.annotations)
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": cfg.host,
                "http": {
                    "paths": [
                        {
                            "path": cfg.path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": ctx.spec.name, "port": {"name": pod.PORT_NAME}}},
                        }
                    ]
                },
            }
        ],
    }
    if cfg.class_name:
        spec["ingressClassName"] = cfg.class_name
    if cfg.tls_secret:
        spec["tls"] = [{"hosts": [cfg.host], "secretName": cfg.tls_secret}]
    return Manifest(
        "ingress.yaml", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": md, "spec": spec}
    )


# --- KServe ---------------------------------------------------------------------------------------


def _scale_target(ctx: RenderContext) -> int:
    k = ctx.target.kserve
    if k.scale_target is not None:
        return k.scale_target
    if k.scale_metric == "cpu":
        return ctx.spec.scaling.target_cpu_percent
    raise RenderError(f"target.kserve.scale_target is needed when scale_metric is {k.scale_metric}")


def inference_service(ctx: RenderContext) -> Manifest:
    t = ctx.target
    s = ctx.spec.scaling
    annotations = meta.model_annotations(ctx)
    annotations[DEPLOYMENT_MODE] = "Standard"
    md = _metadata(ctx, ctx.spec.name, "predictor", annotations)
    md["labels"] = _workload_labels(ctx, "predictor")
    predictor: dict[str, Any] = {
        "minReplicas": s.min_replicas,
        "maxReplicas": s.max_replicas,
        "scaleMetric": t.kserve.scale_metric,
        "scaleTarget": _scale_target(ctx),
        "serviceAccountName": pod.service_account_name(ctx),
        "automountServiceAccountToken": False,
        "securityContext": pod.pod_security_context(),
        "labels": _workload_labels(ctx, "predictor"),
        "annotations": {meta.A_MODEL_DIGEST: ctx.ref.digest},
        "volumes": [pod.tmp_volume()],
    }
    if t.kserve.canary_traffic_percent is not None:
        predictor["canaryTrafficPercent"] = t.kserve.canary_traffic_percent
    if t.image_pull_secrets:
        predictor["imagePullSecrets"] = [{"name": n} for n in t.image_pull_secrets]
    if t.image or t.registry:
        # A custom image (e.g. the one the docker target builds): a plain container predictor.
        predictor["containers"] = [pod.serving_container(ctx, name="kserve-container")]
    else:
        model: dict[str, Any] = {
            "modelFormat": {"name": "triton" if ctx.spec.model.type == "triton" else "mlflow"},
            "protocolVersion": "v2",
            "storageUri": t.storage_uri,
            "resources": pod.resources(ctx),
            "securityContext": pod.container_security_context(ctx),
            "volumeMounts": [pod.tmp_mount()],
        }
        user_env = _kserve_env(ctx)
        if user_env:
            model["env"] = user_env
        if t.kserve.runtime:
            model["runtime"] = t.kserve.runtime
        predictor["model"] = model
    return Manifest(
        "inferenceservice.yaml",
        {
            "apiVersion": KSERVE_API,
            "kind": "InferenceService",
            "metadata": md,
            "spec": {"predictor": predictor},
        },
    )


def _kserve_env(ctx: RenderContext) -> list[dict[str, Any]]:
    """MLServer does not read modeldeploy's serving settings; pass only the user's env and secrets."""
    s = ctx.spec.serving
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in s.env.items()]
    out += [{"name": k, "valueFrom": {"secretKeyRef": {"name": r.secret, "key": r.key}}} for k, r in s.secrets.items()]
    return sorted(out, key=lambda e: e["name"])


# --- batch ----------------------------------------------------------------------------------------

DATA_VOLUME = "data"


def _job_spec(ctx: RenderContext) -> dict[str, Any]:
    b = ctx.target.batch
    assert b is not None  # guaranteed by KubernetesTarget's validator
    container = {
        "name": pod.CONTAINER,
        "image": pod.image(ctx),
        "imagePullPolicy": ctx.target.image_pull_policy,
        # The docker target's ENTRYPOINT is entrypoint.py; `predict IN OUT` scores one file with the
        # model at /opt/ml/model (MLflow's pyfunc scoring, no environment created at run time).
        "args": ["predict", b.input, b.output],
        "env": pod.env(ctx, {"MODELDEPLOY_INPUT_TYPE": b.content_type}),
        "resources": pod.resources(ctx),
        "securityContext": pod.container_security_context(ctx),
        "volumeMounts": [pod.tmp_mount(), {"name": DATA_VOLUME, "mountPath": b.mount_path}],
    }
    volumes = [pod.tmp_volume(), {"name": DATA_VOLUME, "persistentVolumeClaim": {"claimName": b.claim}}]
    spec = pod.pod_spec(ctx, [container], volumes)
    spec["restartPolicy"] = "Never"
    job: dict[str, Any] = {"backoffLimit": b.backoff_limit, "template": _pod_template(ctx, "batch", spec)}
    if b.active_deadline_seconds is not None:
        job["activeDeadlineSeconds"] = b.active_deadline_seconds
    if b.ttl_seconds_after_finished is not None:
        job["ttlSecondsAfterFinished"] = b.ttl_seconds_after_finished
    return job


def job(ctx: RenderContext) -> Manifest:
    md = _workload_metadata(ctx, "batch")
    return Manifest("job.yaml", {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": _job_spec(ctx)})


def cronjob(ctx: RenderContext) -> Manifest:
    b = ctx.target.batch
    assert b is not None and ctx.target.schedule is not None
    md = _workload_metadata(ctx, "batch")
    spec: dict[str, Any] = {
        "schedule": ctx.target.schedule,
        "concurrencyPolicy": b.concurrency_policy,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
        "jobTemplate": {"metadata": {"labels": _workload_labels(ctx, "batch")}, "spec": _job_spec(ctx)},
    }
    if b.time_zone:
        spec["timeZone"] = b.time_zone
    return Manifest("cronjob.yaml", {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": md, "spec": spec})


# --- the set --------------------------------------------------------------------------------------


def applyset_parent(ctx: RenderContext, members: list[Manifest]) -> Manifest:
    """The ApplySet parent (KEP-3659): a data-less ConfigMap whose id label every member points at.
    Pruning looks only at objects carrying that id, so nothing else in the namespace is ever touched."""
    name = meta.parent_name(ctx.spec.name)
    ns = ctx.target.namespace
    labels = meta.common_labels(ctx, "applyset")
    del labels[meta.APPLYSET_PART_OF]
    labels[meta.APPLYSET_ID] = meta.applyset_id(name, ns)
    gks = sorted({m.kind + ("." + GROUPS[m.kind] if GROUPS[m.kind] else "") for m in members})
    annotations = meta.base_annotations(ctx)
    annotations[meta.APPLYSET_TOOLING] = meta.TOOLING
    annotations[meta.APPLYSET_GKS] = ",".join(gks)
    return Manifest(
        "applyset.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
        },
    )


def _check_model_type(ctx: RenderContext) -> None:
    t = ctx.target
    kind = ctx.spec.model.type
    if kind != "mlflow" and t.mode == "batch":
        raise RenderError(f"mode batch runs the MLflow image's `predict` command; model.type {kind} serves online only")
    if kind == "custom" and t.flavor == "kserve" and not (t.image or t.registry):
        raise RenderError(
            "model.type custom with flavor kserve needs target.image (the custom image the docker target builds)"
        )


def build(ctx: RenderContext) -> list[Manifest]:
    _check_model_type(ctx)
    t = ctx.target
    component = "batch" if t.mode == "batch" else "predictor"
    members: list[Manifest | None] = [service_account(ctx, component)]
    if t.mode == "batch":
        members += [cronjob(ctx) if t.schedule else job(ctx), network_policy(ctx, "batch")]
    elif t.flavor == "kserve":
        members.append(inference_service(ctx))
    else:
        members += [deployment(ctx), service(ctx), hpa(ctx), pdb(ctx), ingress(ctx), network_policy(ctx, "predictor")]
    present = [m for m in members if m is not None]
    return [applyset_parent(ctx, present), *present]


def kustomization(manifests: list[Manifest]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(m.file for m in manifests),
    }
