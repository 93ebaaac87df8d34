"""Parallel file transfers with progress: what every remote source uses to fill a cache entry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modeldeploy.errors import SourceError
from modeldeploy.progress import Progress, WaitHandle

_WORKERS = 4
_REPORT_EVERY = 0.1  # report progress at each 10% for large transfers
_LARGE = 32 << 20  # below this, one line at the start is enough


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its path relative to the model folder, its size (None when unknown)."""

    rel: str
    size: int | None = None


class Meter:
    """Thread-safe byte counter that reports ``12.0/120.0 MB (10%)`` on a WaitHandle."""

    def __init__(self, handle: WaitHandle | None, total: int):
        self.handle = handle
        self.total = total
        self.done = 0
        self.next_report = _REPORT_EVERY
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.done += n
            if self.handle is None or not self.total:
                return
            frac = self.done / self.total
            if frac >= self.next_report:
                self.next_report = (int(frac / _REPORT_EVERY) + 1) * _REPORT_EVERY
                self.handle.update(f"{_mb(self.done)}/{_mb(self.total)} MB ({min(100, int(frac * 100))}%)")


def fetch_all(
    files: Sequence[RemoteFile],
    dest: Path,
    fetch_one: Callable[[RemoteFile, Path, Callable[[int], None]], None],
    *,
    progress: Progress,
    label: str,
) -> None:
    """Download ``files`` into ``dest`` (a fresh directory) with a few threads, reporting progress."""
    for f in files:
        _check_rel(f.rel, label)
    total = sum(f.size or 0 for f in files)
    message = f"downloading {label} ({len(files)} files, {_mb(total)} MB)"
    if total < _LARGE:
        progress.step(message)
        _run(files, dest, fetch_one, Meter(None, total))
        return
    with progress.wait(message) as handle:
        _run(files, dest, fetch_one, Meter(handle, total))


def _run(
    files: Sequence[RemoteFile],
    dest: Path,
    fetch_one: Callable[[RemoteFile, Path, Callable[[int], None]], None],
    meter: Meter,
) -> None:
    def one(f: RemoteFile) -> None:
        target = dest.joinpath(*PurePosixPath(f.rel).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fetch_one(f, target, meter.add)

    with ThreadPoolExecutor(max_workers=min(_WORKERS, max(1, len(files)))) as pool:
        for future in [pool.submit(one, f) for f in files]:
            future.result()


def _check_rel(rel: str, label: str) -> None:
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or any(p in ("..", "") for p in parts):
        raise SourceError(f"{label}: refusing artifact path {rel!r} (absolute or escaping the model folder)")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f}"
