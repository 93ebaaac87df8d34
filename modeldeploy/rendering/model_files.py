"""The model folder as artifacts: what every target that ships the model's files copies.

Which files belong to a model is decided in one place, :func:`modeldeploy.model.digest.list_files`
(what the model digest covers): regular files only — FIFOs, sockets and devices are not model
content and are skipped, so nothing can block a read — and symlinks followed only while they stay
inside the folder; one that leaves it (or dangles) is refused, so a model folder can never smuggle a
file from the machine into a build context or an upload. Of those, build caches (``__pycache__``,
``.git``, ``*.pyc``) are left out here as the rendered ``.dockerignore`` leaves them out of a build.

Artifacts hold their bytes in memory, so the folder's total size is checked before anything is read:
past :data:`MAX_MODEL_BYTES` (or ``RenderContext.max_model_bytes``, which ``api.resolve`` takes from
``MODELDEPLOY_MAX_MODEL_BYTES``) render stops with a RenderError that says so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from modeldeploy.errors import RenderError
from modeldeploy.model.digest import FileEntry, list_files
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.serving import _UNITS

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.targets.base import RenderContext

MAX_MODEL_BYTES = 2 << 30  # 2 GiB: what render may hold in memory for one model folder
MAX_MODEL_BYTES_ENV = "MODELDEPLOY_MAX_MODEL_BYTES"
_SKIP_DIRS = {"__pycache__", ".git"}


def model_artifacts(ctx: "RenderContext", prefix: str = "model") -> list[Artifact]:
    """The model folder's files as artifacts, in path order (see the module docstring for which)."""
    entries = shipped_files(Path(ctx.ref.local_path))
    limit = ctx.max_model_bytes if ctx.max_model_bytes is not None else MAX_MODEL_BYTES
    total = sum(e.size for e in entries)
    if total > limit:
        raise RenderError(
            f"model folder {ctx.ref.uri!r} is {total} bytes, above the limit of {limit} bytes that render "
            f"holds in memory; set {MAX_MODEL_BYTES_ENV} to raise it"
        )
    return [
        Artifact(f"{prefix}/{e.rel}", "application/octet-stream", _read(e), source=e.rel, mode=_mode(e.real))
        for e in entries
    ]


def shipped_files(root: Path) -> list[FileEntry]:
    """``list_files(root)`` without build caches (``__pycache__/``, ``.git/``, ``*.pyc``)."""
    out = []
    for entry in list_files(root):
        parts = entry.rel.split("/")
        if any(p in _SKIP_DIRS for p in parts[:-1]) or entry.rel.endswith(".pyc"):
            continue
        out.append(entry)
    return out


def max_model_bytes(environ: Mapping[str, str]) -> int | None:
    """``MODELDEPLOY_MAX_MODEL_BYTES`` (bytes, or a quantity such as ``4Gi``); None when unset."""
    raw = environ.get(MAX_MODEL_BYTES_ENV, "").strip()
    if not raw:
        return None
    m = re.fullmatch(r"([0-9]{1,20})(k|M|G|T|Ki|Mi|Gi|Ti)?", raw)
    if not m or int(m.group(1)) == 0:
        raise RenderError(f"{MAX_MODEL_BYTES_ENV}={raw!r}: use a positive whole number of bytes, optionally with k, M, G, T, Ki, Mi, Gi or Ti")
    return int(m.group(1)) * _UNITS[m.group(2) or ""]


def _read(entry: FileEntry) -> bytes:
    """The file's bytes, never more than the size the limit was checked against."""
    try:
        with open(entry.real, "rb") as f:
            data = f.read(entry.size + 1)
    except OSError as exc:
        raise RenderError(f"model file {entry.rel!r} cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(data) != entry.size:
        raise RenderError(f"model file {entry.rel!r} changed size while it was being rendered; render again")
    return data


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644
