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

import math
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

from modeldeploy.errors import TargetError
from modeldeploy.planning.options import ObserveOptions, RunShared
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.context import RenderContext
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


def content_named(base: str) -> "re.Pattern[str]":
    """The names naming.object_name gives objects of ``base``: ``<stem>-<12 hex>-<8 hex>``. Tighter
    than "contains the stem": deployment ``fraud``'s pattern does not match ``fraud-v2``'s objects."""
    return re.compile(re.escape(stem(base)) + r"-[0-9a-f]{12}-[0-9a-f]{8}")


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


LIST_PAGE = 100  # SageMaker's largest page; its default is 10


class _Missing(Exception):
    pass


# A role may be allowed to read its own deployments but not to list a whole region or bucket prefix.
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def _pages(what: str, pages: Iterable[Mapping[str, Any]], budget: int | None = None,
           missing: str | None = None) -> Iterator[Mapping[str, Any] | None]:
    """The pages of a botocore paginator, errors as TargetError naming ``what``. With ``budget`` (a
    listing shared by the run), yields None and stops instead of fetching page ``budget + 1``, or
    when the listing is denied: the deployments then read with their own, narrower calls."""
    from botocore.exceptions import BotoCoreError, ClientError

    from modeldeploy.targets.sagemaker.aws import error_code, error_message

    try:
        for n, page in enumerate(pages, 1):
            yield page
            if budget is not None and n >= budget and (page.get("NextToken") or page.get("IsTruncated")):
                yield None
                return
    except ClientError as exc:
        if missing is not None and error_code(exc) == missing:
            raise _Missing() from None
        if budget is not None and error_code(exc) in _DENIED:
            yield None
            return
        raise TargetError(f"{what}: {error_code(exc)}: {error_message(exc)}") from None
    except BotoCoreError as exc:
        raise TargetError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class Owned:
    name: str
    arn: str
    created: str


class Reader:
    """Read-only access to one deployment's objects; shared by observe, apply and destroy.

    With ``memo`` (observe passes its run's RunShared) each object is described, each ARN's tags
    and each S3 head read once per run: the endpoint's config and model are also found again while
    listing owned objects, and speculative reads warm the memo for the chain. apply/destroy read
    fresh each time.
    """

    def __init__(self, clients: Clients, ctx: RenderContext, *, memo: RunShared | None = None):
        self.memo = memo
        self.ctx = ctx
        self.target = ctx.spec.target
        region = self.target.region
        self.sm = clients.get("sagemaker", region)
        self.s3 = clients.get("s3", region)
        self.aas = clients.get("application-autoscaling", region)
        self.name = ctx.spec.name
        self.endpoint_name = self.target.endpoint_name or self.name

    # -- single objects --------------------------------------------------------------------------

    def _memo(self, key: tuple[Any, ...], fn: Callable[[], T]) -> T:
        return fn() if self.memo is None else self.memo.get(("sagemaker",) + key, fn)

    def tags(self, arn: str) -> list[dict[str, str]]:
        return list(self._memo(("tags", arn), lambda: self._tags(arn)))

    def _tags(self, arn: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for page in _pages(f"tags of {arn}", self.sm.get_paginator("list_tags").paginate(ResourceArn=arn)):
            out.extend(page.get("Tags") or [])
        return sorted(({"Key": t["Key"], "Value": t["Value"]} for t in out if not t["Key"].startswith("aws:")),
                      key=lambda t: t["Key"])

    def endpoint(self) -> dict[str, Any] | None:
        return find(f"endpoint {self.endpoint_name}", self.sm.describe_endpoint, EndpointName=self.endpoint_name)

    def config(self, name: str) -> dict[str, Any] | None:
        return self._memo(("config", self.target.region, name), lambda: find(
            f"endpoint config {name}", self.sm.describe_endpoint_config, EndpointConfigName=name))

    def model(self, name: str) -> dict[str, Any] | None:
        return self._memo(("model", self.target.region, name), lambda: find(
            f"model {name}", self.sm.describe_model, ModelName=name))

    def job(self, name: str) -> dict[str, Any] | None:
        return self._memo(("job", self.target.region, name), lambda: find(
            f"transform job {name}", self.sm.describe_transform_job, TransformJobName=name))

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        return self._memo(("head", bucket, key), lambda: self._head(bucket, key))

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
        """Endpoint configs tagged as this deployment's (destroy removes them all)."""
        contains = stem(self.endpoint_name)
        return self._owned(self.list_configs(NameContains=contains) or [], contains)

    def owned_models(self) -> list[Owned]:
        contains = stem(self.name)
        return self._owned(self.list_models(NameContains=contains) or [], contains)

    def list_endpoints(self, budget: int | None = None, **filters: Any) -> list[Owned] | None:
        return self._list("list_endpoints", "Endpoints", "EndpointName", "EndpointArn", budget, filters)

    def list_configs(self, budget: int | None = None, **filters: Any) -> list[Owned] | None:
        return self._list("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn", budget, filters)

    def list_models(self, budget: int | None = None, **filters: Any) -> list[Owned] | None:
        return self._list("list_models", "Models", "ModelName", "ModelArn", budget, filters)

    def _list(self, op: str, key: str, name_key: str, arn_key: str, budget: int | None,
              filters: Mapping[str, Any]) -> list[Owned] | None:
        """Every item of a SageMaker listing; None when it has more than ``budget`` pages."""
        pages = self.sm.get_paginator(op).paginate(**filters, PaginationConfig={"PageSize": LIST_PAGE})
        out: list[Owned] = []
        for page in _pages(f"listing SageMaker {key}", pages, budget):
            if page is None:
                return None
            out.extend(Owned(i[name_key], i[arn_key], _iso(i.get("CreationTime"))) for i in page.get(key) or [])
        return out

    def _owned(self, listed: Iterable[Owned], contains: str) -> list[Owned]:
        # Servers that ignore NameContains (moto) list everything: filter by name here too, then by
        # the ownership tag.
        found = [o for o in listed if contains in o.name and self.owns(o.arn)]
        return sorted(found, key=lambda o: (o.created, o.name))

    def artifact_prefix(self) -> str:
        return f"{self.target.artifact_prefix.strip('/')}/"

    def list_objects(self, bucket: str, prefix: str, budget: int | None = None) -> dict[str, str] | None:
        """key → ETag under ``prefix``; {} for a missing bucket; None when more than ``budget`` pages."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys: dict[str, str] = {}
        try:
            for page in _pages(f"listing s3://{bucket}/{prefix}", pages, budget, missing="NoSuchBucket"):
                if page is None:
                    return None
                keys.update((o["Key"], o.get("ETag", "")) for o in page.get("Contents") or [])
        except _Missing:
            return {}
        return keys

    def owned_objects(self, bucket: str) -> list[str]:
        """Keys of model.tar.gz objects this deployment uploaded (metadata modeldeploy-name)."""
        return sorted(k for k in self.object_candidates(self.list_objects(bucket, self.object_prefix()) or {})
                      if self.uploaded(bucket, k))

    def object_prefix(self) -> str:
        return f"{self.artifact_prefix()}{self.name}/"

    def object_candidates(self, listed: Iterable[str]) -> list[str]:
        prefix = self.object_prefix()
        return sorted(k for k in listed if k.startswith(prefix) and k.endswith("/model.tar.gz"))

    def uploaded(self, bucket: str, key: str) -> bool:
        """Whether modeldeploy uploaded this object for this deployment (its metadata says so)."""
        head = self.head(bucket, key)
        return bool(head) and (head.get("Metadata") or {}).get(rq.META_NAME) == self.name

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
class _Candidates:
    """Objects named like this deployment's, listed while the endpoint chain is read. Ownership
    (tag or S3 metadata) is checked only for the ones that would become deletes."""

    configs: list[Owned] | None  # None: not listed (batch mode)
    models: list[Owned]
    objects: list[str]


class Region:
    """Listings shared by every deployment a run observes in one region: the endpoints, endpoint
    configs, models and scaling targets/policies of the region and the keys under each bucket's
    artifact prefix, each read once and filtered per deployment — instead of one listing per
    deployment.

    Used when the run observes several deployments, and only while a listing costs no more round
    trips than the per-deployment reads it replaces (``budget`` pages: deployments / parallelism);
    a longer or denied listing is abandoned (None) and each deployment reads with its own filter.
    """

    def __init__(self, reader: "Reader", shared: RunShared, budget: int):
        self.r, self.shared, self.budget = reader, shared, budget
        self.region = reader.target.region

    def _get(self, what: str, fn: Callable[[], T], *key: Any) -> T:
        return self.shared.get(("sagemaker-region", self.region, what, *key), fn)

    def endpoints(self) -> dict[str, Owned] | None:
        return self._get("endpoints", lambda: _by_name(self.r.list_endpoints(self.budget)))

    def configs(self) -> dict[str, Owned] | None:
        return self._get("configs", lambda: _by_name(self.r.list_configs(self.budget)))

    def models(self) -> dict[str, Owned] | None:
        return self._get("models", lambda: _by_name(self.r.list_models(self.budget)))

    def objects(self, bucket: str) -> dict[str, str] | None:
        """key → ETag under the artifact prefix of ``bucket``."""
        prefix = self.r.artifact_prefix()
        return self._get("objects", lambda: self.r.list_objects(bucket, prefix, self.budget), bucket, prefix)

    def scalable_targets(self) -> dict[str, dict[str, Any]] | None:
        def read() -> dict[str, dict[str, Any]] | None:
            pages = self.r.aas.get_paginator("describe_scalable_targets").paginate(
                ServiceNamespace="sagemaker", ScalableDimension=rq.SCALABLE_DIMENSION)
            out: dict[str, dict[str, Any]] = {}
            for page in _pages("scalable targets of SageMaker", pages, self.budget):
                if page is None:
                    return None
                out.update((t["ResourceId"], t) for t in page.get("ScalableTargets") or [])
            return out

        return self._get("scalable-targets", read)

    def scaling_policies(self) -> dict[str, dict[str, Any]] | None:
        def read() -> dict[str, dict[str, Any]] | None:
            pages = self.r.aas.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace="sagemaker", ScalableDimension=rq.SCALABLE_DIMENSION, PolicyNames=[rq.POLICY_NAME])
            out: dict[str, dict[str, Any]] = {}
            for page in _pages(f"scaling policies {rq.POLICY_NAME}", pages, self.budget):
                if page is None:
                    return None
                out.update((p["ResourceId"], p) for p in page.get("ScalingPolicies") or [] if p.get("PolicyName") == rq.POLICY_NAME)
            return out

        return self._get("scaling-policies", read)


def _by_name(listed: list[Owned] | None) -> dict[str, Owned] | None:
    return None if listed is None else {o.name: o for o in listed}


def region_for(reader: "Reader", options: ObserveOptions) -> Region | None:
    """The run's shared Region for this deployment, or None when the run observes only one."""
    if options.expected <= 1:
        return None
    budget = max(1, math.ceil(options.expected / max(1, options.parallelism)))
    return Region(reader, options.shared, budget)


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

    def __init__(self, clients: Clients, ctx: RenderContext, desired: list[Resource], options: ObserveOptions | None = None):
        options = options or ObserveOptions()
        self.r = Reader(clients, ctx, memo=options.shared)
        self.region = region_for(self.r, options)
        self.ctx = ctx
        self.by_kind = {res.kind: res for res in desired}
        self.found: dict[str, LiveResource] = {}

    def add(self, addr: str, kind: str, name: str, body: Mapping[str, Any], fingerprint: Any = "") -> None:
        self.found[addr] = LiveResource(addr, kind, name, body, _iso(fingerprint))

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
        return None if cfg is None else _iso(cfg.get("CreationTime"))

    def _model_exists(self, name: str) -> str | None:
        listed = self.region.models() if self.region else None
        if listed is not None:
            return listed[name].created if name in listed else None
        model = self.r.model(name)
        return None if model is None else _iso(model.get("CreationTime"))

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
        template = res.body if res else {k: 0 for k in ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")}
        self.add(address(K_SCALING_TARGET, self.r.endpoint_name), K_SCALING_TARGET, rid, project(target, template),
                 target.get("CreationTime"))
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
            [o for o in (models.values() if models is not None else r.list_models(NameContains=stem(r.name)) or [])
             if model_names.fullmatch(o.name)],
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
                    self.add(address(K_CONFIG, o.name), K_CONFIG, o.name, {"EndpointConfigName": o.name, "CreationTime": o.created})
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


def observe(clients: Clients, ctx: RenderContext, desired: list[Resource], options: ObserveOptions | None = None) -> Observed:
    return Observer(clients, ctx, desired, options).run()
