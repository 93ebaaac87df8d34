"""The Target interface every deployment target implements.

render() is pure: no clock, no os.environ, no network, no randomness — everything it may depend on is
in the RenderContext. observe() is read-only. apply() and destroy() are the only mutating calls.
Targets import their SDK (boto3, azure.ai.ml, kubernetes) inside observe/apply, never at module level.

The data the contract speaks in lives in the layer that owns it and is re-exported here for plugin
authors: ModelRef (model), RenderContext and Artifact (rendering), Resource, LiveResource, Observed,
ApplyResult, ObserveOptions and Plan (planning). The planning types are imported on first use of
their name here (``render`` and ``validate`` need none of them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from modeldeploy.errors import PlanError
from modeldeploy.model.ref import ModelRef
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.planning.options import ObserveOptions, RunShared
    from modeldeploy.planning.plan import Change, Plan
    from modeldeploy.planning.resources import ApplyResult, LiveResource, Observed, Resource
    from modeldeploy.progress import Progress

__all__ = [
    "ApplyResult",
    "Artifact",
    "Auxiliary",
    "MlflowRegistration",
    "LiveResource",
    "ModelRef",
    "ObserveOptions",
    "Observed",
    "RenderContext",
    "Resource",
    "RunShared",
    "Target",
]


class Auxiliary(ABC):
    """A resource a deployment needs beside the target's own objects, carried out by apply on one side
    of the target's apply: ``stage = "before"`` (the serving image: built and pushed before anything
    refers to it) or ``"after"`` (the model's registration: only once the deployment succeeded).

    An instance is made per call by ``Target.auxiliaries`` and holds the deployment it is for; like a
    target it keeps nothing between calls. A live plan shows ``plan()``'s change among the target's
    own; a plan against a folder or a git ref reads nothing and shows ``review()`` as a note."""

    stage: ClassVar[Literal["before", "after"]]
    address: str

    def review(self) -> str | None:
        """What apply will do, in words, for plans that read no live state (None: nothing to say, e.g.
        the image, whose reference change already shows in the rendered files)."""
        return None

    @abstractmethod
    def plan(self, options: ObserveOptions) -> Change:
        """Read-only: the change apply would make (create, or no-op when it is there already)."""

    @abstractmethod
    def apply(self, progress: Progress, options: ObserveOptions) -> ApplyResult:
        """Make it so; idempotent (a second call creates nothing)."""


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
    #: True when the target registers ``model.register`` in its own registry (Azure ML model assets
    #: inside apply, SageMaker model packages as an auxiliary); otherwise the default ``auxiliaries``
    #: register it in MLflow's.
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

    def live_by_default(self, ctx: RenderContext) -> bool:
        """Whether plan/apply/destroy compare with live state when no --against is given (default:
        ``default_against == "live"``; the docker target goes live when deploy.yaml has target.run)."""
        return self.default_against == "live"

    @abstractmethod
    def render(self, ctx: RenderContext) -> list[Artifact]:
        """Pure: the files for this deployment, in any order (callers sort by path)."""

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        """The live objects the artifacts describe (cloud targets)."""
        raise PlanError(
            f"target {self.kind!r} has no live state",
            hint="plan it against a folder (--against DIR) or a git ref (--against git:REF)",
        )

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        """Read-only: what exists now for this deployment."""
        raise PlanError(
            f"target {self.kind!r} has no live state",
            hint="plan it against a folder (--against DIR) or a git ref (--against git:REF)",
        )

    def apply(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        """Make the live state match the plan; wait until ready; leave nothing half-done. ``options`` are
        the run's (the library always passes them; None: ``plan.options``, else the defaults);
        ``plan.observed`` is what observe() returned for a live plan."""
        raise PlanError(f"target {self.kind!r} cannot be applied live", hint="apply against a folder (--against DIR)")

    def apply_render(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        """Against a folder: what the target does before the render is written there (the docker target
        builds its image). Default: nothing."""
        from modeldeploy.planning.resources import ApplyResult

        return ApplyResult()

    def destroy(
        self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None
    ) -> ApplyResult:
        """Remove everything modeldeploy created for this deployment, nothing else."""
        raise PlanError(
            f"target {self.kind!r} cannot be destroyed live", hint="destroy against a folder (--against DIR)"
        )

    def lease(self, ctx: RenderContext, options: ObserveOptions) -> LeaseBackend | None:
        """Where live apply/destroy keep this deployment's lease (see modeldeploy.lease); None: no lease.
        A live target overrides this and builds its backend here (the built-in ones import it from
        their own ``lease`` module)."""
        return None

    def serving_images(self, ctx: RenderContext) -> list[tuple[str, tuple[Any, ...]]]:
        """The final image references this target runs, each with the deploy.yaml key it comes from
        (for a located warning when one names no registry host). Default: none."""
        return []

    def plan_notes(self, ctx: RenderContext) -> list[str]:
        """What the spec asks for that this target does not carry out as written (shown as notes in
        every plan, so a reviewer sees it before apply rather than after)."""
        return []

    def auxiliaries(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Auxiliary]:
        """The resources apply handles around this target's own (see Auxiliary). Default:
        ``model.register`` as a new MLflow model version when the target has no registry of its own
        (after). A target whose image modeldeploy builds puts ``ImageAuxiliary``
        (modeldeploy.targets.docker.registry) first; one with its own registry adds its registration."""
        if ctx.spec.model.registration is not None and not self.registers_model:
            return [MlflowRegistration(ctx)]
        return []


class MlflowRegistration(Auxiliary):
    """``model.register`` on a target without a registry of its own: a new MLflow model version after a
    successful apply. Idempotent by model digest: the same digest never makes a new version. Plans
    against a folder or a git ref say what apply will do without asking the registry, so a pull request
    needs no credentials."""

    stage: ClassVar[Literal["before", "after"]] = "after"

    def __init__(self, ctx: RenderContext) -> None:
        reg = ctx.spec.model.registration
        assert reg is not None
        self.ctx, self.reg = ctx, reg
        self.address = f"mlflow_model_version.{reg.name}"

    def review(self) -> str:
        return (
            f"apply registers the model in the MLflow registry as {self.reg.name!r} (a new version unless one "
            f"with digest {self.ctx.ref.digest[:19]}… exists)"
        )

    def plan(self, options: ObserveOptions) -> Change:
        from modeldeploy.model.register import planned_registration
        from modeldeploy.planning.plan import Action, Change

        planned = planned_registration(self.ctx.ref, self.reg, tracking_uri=self.ctx.spec.model.tracking_uri)
        after = {"name": self.reg.name, "digest": self.ctx.ref.digest, "tags": dict(sorted(self.reg.tags.items()))}
        return Change(
            address=self.address,
            kind="mlflow_model_version",
            name=self.reg.name,
            action=Action.NOOP if planned.action == "no-op" else Action.CREATE,
            before={**after, "version": planned.version} if planned.version else None,
            after=after,
        )

    def apply(self, progress: Progress, options: ObserveOptions) -> ApplyResult:
        from modeldeploy.model.register import register_mlflow
        from modeldeploy.planning.resources import ApplyResult

        version = register_mlflow(
            self.ctx.ref, self.reg, tracking_uri=self.ctx.spec.model.tracking_uri, progress=progress
        )
        progress.done(f"registered {self.reg.name} version {version}")
        return ApplyResult(changed=(self.address,), outputs={"registered_version": f"{self.reg.name}/{version}"})


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
            out.append(
                (
                    f"image {image!r} names no registry host: a {target.kind} deployment would pull it from Docker Hub "
                    "(or not at all); give target.registry or a full reference REGISTRY/NAME:TAG",
                    where,
                )
            )
    return out


_PLANNING = {"ObserveOptions", "RunShared", "ApplyResult", "LiveResource", "Observed", "Resource"}


def __getattr__(name: str) -> Any:
    # The planning types re-exported for plugin authors, imported when first asked for.
    if name in ("ObserveOptions", "RunShared"):
        from modeldeploy.planning import options

        return getattr(options, name)
    if name in _PLANNING:
        from modeldeploy.planning import resources

        return getattr(resources, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
