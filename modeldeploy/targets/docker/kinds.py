"""Docker build contexts for custom and Triton models (MLflow models are rendered in target.py).

custom: your code is copied to /opt/ml/code and served by modeldeploy's stdlib HTTP server
(templates/docker/custom_server.py: /ping and /invocations on 8080, `serve` for SageMaker) — or,
when ``model.entry`` is a command, by that command. The environment is ``python:<version>`` with
your requirements (a conda file's pins are translated as for MLflow models), or your image
(``model.environment.image``) with the requirements installed into it.

triton: ``FROM nvcr.io/nvidia/tritonserver:<target.triton_version>-py3`` with the repository copied to
/models, running as the image's non-root user, with a HEALTHCHECK on Triton's /v2/health/ready.
"""

from __future__ import annotations

import hashlib
import shlex

from modeldeploy.errors import RenderError
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.rendering.jinja import render_template, templates_dir
from modeldeploy.rendering.model_files import model_artifacts
from modeldeploy.rendering.serving import serving_env
from modeldeploy.targets.docker.image import image_labels

TRITON_REGISTRY = "nvcr.io/nvidia/tritonserver"
TRITON_HTTP_PORT = 8000
DOCKERIGNORE = b"**/__pycache__\n**/*.pyc\n.git\n"


def _common(ctx: RenderContext, notes: list[str]) -> dict[str, object]:
    spec = ctx.spec
    return {
        "tool_version": ctx.tool_version,
        "name": spec.name,
        "env": ctx.env,
        "notes": notes,
        "model_uri": ctx.ref.pinned_uri,
        "model_digest": ctx.ref.digest,
        "signature_json": ctx.model.signature.canonical_json() if ctx.model.signature is not None else "",
        "env_vars": sorted(spec.serving.env.items()),
        "secret_names": sorted(spec.serving.secrets),
        "labels": image_labels(ctx),
    }


# --- custom ----------------------------------------------------------------------------------------


def code_artifacts(ctx: RenderContext, prefix: str = "code") -> list[Artifact]:
    from modeldeploy.model.custom import code_files, code_folder

    return [
        Artifact(f"{prefix}/{rel}", "application/octet-stream", content, source=f"code/{rel}", mode=mode)
        for rel, content, mode in code_files(code_folder(ctx.spec.model, ctx.base_dir))
    ]


def custom_tag(ctx: RenderContext) -> str:
    """12 hex of sha256(model digest + code digest + environment file/image): the default image tag."""
    from modeldeploy.model.custom import code_digest, code_folder

    env = ctx.spec.model.environment
    parts = [
        ctx.ref.digest,
        code_digest(code_folder(ctx.spec.model, ctx.base_dir)),
        str(ctx.spec.model.entry),
        repr(env.model_dump() if env else None),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def entry_command(entry: str) -> list[str] | None:
    """None for a module entry (score.py), else the command as an exec-form list."""
    from modeldeploy.model.custom import is_module_entry

    if is_module_entry(entry):
        return None
    try:
        argv = shlex.split(entry)
    except ValueError as exc:
        raise RenderError(f"model.entry {entry!r} is not a valid command: {exc}") from None
    if not argv:
        raise RenderError("model.entry is empty")
    return argv


def render_custom(ctx: RenderContext) -> list[Artifact]:
    from modeldeploy.model.custom import code_digest, code_folder
    from modeldeploy.targets.docker.image import python_version, requirements

    spec = ctx.spec
    target = spec.target
    env = spec.model.environment
    entry = spec.model.entry or ""
    user_image = env.image if env else None
    if user_image and target.base_image:
        raise RenderError("set the image in model.environment.image or target.base_image, not both")
    notes: list[str] = []
    reqs, req_notes = requirements(ctx, add_mlflow=False)
    notes += req_notes
    if env is None:
        notes.append("model.environment is not set: the image has the Python standard library and no requirements")
    if user_image:
        base, build, two_stage = user_image, "", False
    else:
        py, py_notes = python_version(ctx)
        notes += py_notes
        base = target.base_image or f"python:{py}-slim"
        build = target.base_image or f"python:{py}"
        two_stage = True
    command = entry_command(entry)
    if spec.resources.gpu:
        notes.append(f"resources.gpu {spec.resources.gpu}: run with docker run --gpus {spec.resources.gpu}")
    dockerfile = render_template(
        "docker/Dockerfile.custom.j2",
        **_common(ctx, notes),
        two_stage=two_stage,
        install_in_final=bool(user_image and (env and (env.conda_file or env.requirements_file))),
        build_image=build,
        base_image=base,
        pip_index_url=target.pip_index_url,
        serving_env=sorted(serving_env(spec.serving).items()),
        entry_module=None if command else entry[:-3].replace("/", "."),
        code_digest=code_digest(code_folder(spec.model, ctx.base_dir)),
        command=command or [],
        run_as_root=target.run_as_root,
    )
    folder = templates_dir() / "docker"
    return [
        Artifact("Dockerfile", "text/x-dockerfile", dockerfile.encode()),
        Artifact(".dockerignore", "text/plain", DOCKERIGNORE),
        Artifact("requirements.txt", "text/plain", ("\n".join(reqs) + "\n").encode() if reqs else b""),
        Artifact("server.py", "text/x-python", (folder / "custom_server.py").read_bytes()),
        Artifact("entrypoint.py", "text/x-python", (folder / "entrypoint.py").read_bytes()),
        *code_artifacts(ctx),
        *model_artifacts(ctx),
    ]


# --- triton ----------------------------------------------------------------------------------------


def triton_image(version: str) -> str:
    return f"{TRITON_REGISTRY}:{version}-py3"


def repository_prefix(ctx: RenderContext, root: str = "models") -> str:
    """Where the model folder goes in the image's repository: a single model folder becomes
    ``<root>/<model name>``; a repository is copied as it is."""
    repo = getattr(ctx.model, "repository", None)
    if repo is None:
        raise RenderError("model.type triton: the model was not read as a Triton repository")
    return f"{root}/{repo.models[0].name}" if repo.single else root


def triton_command(model_repository: str = "/models") -> list[str]:
    return ["tritonserver", f"--model-repository={model_repository}", f"--http-port={TRITON_HTTP_PORT}"]


def render_triton(ctx: RenderContext) -> list[Artifact]:
    spec = ctx.spec
    target = spec.target
    notes: list[str] = []
    if spec.resources.gpu:
        notes.append(f"resources.gpu {spec.resources.gpu}: run with docker run --gpus {spec.resources.gpu}")
    dockerfile = render_template(
        "docker/Dockerfile.triton.j2",
        **_common(ctx, notes),
        base_image=target.base_image or triton_image(target.triton_version),
        command=triton_command(),
    )
    return [
        Artifact("Dockerfile", "text/x-dockerfile", dockerfile.encode()),
        Artifact(".dockerignore", "text/plain", DOCKERIGNORE),
        *model_artifacts(ctx, prefix=repository_prefix(ctx)),
    ]
