"""The one atomic file write: every file modeldeploy writes goes through :func:`write_atomic`.

A temp file in the same folder gets the bytes, is flushed and fsynced, takes its mode, and is renamed
over the target (``os.replace``), so a reader sees the old file or the new one, never a torn one; the
folder is then fsynced where the platform allows it, so the rename survives a crash. On any failure
the temp file is removed and the old file is left as it was. A cache (``durable=False``) keeps the
rename — a reader still never sees a torn file — but not the fsyncs: losing it in a crash costs only
the work it saved, and its readers ignore a file they cannot parse.

Many files at once (a rendered monorepo: thousands of files) are written in two steps instead: every
temp file first, then one barrier (:func:`make_durable`) that makes all their bytes durable — one
``syncfs`` of the filesystem on Linux rather than one fsync, and so one journal commit, per file —
and only then the renames, followed by a second barrier for the folders (rendering.write does this).

Bottom layer: no modeldeploy imports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes | Callable[[BinaryIO], object],
    *,
    mode: int | None = None,
    sync_dir: bool = True,
    durable: bool = True,
) -> None:
    """Replace ``path`` with ``data`` — bytes, or a function that writes into the open temp file
    (a streamed copy). ``mode`` sets the permission bits; without it mkstemp's 0o600 stays.
    ``sync_dir=False`` leaves the folder's fsync to the caller, who writes several files into it and
    calls :func:`fsync_dir` once after the last rename (a rendered tree: one fsync per folder, not per file).
    ``durable`` False (a cache): no fsync of the file or its folder, the wait for the disk that is
    most of a small write's time."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                data(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_dir and durable:
        fsync_dir(target.parent)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make the renames into ``folder`` durable where the platform allows it."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# Above this many files one syncfs(2) of their filesystem is cheaper than an fsync of each (each fsync
# is a journal commit and a wait for the disk: ~0.2-1 ms here, seconds for a thousand trees). Below it,
# fsync each: a render of one spec never waits for the rest of the filesystem's dirty data.
SYNCFS_FROM = 64


def make_durable(paths: Sequence[str | os.PathLike[str]], *, folders: bool = False) -> None:
    """Flush the bytes (``folders``: the entries) of ``paths`` to disk before the caller goes on.

    For many paths on Linux, one ``syncfs`` per filesystem they live on (its writeback errors are
    reported, since Linux 5.8); otherwise — few paths, another platform, or syncfs refused — an fsync
    of each. Raises OSError when the data could not be written (fail closed: the caller renames nothing)."""
    if not paths:
        return
    if len(paths) >= SYNCFS_FROM and _syncfs_each_filesystem(paths, folders):
        return
    for p in paths:
        if folders:
            fsync_dir(p)
        else:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _syncfs_each_filesystem(paths: Sequence[str | os.PathLike[str]], folders: bool) -> bool:
    """syncfs(2) once per filesystem holding ``paths``; False where it is not available (not Linux,
    no libc symbol), so the caller fsyncs each path instead. An I/O error it reports is raised."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    # A file lives on its folder's filesystem: stat each folder once, not each of thousands of files.
    where = {os.fspath(p) for p in paths} if folders else {os.path.dirname(os.fspath(p)) or "." for p in paths}
    devices: dict[int, str] = {}
    for p in sorted(where):
        devices.setdefault(os.stat(p).st_dev, p)
    for p in devices.values():
        fd = os.open(p, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                err = ctypes.get_errno()
                if err in (errno.ENOSYS, errno.EPERM):  # not offered here (old kernel, a sandbox)
                    return False
                raise OSError(err, os.strerror(err), str(p))
        finally:
            os.close(fd)
    return True
