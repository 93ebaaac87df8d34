"""The docker target: a complete, reproducible build context for the model's scoring server.

What it fixes compared with ``mlflow models generate-dockerfile``: the base image is
``python:<the model's python_version>-slim`` (overridable) instead of ubuntu + pyenv + Java + maven;
compilers live only in the build stage; dependencies are a layer of their own before the model; the
environment is installed at build time (nothing is created at container start); it runs as a non-root
user with a HEALTHCHECK on /ping; the request body limit and timeout are settings, not a fixed 5 MB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modeldeploy.errors import RenderError
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.rendering.jinja import render_template, templates_dir
from modeldeploy.rendering.model_files import model_artifacts
from modeldeploy.rendering.serving import serving_env
from modeldeploy.spec.targets.docker import DockerTarget
from modeldeploy.targets.base import Target
from modeldeploy.targets.docker.image import (  # noqa: F401  (re-exported)
    DEFAULT_PYTHON,
    LABEL_KEY_MAX,
    image_labels,
    mlflow_major,
    python_version,
    requirements,
    serving_requirements,
    uv_supports,
)

if TYPE_CHECKING:  # pragma: no cover (planning is imported by the calls that plan, not by render)
    from modeldeploy.planning.options import ObserveOptions
    from modeldeploy.planning.plan import Plan
    from modeldeploy.planning.resources import ApplyResult, Observed, Resource
    from modeldeploy.progress import Progress


def image_reference(ctx: RenderContext) -> str:
    """target.image, else NAME:<12 hex>: of the model digest, or for custom models of the model and
    code digests together (a code-only change is a new image)."""
    if ctx.spec.target.image:
        return ctx.spec.target.image
    if ctx.spec.model.type == "custom":
        from modeldeploy.targets.docker.kinds import custom_tag

        return f"{ctx.spec.name}:{custom_tag(ctx)}"
    return f"{ctx.spec.name}:{ctx.ref.short_digest}"


class DockerTargetImpl(Target):
    kind = "docker"
    config_model = DockerTarget
    default_against = "dir"
    extra = None

    def render(self, ctx: RenderContext) -> list[Artifact]:
        if ctx.spec.model.type != "mlflow":
            from modeldeploy.targets.docker.kinds import render_custom, render_triton

            artifacts = render_custom(ctx) if ctx.spec.model.type == "custom" else render_triton(ctx)
            _check_dockerfile(next(a.content.decode() for a in artifacts if a.path == "Dockerfile"))
            return artifacts
        return self._render_mlflow(ctx)

    def _render_mlflow(self, ctx: RenderContext) -> list[Artifact]:
        spec = ctx.spec
        target = spec.target
        py, notes = python_version(ctx)
        reqs, req_notes = requirements(ctx)
        notes += req_notes
        base = target.base_image or f"python:{py}-slim"
        build = target.base_image or f"python:{py}"
        dockerfile = render_template(
            "docker/Dockerfile.j2",
            tool_version=ctx.tool_version,
            name=spec.name,
            env=ctx.env,
            notes=notes,
            model_uri=ctx.ref.pinned_uri,
            model_digest=ctx.ref.digest,
            signature_json=ctx.model.signature.canonical_json() if ctx.model.signature is not None else "",
            build_image=build,
            base_image=base,
            pip_index_url=target.pip_index_url,
            use_uv=uv_supports(py),
            serving_env=sorted(serving_env(spec.serving).items()),
            env_vars=sorted(spec.serving.env.items()),
            secret_names=sorted(spec.serving.secrets),
            run_as_root=target.run_as_root,
            labels=image_labels(ctx),
        )
        serving = serving_requirements(ctx, reqs)
        entrypoint = (templates_dir() / "docker" / "entrypoint.py").read_bytes()
        artifacts = [
            Artifact("Dockerfile", "text/x-dockerfile", dockerfile.encode()),
            Artifact(".dockerignore", "text/plain", b"**/__pycache__\n**/*.pyc\n.git\n"),
            Artifact("requirements.txt", "text/plain", ("\n".join(reqs) + "\n").encode()),
            Artifact("serving-requirements.txt", "text/plain", ("\n".join(serving) + "\n").encode()),
            Artifact("entrypoint.py", "text/x-python", entrypoint),
            *model_artifacts(ctx),
        ]
        _check_dockerfile(dockerfile)
        return artifacts

    def live_by_default(self, ctx: RenderContext) -> bool:
        """With ``target.run`` the deployment is a local container: plan/apply/destroy go live."""
        return ctx.spec.target.run is not None

    def _need_run(self, ctx: RenderContext, what: str) -> None:
        from modeldeploy.errors import PlanError

        if ctx.spec.target.run is None:
            raise PlanError(
                f"the docker target has live state only with target.run ({what})",
                hint="add target: {run: {port: 8080}} to run the image locally, or plan against a folder (--against DIR)",
            )

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        from modeldeploy.targets.docker import local

        self._need_run(ctx, "plan --against live")
        return local.desired(ctx, artifacts, image_reference(ctx))

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        from modeldeploy.targets.docker import local

        self._need_run(ctx, "plan --against live")
        return local.observe(ctx, desired)

    def apply(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        """Build the image, start (or replace) the deployment's container, wait for /ping, smoke-test it."""
        from modeldeploy.planning.options import ObserveOptions
        from modeldeploy.targets.docker import lifecycle

        self._need_run(ctx, "apply --against live")
        timeout = min((options or ObserveOptions()).timeout_seconds, lifecycle.READY_TIMEOUT)
        return lifecycle.apply(ctx, artifacts, image_reference(ctx), progress, timeout=timeout)

    def destroy(
        self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None
    ) -> ApplyResult:
        from modeldeploy.targets.docker import lifecycle

        self._need_run(ctx, "destroy --against live")
        return lifecycle.destroy(ctx, progress)

    def apply_render(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        """The docker target's deployment is the image: build (and with push: true, push) it with the
        docker CLI from the rendered context, before apply records the render in the folder."""
        from modeldeploy.planning.resources import ApplyResult
        from modeldeploy.targets.docker.build import build_image, docker_cli, push_image

        docker = docker_cli()
        image = image_reference(ctx)
        build_image(
            artifacts, image, progress, platform=ctx.spec.target.platform, build=ctx.spec.target.build, docker=docker
        )
        if ctx.spec.target.push:
            push_image(image, progress, docker=docker)
        return ApplyResult(changed=(f"image.{image}",), outputs={"image": image})


def _check_dockerfile(text: str) -> None:
    """Parse-back check: every line is a comment, blank, a continuation, or a known instruction."""
    known = {
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    }
    continued = False
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if continued:
            continued = stripped.endswith("\\")
            continue
        if not stripped or stripped.startswith("#"):
            continue
        word = stripped.split(None, 1)[0]
        if word not in known:
            raise RenderError(f"rendered Dockerfile line {n} does not start with an instruction: {line!r}")
        continued = stripped.endswith("\\")
