"""Reading a git repository for ``plan --against git:REF``, once per run rather than once per file.

A monorepo plan used to start about five git processes per deploy.yaml (the repository's top level,
the ref twice, the old file, an archive of its folder). Here a run asks git once per repository for its
top level, once per ref for the commit, lists the commit's whole tree once (``ls-tree -r``) and reads
every file it needs through one ``cat-file --batch`` process. A commit's tree never changes, so its
listing is kept for the process; what a ref names is kept only for a run (:func:`one_git_run`).
"""

from __future__ import annotations

import atexit
import io
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modeldeploy.errors import PlanError


def git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True)
    except FileNotFoundError:
        raise PlanError("git is not installed; --against git:REF needs it") from None


def git_rev(ref: str, cwd: Path) -> str:
    """The commit ``ref`` names in the repository around ``cwd`` (asked once per repository and ref
    in a run: every deploy.yaml of a monorepo plan is planned against the same commit)."""
    if not ref.strip():
        raise PlanError(
            "--against git: names no ref", hint="name one after the colon: git:origin/main, git:HEAD~1, git:v1.2"
        )
    key = (str(toplevel(Path(cwd)) or Path(cwd)), ref) if _RUNS else None
    with _GIT_LOCK:
        if key is not None and key in _REVS:
            return _REVS[key]
    proc = git(["rev-parse", "--verify", "--quiet", ref + "^{commit}"], cwd)
    if proc.returncode != 0:
        raise PlanError(f"git ref {ref!r} not found (fetch it first, e.g. git fetch origin main)")
    rev = str(proc.stdout.decode().strip())
    with _GIT_LOCK:
        if key is not None and _RUNS:
            _REVS[key] = rev
    return rev


@contextmanager
def one_git_run() -> Iterator[None]:
    """Within this block a ref names the same commit for every deploy.yaml planned (asked once per
    repository); outside it, each plan asks git again, so a long-lived caller sees a ref that moved."""
    global _RUNS
    with _GIT_LOCK:
        _RUNS += 1
    try:
        yield
    finally:
        with _GIT_LOCK:
            _RUNS -= 1
            if not _RUNS:
                _REVS.clear()
                _TOPLEVEL_OF.clear()


_GIT_LOCK = threading.RLock()
_RUNS = 0  # open one_git_run blocks
_REVS: dict[tuple[str, str], str] = {}
_TOPLEVELS: set[Path] = set()
_TOPLEVEL_OF: dict[str, Path] = {}  # folder as given -> its repository's top level, for one run
_SNAPSHOTS: dict[tuple[str, str], Snapshot] = {}


def toplevel(folder: Path) -> Path | None:
    """The repository root around ``folder``: the nearest folder above holding ``.git`` when git
    already named it as a top level in this run, else git's own answer."""
    key = str(folder)
    with _GIT_LOCK:
        known = _TOPLEVEL_OF.get(key) if _RUNS else None
    if known is not None:
        return known
    root = _toplevel(folder)
    with _GIT_LOCK:
        if _RUNS and root is not None:  # a run asks once per folder (every deploy.yaml, several times)
            _TOPLEVEL_OF[key] = root
    return root


def _toplevel(folder: Path) -> Path | None:
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            with _GIT_LOCK:
                if candidate in _TOPLEVELS:
                    return candidate
            break
    top = git(["rev-parse", "--show-toplevel"], folder)
    if top.returncode != 0:
        return None
    root = Path(top.stdout.decode().strip()).resolve()
    with _GIT_LOCK:
        _TOPLEVELS.add(root)
    return root


def snapshot(root: Path, commit: str) -> Snapshot:
    key = (str(root), commit)
    with _GIT_LOCK:
        snap = _SNAPSHOTS.get(key)
        if snap is None:
            snap = _SNAPSHOTS[key] = Snapshot(root, commit)
        return snap


class Snapshot:
    """One commit's tree, listed once; its files read on demand through one ``git cat-file --batch``."""

    def __init__(self, root: Path, commit: str) -> None:
        self.root, self.commit = root, commit
        listing = git(["ls-tree", "-r", "-z", "--full-tree", commit], root)
        if listing.returncode != 0:
            raise PlanError(f"cannot list {commit} in {root}: {listing.stderr.decode().strip()}")
        self.entries: dict[str, tuple[str, str, str]] = {}  # path -> (mode, type, object id)
        self.dirs: set[str] = set()
        for record in listing.stdout.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, oid = meta.decode().split()
            path = raw_path.decode("utf-8", "surrogateescape")
            self.entries[path] = (mode, kind, oid)
            parts = path.split("/")
            self.dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        self._lock = threading.Lock()
        self._cat: subprocess.Popen[bytes] | None = None

    def is_dir(self, rel: str) -> bool:
        return rel in self.dirs

    def read(self, rel: str) -> bytes | None:
        """A file's bytes at the commit (what ``git show COMMIT:PATH`` prints), None when absent."""
        entry = self.entries.get(rel)
        if entry is None or entry[1] != "blob":
            return None
        out = io.BytesIO()
        self._copy(entry[2], out)
        return out.getvalue()

    def extract(self, folder: str, into: Path) -> bool:
        """Write ``folder`` as of the commit under ``into`` (regular files with their executable bit).
        False, writing nothing, when it holds a symbolic link or a submodule: the caller then extracts
        it with ``git archive`` and tar's safety filter, as before."""
        prefix = "" if folder in (".", "") else folder.rstrip("/") + "/"
        chosen = [(p, e) for p, e in self.entries.items() if p.startswith(prefix)]
        if any(mode not in ("100644", "100755") for _, (mode, _, _) in chosen):
            return False
        for path, (mode, _, oid) in chosen:
            dest = into / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as fh:
                self._copy(oid, fh)
            dest.chmod(0o755 if mode == "100755" else 0o644)
        if prefix and not chosen:
            (into / folder).mkdir(parents=True, exist_ok=True)
        return True

    def _copy(self, oid: str, out: Any) -> None:
        with self._lock:
            cat = self._cat
            if cat is None or cat.poll() is not None:
                try:
                    cat = self._cat = subprocess.Popen(
                        ["git", "cat-file", "--batch"],
                        cwd=self.root,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                    )
                except FileNotFoundError:
                    raise PlanError("git is not installed; --against git:REF needs it") from None
                atexit.register(_close, cat)
            assert cat.stdin is not None and cat.stdout is not None
            cat.stdin.write(oid.encode() + b"\n")
            cat.stdin.flush()
            header = cat.stdout.readline().split()
            if len(header) != 3:
                raise PlanError(
                    f"cannot read object {oid} at {self.commit}: {b' '.join(header).decode(errors='replace')}"
                )
            left = int(header[2])
            while left:
                chunk = cat.stdout.read(min(left, 1 << 20))
                if not chunk:
                    raise PlanError(f"git cat-file stopped while reading {oid}")
                out.write(chunk)
                left -= len(chunk)
            cat.stdout.read(1)  # the newline after the object


def _forget_in_child() -> None:
    """A forked worker (render/plan --jobs) must not talk to its parent's ``cat-file`` process (the
    two would interleave on one pipe): it starts its own when it first reads."""
    global _GIT_LOCK
    _GIT_LOCK = threading.RLock()
    for snap in _SNAPSHOTS.values():
        snap._cat, snap._lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _close(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
