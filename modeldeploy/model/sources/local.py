"""Local model folders: relative to deploy.yaml, pinned without any path of the rendering machine.

The pinned form lands in labels, annotations, tags, descriptions and plans, so it must say the same
on every machine and leak nothing about this one: a path inside deploy.yaml's folder is kept as
written (``model``); one that leaves it (``../models/x``, ``/home/me/x``) becomes the path from the
root of the git repository holding it (``models/x``), or, outside any repository, the model digest.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path, PurePosixPath

from modeldeploy.errors import SourceError
from modeldeploy.model.digest import model_digest
from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.uri import LocalUri


def resolve_local(uri: str, parsed: LocalUri, *, base_dir: Path, cache_dir: Path, in_spec: bool = True) -> ModelRef:
    written = Path(parsed.path).expanduser()
    folder = written if written.is_absolute() else Path(base_dir) / written
    try:
        exists, is_dir = folder.exists(), folder.is_dir()
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, EACCES on a parent, a NUL in the path ...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SourceError(f"model folder {uri!r} cannot be read: {reason}") from None
    if not exists:
        raise missing_folder(uri, folder, in_spec=in_spec)
    if not is_dir:
        raise file_not_folder(uri, folder, in_spec=in_spec)
    digest = model_digest(folder, cache_dir=cache_dir)
    return ModelRef(
        uri=uri,
        pinned_uri=pinned_local(parsed.path, folder, base_dir, digest=digest),
        digest=digest,
        local_path=folder,
    )


def _nearby_models(folder: Path) -> list[str]:
    """Folders next to a missing one whose names are close to it, model folders (with MLmodel) first."""
    parent = folder.parent
    try:
        names = [p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    close = difflib.get_close_matches(folder.name, names, n=3, cutoff=0.6)
    return sorted(close, key=lambda n: (not (parent / n / "MLmodel").is_file(), close.index(n)))


def _sibling(written: str, name: str) -> str:
    """``./modle`` with its last part replaced by ``name``, keeping how the user wrote the rest."""
    head, _, _ = written.rstrip("/").rpartition("/")
    return f"{head}/{name}" if head else name


def missing_folder(written: str, folder: Path, *, in_spec: bool = True) -> SourceError:
    """The one error for a model folder that does not exist, in every command (MD300): what was
    written, a close sibling folder if there is one, and how to fix it. No absolute path: deploy.yaml
    paths are relative to the file (and under --against git:REF, to a scratch copy of the repository).
    ``in_spec``: the path came from deploy.yaml's model.source (else from the command line)."""
    near = _nearby_models(folder)
    relative = "model.source is relative to the folder of deploy.yaml" if in_spec else ""
    if near:
        hint = f"did you mean {_sibling(written, near[0])!r}?" + (f" {relative}" if relative else "")
    else:
        hint = (f"{relative}; " if relative else "") + "name the folder that holds the MLmodel file"
    return SourceError(f"model folder {written!r} not found", hint=hint)


def file_not_folder(written: str, path: Path, *, in_spec: bool = True) -> SourceError:
    """The one error for a model source that is a file (MD300), in every command."""
    if path.name == "MLmodel":
        hint = f"use the folder that holds it: {_sibling(written, '').rstrip('/') or '.'!r}"
    else:
        what = "model.source names" if in_spec else "name"
        hint = f"{what} a model folder (the one holding MLmodel), a runs:/, models:/, s3:// or azureml: URI"
    return SourceError(f"model source {written!r} is a file, not a model folder", hint=hint)


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
