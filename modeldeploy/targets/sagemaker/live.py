"""observe(): what exists now for one deployment, projected onto the shapes desired() produces.

The endpoint is the root: endpoint → its endpoint config → that config's model → the model's
model.tar.gz, plus the variant's scaling target/policy. Without an endpoint (first apply, batch mode,
an interrupted apply) the desired names are looked up directly.

Objects owned by the deployment (tag ``modeldeploy:name``; S3 objects by metadata) that are no longer
needed become deletes — exactly the ones apply removes: apply keeps the new config and the one it
replaces (for rollback); in a steady state it keeps the current one and the most recent other one.
Models and model.tar.gz objects are kept while a kept config (or model) still uses them.
"""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

from modeldeploy.errors import TargetError
from modeldeploy.targets.base import LiveResource, Observed, RenderContext, Resource
from modeldeploy.targets.sagemaker import requests as rq
from modeldeploy.targets.sagemaker.aws import Clients, call, find
from modeldeploy.targets.sagemaker.naming import (
    MAX_NAME,
    TAG_MODEL_DIGEST,
    TAG_MODEL_URI,
    TAG_NAME,
    TAG_SIGNATURE_DIGEST,
    tags_dict,
)
from modeldeploy.targets.sagemaker.package import read_member
from modeldeploy.targets.sagemaker.target import (
    K_CONFIG,
    K_ENDPOINT,
    K_JOB,
    K_MODEL,
    K_S3,
    K_SCALING_POLICY,
    K_SCALING_TARGET,
    address,
    split_s3,
)

T = TypeVar("T")

# Maps whose entries are all meaningful (not projected key by key).
_MAPS = {"Environment", "Metadata"}
# Keys kept even when the desired body does not set them: their presence live is a real difference.
_EXTRA = {"VpcConfig", "EnableNetworkIsolation", "DataCaptureConfig", "AsyncInferenceConfig", "KmsKeyId",
          "ServerlessConfig", "InstanceType", "InitialInstanceCount", "ClientConfig", "NotificationConfig"}


def project(live: Any, template: Any) -> Any:
    """``live`` reduced to the keys ``template`` (a desired body) has, plus the keys in ``_EXTRA``;
    server-filled fields (ARNs, times, statuses, defaults) disappear."""
    if isinstance(template, dict) and isinstance(live, dict):
        out: dict[str, Any] = {}
        for key, value in live.items():
            if value is None:
                continue
            if key in template:
                out[key] = value if key in _MAPS else project(value, template[key])
            elif key in _EXTRA and value not in ({}, [], False):
                out[key] = value
        return out
    if isinstance(template, list) and isinstance(live, list):
        if template and all(isinstance(t, dict) for t in template):
            merged: dict[str, Any] = {}
            for t in template:
                merged.update(t)
            return [project(item, merged) for item in live]
        return list(live)
    return live


def stem(base: str) -> str:
    """The part of content-derived names that comes from ``base`` (see naming.object_name)."""
    return base[: MAX_NAME - 22].rstrip("-") or "m"


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


@dataclass(frozen=True)
class Owned:
    name: str
    arn: str
    created: str


class _Memo:
    """Results of read calls by key, computed once even when threads ask at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Any, Future] = {}

    def get(self, key: Any, fn: Callable[[], T]) -> T:
        with self._lock:
            fut = self._futures.get(key)
            owner = fut is None
            if owner:
                fut = self._futures[key] = Future()
        if owner:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)
        return fut.result()


class Reader:
    """Read-only access to one deployment's objects; shared by observe, apply and destroy.

    ``memo=True`` (observe) reads each object's tags and each S3 head once: the endpoint's config
    and model are also found again while listing owned objects. apply/destroy read fresh each time.
    """

    def __init__(self, clients: Clients, ctx: RenderContext, *, memo: bool = False):
        self.memo = _Memo() if memo else None
        self.ctx = ctx
        self.target = ctx.spec.target
        region = self.target.region
        self.sm = clients.get("sagemaker", region)
        self.s3 = clients.get("s3", region)
        self.aas = clients.get("application-autoscaling", region)
        self.name = ctx.spec.name
        self.endpoint_name = self.target.endpoint_name or self.name

    # -- single objects --------------------------------------------------------------------------

    def tags(self, arn: str) -> list[dict[str, str]]:
        if self.memo is not None:
            return list(self.memo.get(("tags", arn), lambda: self._tags(arn)))
        return self._tags(arn)

    def _tags(self, arn: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for page in self.sm.get_paginator("list_tags").paginate(ResourceArn=arn):
            out.extend(page.get("Tags") or [])
        return sorted(({"Key": t["Key"], "Value": t["Value"]} for t in out if not t["Key"].startswith("aws:")),
                      key=lambda t: t["Key"])

    def endpoint(self) -> dict[str, Any] | None:
        return find(f"endpoint {self.endpoint_name}", self.sm.describe_endpoint, EndpointName=self.endpoint_name)

    def config(self, name: str) -> dict[str, Any] | None:
        return find(f"endpoint config {name}", self.sm.describe_endpoint_config, EndpointConfigName=name)

    def model(self, name: str) -> dict[str, Any] | None:
        return find(f"model {name}", self.sm.describe_model, ModelName=name)

    def job(self, name: str) -> dict[str, Any] | None:
        return find(f"transform job {name}", self.sm.describe_transform_job, TransformJobName=name)

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        if self.memo is not None:
            return self.memo.get(("head", bucket, key), lambda: self._head(bucket, key))
        return self._head(bucket, key)

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        return find(f"s3://{bucket}/{key}", self.s3.head_object, Bucket=bucket, Key=key)

    def owns(self, arn: str) -> bool:
        return tags_dict(self.tags(arn)).get(TAG_NAME) == self.name

    def scalable_target(self, resource_id: str) -> dict[str, Any] | None:
        out = call(f"scalable target {resource_id}", self.aas.describe_scalable_targets,
                   ServiceNamespace="sagemaker", ResourceIds=[resource_id], ScalableDimension=rq.SCALABLE_DIMENSION)
        targets = out.get("ScalableTargets") or []
        return targets[0] if targets else None

    def scaling_policy(self, resource_id: str) -> dict[str, Any] | None:
        out = call(f"scaling policies of {resource_id}", self.aas.describe_scaling_policies,
                   ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=rq.SCALABLE_DIMENSION,
                   PolicyNames=[rq.POLICY_NAME])
        policies = [p for p in out.get("ScalingPolicies") or [] if p.get("PolicyName") == rq.POLICY_NAME]
        return policies[0] if policies else None

    # -- owned objects ---------------------------------------------------------------------------

    def owned_configs(self) -> list[Owned]:
        return self._owned("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn",
                           stem(self.endpoint_name))

    def owned_models(self) -> list[Owned]:
        return self._owned("list_models", "Models", "ModelName", "ModelArn", stem(self.name))

    def _owned(self, op: str, key: str, name_key: str, arn_key: str, contains: str) -> list[Owned]:
        found: list[Owned] = []
        try:
            for page in self.sm.get_paginator(op).paginate(NameContains=contains):
                for item in page.get(key) or []:
                    name = item[name_key]
                    # Servers that ignore NameContains (moto) list everything: filter here too.
                    if contains in name and self.owns(item[arn_key]):
                        found.append(Owned(name, item[arn_key], _iso(item.get("CreationTime"))))
        except Exception as exc:  # botocore errors while paging
            raise TargetError(f"listing SageMaker {key}: {exc}") from None
        return sorted(found, key=lambda o: (o.created, o.name))

    def owned_objects(self, bucket: str) -> list[str]:
        """Keys of model.tar.gz objects this deployment uploaded (metadata modeldeploy-name)."""
        prefix = f"{self.target.artifact_prefix.strip('/')}/{self.name}/"
        keys: list[str] = []
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(o["Key"] for o in page.get("Contents") or [] if o["Key"].endswith("/model.tar.gz"))
        except Exception as exc:
            if "NoSuchBucket" in str(exc):
                return []
            raise TargetError(f"listing s3://{bucket}/{prefix}: {exc}") from None
        out = []
        for key in keys:
            head = self.head(bucket, key)
            if head and (head.get("Metadata") or {}).get(rq.META_NAME) == self.name:
                out.append(key)
        return sorted(out)

    def model_signature(self, model: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The canonical signature in the MLmodel inside a model's model.tar.gz (streamed; stops at MLmodel)."""
        from modeldeploy.model.info import read_model

        url = (model.get("PrimaryContainer") or {}).get("ModelDataUrl", "")
        try:
            bucket, key = split_s3(url)
        except Exception:
            return None
        obj = find(f"{url}", self.s3.get_object, Bucket=bucket, Key=key)
        if obj is None:
            return None
        body = obj["Body"]
        try:
            raw = read_member(body, "MLmodel")
        finally:
            body.close()
        if raw is None:
            return None
        with tempfile.TemporaryDirectory(prefix="modeldeploy-mlmodel-") as tmp:
            Path(tmp, "MLmodel").write_bytes(raw)
            info = read_model(tmp, display=f"{url}!MLmodel")
        return info.signature.to_canonical() if info.signature is not None else None


def kept(owned: Iterable[str], desired: str | None, current: str | None, created: Mapping[str, str]) -> set[str]:
    """Names apply keeps: desired + the one it replaces, or (steady state) desired + the newest other."""
    keep = {n for n in (desired, current) if n}
    if current and current != desired:
        return keep
    others = sorted((n for n in owned if n != desired), key=lambda n: (created.get(n, ""), n))
    if others:
        keep.add(others[-1])
    return keep


@dataclass(frozen=True)
class _Owned:
    """The deployment's owned objects, listed while the endpoint chain is read."""

    configs: list[Owned] | None
    models: list[Owned]
    objects: list[str]


class Observer:
    """Reads one deployment. The endpoint → config → model → S3 chain is read in order (each step
    names the next); the scaling target/policy and the listings of owned objects do not depend on
    it and are read at the same time, so a plan costs a few round trips, not one per call."""

    def __init__(self, clients: Clients, ctx: RenderContext, desired: list[Resource]):
        self.r = Reader(clients, ctx, memo=True)
        self.ctx = ctx
        self.by_kind = {res.kind: res for res in desired}
        self.found: dict[str, LiveResource] = {}

    def add(self, addr: str, kind: str, name: str, body: Mapping[str, Any], fingerprint: Any = "") -> None:
        self.found[addr] = LiveResource(addr, kind, name, body, _iso(fingerprint))

    def run(self) -> Observed:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="modeldeploy-observe") as pool:
            owned = pool.submit(self._owned)
            scaling = pool.submit(self._read_scaling) if K_ENDPOINT in self.by_kind else None
            endpoint = self._endpoint()
            config = self._config(endpoint)
            model = self._model(config)
            self._s3(model)
            if endpoint is not None:
                self._scaling(scaling.result() if scaling is not None else self._read_scaling())
            self._job()
            self._leftovers(config, model, owned.result())
        return Observed(self.found, self._signature(model), self._deployed(model))

    def _owned(self) -> _Owned:
        configs = self.r.owned_configs() if K_CONFIG in self.by_kind else None
        bucket = split_s3(self.by_kind[K_S3].name)[0]
        return _Owned(configs, self.r.owned_models(), self.r.owned_objects(bucket))

    def _endpoint(self) -> dict[str, Any] | None:
        ep = self.r.endpoint()
        res = self.by_kind.get(K_ENDPOINT)
        if ep is None:
            return None
        tags = self.r.tags(ep["EndpointArn"])
        if tags_dict(tags).get(TAG_NAME) != self.r.name:
            if res is None:
                return None  # somebody else's endpoint; batch mode does not need the name
            raise TargetError(
                f"endpoint {self.r.endpoint_name} exists but was not created by modeldeploy for {self.r.name!r} "
                f"(tag {TAG_NAME} is missing or different); refusing to manage it"
            )
        body: dict[str, Any] = {"EndpointName": ep["EndpointName"], "EndpointConfigName": ep["EndpointConfigName"], "Tags": tags}
        if res is not None and "DeploymentConfig" in res.body:
            # The rollout strategy is how the *next* update runs, not state SageMaker reports back.
            body["DeploymentConfig"] = res.body["DeploymentConfig"]
        self.add(address(K_ENDPOINT, self.r.endpoint_name), K_ENDPOINT, ep["EndpointName"], body, ep.get("LastModifiedTime"))
        return ep

    def _config(self, endpoint: dict[str, Any] | None) -> dict[str, Any] | None:
        res = self.by_kind.get(K_CONFIG)
        name = endpoint["EndpointConfigName"] if endpoint else (res.name if res else None)
        if name is None:
            return None
        cfg = self.r.config(name)
        if cfg is None or res is None:
            return cfg
        body = {**project(cfg, res.body), "Tags": self.r.tags(cfg["EndpointConfigArn"])}
        self.add(res.address, K_CONFIG, name, body, cfg.get("CreationTime"))
        return cfg

    def _model(self, config: dict[str, Any] | None) -> dict[str, Any] | None:
        res = self.by_kind[K_MODEL]
        variants = (config or {}).get("ProductionVariants") or []
        name = variants[0].get("ModelName") if variants else res.name
        model = self.r.model(name)
        if model is None:
            return None
        tags = self.r.tags(model["ModelArn"])
        model = {**model, "Tags": tags}
        self.add(res.address, K_MODEL, name, {**project(model, res.body), "Tags": tags}, model.get("CreationTime"))
        return model

    def _s3(self, model: dict[str, Any] | None) -> None:
        res = self.by_kind[K_S3]
        url = ((model or {}).get("PrimaryContainer") or {}).get("ModelDataUrl") or res.name
        bucket, key = split_s3(url)
        head = self.r.head(bucket, key)
        if head is not None:
            body = {"Bucket": bucket, "Key": key, "Metadata": dict(head.get("Metadata") or {})}
            self.add(res.address, K_S3, url, body, head.get("ETag", ""))

    def _read_scaling(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        rid = rq.scaling_resource_id(self.r.endpoint_name, self.r.target.variant_name)
        target = self.r.scalable_target(rid)
        return target, (self.r.scaling_policy(rid) if target is not None else None)

    def _scaling(self, read: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> None:
        rid = rq.scaling_resource_id(self.r.endpoint_name, self.r.target.variant_name)
        target, policy = read
        if target is None:
            return
        res = self.by_kind.get(K_SCALING_TARGET)
        template = res.body if res else {k: 0 for k in ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")}
        self.add(address(K_SCALING_TARGET, self.r.endpoint_name), K_SCALING_TARGET, rid, project(target, template), target.get("CreationTime"))
        if policy is not None:
            pres = self.by_kind.get(K_SCALING_POLICY)
            ptemplate = pres.body if pres else {"PolicyName": "", "ResourceId": "", "PolicyType": ""}
            self.add(address(K_SCALING_POLICY, self.r.endpoint_name), K_SCALING_POLICY, rq.POLICY_NAME,
                     project(policy, ptemplate), policy.get("CreationTime"))

    def _job(self) -> None:
        res = self.by_kind.get(K_JOB)
        if res is None:
            return
        job = self.r.job(res.name)
        if job is not None:
            body = {**project(job, res.body), "Tags": self.r.tags(job["TransformJobArn"])}
            self.add(res.address, K_JOB, res.name, body, job.get("CreationTime"))

    def _leftovers(self, config: dict[str, Any] | None, model: dict[str, Any] | None, listed: _Owned) -> None:
        cres, mres, sres = self.by_kind.get(K_CONFIG), self.by_kind[K_MODEL], self.by_kind[K_S3]
        keep_models = {mres.name}
        if cres is not None or config is not None:
            owned = listed.configs if listed.configs is not None else self.r.owned_configs()
            created = {o.name: o.created for o in owned}
            current = config["EndpointConfigName"] if config else None
            keep = kept(created, cres.name if cres else None, current, created) if cres else set()
            for o in owned:
                if o.name in keep:
                    cfg = config if config and config["EndpointConfigName"] == o.name else self.r.config(o.name)
                    keep_models.update(v["ModelName"] for v in (cfg or {}).get("ProductionVariants") or [])
                else:
                    self.add(address(K_CONFIG, o.name), K_CONFIG, o.name, {"EndpointConfigName": o.name, "CreationTime": o.created})
        owned_models = listed.models
        if cres is None:  # batch: no configs hold models; keep the desired one and the previous
            created = {o.name: o.created for o in owned_models}
            keep_models = kept(created, mres.name, model["ModelName"] if model else None, created)
        keep_keys = {split_s3(sres.name)[1]}
        for o in owned_models:
            if o.name in keep_models:
                live = model if model and model["ModelName"] == o.name else self.r.model(o.name)
                url = ((live or {}).get("PrimaryContainer") or {}).get("ModelDataUrl", "")
                if url.startswith("s3://"):
                    keep_keys.add(split_s3(url)[1])
            else:
                self.add(address(K_MODEL, o.name), K_MODEL, o.name, {"ModelName": o.name, "CreationTime": o.created})
        bucket = split_s3(sres.name)[0]
        for key in listed.objects:
            if key not in keep_keys:
                url = f"s3://{bucket}/{key}"
                self.add(address(K_S3, url), K_S3, url, {"Bucket": bucket, "Key": key})

    def _signature(self, model: dict[str, Any] | None) -> Mapping[str, Any] | None:
        if model is None:
            return None
        recorded = tags_dict(model.get("Tags")).get(TAG_SIGNATURE_DIGEST)
        if not recorded or recorded == "none":
            return None
        sig = self.ctx.model.signature
        if sig is not None and sig.digest() == recorded:
            return sig.to_canonical()
        return self.r.model_signature(model)

    def _deployed(self, model: dict[str, Any] | None) -> Mapping[str, Any] | None:
        if model is None:
            return None
        tags = tags_dict(model.get("Tags"))
        uri = tags.get(TAG_MODEL_URI)
        return {
            "uri": uri,
            "pinned": uri,
            "digest": tags.get(TAG_MODEL_DIGEST),
            "model_name": model["ModelName"],
            "model_data": (model.get("PrimaryContainer") or {}).get("ModelDataUrl"),
        }


def observe(clients: Clients, ctx: RenderContext, desired: list[Resource]) -> Observed:
    return Observer(clients, ctx, desired).run()
