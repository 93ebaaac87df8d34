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

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from modeldeploy.errors import TargetError
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.sagemaker import requests as rq
from modeldeploy.targets.sagemaker.aws import Clients
from modeldeploy.targets.sagemaker.naming import (
    TAG_MODEL_DIGEST,
    TAG_MODEL_URI,
    TAG_NAME,
    TAG_SIGNATURE_DIGEST,
    tags_dict,
)
from modeldeploy.targets.sagemaker.reader import Owned, Reader, content_named, iso_time, region_for, stem
from modeldeploy.targets.sagemaker.resources import (
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

# Maps whose entries are all meaningful (not projected key by key).
_MAPS = {"Environment", "Metadata"}
# Keys kept even when the desired body does not set them: their presence live is a real difference.
_EXTRA = {
    "VpcConfig",
    "EnableNetworkIsolation",
    "DataCaptureConfig",
    "AsyncInferenceConfig",
    "KmsKeyId",
    "ServerlessConfig",
    "InstanceType",
    "InitialInstanceCount",
    "ClientConfig",
    "NotificationConfig",
}


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
class _Candidates:
    """Objects named like this deployment's, listed while the endpoint chain is read. Ownership
    (tag or S3 metadata) is checked only for the ones that would become deletes."""

    configs: list[Owned] | None  # None: not listed (batch mode)
    models: list[Owned]
    objects: list[str]


class Observer:
    """Reads one deployment.

    Models, endpoint configs and model.tar.gz objects are immutable and content-addressed: their
    names (keys) are derived from everything in their request body, tags included. When the live
    chain (endpoint → config → model → object) names exactly the rendered object, that object is
    the rendered one, and observe checks only that it exists — from the run's shared region listing
    (Region) or one describe/head. An object the chain names that differs from the render is read in
    full, with its tags, and diffed. The endpoint (mutable) is always described and its tags read.
    The scaling target/policy and the listing of leftovers do not depend on the chain and are read
    alongside it. A steady-state deployment costs two reads when the run shares region listings.
    """

    def __init__(
        self, clients: Clients, ctx: RenderContext, desired: list[Resource], options: ObserveOptions | None = None
    ):
        options = options or ObserveOptions()
        self.r = Reader(clients, ctx, memo=options.shared)
        self.region = region_for(self.r, options)
        self.ctx = ctx
        self.by_kind = {res.kind: res for res in desired}
        self.found: dict[str, LiveResource] = {}

    def add(self, addr: str, kind: str, name: str, body: Mapping[str, Any], fingerprint: Any = "") -> None:
        self.found[addr] = LiveResource(addr, kind, name, body, iso_time(fingerprint))

    def run(self) -> Observed:
        with ThreadPoolExecutor(max_workers=6, thread_name_prefix="modeldeploy-observe") as pool:
            # Each read below warms the memo; a failure surfaces when the chain asks for its result.
            for read in self._region_reads() if self.region else self._rendered_reads():
                pool.submit(read)
            candidates = pool.submit(self._candidates)
            scaling = pool.submit(self._read_scaling) if K_ENDPOINT in self.by_kind else None
            endpoint = self._endpoint()
            config = self._config(endpoint)
            model = self._model(config)
            self._s3(model)
            if endpoint is not None:
                self._scaling(scaling.result() if scaling is not None else self._read_scaling())
            self._job()
            self._leftovers(config, model, candidates.result())
        return Observed(self.found, self._signature(model), self._deployed(model))

    def _rendered_reads(self) -> list[Callable[[], Any]]:
        """Existence of the rendered config, model and model.tar.gz, read beside the endpoint."""
        reads: list[Callable[[], Any]] = []
        if (cres := self.by_kind.get(K_CONFIG)) is not None:
            reads.append(lambda: self.r.config(cres.name))
        mres = self.by_kind[K_MODEL]
        reads.append(lambda: self.r.model(mres.name))
        bucket, key = split_s3(self.by_kind[K_S3].name)
        reads.append(lambda: self.r.head(bucket, key))
        return reads

    def _region_reads(self) -> list[Callable[[], Any]]:
        """The region's listings, read side by side (the first deployment to ask reads them for
        all), and the endpoint's tags, which need only the ARN the endpoint listing gives."""
        region = self.region
        assert region is not None
        bucket = split_s3(self.by_kind[K_S3].name)[0]

        def endpoint_tags() -> None:
            listed = region.endpoints()
            if listed is not None and self.r.endpoint_name in listed:
                self.r.tags(listed[self.r.endpoint_name].arn)

        return [endpoint_tags, region.configs, region.models, lambda: region.objects(bucket), region.scalable_targets]

    # -- existence of rendered (content-addressed) objects ---------------------------------------

    def _config_exists(self, name: str) -> str | None:
        """The CreationTime of the endpoint config ``name``, None when it does not exist."""
        listed = self.region.configs() if self.region else None
        if listed is not None:
            return listed[name].created if name in listed else None
        cfg = self.r.config(name)
        return None if cfg is None else iso_time(cfg.get("CreationTime"))

    def _model_exists(self, name: str) -> str | None:
        listed = self.region.models() if self.region else None
        if listed is not None:
            return listed[name].created if name in listed else None
        model = self.r.model(name)
        return None if model is None else iso_time(model.get("CreationTime"))

    def _object_exists(self, bucket: str, key: str) -> str | None:
        """The ETag of s3://bucket/key, None when it does not exist."""
        listed = self.region.objects(bucket) if self.region else None
        if listed is not None and key.startswith(self.r.artifact_prefix()):
            return listed.get(key)
        head = self.r.head(bucket, key)
        return None if head is None else str(head.get("ETag", ""))

    # -- the chain --------------------------------------------------------------------------------

    def _endpoint(self) -> dict[str, Any] | None:
        listed = self.region.endpoints() if self.region else None
        if listed is not None and self.r.endpoint_name not in listed:
            return None
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
        body: dict[str, Any] = {
            "EndpointName": ep["EndpointName"],
            "EndpointConfigName": ep["EndpointConfigName"],
            "Tags": tags,
        }
        if res is not None and "DeploymentConfig" in res.body:
            # The rollout strategy is how the *next* update runs, not state SageMaker reports back.
            body["DeploymentConfig"] = res.body["DeploymentConfig"]
        self.add(
            address(K_ENDPOINT, self.r.endpoint_name), K_ENDPOINT, ep["EndpointName"], body, ep.get("LastModifiedTime")
        )
        return ep

    def _config(self, endpoint: dict[str, Any] | None) -> dict[str, Any] | None:
        res = self.by_kind.get(K_CONFIG)
        name = endpoint["EndpointConfigName"] if endpoint else (res.name if res else None)
        if name is None:
            return None
        if res is not None and name == res.name:
            created = self._config_exists(name)
            if created is None:
                return None
            self.add(res.address, K_CONFIG, name, res.body, created)
            return dict(res.body)
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
        if name == res.name:
            created = self._model_exists(name)
            if created is None:
                return None
            self.add(res.address, K_MODEL, name, res.body, created)
            return dict(res.body)
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
        if url == res.name:
            etag = self._object_exists(bucket, key)
            if etag is not None:
                self.add(res.address, K_S3, url, res.body, etag)
            return
        head = self.r.head(bucket, key)
        if head is not None:
            body = {"Bucket": bucket, "Key": key, "Metadata": dict(head.get("Metadata") or {})}
            self.add(res.address, K_S3, url, body, head.get("ETag", ""))

    def _read_scaling(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        rid = rq.scaling_resource_id(self.r.endpoint_name, self.r.target.variant_name)
        targets = self.region.scalable_targets() if self.region else None
        target = targets.get(rid) if targets is not None else self.r.scalable_target(rid)
        if target is None:
            return None, None
        policies = self.region.scaling_policies() if self.region else None
        return target, policies.get(rid) if policies is not None else self.r.scaling_policy(rid)

    def _scaling(self, read: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> None:
        rid = rq.scaling_resource_id(self.r.endpoint_name, self.r.target.variant_name)
        target, policy = read
        if target is None:
            return
        res = self.by_kind.get(K_SCALING_TARGET)
        template = (
            res.body
            if res
            else {k: 0 for k in ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")}
        )
        self.add(
            address(K_SCALING_TARGET, self.r.endpoint_name),
            K_SCALING_TARGET,
            rid,
            project(target, template),
            target.get("CreationTime"),
        )
        if policy is not None:
            pres = self.by_kind.get(K_SCALING_POLICY)
            ptemplate = pres.body if pres else {"PolicyName": "", "ResourceId": "", "PolicyType": ""}
            self.add(
                address(K_SCALING_POLICY, self.r.endpoint_name),
                K_SCALING_POLICY,
                rq.POLICY_NAME,
                project(policy, ptemplate),
                policy.get("CreationTime"),
            )

    def _job(self) -> None:
        res = self.by_kind.get(K_JOB)
        if res is None:
            return
        job = self.r.job(res.name)
        if job is not None:
            body = {**project(job, res.body), "Tags": self.r.tags(job["TransformJobArn"])}
            self.add(res.address, K_JOB, res.name, body, job.get("CreationTime"))

    # -- leftovers --------------------------------------------------------------------------------

    def _candidates(self) -> _Candidates:
        """This deployment's configs, models and model.tar.gz objects by name (not yet by owner)."""
        region, r = self.region, self.r
        model_names = content_named(r.name)
        models = region.models() if region else None
        bucket = split_s3(self.by_kind[K_S3].name)[0]
        objects = region.objects(bucket) if region else None
        return _Candidates(
            self._config_candidates() if K_CONFIG in self.by_kind else None,
            [
                o
                for o in (models.values() if models is not None else r.list_models(NameContains=stem(r.name)) or [])
                if model_names.fullmatch(o.name)
            ],
            r.object_candidates(objects if objects is not None else r.list_objects(bucket, r.object_prefix()) or {}),
        )

    def _config_candidates(self) -> list[Owned]:
        r = self.r
        names = content_named(r.endpoint_name)
        configs = self.region.configs() if self.region else None
        listed = configs.values() if configs is not None else r.list_configs(NameContains=stem(r.endpoint_name)) or []
        return [o for o in listed if names.fullmatch(o.name)]

    def _leftovers(self, config: dict[str, Any] | None, model: dict[str, Any] | None, listed: _Candidates) -> None:
        """Deletes for what apply would remove: owned objects that no kept object uses. Kept: the
        rendered ones and the ones the live chain names, plus (in a steady state) the newest other
        config (batch: model) for rollback. Only delete candidates are checked for ownership."""
        cres, mres, sres = self.by_kind.get(K_CONFIG), self.by_kind[K_MODEL], self.by_kind[K_S3]
        keep_models = {mres.name}
        if cres is not None or config is not None:  # (batch mode with a live endpoint: all go)
            configs = listed.configs if listed.configs is not None else self._config_candidates()
            created = {o.name: o.created for o in configs}
            current = config["EndpointConfigName"] if config else None
            keep = kept(created, cres.name, current, created) if cres else set()
            for o in configs:
                if o.name in keep:
                    cfg = config if config and config["EndpointConfigName"] == o.name else self.r.config(o.name)
                    keep_models.update(v["ModelName"] for v in (cfg or {}).get("ProductionVariants") or [])
                elif self.r.owns(o.arn):
                    self.add(
                        address(K_CONFIG, o.name),
                        K_CONFIG,
                        o.name,
                        {"EndpointConfigName": o.name, "CreationTime": o.created},
                    )
        if cres is None:  # batch: no configs hold models; keep the desired one and the previous
            created = {o.name: o.created for o in listed.models}
            keep_models = kept(created, mres.name, model["ModelName"] if model else None, created)
        keep_keys = {split_s3(sres.name)[1]}
        for o in listed.models:
            if o.name in keep_models:
                live = model if model and model["ModelName"] == o.name else self.r.model(o.name)
                url = ((live or {}).get("PrimaryContainer") or {}).get("ModelDataUrl", "")
                if url.startswith("s3://"):
                    keep_keys.add(split_s3(url)[1])
            elif self.r.owns(o.arn):
                self.add(address(K_MODEL, o.name), K_MODEL, o.name, {"ModelName": o.name, "CreationTime": o.created})
        bucket = split_s3(sres.name)[0]
        for key in listed.objects:
            if key not in keep_keys and self.r.uploaded(bucket, key):
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


def observe(
    clients: Clients, ctx: RenderContext, desired: list[Resource], options: ObserveOptions | None = None
) -> Observed:
    return Observer(clients, ctx, desired, options).run()
