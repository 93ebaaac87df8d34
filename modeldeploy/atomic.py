"""The one atomic file write: every file modeldeploy writes goes through :func:`write_atomic`.

A temp file in the same folder gets the bytes, is flushed and fsynced, takes its mode, and is renamed
over the target (``os.replace``), so a reader sees the old file or the new one, never a torn one; the
folder is then fsynced where the platform allows it, so the rename survives a crash. On any failure
the temp file is removed and the old file is left as it was. A cache (``durable=False``) keeps the
rename — a reader still never sees a torn file — but not the fsyncs: losing it in a crash costs only
the work it saved, and its readers ignore a file they cannot parse.

Bottom layer: no modeldeploy imports.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
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
