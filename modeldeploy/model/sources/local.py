"""Local model folders: relative to deploy.yaml, pinned as written (never an absolute machine path)."""

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
    return ModelRef(
        uri=uri,
        pinned_uri=pinned_local(parsed.path, folder, base_dir),
        digest=model_digest(folder, cache_dir=cache_dir),
        local_path=folder,
    )


def pinned_local(written: str, folder: Path, base_dir: Path) -> str:
    """The path as written, POSIX and normalised; an absolute path becomes relative to base_dir."""
    if Path(written).expanduser().is_absolute():
        rel = os.path.relpath(os.path.abspath(folder), os.path.abspath(base_dir))
        return PurePosixPath(*Path(rel).parts).as_posix()
    parts = [p for p in PurePosixPath(written).parts if p not in (".", "")]
    return PurePosixPath(*parts).as_posix() if parts else "."
