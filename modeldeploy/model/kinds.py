"""Read a model folder as the kind deploy.yaml's ``model.type`` names (or the kind it looks like).

* ``mlflow`` — an MLmodel folder (:func:`modeldeploy.model.info.read_model`);
* ``custom`` — your code and environment around model files (:mod:`modeldeploy.model.custom`);
* ``triton`` — a Triton model folder or repository (:mod:`modeldeploy.model.triton`).

Each returns a ModelInfo (same attribute names), so targets and the signature policy need no
special cases beyond what they render.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modeldeploy.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.model.info import ModelInfo
    from modeldeploy.spec.models import ModelSection

MODEL_TYPES = ("mlflow", "custom", "triton")


def model_type(info: object) -> str:
    """``mlflow``, ``custom`` or ``triton`` for any ModelInfo this module returns."""
    return str(getattr(info, "model_type", "mlflow"))


def detect_type(path: Path | str, *, display: str | None = None) -> str:
    """MLmodel → mlflow; config.pbtxt at the top or one level down → triton; otherwise the error every
    command gives for a folder with no MLmodel (MD200), with how to read the other kinds."""
    root = Path(path)
    if (root / "MLmodel").is_file() or (root.name == "MLmodel" and root.is_file()):
        return "mlflow"
    if root.is_dir() and (
        (root / "config.pbtxt").is_file() or any((c / "config.pbtxt").is_file() for c in root.iterdir() if c.is_dir())
    ):
        return "triton"
    from modeldeploy.model.info import NO_MLMODEL_HINT, no_mlmodel

    raise no_mlmodel(
        display or str(path),
        f"{NO_MLMODEL_HINT}; a Triton model repository holds config.pbtxt, and --type custom reads a custom model folder",
    )


def read_for_spec(path: Path, section: ModelSection, base_dir: Path, *, display: str | None = None) -> ModelInfo:
    """The ModelInfo deploy.yaml's ``model`` section asks for (``model.type``)."""
    if section.type == "triton":
        from modeldeploy.model.triton import read_triton

        return read_triton(path, display=display)
    if section.type == "custom":
        from modeldeploy.model.custom import read_custom

        return read_custom(path, section, base_dir, display=display)
    from modeldeploy.model.info import read_model

    return read_model(path, display=display)


def read_typed(path: Path, kind: str | None = None, *, display: str | None = None) -> ModelInfo:
    """For ``inspect``: read ``path`` as ``kind`` (autodetected when None). A custom model read this
    way has no code/environment (they live in deploy.yaml)."""
    kind = kind or detect_type(path, display=display)
    if kind not in MODEL_TYPES:
        raise ModelError(f"--type must be one of {', '.join(MODEL_TYPES)}, not {kind!r}")
    if kind == "custom":
        from modeldeploy.model.custom import read_custom

        return read_custom(path, None, Path("."), display=display)
    if kind == "triton":
        from modeldeploy.model.triton import read_triton

        return read_triton(path, display=display)
    from modeldeploy.model.info import read_model

    return read_model(path, display=display)
