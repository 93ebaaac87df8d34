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
    """write_tree: every file fsynced, then renamed; each folder fsynced once, after its last rename."""
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
    for i, (kind, _where) in enumerate(events):
        if kind == "replace":  # the file's own fsync came right before its rename
            assert events[i - 1][0] == "fsync"
    events.clear()
    assert write_tree(tmp_path / "out", [Artifact(f, "text/plain", f.encode()) for f in files]) == []
    assert events == []  # nothing rewritten, nothing synced
