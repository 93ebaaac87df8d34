"""The model digest: one sha256 that names the exact bytes of a model folder.

Definition (stable; documented in docs/sources.md)::

    for every regular file under the folder, in sorted order of its relative POSIX path:
        line = f"{relative_path}\\0{size}\\0{sha256_hex_of_contents}\\n"
    model_digest = "sha256:" + sha256(concatenation of all lines)

Symlinks are followed only while they stay inside the folder; a link that leaves it (or dangles) is a
:class:`ModelError` — a digest must not depend on files outside what is deployed. Empty directories
do not count. Files are hashed with large buffered reads in a small thread pool (hashlib releases the
GIL), and each file's sha256 is remembered in a small JSON cache keyed by (path, size, mtime_ns,
inode) so a re-plan does not re-read a multi-gigabyte model.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from modeldeploy.atomic import write_atomic
from modeldeploy.errors import ModelError

_BUFFER = 1 << 20  # 1 MiB reads: near sha256sum speed without large memory
# Below this many bytes to hash, threads cost more to start than they save (a few ms of hashing).
_THREADS_FROM_BYTES = 8 << 20
# Below this many bytes in the whole model, the on-disk digest cache is neither read nor written.
_CACHE_FROM_BYTES = 1 << 20
_MAX_CACHE_ENTRIES = 20_000
_CACHE_FILE = "digests.json"
_CACHE_VERSION = 1


@dataclass(frozen=True)
class FileEntry:
    """One file of the folder: its relative POSIX path, the real file it reads and its stat key."""

    rel: str
    real: Path
    size: int
    stat_key: str


def model_digest(path: Path | str, *, cache_dir: Path | None = None, workers: int | None = None) -> str:
    """``"sha256:<hex>"`` over the folder's files (see the module docstring for the definition).

    ``cache_dir`` holds the per-file hash cache (no caching when None, nor for a model under 1 MiB).
    """
    root = Path(path)
    if not root.is_dir():
        raise ModelError(f"model folder not found: {root}")
    entries = list_files(root)
    if cache_dir is not None and _is_transient(entries):
        cache_dir = None  # a temporary copy: its paths never recur, this process's memo is enough
    # A small model is hashed rather than looked up: reading the cache file (up to 20,000 entries,
    # ~30 ms to parse when full) would cost more than hashing it, and the answer is the same.
    small = sum(e.size for e in entries) < _CACHE_FROM_BYTES
    cache = _DigestCache.shared(cache_dir) if cache_dir is not None and not small else None
    hashes = _hash_all(entries, cache, workers)
    if cache is not None:
        cache.save()
    outer = hashlib.sha256()
    for entry in entries:
        outer.update(f"{entry.rel}\0{entry.size}\0{hashes[entry.rel]}\n".encode())
    return "sha256:" + outer.hexdigest()


def transient(folder: Path | str) -> None:
    """Files under ``folder`` are a temporary copy (a git ref's tree extracted for one plan): their
    digests are remembered in this process only, never written to the on-disk cache, where their
    paths would never be asked for again (each new copy rewrote the whole cache file, and the copies
    pushed real models' entries out of it)."""
    real = os.path.realpath(folder)
    with _SEEN_LOCK:
        if real not in _TRANSIENT:
            _TRANSIENT.append(real)


def _is_transient(entries: list[FileEntry]) -> bool:
    roots = tuple(root + os.sep for root in _TRANSIENT)
    return bool(roots) and bool(entries) and all(str(e.real).startswith(roots) for e in entries)


def list_files(root: Path) -> list[FileEntry]:
    """Every regular file under root (symlinks inside root followed), sorted by relative POSIX path."""
    real_root = Path(os.path.realpath(root))
    found: dict[str, FileEntry] = {}
    _walk(root, real_root, real_root, "", found, visiting=frozenset({str(real_root)}))
    return [found[k] for k in sorted(found)]


def _walk(
    directory: Path, real_dir: Path, real_root: Path, prefix: str, found: dict[str, FileEntry], visiting: frozenset[str]
) -> None:
    """``real_dir`` is ``directory`` with every symlink resolved: entries carry canonical absolute paths,
    so the per-file hash cache hits whichever relative path (``svc/../../models/x``) a spec used."""
    try:
        children = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        raise ModelError(f"cannot read model folder {directory}: {exc.strerror or exc}") from None
    for child in children:
        rel = f"{prefix}{child.name}"
        real = Path(os.path.realpath(child.path)) if child.is_symlink() else None
        if real is not None:
            _check_inside(real, real_root, rel)
        canonical = real if real is not None else real_dir / child.name
        if child.is_dir(follow_symlinks=True):
            key = str(canonical)
            if key in visiting:  # a symlink loop inside the folder: count each directory once per path
                continue
            _walk(Path(child.path), canonical, real_root, rel + "/", found, visiting | {key})
        elif child.is_file(follow_symlinks=True):
            st = child.stat(follow_symlinks=True)
            found[rel] = FileEntry(
                rel=rel,
                real=canonical,
                size=st.st_size,
                stat_key=f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}",
            )
        elif real is not None:
            raise ModelError(f"symlink {rel} in the model folder points to nothing (dangling link)")
        # sockets, fifos, devices: not model content; ignored


def _check_inside(real: Path, real_root: Path, rel: str) -> None:
    if real != real_root and real_root not in real.parents:
        raise ModelError(
            f"symlink {rel} in the model folder points outside it ({real}); "
            "copy the file into the folder instead — the digest only covers the folder's own files"
        )


def file_sha256(path: Path) -> str:
    """Hex sha256 of one file, read in large buffered chunks (hashlib releases the GIL)."""
    h = hashlib.sha256()
    buf = bytearray(_BUFFER)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


# sha256 of every file hashed (or found in a cache) in this process, by (real path, stat key): render
# names each model file by its digest right after the model digest read it, without reading it again.
_SEEN: dict[tuple[str, str], str] = {}
_SEEN_LOCK = threading.Lock()
_MAX_SEEN = 200_000
_TRANSIENT: list[str] = []  # real paths of temporary copies (see transient)


def _remember(entry: FileEntry, digest: str) -> None:
    with _SEEN_LOCK:
        if len(_SEEN) >= _MAX_SEEN:
            _SEEN.clear()
        _SEEN[(str(entry.real), entry.stat_key)] = digest


def file_digests(entries: list[FileEntry]) -> dict[str, str]:
    """rel → sha256 hex of these files: what this process already hashed while the file's stat
    (size, mtime, inode) is unchanged, else read now."""
    return _hash_all(entries, None, None)


def _hash_all(entries: list[FileEntry], cache: _DigestCache | None, workers: int | None) -> dict[str, str]:
    out: dict[str, str] = {}
    todo: list[FileEntry] = []
    for entry in entries:
        hit = _SEEN.get((str(entry.real), entry.stat_key))
        if cache is not None:
            cached = cache.get(entry)
            if hit is None and cached is not None:
                hit = cached
                _remember(entry, hit)
            elif hit is not None and cached != hit:
                cache.put(entry, hit)  # hashed earlier in this process without this cache: keep it for the next
        if hit is None:
            todo.append(entry)
        else:
            out[entry.rel] = hit
    if todo:
        n = workers or min(4, os.cpu_count() or 1, len(todo))
        if workers is None and sum(e.size for e in todo) < _THREADS_FROM_BYTES:
            n = 1
        try:
            if n <= 1:
                results = [file_sha256(e.real) for e in todo]
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=n) as pool:
                    results = list(pool.map(lambda e: file_sha256(e.real), todo))
        except OSError as exc:
            raise ModelError(f"cannot read model file {exc.filename}: {exc.strerror or exc}") from None
        for entry, digest in zip(todo, results, strict=False):
            out[entry.rel] = digest
            _remember(entry, digest)
            if cache is not None:
                cache.put(entry, digest)
    return out


class _DigestCache:
    """``{real path: [stat key, sha256]}`` in ``<cache_dir>/digests.json``; written atomically.

    One instance per cache folder is kept for the life of the process (a monorepo plan digests
    hundreds of deploy.yaml's models; the JSON is parsed once, not once per model) and re-read only
    when the file on disk changed under it (another modeldeploy process). Its methods take a lock:
    deployments planned concurrently share it, and hash their files outside the lock.
    """

    _shared: dict[Path, _DigestCache] = {}
    _shared_lock = threading.Lock()

    def __init__(self, file: Path, entries: dict[str, list[str]]):
        self.file = file
        self.entries = entries
        self.dirty = False
        self.lock = threading.RLock()
        self.seen = _file_key(file)

    @classmethod
    def shared(cls, cache_dir: Path) -> _DigestCache:
        key = Path(os.path.abspath(cache_dir))
        with cls._shared_lock:
            cache = cls._shared.get(key)
            if cache is None:
                cache = cls._shared[key] = cls.load(key)
                return cache
        with cache.lock:
            if not cache.dirty and _file_key(cache.file) != cache.seen:
                fresh = cls.load(key)
                cache.entries, cache.seen = fresh.entries, fresh.seen
        return cache

    @classmethod
    def load(cls, cache_dir: Path) -> _DigestCache:
        file = Path(cache_dir) / _CACHE_FILE
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            entries = data["files"] if data.get("version") == _CACHE_VERSION else {}
            if not isinstance(entries, dict):
                entries = {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            entries = {}  # missing or corrupt cache: start again, never fail a plan over it
        return cls(file, entries)

    def get(self, entry: FileEntry) -> str | None:
        with self.lock:
            hit = self.entries.get(str(entry.real))
        if isinstance(hit, list) and len(hit) == 2 and hit[0] == entry.stat_key:
            return hit[1]
        return None

    def put(self, entry: FileEntry, digest: str) -> None:
        with self.lock:
            self.entries.pop(str(entry.real), None)  # re-insert last: dict order is recency
            self.entries[str(entry.real)] = [entry.stat_key, digest]
            self.dirty = True

    def save(self) -> None:
        with self.lock:
            self._save()

    def _save(self) -> None:
        if not self.dirty:
            return
        items = list(self.entries.items())[-_MAX_CACHE_ENTRIES:]
        payload = json.dumps({"version": _CACHE_VERSION, "files": dict(items)}, separators=(",", ":"))
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.file, payload.encode("utf-8"), durable=False)  # a cache: a crash costs a re-hash
            self.dirty = False
            self.seen = _file_key(self.file)
        except OSError:
            pass  # a read-only cache dir only costs speed


def _file_key(file: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(file)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)
