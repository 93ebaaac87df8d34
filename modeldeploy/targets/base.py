"""The Target interface every deployment target implements, and the context it is given.

render() is pure: no clock, no os.environ, no network, no randomness — everything it may depend on is
in the RenderContext. observe() is read-only. apply() and destroy() are the only mutating calls.
Targets import their SDK (boto3, azure.ai.ml, kubernetes) inside observe/apply, never at module level.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from modeldeploy.errors import PlanError
from modeldeploy.rendering.artifact import Artifact

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.model.info import ModelInfo
    from modeldeploy.planning.model import Plan
    from modeldeploy.progress import Progress
    from modeldeploy.spec.models import DeploySpec

T = TypeVar("T")


@dataclass(frozen=True)
class ModelRef:
    """Where the model came from and what it is, pinned: what every render records.

    ``uri`` is what deploy.yaml says; ``pinned_uri`` is the immutable form (an alias or ``latest``
    resolved to a version; a local folder stays as written, relative to deploy.yaml). ``digest`` is the
    sha256 over the model folder's files (see modeldeploy.model.digest).
    """

    uri: str
    pinned_uri: str
    digest: str
    local_path: Path
    version: str | None = None
    alias: str | None = None
    registered_name: str | None = None

    @property
    def short_digest(self) -> str:
        return self.digest.split(":", 1)[-1][:12]


@dataclass(frozen=True)
class RenderContext:
    """Everything a target's render() may read. ``spec`` has the environment overlay applied."""

    spec: DeploySpec
    model: ModelInfo
    ref: ModelRef
    env: str | None = None
    tool_version: str = "0"
    # The deploy.yaml's directory; only to find files the spec names (never written into artifacts).
    base_dir: Path = field(default_factory=lambda: Path("."))

    @property
    def target(self) -> Any:
        return self.spec.target


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


@dataclass(frozen=True)
class ApplyResult:
    changed: tuple[str, ...] = ()
    outputs: Mapping[str, str] = field(default_factory=dict)  # e.g. endpoint URL, image reference


class Target(ABC):
    """A deployment target. Subclasses set ``kind`` and implement render; live targets also implement
    desired/observe/apply/destroy. One instance per kind per process; it may cache SDK clients. That
    instance serves every deployment of a run, and a live plan observes them on several threads at
    once before any is applied: state kept between observe() and apply() must be keyed by deployment
    (as the Kubernetes target keys what rollback restores), and reads worth sharing across a run go in
    ``options.shared``, not on the instance."""

    kind: ClassVar[str]
    #: What `plan` compares with by default: "live" (cloud targets) or "dir" (docker).
    default_against: ClassVar[str] = "live"
    #: Extra that provides the SDK, for the "pip install modeldeploy[...]" hint.
    extra: ClassVar[str | None] = None
    #: True when the target registers ``model.register`` in its own registry (Azure ML model assets,
    #: SageMaker model packages) as part of apply; otherwise modeldeploy registers it in MLflow's.
    registers_model: ClassVar[bool] = False

    @abstractmethod
    def render(self, ctx: RenderContext) -> list[Artifact]:
        """Pure: the files for this deployment, in any order (callers sort by path)."""

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        """The live objects the artifacts describe (cloud targets)."""
        raise PlanError(f"target {self.kind!r} has no live state", hint="plan it against a folder (--against DIR) or a git ref (--against git:REF)")

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        """Read-only: what exists now for this deployment."""
        raise PlanError(f"target {self.kind!r} has no live state", hint="plan it against a folder (--against DIR) or a git ref (--against git:REF)")

    def apply(self, ctx: RenderContext, plan: Plan, artifacts: list[Artifact], progress: Progress) -> ApplyResult:
        """Make the live state match the plan; wait until ready; leave nothing half-done."""
        raise PlanError(f"target {self.kind!r} cannot be applied live", hint="apply against a folder (--against DIR)")

    def destroy(self, ctx: RenderContext, observed: Observed, progress: Progress) -> ApplyResult:
        """Remove everything modeldeploy created for this deployment, nothing else."""
        raise PlanError(f"target {self.kind!r} cannot be destroyed live", hint="destroy against a folder (--against DIR)")

    def lease(self, ctx: RenderContext, options: ObserveOptions) -> LeaseBackend | None:
        """Where live apply/destroy keep this deployment's lease (see modeldeploy.lease); None: no lease.
        Built-in targets provide ``backend()`` in ``modeldeploy/targets/<kind>/lease.py``; plugins may
        override this."""
        from modeldeploy.lease import builtin_backend

        return builtin_backend(self, ctx, options)

    def register_model(self, ctx: RenderContext, artifacts: list[Artifact], progress: Progress) -> str | None:
        """For targets with ``registers_model`` whose registry is separate from the deployment
        (SageMaker model packages): register after a successful apply, idempotent per model digest,
        and return what was registered. Targets that register inside apply() return None."""
        return None

    def plan_notes(self, ctx: RenderContext) -> list[str]:
        """What the spec asks for that this target does not carry out as written (shown as notes in
        every plan, so a reviewer sees it before apply rather than after)."""
        return []

    def planned_registration(self, ctx: RenderContext) -> Mapping[str, Any] | None:
        """Read-only counterpart of register_model for live plans: {"address", "action": "create" |
        "no-op", "after": {...}}; None when the target registers inside apply()."""
        return None


class RunShared:
    """Reads shared by every observe() of one run: computed once per key, even when several
    threads ask at the same time (the others wait for the first). One instance lives in each
    ObserveOptions, so it never outlives the run that made it: a later plan reads afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Any, Any] = {}

    def get(self, key: Any, fn: Callable[[], T]) -> T:
        from concurrent.futures import Future

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


@dataclass(frozen=True)
class ObserveOptions:
    """Per-run settings for observe/apply that are not part of the spec (CLI flags)."""

    context: str | None = None  # kubeconfig context
    parallelism: int = 8
    timeout_seconds: float = 1800.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    # How many deployments of this target this run observes (make_plans counts them per target
    # after loading every file): a target may read a whole region/namespace once instead of once
    # per deployment when that is cheaper.
    expected: int = 1
    shared: RunShared = field(default_factory=RunShared, compare=False, repr=False)
