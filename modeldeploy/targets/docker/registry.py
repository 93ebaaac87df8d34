"""Targets that set ``registry`` (kubernetes, sagemaker) render the docker target's build context beside their
own files (under ``image/``) and reference ``REGISTRY/NAME:<12 hex of the context digest>``, so the
reference is known, and byte-stable, before anything is built; ``ensure_image`` builds and pushes it
with the shared builder in ``build.py``. ``ImageAuxiliary`` is the image as a resource of a live plan
(create when the registry lacks the tag, no-op when it has it), which apply builds and pushes before
the target's own apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, Literal

from modeldeploy.planning.plan import Action, Change
from modeldeploy.planning.resources import ApplyResult
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.base import Auxiliary
from modeldeploy.targets.docker.build import (
    build_image,
    context_digest,
    docker_cli,
    ecr_login,
    push_image,
    registry_basic,
    registry_has,
)

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.planning.options import ObserveOptions
    from modeldeploy.progress import Progress

IMAGE_DIR = "image"


# ---------------------------------------------------------------- render (pure)


def builds_image(ctx: RenderContext) -> bool:
    """True when this (non-docker) deployment's image is modeldeploy's to build: target.registry is set."""
    return ctx.spec.target.kind != "docker" and getattr(ctx.spec.target, "registry", None) is not None


def build_context(ctx: RenderContext) -> list[Artifact]:
    """The docker target's build context for this deployment, with the target's build keys
    (base_image, platform, build) carried over; paths relative to the context root."""
    from modeldeploy.spec.targets.docker import DockerTarget
    from modeldeploy.targets.docker.target import DockerTargetImpl

    t = ctx.spec.target
    docker = DockerTarget(
        kind="docker",
        base_image=t.base_image,
        platform=t.platform,
        build=t.build,
        # SageMaker's container contract runs the image as root.
        run_as_root=t.kind == "sagemaker",
    )
    return DockerTargetImpl().render(replace(ctx, spec=ctx.spec.model_copy(update={"target": docker})))


def image_reference(ctx: RenderContext, artifacts: Sequence[Artifact] | None = None) -> str:
    """REGISTRY/NAME:<first 12 hex of the build context's digest>."""
    ctx_files = build_context(ctx) if artifacts is None else artifacts
    return f"{ctx.spec.target.registry}/{ctx.spec.name}:{context_digest(ctx_files)[:12]}"


def context_artifacts(ctx: RenderContext) -> list[Artifact]:
    """The build context as artifacts under ``image/``, for a target to render beside its own files."""
    out = []
    for a in build_context(ctx):
        path = f"{IMAGE_DIR}/{a.path}"
        if a.file is not None:
            out.append(
                Artifact.from_file(
                    path, a.media_type, a.file, sha256=a.digest[7:], size=a.size, source=a.source, mode=a.mode
                )
            )
        else:
            out.append(Artifact(path, a.media_type, a.content, sensitive=a.sensitive, source=a.source, mode=a.mode))
    return out


def split_context(artifacts: Sequence[Artifact]) -> list[Artifact]:
    """The ``image/`` artifacts of a render, back at the context root."""
    out = []
    for a in artifacts:
        if not a.path.startswith(IMAGE_DIR + "/"):
            continue
        path = a.path[len(IMAGE_DIR) + 1 :]
        if a.file is not None:
            out.append(
                Artifact.from_file(
                    path, a.media_type, a.file, sha256=a.digest[7:], size=a.size, source=a.source, mode=a.mode
                )
            )
        else:
            out.append(Artifact(path, a.media_type, a.content, sensitive=a.sensitive, source=a.source, mode=a.mode))
    return out


# ---------------------------------------------------------------- the whole step


def ensure_image(
    ctx: RenderContext, artifacts: Sequence[Artifact], progress: Progress, *, push: bool = True
) -> tuple[str, str]:
    """Build (and push) the image a registry deployment references unless the registry has it.
    Returns (reference, what happened: "present" | "built" | "pushed")."""
    context = split_context(artifacts) or build_context(ctx)
    ref = image_reference(ctx, context)
    docker = docker_cli()
    if push:
        ecr_login(ctx.spec.target.registry, progress, docker=docker)
        if registry_has(ref):
            progress.step(f"{ref}: already in the registry")
            return ref, "present"
    build_image(context, ref, progress, platform=ctx.spec.target.platform, build=ctx.spec.target.build, docker=docker)
    if not push:
        return ref, "built"
    push_image(ref, progress, docker=docker)
    return ref, "pushed"


# ---------------------------------------------------------------- the image as a plan resource


class ImageAuxiliary(Auxiliary):
    """The serving image of a ``registry`` deployment: planned by asking the registry for its tag,
    built and pushed by apply before the target touches the cluster or the cloud."""

    stage: ClassVar[Literal["before", "after"]] = "before"

    def __init__(self, ctx: RenderContext, artifacts: Sequence[Artifact]) -> None:
        self.ctx, self.artifacts = ctx, list(artifacts)
        self.context = split_context(self.artifacts) or build_context(ctx)
        self.reference = image_reference(ctx, self.context)
        self.address = f"image.{ctx.spec.name}"

    def plan(self, options: ObserveOptions) -> Change:
        present = registry_has(self.reference, basic=registry_basic(self.ctx.spec.target.registry))
        after = {"reference": self.reference}
        return Change(
            address=self.address,
            kind="image",
            name=self.reference,
            action=Action.NOOP if present else Action.CREATE,
            before=after if present else None,
            after=after,
            diff=""
            if present
            else f"+reference: {self.reference}  (not in the registry: apply builds and pushes it first)",
        )

    def apply(self, progress: Progress, options: ObserveOptions) -> ApplyResult:
        ref, happened = ensure_image(self.ctx, self.artifacts, progress, push=True)
        return ApplyResult(changed=(self.address,) if happened != "present" else (), outputs={"image": ref})
