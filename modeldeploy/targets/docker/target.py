"""The docker target: a complete, reproducible build context for the model's scoring server.

What it fixes compared with ``mlflow models generate-dockerfile`` (FIELD-NOTES): the base image is
``python:<the model's python_version>-slim`` (overridable) instead of ubuntu + pyenv + Java + maven;
compilers live only in the build stage; dependencies are a layer of their own before the model; the
environment is installed at build time (nothing is created at container start); it runs as a non-root
user with a HEALTHCHECK on /ping; the request body limit and timeout are settings, not a fixed 5 MB.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from modeldeploy.errors import ApplyError, RenderError, show_dotted
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.jinja import render_template, templates_dir
from modeldeploy.rendering.model_files import model_artifacts
from modeldeploy.rendering.serving import serving_env
from modeldeploy.targets.base import ApplyResult, RenderContext, Target

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.planning.model import Plan
    from modeldeploy.progress import Progress

DEFAULT_PYTHON = "3.11"
# Conda packages that are the interpreter or its tooling, not model dependencies.
_CONDA_SKIP = {"python", "pip", "setuptools", "wheel", "conda"}


def python_version(ctx: RenderContext) -> tuple[str, list[str]]:
    """The model's Python version: MLmodel python_function.python_version, else conda's python pin."""
    notes: list[str] = []
    v = ctx.model.python_version
    if not v and ctx.model.conda:
        for dep in ctx.model.conda.get("dependencies") or []:
            if isinstance(dep, str) and re.match(r"python\s*[=<>]", dep):
                v = re.split(r"[=<>]+", dep, maxsplit=1)[1].strip().rstrip("*").rstrip(".")
    if not v:
        notes.append(f"the model records no Python version; using {DEFAULT_PYTHON}")
        v = DEFAULT_PYTHON
    if not re.fullmatch(r"3\.[0-9]+(\.[0-9]+)?", v):
        raise RenderError(f"model python_version {v!r} is not a CPython 3 version")
    return v, notes


def requirements(ctx: RenderContext, *, add_mlflow: bool = True) -> tuple[list[str], list[str]]:
    """pip requirement lines for the image, and notes about what had to be translated or added.
    ``add_mlflow`` False (custom models): the image does not serve with MLflow, so none is added."""
    notes: list[str] = []
    reqs = [r.strip() for r in ctx.model.requirements if r.strip() and not r.strip().startswith("#")]
    source = getattr(ctx.model, "requirements_source", None)
    if ctx.model.conda and source in (None, "conda.yaml"):
        # Conda-only model (MLflow < 1.20 or a hand-written conda.yaml): besides its pip section,
        # translate conda pins (name=1.2) to pip pins (name==1.2).
        translated = []
        for dep in ctx.model.conda.get("dependencies") or []:
            if isinstance(dep, dict):
                translated.extend(str(x).strip() for x in dep.get("pip") or [] if str(x).strip() not in reqs)
            elif isinstance(dep, str):
                name = re.split(r"[=<>! ]", dep, maxsplit=1)[0].split("::")[-1]
                if name.lower() in _CONDA_SKIP:
                    continue
                m = re.fullmatch(r"([A-Za-z0-9_.\-]+(?:::[A-Za-z0-9_.\-]+)?)=([0-9][^=\s]*)(=.*)?", dep.strip())
                translated.append(f"{m.group(1).split('::')[-1]}=={m.group(2)}" if m else name)
        if any(t not in reqs for t in translated):
            notes.append("requirements translated from conda.yaml (conda-only model)")
        reqs = [t for t in translated if t not in reqs] + reqs
    for line in reqs:
        if line.startswith("-") and not line.startswith(("-r ", "-c ")):
            continue
        if any(ch in line for ch in "\n\r\x00"):
            raise RenderError(f"requirement line contains a control character: {line!r}")
    names = {re.split(r"[=<>!~\[ ;@]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}
    if add_mlflow and not names & {"mlflow", "mlflow-skinny"}:
        pin = f"=={ctx.model.mlflow_version}" if ctx.model.mlflow_version else ""
        reqs.append(f"mlflow-skinny{pin}")
        notes.append("the model's requirements do not name mlflow; added mlflow-skinny" + pin)
    for extra in ctx.spec.target.extra_requirements if ctx.spec.target.kind == "docker" else ():
        if extra not in reqs:
            reqs.append(extra)
    # `-r`/`-c` lines point at files the build context does not have: refuse them clearly.
    for line in reqs:
        if line.startswith(("-r ", "-c ", "--requirement", "--constraint")):
            raise RenderError(f"requirements.txt refers to another file ({line!r}); inline it in the model's requirements")
    return reqs, notes


def mlflow_major(ctx: RenderContext, reqs: list[str]) -> int:
    for r in reqs:
        m = re.match(r"mlflow(?:-skinny)?\s*==\s*([0-9]+)", r)
        if m:
            return int(m.group(1))
    if ctx.model.mlflow_version:
        return int(ctx.model.mlflow_version.split(".")[0])
    return 3


# Label keys the image already carries (modeldeploy's own) or that Docker reserves for itself.
_OWN_LABELS = ("io.modeldeploy.", "org.opencontainers.image.title")
_DOCKER_RESERVED = ("com.docker.", "io.docker.", "org.dockerproject.")
_LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
LABEL_KEY_MAX = 256  # no Docker limit; the same bound as Kubernetes' prefix/name keys (253 + 63 is more)


def image_labels(ctx: RenderContext) -> list[tuple[str, str]]:
    """deploy.yaml labels as image LABELs, sorted by key. A key that is not a plain word (letters,
    digits, ``_ . - /``), or that would overwrite modeldeploy's own labels or a namespace Docker
    reserves, is refused naming the label; values are any single line (``dockerfile_value`` escapes)."""
    out = []
    for key, value in sorted((str(k), str(v)) for k, v in ctx.spec.labels.items()):
        where = show_dotted("labels", key if len(key) <= 64 else key[:64] + "...")
        if not _LABEL_KEY.fullmatch(key) or len(key) > LABEL_KEY_MAX:
            raise RenderError(
                f"{where}: a Docker label key here is letters, digits, '_', '.', '-' and '/' "
                f"(at most {LABEL_KEY_MAX}, starting with a letter or '_')"
            )
        if key.startswith(_OWN_LABELS) or key.startswith(_DOCKER_RESERVED):
            raise RenderError(f"{where}: the key is reserved (modeldeploy sets io.modeldeploy.* and the image title; Docker reserves com.docker.*, io.docker.* and org.dockerproject.*)")
        out.append((key, value))
    return out


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
            serving_env=sorted(serving_env(spec.serving).items()),
            env_vars=sorted(spec.serving.env.items()),
            secret_names=sorted(spec.serving.secrets),
            run_as_root=target.run_as_root,
            labels=image_labels(ctx),
        )
        serving = ["# Serving dependencies added by modeldeploy (versions bounded by the model's mlflow)."]
        if mlflow_major(ctx, reqs) < 3:
            serving += ["gunicorn", "flask"]
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

    def apply(self, ctx: RenderContext, plan: Plan, artifacts: list[Artifact], progress: Progress) -> ApplyResult:
        """Build (and with push: true, push) the image with the docker CLI from the rendered context."""
        docker = shutil.which("docker")
        if docker is None:
            raise ApplyError("docker CLI not found on PATH; install Docker to build the image (the rendered context is still usable)")
        probe = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
        if probe.returncode != 0:
            first = (probe.stderr or probe.stdout).strip().splitlines()
            raise ApplyError(
                "no Docker engine is reachable ("
                + (first[0] if first else "docker info failed")
                + "); start one or build the rendered context elsewhere with 'docker build'"
            )
        import tempfile

        from modeldeploy.rendering.write import write_tree

        image = image_reference(ctx)
        with tempfile.TemporaryDirectory(prefix="modeldeploy-build-") as tmp:
            write_tree(Path(tmp), artifacts)
            cmd = [docker, "build", "--tag", image]
            if ctx.spec.target.platform:
                cmd += ["--platform", ctx.spec.target.platform]
            cmd.append(tmp)
            progress.step(f"docker build --tag {image}")
            _run(cmd, progress)
        if ctx.spec.target.push:
            progress.step(f"docker push {image}")
            _run([docker, "push", image], progress)
        return ApplyResult(changed=(f"image.{image}",), outputs={"image": image})


def _run(cmd: list[str], progress: Progress) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        progress.step(line.rstrip())
    if proc.wait() != 0:
        raise ApplyError(f"{' '.join(cmd[:2])} failed (exit {proc.returncode}): " + (tail[-1] if tail else ""))


def _check_dockerfile(text: str) -> None:
    """Parse-back check: every line is a comment, blank, a continuation, or a known instruction."""
    known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
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

