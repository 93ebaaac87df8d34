"""The reader: SageMaker, S3 and Application Auto Scaling calls that read one deployment's objects
(describe, tags, heads) and the region listings a run shares between deployments (Region). Nothing
here decides what the reads mean; observe.py turns them into current state, apply and destroy use the
Reader for their own reads."""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from modeldeploy.planning.options import ObserveOptions, RunShared
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.sagemaker import requests as rq
from modeldeploy.targets.sagemaker.aws import Clients, call, find
from modeldeploy.targets.sagemaker.naming import MAX_NAME, TAG_NAME, tags_dict
from modeldeploy.targets.sagemaker.package import read_member
from modeldeploy.targets.sagemaker.resources import split_s3

T = TypeVar("T")


def stem(base: str) -> str:
    """The part of content-derived names that comes from ``base`` (see naming.object_name)."""
    return base[: MAX_NAME - 22].rstrip("-") or "m"


def content_named(base: str) -> re.Pattern[str]:
    """The names naming.object_name gives objects of ``base``: ``<stem>-<12 hex>-<8 hex>``. Tighter
    than "contains the stem": deployment ``fraud``'s pattern does not match ``fraud-v2``'s objects."""
    return re.compile(re.escape(stem(base)) + r"-[0-9a-f]{12}-[0-9a-f]{8}")


def iso_time(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


LIST_PAGE = 100  # SageMaker's largest page; its default is 10


class _Missing(Exception):
    pass


# A role may be allowed to read its own deployments but not to list a whole region or bucket prefix.
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def _pages(
    what: str, pages: Iterable[Mapping[str, Any]], budget: int | None = None, missing: str | None = None
) -> Iterator[Mapping[str, Any] | None]:
    """The pages of a botocore paginator, errors as TargetError naming ``what``. With ``budget`` (a
    listing shared by the run), yields None and stops instead of fetching page ``budget + 1``, or
    when the listing is denied: the deployments then read with their own, narrower calls."""
    from botocore.exceptions import BotoCoreError, ClientError

    from modeldeploy.targets.sagemaker.aws import error_code, failure

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
        raise failure(what, exc) from None
    except BotoCoreError as exc:
        raise failure(what, exc) from None


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
        return sorted(
            ({"Key": t["Key"], "Value": t["Value"]} for t in out if not t["Key"].startswith("aws:")),
            key=lambda t: t["Key"],
        )

    def endpoint(self) -> dict[str, Any] | None:
        return find(f"endpoint {self.endpoint_name}", self.sm.describe_endpoint, EndpointName=self.endpoint_name)

    def config(self, name: str) -> dict[str, Any] | None:
        return self._memo(
            ("config", self.target.region, name),
            lambda: find(f"endpoint config {name}", self.sm.describe_endpoint_config, EndpointConfigName=name),
        )

    def model(self, name: str) -> dict[str, Any] | None:
        return self._memo(
            ("model", self.target.region, name), lambda: find(f"model {name}", self.sm.describe_model, ModelName=name)
        )

    def job(self, name: str) -> dict[str, Any] | None:
        return self._memo(
            ("job", self.target.region, name),
            lambda: find(f"transform job {name}", self.sm.describe_transform_job, TransformJobName=name),
        )

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        return self._memo(("head", bucket, key), lambda: self._head(bucket, key))

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        return find(f"s3://{bucket}/{key}", self.s3.head_object, Bucket=bucket, Key=key)

    def owns(self, arn: str) -> bool:
        return tags_dict(self.tags(arn)).get(TAG_NAME) == self.name

    def scalable_target(self, resource_id: str) -> dict[str, Any] | None:
        out = call(
            f"scalable target {resource_id}",
            self.aas.describe_scalable_targets,
            ServiceNamespace="sagemaker",
            ResourceIds=[resource_id],
            ScalableDimension=rq.SCALABLE_DIMENSION,
        )
        targets = out.get("ScalableTargets") or []
        return targets[0] if targets else None

    def scaling_policy(self, resource_id: str) -> dict[str, Any] | None:
        out = call(
            f"scaling policies of {resource_id}",
            self.aas.describe_scaling_policies,
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=rq.SCALABLE_DIMENSION,
            PolicyNames=[rq.POLICY_NAME],
        )
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
        return self._list(
            "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn", budget, filters
        )

    def list_models(self, budget: int | None = None, **filters: Any) -> list[Owned] | None:
        return self._list("list_models", "Models", "ModelName", "ModelArn", budget, filters)

    def _list(
        self, op: str, key: str, name_key: str, arn_key: str, budget: int | None, filters: Mapping[str, Any]
    ) -> list[Owned] | None:
        """Every item of a SageMaker listing; None when it has more than ``budget`` pages."""
        pages = self.sm.get_paginator(op).paginate(**filters, PaginationConfig={"PageSize": LIST_PAGE})
        out: list[Owned] = []
        for page in _pages(f"listing SageMaker {key}", pages, budget):
            if page is None:
                return None
            out.extend(Owned(i[name_key], i[arn_key], iso_time(i.get("CreationTime"))) for i in page.get(key) or [])
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
        return sorted(
            k
            for k in self.object_candidates(self.list_objects(bucket, self.object_prefix()) or {})
            if self.uploaded(bucket, k)
        )

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


class Region:
    """Listings shared by every deployment a run observes in one region: the endpoints, endpoint
    configs, models and scaling targets/policies of the region and the keys under each bucket's
    artifact prefix, each read once and filtered per deployment — instead of one listing per
    deployment.

    Used when the run observes several deployments, and only while a listing costs no more round
    trips than the per-deployment reads it replaces (``budget`` pages: deployments / parallelism);
    a longer or denied listing is abandoned (None) and each deployment reads with its own filter.
    """

    def __init__(self, reader: Reader, shared: RunShared, budget: int):
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
                ServiceNamespace="sagemaker", ScalableDimension=rq.SCALABLE_DIMENSION
            )
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
                ServiceNamespace="sagemaker", ScalableDimension=rq.SCALABLE_DIMENSION, PolicyNames=[rq.POLICY_NAME]
            )
            out: dict[str, dict[str, Any]] = {}
            for page in _pages(f"scaling policies {rq.POLICY_NAME}", pages, self.budget):
                if page is None:
                    return None
                out.update(
                    (p["ResourceId"], p)
                    for p in page.get("ScalingPolicies") or []
                    if p.get("PolicyName") == rq.POLICY_NAME
                )
            return out

        return self._get("scaling-policies", read)


def _by_name(listed: list[Owned] | None) -> dict[str, Owned] | None:
    return None if listed is None else {o.name: o for o in listed}


def region_for(reader: Reader, options: ObserveOptions) -> Region | None:
    """The run's shared Region for this deployment, or None when the run observes only one."""
    if options.expected <= 1:
        return None
    budget = max(1, math.ceil(options.expected / max(1, options.parallelism)))
    return Region(reader, options.shared, budget)
