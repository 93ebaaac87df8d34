"""modeldeploy.atomic.write_atomic: the one atomic write behind rendered files, plan files, the digest
cache and the model cache's metadata."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from modeldeploy.atomic import write_atomic


def test_bytes_replace_the_file_with_the_mode_asked(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"old")
    write_atomic(path, b"new", mode=0o640)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["f.txt"]


def test_a_writer_streams_into_the_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    write_atomic(path, lambda fh: [fh.write(bytes([i]) * 1000) for i in range(3)])
    assert path.read_bytes() == b"\x00" * 1000 + b"\x01" * 1000 + b"\x02" * 1000


def test_the_data_is_fsynced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    write_atomic(tmp_path / "f", b"x")
    assert events[:2] == ["fsync", "replace"]


def test_a_failing_writer_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"old")

    def broken(fh: object) -> None:
        fh.write(b"half")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, broken)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_a_cache_write_is_atomic_without_waiting_for_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync"))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    write_atomic(tmp_path / "f", b"old")
    events.clear()
    write_atomic(tmp_path / "f", b"new", durable=False)
    assert events == ["replace"] and (tmp_path / "f").read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f"]


def test_the_digest_cache_is_written_as_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modeldeploy.model.digest import model_digest

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "model" / "weights.bin").write_bytes(b"\0" * (1 << 20))  # big enough to be cached
    fsyncs: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd))
    model_digest(tmp_path / "model", cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / "digests.json").is_file() and fsyncs == []


def test_a_tree_fsyncs_each_file_before_its_rename_and_each_folder_once_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_tree of a few files: every file fsynced before the first rename; each folder fsynced once,
    after the last rename."""
    from modeldeploy.rendering.artifact import Artifact
    from modeldeploy.rendering.write import write_tree

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        events.append(("fsync-dir" if os.path.isdir(target) else "fsync", target))
        real_fsync(fd)

    def replace(a: str, b: str) -> None:
        events.append(("replace", str(b)))
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    files = ["a.yaml", "b.yaml", "k8s/c.yaml", "k8s/d.yaml", "k8s/e.yaml"]
    changed = write_tree(tmp_path / "out", [Artifact(f, "text/plain", f.encode()) for f in files])
    assert changed == files
    assert [(tmp_path / "out" / f).read_bytes() for f in files] == [f.encode() for f in files]
    kinds = [kind for kind, _ in events]
    assert kinds.count("fsync") == 5 and kinds.count("replace") == 5
    dirs = [where for kind, where in events if kind == "fsync-dir"]
    assert sorted(dirs) == sorted([str(tmp_path / "out"), str(tmp_path / "out" / "k8s")])
    last_rename = max(i for i, (kind, _) in enumerate(events) if kind == "replace")
    assert all(events.index(("fsync-dir", d)) > last_rename for d in dirs)
    first_rename = kinds.index("replace")  # every file's bytes are on disk before any rename
    assert kinds[:first_rename] == ["fsync"] * 5
    events.clear()
    assert write_tree(tmp_path / "out", [Artifact(f, "text/plain", f.encode()) for f in files]) == []
    assert events == []  # nothing rewritten, nothing synced


def _trees(root: Path, n: int, files: int = 3) -> list[tuple[Path, list]]:
    from modeldeploy.rendering.artifact import Artifact

    return [
        (root / f"svc-{i}", [Artifact(f"k8s/f{j}.yaml", "text/plain", f"{i}-{j}\n".encode()) for j in range(files)])
        for i in range(n)
    ]


def test_many_trees_take_one_filesystem_sync_before_any_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A monorepo render: no fsync per file — one syncfs barrier for all the bytes, then the renames,
    then one for the folders (thousands of fsyncs were most of a 1,000-spec render's write time)."""
    from modeldeploy import atomic
    from modeldeploy.rendering.write import write_trees

    events: list[str] = []
    real_syncfs, real_replace = atomic._syncfs_each_filesystem, os.replace

    def syncfs(paths, folders):  # type: ignore[no-untyped-def]
        events.append(f"syncfs {len(paths)} {'folders' if folders else 'files'}")
        return real_syncfs(paths, folders)

    monkeypatch.setattr(atomic, "_syncfs_each_filesystem", syncfs)
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync"))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    trees = _trees(tmp_path / "out", 40)
    changed = write_trees(trees)
    assert changed == [["k8s/f0.yaml", "k8s/f1.yaml", "k8s/f2.yaml"]] * 40
    # 120 files: one syncfs (Linux), no fsync of a file; 40 folders (under SYNCFS_FROM): an fsync each.
    assert events == ["syncfs 120 files"] + ["replace"] * 120 + ["fsync"] * 40
    assert (tmp_path / "out" / "svc-7" / "k8s" / "f2.yaml").read_bytes() == b"7-2\n"
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_syncfs_not_offered_falls_back_to_an_fsync_of_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modeldeploy import atomic
    from modeldeploy.rendering.write import write_trees

    fsyncs: list[int] = []
    monkeypatch.setattr(atomic, "_syncfs_each_filesystem", lambda paths, folders: False)
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd))
    write_trees(_trees(tmp_path / "out", 30))
    assert len(fsyncs) == 90 + 30  # each file, then each folder renamed into


def test_a_failure_in_any_tree_renames_nothing_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """Tree 3 of 5 cannot be written (its model file changed since it was digested): trees 1-2 are
    not half-updated, every old file is as it was, and no temp file is left behind."""
    from modeldeploy.errors import RenderError
    from modeldeploy.rendering.artifact import Artifact
    from modeldeploy.rendering.write import write_trees

    out = tmp_path / "out"
    write_trees(_trees(out, 5))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    model = tmp_path / "weights.bin"
    model.write_bytes(b"changed")
    trees = [
        (root, [Artifact(a.path, a.media_type, b"new " + a.content) for a in arts]) for root, arts in _trees(out, 5)
    ]
    trees[2][1].append(Artifact("model/weights.bin", "application/octet-stream", file=model, sha256="0" * 64, size=7))
    with pytest.raises(RenderError, match="changed while modeldeploy was using it"):
        write_trees(trees)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_sync_that_fails_renames_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: when the disk reports an error at the barrier, no file is renamed into place."""
    from modeldeploy import atomic
    from modeldeploy.rendering.write import write_trees

    out = tmp_path / "out"
    write_trees(_trees(out, 30))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def failing(paths, folders):  # type: ignore[no-untyped-def]
        raise OSError(5, "Input/output error", str(out))

    monkeypatch.setattr(atomic, "_syncfs_each_filesystem", failing)
    trees = [(root, [type(a)(a.path, a.media_type, b"v2") for a in arts]) for root, arts in _trees(out, 30)]
    with pytest.raises(OSError, match="Input/output error"):
        write_trees(trees)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
