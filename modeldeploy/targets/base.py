"""The Target interface every deployment target implements.

render() is pure: no clock, no os.environ, no network, no randomness — everything it may depend on is
in the RenderContext. observe() is read-only. apply() and destroy() are the only mutating calls.
Targets import their SDK (boto3, azure.ai.ml, kubernetes) inside observe/apply, never at module level.

The data the contract speaks in lives in the layer that owns it and is re-exported here for plugin
authors: ModelRef (model), RenderContext and Artifact (rendering), Resource, LiveResource, Observed,
ApplyResult, ObserveOptions and Plan (planning).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from modeldeploy.errors import PlanError
from modeldeploy.model.ref import ModelRef
from modeldeploy.planning.options import ObserveOptions, RunShared
from modeldeploy.planning.resources import ApplyResult, LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress

__all__ = [
    "ApplyResult",
    "Artifact",
    "LiveResource",
    "ModelRef",
    "ObserveOptions",
    "Observed",
    "RenderContext",
    "Resource",
    "RunShared",
    "Target",
]


class Target(ABC):
    """A deployment target. Subclasses set ``kind`` and implement render; live targets also implement
    desired/observe/apply/destroy. One instance per kind per process serves every deployment of a run,
    and a live plan observes them on several threads at once before any is applied, so a target keeps
    no state on the instance between calls: what apply() needs arrives as arguments (the run's
    ``options``, ``plan.observed``), and reads or connections worth sharing across a run go in
    ``options.shared``. See docs/plugins.md."""

    kind: ClassVar[str]
    #: What `plan` compares with by default: "live" (cloud targets) or "dir" (docker).
    default_against: ClassVar[str] = "live"
    #: Extra that provides the SDK, for the "pip install modeldeploy[...]" hint.
    extra: ClassVar[str | None] = None
    #: True when the target registers ``model.register`` in its own registry (Azure ML model assets,
    #: SageMaker model packages) as part of apply; otherwise modeldeploy registers it in MLflow's.
    registers_model: ClassVar[bool] = False
    #: The pydantic model of this kind's ``target:`` section. Built-in kinds declare theirs from
    #: modeldeploy.spec.targets; a plugin's is checked, with located errors, when a file is loaded.
    #: None: the plugin accepts any keys.
    config_model: ClassVar[type | None] = None
    #: The modules render() imports, each with the package that provides it (``{"kubernetes_validate":
    #: "kubernetes-validate"}``). ``validate`` and ``render`` check them first, so a missing extra is
    #: the same error (MD701, with ``extra``'s install hint) in both. A built-in kind declares its
    #: own in ``modeldeploy.targets.BUILTIN_NEEDS`` instead, so checking needs no import of it.
    render_needs: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def render(self, ctx: RenderContext) -> list[Artifact]:
        """Pure: the files for this deployment, in any order (callers sort by path)."""

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        """The live objects the artifacts describe (cloud targets)."""
        raise PlanError(f"target {self.kind!r} has no live state", hint="plan it against a folder (--against DIR) or a git ref (--against git:REF)")

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        """Read-only: what exists now for this deployment."""
        raise PlanError(f"target {self.kind!r} has no live state", hint="plan it against a folder (--against DIR) or a git ref (--against git:REF)")

    def apply(
        self, ctx: RenderContext, plan: Plan, artifacts: list[Artifact], progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        """Make the live state match the plan; wait until ready; leave nothing half-done. ``options`` are
        the run's (the library always passes them; None: ``plan.options``, else the defaults);
        ``plan.observed`` is what observe() returned for a live plan."""
        raise PlanError(f"target {self.kind!r} cannot be applied live", hint="apply against a folder (--against DIR)")

    def apply_render(
        self, ctx: RenderContext, plan: Plan, artifacts: list[Artifact], progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        """Against a folder: what the target does before the render is written there (the docker target
        builds its image). Default: nothing."""
        return ApplyResult()

    def destroy(self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None) -> ApplyResult:
        """Remove everything modeldeploy created for this deployment, nothing else."""
        raise PlanError(f"target {self.kind!r} cannot be destroyed live", hint="destroy against a folder (--against DIR)")

    def lease(self, ctx: RenderContext, options: ObserveOptions) -> LeaseBackend | None:
        """Where live apply/destroy keep this deployment's lease (see modeldeploy.lease); None: no lease.
        A live target overrides this and builds its backend here (the built-in ones import it from
        their own ``lease`` module)."""
        return None

    def register_model(self, ctx: RenderContext, artifacts: list[Artifact], progress: Progress) -> str | None:
        """For targets with ``registers_model`` whose registry is separate from the deployment
        (SageMaker model packages): register after a successful apply, idempotent per model digest,
        and return what was registered. Targets that register inside apply() return None."""
        return None

    def serving_images(self, ctx: RenderContext) -> list[tuple[str, tuple[Any, ...]]]:
        """The final image references this target runs, each with the deploy.yaml key it comes from
        (for a located warning when one names no registry host). Default: none."""
        return []

    def plan_notes(self, ctx: RenderContext) -> list[str]:
        """What the spec asks for that this target does not carry out as written (shown as notes in
        every plan, so a reviewer sees it before apply rather than after)."""
        return []

    def planned_registration(self, ctx: RenderContext) -> Mapping[str, Any] | None:
        """Read-only counterpart of register_model for live plans: {"address", "action": "create" |
        "no-op", "after": {...}}; None when the target registers inside apply()."""
        return None


def registry_host(image: str) -> str | None:
    """The registry host of an image reference, or None when it names none (``iris:1``,
    ``team/iris:1``: the runtime would pull it from Docker Hub). The first path component is a host
    when it has a dot or a port, or is ``localhost`` (the Docker reference grammar)."""
    first, sep, _ = image.partition("/")
    if not sep:
        return None
    return first if ("." in first or ":" in first or first == "localhost") else None


def image_host_warnings(target: Target, ctx: RenderContext) -> list[tuple[str, tuple[Any, ...]]]:
    """(message, deploy.yaml key) for each image the target runs that names no registry host."""
    out = []
    for image, where in target.serving_images(ctx):
        if registry_host(image) is None:
            out.append((
                f"image {image!r} names no registry host: a {target.kind} deployment would pull it from Docker Hub "
                "(or not at all); give target.registry or a full reference REGISTRY/NAME:TAG",
                where,
            ))
    return out
