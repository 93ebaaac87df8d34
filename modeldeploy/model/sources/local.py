"""Local model folders: relative to deploy.yaml, pinned without any path of the rendering machine.

The pinned form lands in labels, annotations, tags, descriptions and plans, so it must say the same
on every machine and leak nothing about this one: a path inside deploy.yaml's folder is kept as
written (``model``); one that leaves it (``../models/x``, ``/home/me/x``) becomes the path from the
root of the git repository holding it (``models/x``), or, outside any repository, the model digest.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from modeldeploy.errors import SourceError, show_name
from modeldeploy.model.digest import model_digest
from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.uri import LocalUri


def resolve_local(uri: str, parsed: LocalUri, *, base_dir: Path, cache_dir: Path) -> ModelRef:
    written = Path(parsed.path).expanduser()
    folder = written if written.is_absolute() else Path(base_dir) / written
    try:
        exists, is_dir = folder.exists(), folder.is_dir()
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, EACCES on a parent, a NUL in the path ...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SourceError(f"model folder {uri!r} cannot be read: {reason}") from None
    if not exists:
        raise SourceError(f"model folder {uri!r} not found (looked in {show_name(str(folder))})")
    if not is_dir:
        raise SourceError(f"model source {uri!r} is a file, not a model folder")
    digest = model_digest(folder, cache_dir=cache_dir)
    return ModelRef(
        uri=uri,
        pinned_uri=pinned_local(parsed.path, folder, base_dir, digest=digest),
        digest=digest,
        local_path=folder,
    )


def repo_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder, or a file in a worktree)."""
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def escapes(written: str) -> bool:
    """True for a local path that is absolute or leaves deploy.yaml's folder (``../x``, ``a/../../x``)."""
    path = Path(written).expanduser()
    if path.is_absolute():
        return True
    normal = os.path.normpath(path.as_posix()) if path.parts else "."
    return normal == ".." or normal.startswith("../")


def pinned_local(written: str, folder: Path, base_dir: Path, *, digest: str = "") -> str:
    """The path as written (POSIX, normalised) when it stays inside deploy.yaml's folder; else the
    path from the git repository's root; else ``digest`` — never ``../`` nor an absolute path."""
    parts = [p for p in PurePosixPath(Path(written).as_posix()).parts if p not in (".", "")]
    if not escapes(written):
        return PurePosixPath(*parts).as_posix() if parts else "."
    target = Path(os.path.abspath(folder))
    root = repo_root(base_dir)
    if root is not None and (target == root or root in target.parents):
        rel = target.relative_to(root)
        return PurePosixPath(*rel.parts).as_posix() if rel.parts else "."
    return digest or "."
