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
