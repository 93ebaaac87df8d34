"""Custom models: your own scoring code and environment around a folder of model files.

A ``model.type: custom`` deployment has no MLmodel to read. :func:`read_custom` returns a
:class:`CustomModelInfo` — a :class:`~modeldeploy.model.info.ModelInfo` with the same attribute
names — built from deploy.yaml's ``model.code`` / ``model.entry`` / ``model.environment``:

* ``requirements`` from ``environment.requirements_file`` (or the pip section of ``conda_file``);
* ``conda`` from ``environment.conda_file`` (targets translate it as they do for MLflow models);
* ``python_version`` from the conda file's ``python=`` pin, else from a ``python:3.X`` image tag;
* ``signature`` from an MLmodel in the model folder when there is one (custom code around an MLflow
  model), otherwise none — the signature policy then has nothing to check. Such a folder's own
  environment (conda.yaml, requirements) is used when ``model.environment`` names no file.

Paths in deploy.yaml are relative to deploy.yaml and must stay inside its folder tree as written.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import Diagnostic, ModelError
from modeldeploy.model.environment import conda_pip, expand_requirements, requirement_lines
from modeldeploy.model.files import MAX_SIDE_FILE_BYTES, load_yaml
from modeldeploy.model.info import ModelInfo, read_model

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.spec.models import ModelSection

_PY_IMAGE = re.compile(r"(?:^|/)python:(3\.[0-9]+(?:\.[0-9]+)?)(?:[-@].*)?$")
_PY_CONDA = re.compile(r"^python\s*=+\s*(3\.[0-9]+(?:\.[0-9]+)?)")


@dataclass(frozen=True)
class CustomModelInfo(ModelInfo):
    """ModelInfo for a custom model. ``code`` is the scoring-code folder (absolute, for reading only —
    never written into an artifact); ``entry`` is a module file (``score.py``: ``init()``/``run(data)``)
    or a command that serves the HTTP contract itself."""

    model_type: str = "custom"
    code: Path | None = None
    code_display: str | None = None  # as written in deploy.yaml
    entry: str | None = None
    image: str | None = None
    environment_file: str | None = None  # as written in deploy.yaml
    environment_kind: str | None = None  # conda | requirements | None

    @property
    def entry_is_module(self) -> bool:
        return is_module_entry(self.entry)

    @property
    def entry_module(self) -> str | None:
        """``score.py`` → ``score``; ``pkg/score.py`` → ``pkg.score``."""
        if not self.entry_is_module:
            return None
        return str(self.entry)[:-3].replace("/", ".")


def is_module_entry(entry: str | None) -> bool:
    """``score.py`` / ``pkg/score.py`` is a module with init()/run(); anything else is a command."""
    return bool(entry) and str(entry).endswith(".py") and not any(ch.isspace() for ch in str(entry))


def _error(display: str, message: str) -> ModelError:
    return ModelError(f"{display}: {message}", diagnostics=[Diagnostic(display, 0, 0, message, ModelError.code)])


def _inside(base: Path, written: str, what: str) -> Path:
    p = Path(written)
    if p.is_absolute() or ".." in p.parts:
        raise _error(written, f"{what} must be a relative path inside the deploy.yaml folder")
    return base / p


def python_from_image(image: str | None) -> str | None:
    m = _PY_IMAGE.search(image or "")
    return m.group(1) if m else None


def python_from_conda(conda: Mapping[str, Any] | None) -> str | None:
    for dep in (conda or {}).get("dependencies") or ():
        if isinstance(dep, str):
            m = _PY_CONDA.match(dep.strip())
            if m:
                return m.group(1)
    return None


def _code(section: ModelSection, base: Path) -> Path:
    assert section.code is not None and section.entry is not None
    folder = _inside(base, section.code, "model.code")
    if not folder.is_dir():
        raise _error(section.code, "model.code: no such folder next to deploy.yaml")
    if is_module_entry(section.entry):
        entry = _inside(folder, section.entry, "model.entry")
        if not entry.is_file():
            raise _error(f"{section.code}/{section.entry}", "model.entry: no such file in model.code")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*\.py", section.entry):
            raise _error(
                section.entry,
                "model.entry: a module file must be importable (letters, digits, '_', '/' between packages)",
            )
    return folder


def read_custom(
    path: Path | str, section: ModelSection | None, base_dir: Path, *, display: str | None = None
) -> CustomModelInfo:
    """The ModelInfo of a custom model: model files at ``path``, code/environment from ``section``
    (None: the model files alone, as ``inspect --type custom`` shows them)."""
    root = Path(path)
    shown = display or str(path)
    if not root.is_dir():
        raise _error(shown, "no such model folder")
    base = Path(base_dir)
    code = _code(section, base) if section is not None and section.code is not None else None
    env = section.environment if section is not None else None
    image = env.image if env else None
    conda: Mapping[str, Any] | None = None
    reqs: list[str] = []
    constraints: list[str] = []
    source: str | None = None
    env_file: str | None = None
    kind: str | None = None
    if env is not None and env.conda_file:
        env_file, kind = env.conda_file, "conda"
        data, _ = load_yaml(
            _inside(base, env.conda_file, "model.environment.conda_file"), env.conda_file, MAX_SIDE_FILE_BYTES
        )
        if not isinstance(data, Mapping):
            raise _error(env.conda_file, "a conda environment file is a YAML mapping with 'dependencies'")
        conda = data
        reqs, constraints = expand_requirements(
            conda_pip(conda) or [], base / Path(env.conda_file).parent, env.conda_file, 0
        )
        source = "conda.yaml"
    elif env is not None and env.requirements_file:
        env_file, kind = env.requirements_file, "requirements"
        reqs, constraints = requirement_lines(
            _inside(base, env.requirements_file, "model.environment.requirements_file"), env.requirements_file
        )
        source = "requirements.txt"
    mlflow = read_model(root, display=shown) if (root / "MLmodel").is_file() else None
    python = python_from_conda(conda) or python_from_image(image)
    if mlflow is not None and env_file is None:
        # Custom code around an MLflow model without an environment file: the model's own environment.
        conda, reqs, constraints = mlflow.conda, list(mlflow.requirements), list(mlflow.constraints)
        source, python = mlflow.requirements_source, python or mlflow.python_version
    return CustomModelInfo(
        path=root,
        flavors={},
        python_version=python,
        requirements=tuple(reqs),
        requirements_source=source,
        constraints=tuple(constraints),
        conda=conda,
        signature=mlflow.signature if mlflow is not None else None,
        code=code,
        code_display=section.code if section is not None else None,
        entry=section.entry if section is not None else None,
        image=image,
        environment_file=env_file,
        environment_kind=kind,
    )


_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def code_files(folder: Path | None) -> list[tuple[str, bytes, int]]:
    """(relative path, bytes, mode) of every file in the code folder, sorted; caches and VCS folders
    are left out, and a symlink leaving the folder is refused (as for model folders)."""
    from modeldeploy.model.digest import list_files

    if folder is None:
        return []
    out = []
    for entry in list_files(folder):
        parts = entry.rel.split("/")
        if any(p in _SKIP_DIRS for p in parts[:-1]) or entry.rel.endswith((".pyc", ".pyo")):
            continue
        mode = 0o755 if os.access(entry.real, os.X_OK) else 0o644
        out.append((entry.rel, entry.real.read_bytes(), mode))
    return out


def code_digest(folder: Path | None) -> str:
    """sha256 over the shipped code files, defined like the model digest (path, size, content hash)."""
    outer = hashlib.sha256()
    for rel, content, _ in code_files(folder):
        outer.update(f"{rel}\0{len(content)}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    return "sha256:" + outer.hexdigest()


def code_folder(section: ModelSection, base_dir: Path) -> Path | None:
    """model.code resolved against deploy.yaml's folder (checked: it exists and holds model.entry)."""
    return _code(section, Path(base_dir)) if section.code is not None and section.entry is not None else None
