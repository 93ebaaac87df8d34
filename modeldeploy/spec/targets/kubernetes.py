"""The ``target:`` section for ``kind: kubernetes`` (plain Deployment, KServe, or a batch Job/CronJob).

Only pydantic here: this module is imported by the spec models and must stay light.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modeldeploy.spec.base import DNSLabel, Line, StrictModel, empty_dict, empty_list
from modeldeploy.spec.targets.imagebuild import ImageBuildFields

# Schemes KServe's storage initializer understands (kserve/kserve python/storage).
_STORAGE_URI = re.compile(r"^(s3|gs|pvc|https?|hdfs|webhdfs|oci|hf)://[^\s]+$")
_K8S_VERSION = re.compile(r"^1\.[0-9]{2}$")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_NAMES = {
    3: {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)},
    4: {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())},
}
# (name, lowest, highest) of the five fields, as the Kubernetes CronJob controller reads them.
_CRON_RANGES = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


def _cron_value(text: str, index: int) -> int:
    names = _CRON_NAMES.get(index, {})
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{_CRON_RANGES[index][0]} field: {text!r} is not a number")
    return int(text)


def check_cron(expr: str) -> None:
    """A five-field cron expression (or a macro) whose every value is in its field's range: the
    controller would otherwise refuse the CronJob after apply. Raises ValueError saying which field."""
    expr = expr.strip()
    if expr in _CRON_MACROS:
        return
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError("must be a cron expression with five fields (e.g. '0 2 * * *') or @daily/@hourly/…")
    for index, field in enumerate(fields):
        name, low, high = _CRON_RANGES[index]
        for part in field.split(","):
            body, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) < 1):
                raise ValueError(f"{name} field {field!r}: step {step!r} must be a positive number")
            if body in ("*", "?") and (body == "*" or index in (2, 4)):
                continue
            first, dash, last = body.partition("-")
            values = [_cron_value(first, index)] + ([_cron_value(last, index)] if dash else [])
            for value in values:
                if not low <= value <= high:
                    raise ValueError(f"{name} field {field!r}: {value} is outside {low}-{high}")
            if dash and values[0] > values[1]:
                raise ValueError(f"{name} field {field!r}: the range {body} runs backwards")


def check_time_zone(name: str) -> None:
    """An IANA time zone name the tz database knows (the tzdata package when the system has none)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone in the tz database (e.g. Europe/Berlin, America/New_York, UTC)"
        ) from None


class IngressConfig(StrictModel):
    """An Ingress in front of the Service (flavor deployment, mode online)."""

    host: Line = Field(description="Host name the Ingress answers for, e.g. iris.example.com.")
    path: Line = Field(default="/", description="Path prefix routed to the model server.")
    class_name: Line | None = Field(default=None, description="spec.ingressClassName (default: the cluster default).")
    tls_secret: Line | None = Field(default=None, description="Secret holding the TLS certificate for host.")
    annotations: dict[Line, Line] = Field(
        default_factory=empty_dict, description="Annotations for the ingress controller."
    )

    @field_validator("path")
    @classmethod
    def _absolute(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("must start with '/'")
        return v


class ServiceAccountConfig(StrictModel):
    create: bool = Field(default=True, description="Render a ServiceAccount for the pods.")
    name: Line | None = Field(default=None, description="ServiceAccount name (default: the deployment name).")
    annotations: dict[Line, Line] = Field(
        default_factory=empty_dict, description="ServiceAccount annotations (e.g. IRSA role, workload identity)."
    )


class KServeConfig(StrictModel):
    """Settings that only flavor kserve uses."""

    scale_metric: Literal["cpu", "memory", "concurrency", "rps"] = Field(
        default="cpu", description="predictor.scaleMetric."
    )
    scale_target: int | None = Field(
        default=None, ge=1, description="predictor.scaleTarget (default: scaling.target_cpu_percent for cpu)."
    )
    canary_traffic_percent: int | None = Field(
        default=None, ge=0, le=100, description="predictor.canaryTrafficPercent: share of traffic for the new revision."
    )
    runtime: Line | None = Field(
        default=None, description="predictor.model.runtime (default: KServe picks the runtime for modelFormat mlflow)."
    )


class BatchConfig(StrictModel):
    """mode batch: one run of the serving image's `predict INPUT OUTPUT` over files on a volume."""

    input: Line = Field(description="Input file inside the container, e.g. /data/in/batch.csv.")
    output: Line = Field(description="Output file inside the container, e.g. /data/out/predictions.json.")
    content_type: Literal["csv", "json"] = Field(default="csv", description="Format of the input file.")
    claim: Line = Field(description="PersistentVolumeClaim holding input and output, mounted at mount_path.")
    mount_path: Line = Field(default="/data", description="Where the claim is mounted.")
    backoff_limit: int = Field(default=2, ge=0, le=100, description="Retries before the Job is failed.")
    active_deadline_seconds: int | None = Field(default=None, ge=1, description="Kill the run after this long.")
    ttl_seconds_after_finished: int | None = Field(
        default=None,
        ge=0,
        description="Delete finished Jobs after this long (leave unset for plan/apply: a vanished Job is re-created).",
    )
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = Field(
        default="Forbid", description="CronJob only: what happens when a run is still going at the next schedule."
    )
    time_zone: Line | None = Field(default=None, description="CronJob only: spec.timeZone, e.g. Europe/Berlin.")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            check_time_zone(v)
        return v

    @model_validator(mode="after")
    def _paths(self) -> BatchConfig:
        mount = self.mount_path.rstrip("/") or "/"
        if not self.mount_path.startswith("/"):
            raise ValueError("mount_path must be an absolute path")
        for key in ("input", "output"):
            value = getattr(self, key)
            if not value.startswith(mount + "/"):
                raise ValueError(f"{key} {value!r} must be a file under mount_path {self.mount_path!r}")
        return self


class ScannerSkip(StrictModel):
    """One policy-scanner check skipped on the rendered workloads, with the reason a reviewer reads."""

    id: Line = Field(description="The scanner's check id, e.g. CKV_K8S_11 (checkov).")
    reason: Line = Field(min_length=1, description="Why the check does not apply here; written next to the skip.")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", v):
            raise ValueError(f"{v!r} is not a check id such as CKV_K8S_11")
        return v

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("give the reason the check is skipped")
        return v.strip()


class KubernetesTarget(ImageBuildFields):
    kind: Literal["kubernetes"]
    namespace: DNSLabel = Field(default="default")
    flavor: Literal["deployment", "kserve"] = "deployment"
    image: Line | None = Field(
        default=None,
        description=(
            "Serving image (flavor deployment and batch; default NAME:<first 12 hex of the model digest>, the "
            "image the docker target builds). With flavor kserve an image means a custom container predictor."
        ),
    )
    storage_uri: Line | None = Field(
        default=None,
        description="Model storage URI (flavor kserve): the folder holding MLmodel (s3://, gs://, pvc://…).",
    )
    mode: Literal["online", "batch"] = "online"
    schedule: Line | None = Field(default=None, description="Cron schedule for mode batch (a CronJob).")

    kubernetes_version: Line = Field(
        default="1.31", description="Kubernetes version the manifests are validated against (kubernetes-validate)."
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(default="IfNotPresent")
    network_policy: bool = Field(
        default=True,
        description=(
            "Render a NetworkPolicy: online pods admit traffic on the serving port only (from any "
            "source), batch pods admit none. Turn off where a cluster-wide policy manages this."
        ),
    )
    image_pull_secrets: list[Line] = Field(default_factory=empty_list, description="Secrets for pulling the image.")
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(default="ClusterIP")
    service_port: int = Field(default=80, ge=1, le=65535, description="Port the Service exposes (to 8080 in the pod).")
    ingress: IngressConfig | None = Field(default=None, description="Render an Ingress (flavor deployment).")
    service_account: ServiceAccountConfig = Field(default_factory=ServiceAccountConfig)
    pdb_max_unavailable: int = Field(
        default=1, ge=0, description="PodDisruptionBudget maxUnavailable (0 blocks voluntary evictions)."
    )
    progress_deadline_seconds: int = Field(
        default=600, ge=30, description="Deployment progressDeadlineSeconds: a rollout stuck this long has failed."
    )
    read_only_root_filesystem: bool = Field(
        default=True, description="Mount the container's root filesystem read-only (an emptyDir serves /tmp)."
    )
    kserve: KServeConfig = Field(default_factory=KServeConfig)
    scanner_skips: list[ScannerSkip] = Field(
        default_factory=empty_list,
        description=(
            "Policy-scanner checks to skip on the workloads, each with its reason: rendered as checkov.io/skipN: "
            "ID=reason annotations. None by default: your scanner sees every check."
        ),
    )
    batch: BatchConfig | None = Field(default=None, description="mode batch: input/output files and the volume.")

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, v: str) -> str:
        v = v[1:] if v.startswith("v") else v
        if not _K8S_VERSION.match(v):
            raise ValueError("must be a Kubernetes minor version such as '1.31'")
        return v

    @field_validator("storage_uri")
    @classmethod
    def _storage(cls, v: str | None) -> str | None:
        if v is not None and not _STORAGE_URI.match(v):
            raise ValueError(
                "must be a URI KServe can download from: s3://, gs://, pvc://, https://, hdfs://, webhdfs://, oci:// or hf://"
            )
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            check_cron(v)
        return v

    @model_validator(mode="after")
    def _combinations(self) -> KubernetesTarget:
        if self.registry is not None and self.image is not None:
            raise ValueError(
                "registry and image exclude each other: registry builds and pushes the image, image names one built elsewhere"
            )
        if self.flavor == "kserve":
            if self.mode == "batch":
                raise ValueError("mode batch needs flavor deployment (KServe serves online only)")
            if self.image is None and self.registry is None and self.storage_uri is None:
                raise ValueError("flavor kserve needs storage_uri (the folder holding MLmodel) or a custom image")
            if (self.image is not None or self.registry is not None) and self.storage_uri is not None:
                raise ValueError(
                    "flavor kserve takes either storage_uri (mlflow runtime) or image/registry (custom container), not both"
                )
            if self.ingress is not None:
                raise ValueError("ingress is for flavor deployment; KServe exposes the InferenceService itself")
        elif self.storage_uri is not None:
            raise ValueError("storage_uri is only used by flavor kserve")
        if self.mode == "batch" and self.batch is None:
            raise ValueError("mode batch needs a batch section (input, output, claim)")
        if self.mode == "online" and (self.batch is not None or self.schedule is not None):
            raise ValueError("batch and schedule are only used with mode batch")
        if self.mode == "batch" and self.ingress is not None:
            raise ValueError("ingress is only used with mode online")
        return self
