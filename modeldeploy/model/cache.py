"""The download cache: one directory per immutable source, filled once, never seen half-written.

Layout under the cache dir (``$MODELDEPLOY_CACHE_DIR`` or ``~/.cache/modeldeploy``)::

    models/<sha256 of the source key>/        a complete download (the model folder)
    models/<sha256 of the source key>.json    what it is: key, when, digest
    tmp/                                      downloads in progress (ignored; stale ones swept)
    locks/<sha256>.lock                       one downloader per entry at a time
    digests.json                              per-file hash cache (modeldeploy.model.digest)
    jinja/<key>/                              compiled templates (modeldeploy.rendering.jinja)

The key names an immutable thing (a registry version's storage location, an S3 listing with ETags, an
Azure ML asset version), so the entry is addressed by content identity: the same key is never
downloaded twice. A download goes into ``tmp/`` and is renamed into place only when complete, so an
interrupted run leaves nothing that looks finished; a lock file serialises concurrent downloaders of
the same entry, and if locking is unavailable the first rename wins and the loser discards its copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy.atomic import write_atomic
from modeldeploy.errors import SourceError
from modeldeploy.progress import Progress

_STALE_TMP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ModelCache:
    root: Path

    def path_for(self, key: str) -> Path:
        return self.root / "models" / hashlib.sha256(key.encode("utf-8")).hexdigest()

    def get(self, key: str) -> Path | None:
        """The complete entry for ``key``, or None. A directory only exists here once complete."""
        path = self.path_for(key)
        return path if path.is_dir() else None

    def ensure(self, key: str, fill: Callable[[Path], None], *, label: str = "") -> tuple[Path, bool]:
        """The entry for ``key``, calling ``fill(tmp_dir)`` to download it if absent.

        Returns (path, downloaded). ``fill`` writes the model's files into the empty ``tmp_dir``;
        if it raises, nothing is cached and the error propagates.
        """
        hit = self.get(key)
        if hit is not None:
            return hit, False
        final = self.path_for(key)
        self._mkdirs()
        with self._lock(final.name):
            hit = self.get(key)  # another process finished it while we waited
            if hit is not None:
                return hit, False
            self._sweep_tmp()
            tmp = Path(tempfile.mkdtemp(prefix=f"{final.name[:16]}-", dir=self.root / "tmp"))
            try:
                fill(tmp)
                _publish(tmp, final)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
            _write_meta(final.with_suffix(".json"), {"key": key, "label": label, "created": int(time.time())})
            return final, True

    def _mkdirs(self) -> None:
        try:
            for sub in ("models", "tmp", "locks"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"cannot create the model cache at {self.root}: {exc.strerror or exc}") from None

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # Windows: rely on rename-wins in _publish
            yield
            return
        with open(self.root / "locks" / f"{name}.lock", "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _sweep_tmp(self) -> None:
        """Remove leftovers of interrupted downloads (older than a day, so live ones are safe)."""
        cutoff = time.time() - _STALE_TMP_SECONDS
        try:
            for child in (self.root / "tmp").iterdir():
                if child.stat().st_mtime < cutoff:
                    shutil.rmtree(child, ignore_errors=True)
        except OSError:
            pass


def _publish(tmp: Path, final: Path) -> None:
    """Atomically move a finished download into place; if another process won, keep theirs."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise


def _write_meta(path: Path, data: dict[str, Any]) -> None:
    try:
        write_atomic(path, json.dumps(data, sort_keys=True).encode("utf-8"))
    except OSError:
        pass


def materialize(cache: ModelCache, key: str, fill: Callable[[Path], None], *, label: str, progress: Progress) -> Path:
    """The cached folder for ``key``, downloading it with ``fill`` on a miss."""
    path, downloaded = cache.ensure(key, fill, label=label)
    if not downloaded:
        progress.step(f"{label}: using cached download")
    elif not any(path.iterdir()):
        raise SourceError(f"{label}: the download is empty")
    return path
