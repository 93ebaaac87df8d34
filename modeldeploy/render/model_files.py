"""The model folder as artifacts: what every target that ships the model's files copies.

Symlinks are followed only while they stay inside the model folder; one that leaves it is refused,
so a model folder can never smuggle a file from the machine into a build context or an upload.
"""

from __future__ import annotations

import os
from pathlib import Path

from modeldeploy.errors import RenderError
from modeldeploy.render.artifact import Artifact
from modeldeploy.targets.base import RenderContext


def model_artifacts(ctx: RenderContext, prefix: str = "model") -> list[Artifact]:
    """The model folder's files as artifacts, in path order. Symlinks are followed only while they
    stay inside the model folder; anything leaving it is refused."""
    root = Path(ctx.ref.local_path)
    real_root = root.resolve()
    out: list[Artifact] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for d in list(dirnames):
            full = Path(dirpath, d)
            if full.is_symlink() and not _inside(full.resolve(), real_root):
                raise RenderError(f"model folder: {full.relative_to(root)} is a symlink leaving the model folder")
            if d in {"__pycache__", ".git"}:
                dirnames.remove(d)
        for f in sorted(filenames):
            full = Path(dirpath, f)
            if f.endswith(".pyc"):
                continue
            if full.is_symlink() and not _inside(full.resolve(), real_root):
                raise RenderError(f"model folder: {full.relative_to(root)} is a symlink leaving the model folder")
            rel = full.relative_to(root).as_posix()
            mode = 0o755 if os.access(full, os.X_OK) else 0o644
            out.append(Artifact(f"{prefix}/{rel}", "application/octet-stream", full.read_bytes(), source=rel, mode=mode))
    return out


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


