"""The model digest: its definition (checked against an independent computation), symlink rules,
determinism and the (path, size, mtime_ns, inode) hash cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from modeldeploy.errors import ModelError
from modeldeploy.model import digest as digest_mod
from modeldeploy.model.digest import model_digest


def independent_digest(root: Path) -> str:
    """The documented definition, written out without any of digest.py's code."""
    rows = []
    for dirpath, _dirs, files in os.walk(root, followlinks=True):
        for name in files:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            data = full.read_bytes()
            rows.append((rel, len(data), hashlib.sha256(data).hexdigest()))
    outer = hashlib.sha256()
    for rel, size, hexd in sorted(rows):
        outer.update(f"{rel}\0{size}\0{hexd}\n".encode())
    return "sha256:" + outer.hexdigest()


def make_folder(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "model.pkl").write_bytes(os.urandom(3 * (1 << 20) + 17))  # crosses the 1 MiB buffer
    (root / "sub" / "a.txt").write_text("a")
    (root / "sub" / "deeper" / "empty.bin").write_bytes(b"")
    (root / "emptydir").mkdir()
    return root


def test_digest_matches_independent_computation(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    assert model_digest(folder) == independent_digest(folder)


@pytest.mark.parametrize("big", [False, True], ids=["small-serial", "large-threads"])
def test_a_small_model_is_hashed_in_this_thread_and_a_large_one_on_threads_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, big: bool
) -> None:
    import threading

    folder = make_folder(tmp_path / "m")
    if big:  # past the size from which threads pay off
        (folder / "weights.bin").write_bytes(os.urandom(digest_mod._THREADS_FROM_BYTES))
    started: list[str] = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self.name), real_start(self))[1])
    assert model_digest(folder) == independent_digest(folder)
    assert bool(started) is big


def test_digest_is_deterministic_and_content_sensitive(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    first = model_digest(folder, workers=1)
    assert model_digest(folder, workers=4) == first
    (folder / "sub" / "a.txt").write_text("b")
    assert model_digest(folder) != first


def test_renaming_a_file_changes_the_digest(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    before = model_digest(folder)
    (folder / "sub" / "a.txt").rename(folder / "sub" / "b.txt")
    assert model_digest(folder) != before


def test_symlink_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the model")
    (folder / "link.txt").symlink_to(outside)
    with pytest.raises(ModelError, match="points outside"):
        model_digest(folder)


def test_symlinked_directory_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    (tmp_path / "elsewhere").mkdir()
    (folder / "dirlink").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ModelError, match="points outside"):
        model_digest(folder)


def test_symlink_inside_the_folder_is_hashed_as_its_target(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / "alias.txt").symlink_to("sub/a.txt")
    assert model_digest(folder) == independent_digest(folder)


def test_dangling_symlink_is_an_error(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / "gone").symlink_to(folder / "nothing-here")
    with pytest.raises(ModelError, match="dangling"):
        model_digest(folder)


def test_missing_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        model_digest(tmp_path / "nope")


def test_hash_cache_skips_unchanged_files_and_rehashes_changed_ones(tmp_path: Path, monkeypatch) -> None:
    folder = make_folder(tmp_path / "m")
    cache = tmp_path / "cache"
    first = model_digest(folder, cache_dir=cache)
    stored = json.loads((cache / "digests.json").read_text())
    assert len(stored["files"]) == 4

    hashed: list[Path] = []
    real = digest_mod.file_sha256
    monkeypatch.setattr(digest_mod, "file_sha256", lambda p: hashed.append(p) or real(p))
    monkeypatch.setattr(digest_mod, "_SEEN", {})  # as a new process: only the cache file remembers
    assert model_digest(folder, cache_dir=cache) == first
    assert hashed == []  # every file came from the cache

    (folder / "sub" / "a.txt").write_text("changed")
    assert model_digest(folder, cache_dir=cache) == independent_digest(folder)
    assert [p.name for p in hashed] == ["a.txt"]


def test_a_small_model_is_hashed_without_reading_or_writing_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    (entry,) = digest_mod.list_files(folder)
    cache = tmp_path / "cache"
    cache.mkdir()
    stored = {"version": 1, "files": {str(entry.real): [entry.stat_key, "0" * 64]}}  # a wrong hash, if read
    (cache / "digests.json").write_text(json.dumps(stored))
    assert model_digest(folder, cache_dir=cache) == independent_digest(folder)
    assert json.loads((cache / "digests.json").read_text()) == stored  # neither used nor rewritten
    (folder / "weights.bin").write_bytes(b"\0" * digest_mod._CACHE_FROM_BYTES)
    digest_mod._SEEN.clear()
    assert model_digest(folder, cache_dir=cache) != independent_digest(folder)  # big: the cache is read


def test_corrupt_hash_cache_is_ignored(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "digests.json").write_text("{not json")
    assert model_digest(folder, cache_dir=cache) == independent_digest(folder)


def test_files_hashed_earlier_in_the_process_are_not_hashed_again_and_reach_the_cache(
    tmp_path: Path, monkeypatch
) -> None:
    """Render names model files by the digests the model digest just read; a digest taken without a
    cache first still fills the cache when one is given, so the next process does not re-hash."""
    from modeldeploy.model.digest import file_digests, list_files

    folder = make_folder(tmp_path / "m")
    first = model_digest(folder)  # no cache
    hashed: list[Path] = []
    real = digest_mod.file_sha256
    monkeypatch.setattr(digest_mod, "file_sha256", lambda p: hashed.append(p) or real(p))
    entries = list_files(folder)
    assert file_digests(entries) == {e.rel: hashlib.sha256(e.real.read_bytes()).hexdigest() for e in entries}
    cache = tmp_path / "cache"
    assert model_digest(folder, cache_dir=cache) == first
    assert hashed == []
    monkeypatch.setattr(digest_mod, "_SEEN", {})  # a new process
    assert model_digest(folder, cache_dir=cache) == first
    assert hashed == []  # from the cache file the earlier digest filled

    (folder / "sub" / "a.txt").write_text("changed since")  # a new stat: hashed again, not served stale
    assert file_digests(list_files(folder))["sub/a.txt"] == hashlib.sha256(b"changed since").hexdigest()
    assert [p.name for p in hashed] == ["a.txt"]
