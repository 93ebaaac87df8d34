"""The download cache: a failed download never counts as complete, concurrent fillers do not corrupt
an entry, stale temp dirs are swept."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from modeldeploy.model.cache import ModelCache


def test_failed_fill_leaves_no_entry_and_is_retried(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)

    def broken(tmp: Path) -> None:
        (tmp / "MLmodel").write_text("half")
        raise OSError("connection reset")

    with pytest.raises(OSError):
        cache.ensure("k", broken)
    assert cache.get("k") is None
    assert list((tmp_path / "tmp").iterdir()) == []  # the partial download was removed

    path, downloaded = cache.ensure("k", lambda tmp: (tmp / "MLmodel").write_text("whole"))
    assert downloaded and (path / "MLmodel").read_text() == "whole"


def test_second_ensure_does_not_call_fill(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    calls: list[int] = []
    fill = lambda tmp: calls.append(1) or (tmp / "f").write_text("x")  # noqa: E731
    first, d1 = cache.ensure("k", fill)
    second, d2 = cache.ensure("k", fill)
    assert first == second and (d1, d2) == (True, False) and calls == [1]
    assert cache.ensure("other", fill)[0] != first


def test_concurrent_fillers_download_once_and_agree(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    calls: list[int] = []
    results: list[Path] = []
    barrier = threading.Barrier(6)

    def fill(tmp: Path) -> None:
        calls.append(1)
        time.sleep(0.2)  # long enough that every thread is waiting on the lock
        (tmp / "MLmodel").write_text("complete")

    def worker() -> None:
        barrier.wait()
        results.append(cache.ensure("shared", fill)[0])

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(set(results)) == 1 and (results[0] / "MLmodel").read_text() == "complete"


def test_rename_wins_when_another_process_published_first(tmp_path: Path) -> None:
    """Without a lock (e.g. a filesystem without flock) the first rename wins and the loser's copy is
    discarded, never merged into the winner."""
    cache = ModelCache(tmp_path)

    def fill(tmp: Path) -> None:
        final = cache.path_for("k")
        final.mkdir(parents=True)
        (final / "MLmodel").write_text("winner")  # someone else finished meanwhile
        (tmp / "MLmodel").write_text("loser")

    path, _ = cache.ensure("k", fill)
    assert (path / "MLmodel").read_text() == "winner"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_stale_temp_dirs_are_swept(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    stale = tmp_path / "tmp" / "abandoned"
    stale.mkdir(parents=True)
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    cache.ensure("k", lambda tmp: (tmp / "f").write_text("x"))
    assert not stale.exists()
