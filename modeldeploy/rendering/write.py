"""Writing rendered trees: atomically per file, deterministic modes, stale files removed.

A render of deployment NAME owns exactly ``OUT/NAME/``: files that are no longer rendered are removed
from there, nothing outside it is touched. Each file is written to a temp file in the same folder and
renamed over the old one, so a crash never leaves a half-written artifact.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from modeldeploy.atomic import fsync_dir, write_atomic
from modeldeploy.rendering.artifact import Artifact

# Files found in a folder up to this size are read whole (rendered text is diffed line by line); a
# bigger one — a model copy — is read as its sha256 and size only, streamed.
SMALL_FILE = 1 << 20


@dataclass(frozen=True)
class Blob:
    """A file found in a folder, known by its sha256 (hex) and size instead of its bytes."""

    sha256: str
    size: int


def write_file(path: Path, content: bytes, mode: int = 0o644) -> bool:
    """Write atomically; returns False (and leaves the file alone) when the bytes are already there."""
    return write_artifact(path, Artifact("file", "application/octet-stream", content, mode=mode))


def write_artifact(path: Path, artifact: Artifact, *, sync_dir: bool = True) -> bool:
    """Write atomically (modeldeploy.atomic: temp file, fsync, rename); returns False, leaving the file alone
    but for its mode, when it already holds these bytes. A model-file copy is streamed (and checked
    against its digest); the file already there is compared by size and sha256, not read whole.
    ``sync_dir=False``: the caller fsyncs the folder after its last file (write_tree does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.is_file() and not path.is_symlink() and _holds(path, artifact):
            if (path.stat().st_mode & 0o777) != artifact.mode:
                os.chmod(path, artifact.mode)
            return False
    except OSError:
        pass
    write_atomic(path, artifact.copy_to, mode=artifact.mode, sync_dir=sync_dir)
    return True


def _holds(path: Path, artifact: Artifact) -> bool:
    if path.stat().st_size != artifact.size:
        return False
    if artifact.file is None:
        return path.read_bytes() == artifact.content
    from modeldeploy.model.digest import file_sha256

    return "sha256:" + file_sha256(path) == artifact.digest


def write_tree(root: Path, artifacts: Iterable[Artifact], *, prune: bool = True) -> list[str]:
    """Make ``root`` hold exactly these artifacts. Returns the relative paths that changed.

    Each file is written atomically and fsynced before its rename; each folder a file was renamed
    into is fsynced once, after its last rename, before this returns (not once per file: a tree's
    files share a few folders)."""
    root = Path(root)
    wanted = {a.path: a for a in artifacts}
    changed: list[str] = []
    renamed_into: dict[Path, None] = {}
    for rel in sorted(wanted):
        a = wanted[rel]
        target = root / rel
        if target.is_symlink() or (target.exists() and target.is_dir()):
            _remove(target)
        if write_artifact(target, a, sync_dir=False):
            changed.append(rel)
            renamed_into[target.parent] = None
    for folder in renamed_into:
        fsync_dir(folder)
    if prune and root.exists():
        for dirpath, dirnames, filenames in os.walk(root, topdown=False):
            for f in filenames:
                full = Path(dirpath, f)
                rel = full.relative_to(root).as_posix()
                if rel not in wanted:
                    full.unlink()
                    changed.append(rel)
            for d in dirnames:
                full = Path(dirpath, d)
                if full.is_dir() and not full.is_symlink() and not any(full.iterdir()):
                    full.rmdir()
    return sorted(set(changed))


def read_tree(root: Path) -> dict[str, bytes | Blob]:
    """Every regular file under root by relative POSIX path (symlinks are not followed): its bytes,
    or for a file over SMALL_FILE its sha256 and size (a Blob), read in pieces."""
    from modeldeploy.model.digest import file_sha256

    out: dict[str, bytes | Blob] = {}
    root = Path(root)
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for f in sorted(filenames):
            full = Path(dirpath, f)
            if full.is_symlink() or not full.is_file():
                continue
            size = full.stat().st_size
            rel = full.relative_to(root).as_posix()
            out[rel] = full.read_bytes() if size <= SMALL_FILE else Blob(file_sha256(full), size)
    return out


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        import shutil

        shutil.rmtree(path)
