"""What goes into the image besides the model: the Python version, the requirements and the labels."""

from __future__ import annotations

import re

from modeldeploy.errors import RenderError, show_dotted
from modeldeploy.rendering.context import RenderContext

DEFAULT_PYTHON = "3.11"
# Conda packages that are the interpreter or its tooling, not model dependencies.
_CONDA_SKIP = {"python", "pip", "setuptools", "wheel", "conda"}


def uv_supports(python: str) -> bool:
    """Whether the build stage installs with uv (pinned in Dockerfile.j2): it runs for Python 3.8 and
    newer; older interpreters (3.6/3.7 models from MLflow 1.x) install with pip."""
    return tuple(int(x) for x in python.split(".")[:2]) >= (3, 8)


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
    if add_mlflow:
        reqs, swap_notes = _skinny(reqs)
        notes += swap_notes
    names = _names(reqs)
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


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[=<>!~\[ ;@]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


# `mlflow` as the model names it: a name, optional extras, then a specifier and markers or a URL.
_MLFLOW_REQ = re.compile(r"(?i)mlflow\s*(?P<extras>\[[^\]]*\])?\s*(?P<rest>[=<>!~;@\s].*)?")
_BOUND = re.compile(r"(===?|<=?)\s*([0-9]+(?:\.[0-9]+)*)")
# mlflow-skinny, the same release without the tracking server and UI, is published for every MLflow
# release from 1.14.0 on.
SKINNY_SINCE = (1, 14)


def _skinny(reqs: list[str]) -> tuple[list[str], list[str]]:
    """The full ``mlflow`` requirement swapped for ``mlflow-skinny`` with the same specifier and markers.
    The full package adds MLflow's tracking server and UI (SQLAlchemy, alembic, Flask, matplotlib,
    pyarrow, scipy, scikit-learn...), none of which scoring uses; what scoring does use that only the
    full package pulls in comes from :func:`serving_requirements`. Kept as it is: extras
    (``mlflow[gateway]``), a URL, or a specifier that only admits releases older than 1.14."""
    out, notes = [], []
    for line in reqs:
        m = _MLFLOW_REQ.fullmatch(line)
        rest = (m.group("rest") or "") if m else ""
        specifier = rest.split(";", 1)[0]
        if m is None or m.group("extras") or rest.lstrip().startswith("@") or _before_skinny(specifier):
            out.append(line)
            continue
        new = "mlflow-skinny" + rest
        out.append(new)
        notes.append(
            f"the model's requirements name the full mlflow package ({line}); installed {new} instead: "
            "the same scoring code without MLflow's tracking server and UI"
        )
    return out, notes


def _before_skinny(specifier: str) -> bool:
    """Whether the specifier pins or caps MLflow below the first release with an mlflow-skinny."""
    for op, version in _BOUND.findall(specifier):
        v = tuple(int(x) for x in version.split("."))
        if (op in ("==", "===", "<=") and v < SKINNY_SINCE) or (op == "<" and v <= SKINNY_SINCE):
            return True
    return False


# What the full mlflow package of each major line bounds, for the libraries MLflow's scoring server
# imports that mlflow-skinny does not install (numpy and pandas for pyfunc; Flask and gunicorn serve
# 1.x and early 2.x; FastAPI and uvicorn are in mlflow-skinny from late 2.x on). Conservative: the
# bounds of the line's first releases, which its later releases still accept.
_SCORING_BOUNDS = {1: ("numpy<2", "pandas<2"), 2: ("numpy<3", "pandas<3"), 3: ("numpy<3", "pandas<3")}


# A flavor's loader can need a package that the full mlflow depends on and mlflow-skinny does not:
# scikit-learn models saved in the skops format (MLflow 3's default) are loaded with skops.
_FLAVOR_NEEDS = ((("sklearn", "serialization_format", "skops"), "skops<1"),)


def serving_requirements(ctx: RenderContext, reqs: list[str]) -> list[str]:
    """The lines of serving-requirements.txt: the server the model's MLflow line scores with and,
    when the image installs mlflow-skinny, what the full package would have brought for scoring this
    model (numpy, pandas, a flavor's loader such as skops) unless the model's requirements name it."""
    major = mlflow_major(ctx, reqs)
    lines = ["# Serving dependencies added by modeldeploy (versions bounded by the model's mlflow)."]
    if major < 2:
        lines += ["gunicorn<21", "flask<3"]
    elif major == 2:
        # 2.x up to 2.20 serve a Flask app under gunicorn; from 2.21 a FastAPI app whose routes use
        # Starlette's `app.route`, which Starlette 1.0 removed.
        lines += ["gunicorn<24", "flask<3", "starlette<1"]
    names = _names(reqs)
    if "mlflow-skinny" in names and "mlflow" not in names:
        bounds = _SCORING_BOUNDS.get(major, _SCORING_BOUNDS[3])
        lines += [b for b in bounds if re.split(r"[<=>]", b, maxsplit=1)[0] not in names]
        for (flavor, key, value), need in _FLAVOR_NEEDS:
            conf = ctx.model.flavors.get(flavor) or {}
            if conf.get(key) == value and need.split("<", 1)[0] not in names:
                lines.append(need)
    return lines


def mlflow_major(ctx: RenderContext, reqs: list[str]) -> int:
    """The major MLflow line the image installs: the requirement's ``==`` pin, else the model's
    mlflow_version (3 when unknown) capped by the requirement's upper bound (``mlflow<3`` is 2.x)."""
    upper = None
    for r in reqs:
        m = re.match(r"mlflow(?:-skinny)?\s*==\s*([0-9]+)", r)
        if m:
            return int(m.group(1))
        m = _MLFLOW_REQ.fullmatch(r) or re.fullmatch(r"(?i)mlflow-skinny\s*(?P<rest>[=<>!~;@\s].*)?", r)
        for op, version in _BOUND.findall(((m.group("rest") or "") if m else "").split(";", 1)[0]):
            v = [int(x) for x in version.split(".")]
            cap = v[0] - 1 if op == "<" and not any(v[1:]) else v[0]
            upper = cap if upper is None else min(upper, cap)
    major = int(ctx.model.mlflow_version.split(".")[0]) if ctx.model.mlflow_version else 3
    return major if upper is None else min(major, upper)


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
