"""What goes into the image besides the model: the Python version, the requirements and the labels."""

from __future__ import annotations

import re

from modeldeploy.errors import RenderError, show_dotted
from modeldeploy.rendering.context import RenderContext

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
            raise RenderError(
                f"requirements.txt refers to another file ({line!r}); inline it in the model's requirements"
            )
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
            raise RenderError(
                f"{where}: the key is reserved (modeldeploy sets io.modeldeploy.* and the image title; Docker reserves com.docker.*, io.docker.* and org.dockerproject.*)"
            )
        out.append((key, value))
    return out
