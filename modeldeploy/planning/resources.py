"""The live side of a plan: the objects a target manages (desired Resource, observed LiveResource), what
observe() returns (Observed) and what apply() reports (ApplyResult). Plain data, diffed by
modeldeploy.planning.diff."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Resource:
    """One object a live target manages (a SageMaker endpoint config, a Deployment, an Azure endpoint).

    ``body`` is the desired state as canonical JSON-able data in the same shape observe() reports, so
    that a generic diff works. ``immutable`` objects are replaced on any change; ``replace_on`` lists
    dotted paths whose change forces a replace (with ``replace_reason``). ``sensitive_paths`` are dotted
    paths whose values plans show as ``(sensitive)``.
    """

    address: str  # stable, unique: "<kind>.<name>", e.g. "sagemaker_endpoint.iris-classifier"
    kind: str
    name: str
    body: Mapping[str, Any]
    immutable: bool = False
    replace_on: tuple[str, ...] = ()
    replace_reason: str = ""
    sensitive_paths: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveResource:
    """What observe() found for one address. ``fingerprint`` (ETag, resourceVersion, LastModifiedTime…)
    is recorded in saved plans so apply can refuse a stale plan."""

    address: str
    kind: str
    name: str
    body: Mapping[str, Any]
    fingerprint: str = ""


@dataclass(frozen=True)
class Observed:
    """The live state relevant to one deployment.

    ``resources`` holds what exists for desired addresses and any other object owned by this deployment
    (by label/tag) that is no longer desired — the plan deletes those. ``deployed_signature`` is the
    canonical signature (dict) recorded on the live deployment, if any, for the signature policy;
    ``deployed_model`` is the pinned model URI recorded there (for "champion: 3 → 4").
    """

    resources: Mapping[str, LiveResource] = field(default_factory=dict)
    deployed_signature: Mapping[str, Any] | None = None
    deployed_model: Mapping[str, Any] | None = None
    #: The objects as the target read them, by address, for the target's own apply (the Kubernetes
    #: target re-applies them to roll back). Never shown in plans, never saved.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ApplyResult:
    changed: tuple[str, ...] = ()
    outputs: Mapping[str, str] = field(default_factory=dict)  # e.g. endpoint URL, image reference
