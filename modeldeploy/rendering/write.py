"""Writing rendered trees: atomically per file, deterministic modes, stale files removed.

A render of deployment NAME owns exactly ``OUT/NAME/``: files that are no longer rendered are removed
from there, nothing outside it is touched. Each file is written to a temp file in the same folder and
renamed over the old one, so a crash never leaves a half-written artifact; a render of many trees
renames nothing until every temp file of every tree is written and durable (:func:`write_trees`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modeldeploy.atomic import make_durable
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
    """Write one file atomically, as a tree's files are (:func:`write_trees`, nothing pruned beside it);
    returns False (setting only its mode) when the bytes are already there."""
    return bool(
        write_trees(
            [(path.parent, [Artifact(path.name, "application/octet-stream", content, mode=mode)])], prune=False
        )[0]
    )


def _same_bytes(path: Path, artifact: Artifact) -> bool:
    if artifact.file is None:
        return path.read_bytes() == artifact.content
    from modeldeploy.model.digest import file_sha256

    return "sha256:" + file_sha256(path) == artifact.digest


def write_tree(root: Path, artifacts: Iterable[Artifact], *, prune: bool = True) -> list[str]:
    """Make ``root`` hold exactly these artifacts. Returns the relative paths that changed."""
    return write_trees([(Path(root), artifacts)], prune=prune)[0]


def write_trees(trees: Sequence[tuple[Path, Iterable[Artifact]]], *, prune: bool = True) -> list[list[str]]:
    """Make each ``root`` hold exactly its artifacts; returns each tree's changed relative paths.

    In three steps, so that a crash or a failure leaves every file old or new, never torn, and a failure
    while writing renames nothing at all: (1) each changed file is written to a temp file beside it
    (:func:`stage`); (2) one barrier makes all their bytes durable (modeldeploy.atomic.make_durable: one
    syncfs for a thousand trees, an fsync per file for a few); (3) the temp files are renamed into place
    and a second barrier makes the renames durable (:func:`commit`). Files no longer rendered are then
    removed (``prune``)."""
    staged: list[Staged] = []
    try:
        for root, artifacts in trees:
            staged.append(stage(root, artifacts, prune=prune))
    except BaseException:
        discard(staged)
        raise
    commit(staged)
    return [s.changed for s in staged]


@dataclass
class Staged:
    """One tree's changed files written to temp files beside their targets, not yet renamed (picklable:
    a render worker stages its own trees, the parent commits them all at once)."""

    root: str
    changed: list[str]  # relative paths, sorted (the pruned ones are added at commit)
    temps: list[tuple[str, str]]  # (temp file, target)
    modes: list[tuple[str, int]]  # files that hold the bytes but not the mode: set at commit
    keep: list[str] | None  # the tree existed: every file but these is pruned at commit
    made: list[str] = field(default_factory=list)  # folders staging created (removed again by discard)


def stage(root: Path, artifacts: Iterable[Artifact], *, prune: bool = True, run: str = "") -> Staged:
    """Step 1 for one tree: every changed file in a temp file beside it (not synced, not renamed).
    On a failure its own temp files are removed. ``run`` marks the temp files' names
    (``.NAME.RUN.XXXXXXXX.tmp``) so that a run whose workers were interrupted finds its own
    (:func:`sweep`)."""
    wanted = {a.path: a for a in artifacts}
    staged = Staged(str(root), [], [], [], sorted(wanted) if prune and os.path.lexists(root) else None)
    folders: set[Path] = set()  # folders known to exist: one mkdir per folder, not one per file
    try:
        for rel in sorted(wanted):
            target = Path(root) / rel
            state = _stale(target, wanted[rel], folders, staged.made)
            if state is True:
                staged.temps.append((_temp_copy(target, wanted[rel], run), str(target)))
                staged.changed.append(rel)
            elif state is not False:
                staged.modes.append((str(target), state))
    except BaseException:
        discard([staged])
        raise
    return staged


def commit(staged: Sequence[Staged]) -> None:
    """Steps 2 and 3 for every staged tree together: one barrier for every temp file's bytes, then the
    renames, one barrier for the folders, the modes, and the pruning. A failure before the renames
    (the disk reports an error at the barrier) removes every temp file and renames nothing."""
    temps = [t for s in staged for t in s.temps]
    try:
        make_durable([tmp for tmp, _ in temps])
        for i, (tmp, target) in enumerate(temps):
            if os.path.islink(target) or os.path.isdir(target):
                _remove(Path(target))  # a folder or link where a file now goes
            os.replace(tmp, target)
            temps[i] = ("", target)
    finally:
        for tmp, _ in temps:  # a failure or an interrupt before its rename: no temp file is left
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
    make_durable(list(dict.fromkeys(os.path.dirname(target) for _, target in temps)), folders=True)
    for s in staged:
        for target, mode in s.modes:
            os.chmod(target, mode)
        if s.keep is not None:
            s.changed = sorted(set(s.changed) | set(_prune(Path(s.root), set(s.keep))))


def sweep(out: Path, run: str) -> None:
    """Remove the temp files run ``run`` left under ``out`` (its workers were interrupted before they
    could report what they had staged)."""
    marker = f".{run}."
    for dirpath, _dirnames, filenames in os.walk(out):
        for f in filenames:
            if f.startswith(".") and f.endswith(".tmp") and marker in f:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, f))


def discard(staged: Sequence[Staged]) -> None:
    """Remove the temp files of staged trees that will not be committed, and the folders staging made
    for them (deepest first; a folder something else has been put in meanwhile stays)."""
    for s in staged:
        for tmp, _ in s.temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    for folder in sorted({f for s in staged for f in s.made}, key=lambda f: f.count(os.sep), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _stale(target: Path, artifact: Artifact, folders: set[Path], made: list[str]) -> bool | int:
    """True when ``target`` must be (re)written: it is missing, not a regular file (a folder or a link is
    replaced at the renames), or holds other bytes — one lstat for a file not there yet; False when it
    holds the bytes and mode; the mode to set when it holds only the bytes. Makes the folder a new
    file goes into."""
    try:
        st = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        if target.parent not in folders:
            missing = []
            for folder in (target.parent, *target.parent.parents):
                if os.path.isdir(folder):
                    break
                missing.append(str(folder))
            target.parent.mkdir(parents=True, exist_ok=True)
            made.extend(reversed(missing))
            folders.add(target.parent)
        return True
    if not stat.S_ISREG(st.st_mode) or st.st_size != artifact.size or not _same_bytes(target, artifact):
        return True
    return artifact.mode if stat.S_IMODE(st.st_mode) != artifact.mode else False


def _temp_copy(target: Path, artifact: Artifact, run: str = "") -> str:
    """``artifact``'s bytes in a new temp file beside ``target`` (with its mode), not yet synced."""
    prefix = f".{target.name}.{run}." if run else f".{target.name}."
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fd, artifact.mode)
            artifact.copy_to(fh)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _prune(root: Path, wanted: set[str]) -> list[str]:
    removed: list[str] = []
    if not root.exists():
        return removed
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for f in filenames:
            full = Path(dirpath, f)
            rel = full.relative_to(root).as_posix()
            if rel not in wanted:
                full.unlink()
                removed.append(rel)
        for d in dirnames:
            full = Path(dirpath, d)
            if full.is_dir() and not full.is_symlink() and not any(full.iterdir()):
                full.rmdir()
    return removed


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
