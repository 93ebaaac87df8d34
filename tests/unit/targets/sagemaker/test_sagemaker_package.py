"""model.tar.gz is deterministic: same bytes twice, sorted entries, fixed mtime/uid/gid/names, gzip
mtime 0; in-folder symlinks are stored as files, symlinks leaving the folder are refused."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from modeldeploy.errors import ModelError
from modeldeploy.targets.sagemaker.package import read_member, write_model_tar
from tests.unit.targets.sagemaker.sm_helpers import write_model


def _tar(folder: Path) -> bytes:
    buf = io.BytesIO()
    write_model_tar(folder, buf)
    return buf.getvalue()


def test_same_bytes_twice_and_fixed_metadata(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "m")
    (folder / "sub").mkdir()
    (folder / "sub" / "z.bin").write_bytes(b"z" * 1000)
    (folder / "a.txt").write_text("a")
    run = folder / "run.sh"
    run.write_text("#!/bin/sh\n")
    run.chmod(0o755)
    first = _tar(folder)
    os.utime(folder / "a.txt", (1, 1))  # mtimes on disk must not matter
    assert _tar(folder) == first
    assert first[4:8] == b"\0\0\0\0"  # gzip header MTIME
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {"MLmodel", "sub/z.bin", "a.txt"} <= set(names)
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
        assert m.isfile()
    assert {m.name: m.mode for m in members}["run.sh"] == 0o755
    assert {m.name: m.mode for m in members}["a.txt"] == 0o644
    assert gzip.decompress(first)  # a plain gzip stream


def test_symlink_inside_is_stored_as_file_and_outside_is_refused(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "m")
    (folder / "link.pkl").symlink_to("model.pkl")
    with tarfile.open(fileobj=io.BytesIO(_tar(folder)), mode="r:gz") as tar:
        member = tar.getmember("link.pkl")
        assert member.isfile() and tar.extractfile(member).read() == (folder / "model.pkl").read_bytes()
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of the model")
    (folder / "escape").symlink_to(secret)
    with pytest.raises(ModelError, match="outside"):
        _tar(folder)


def test_read_member_streams_until_found(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "m")
    data = _tar(folder)
    assert read_member(io.BytesIO(data), "MLmodel") == (folder / "MLmodel").read_bytes()
    assert read_member(io.BytesIO(data), "missing") is None


def test_needs_mlmodel(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("f")
    with pytest.raises(ModelError, match="MLmodel"):
        _tar(tmp_path / "x")
