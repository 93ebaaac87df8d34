"""The lease backend of a render folder (``--against dir:``, the docker target): a lock file beside
the folder's tree, taken with the compare-and-set operations of :class:`~modeldeploy.lease.LeaseBackend`
(the lease algorithm itself is in ``lease.py``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modeldeploy.lease import LeaseRecord


class FileLeaseBackend:
    """A lease file created atomically (written aside, hard-linked into place: fails when it exists);
    replace/delete compare the content under ``flock`` and check the file was not unlinked meanwhile
    (POSIX; without fcntl the compare-and-set is best effort)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.where = str(self.path)
        self._made: list[Path] = []  # folders create() made, removed again on delete when empty

    def read(self) -> tuple[LeaseRecord, Any] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            _flock(fd, shared=True)  # never see a replace half-written
            text = os.read(fd, 1 << 16).decode("utf-8", "replace")
        finally:
            os.close(fd)
        try:
            return LeaseRecord.from_json(text), text
        except (ValueError, KeyError, TypeError):
            # A torn or foreign file: treat as expired so --steal-lease can replace it.
            return LeaseRecord("(unreadable lease file)", "apply", 0.0, 0.0, 0.0), text

    def create(self, record: LeaseRecord) -> Any | None:
        missing = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._made = missing
        text = record.to_json()
        # Written aside, then hard-linked into place: the link appears atomically *with* its content
        # and fails when the name exists (O_EXCL alone would let a reader see an empty file).
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            return None
        finally:
            tmp.unlink()
        return text

    def _locked(self, token: Any, action: Callable[[int], Any]) -> Any:
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            _flock(fd, shared=False)
            if os.fstat(fd).st_nlink == 0:
                return None  # deleted while we waited for the lock
            current = os.read(fd, 1 << 16).decode("utf-8", "replace")
            if current != token:
                return None
            return action(fd)
        finally:
            os.close(fd)

    def replace(self, record: LeaseRecord, token: Any) -> Any | None:
        text = record.to_json()

        def write(fd: int) -> str:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, text.encode())
            return text

        return self._locked(token, write)

    def delete(self, token: Any) -> bool:
        def unlink(fd: int) -> bool:
            self.path.unlink()
            for folder in self._made:  # innermost first: a failed apply leaves no empty render folder
                try:
                    folder.rmdir()
                except OSError:
                    break
            return True

        return bool(self._locked(token, unlink))


def _flock(fd: int, *, shared: bool) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: compare-and-set without the lock
        return
    fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)


def folder_lease_path(folder: Path, name: str) -> Path:
    """The lock file for deployment ``name`` rendered into ``folder`` (beside, not inside, its
    ``folder/name/`` tree, which apply makes hold exactly the render)."""
    return Path(folder) / f".{name}.modeldeploy-lease"
