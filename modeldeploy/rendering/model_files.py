"""The model folder as artifacts: what every target that ships the model's files copies.

Which files belong to a model is decided in one place, :func:`modeldeploy.model.digest.list_files`
(what the model digest covers): regular files only — FIFOs, sockets and devices are not model
content and are skipped, so nothing can block a read — and symlinks followed only while they stay
inside the folder; one that leaves it (or dangles) is refused, so a model folder can never smuggle a
file from the machine into a build context or an upload. Of those, build caches (``__pycache__``,
``.git``, ``*.pyc``) are left out here as the rendered ``.dockerignore`` leaves them out of a build.

The artifacts name the files with the sha256 the model digest read (no second read) and hold none of
their bytes: writing the render streams each file and checks it still has that digest. A model of any
size renders, and a plan of many deployments sharing one model holds none of it in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from modeldeploy.model.digest import FileEntry, file_digests, list_files
from modeldeploy.rendering.artifact import Artifact

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext

_SKIP_DIRS = {"__pycache__", ".git"}


def model_artifacts(ctx: RenderContext, prefix: str = "model") -> list[Artifact]:
    """The model folder's files as artifacts, in path order (see the module docstring for which)."""
    entries = shipped_files(Path(ctx.ref.local_path))
    digests = file_digests(entries)
    return [
        Artifact.from_file(
            f"{prefix}/{e.rel}",
            "application/octet-stream",
            e.real,
            sha256=digests[e.rel],
            size=e.size,
            source=e.rel,
            mode=_mode(e.real),
        )
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


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644
