"""resolve() for local folders: relative to deploy.yaml, pinned as written, digested."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.errors import SourceError
from modeldeploy.model.digest import model_digest
from modeldeploy.model.sources import default_cache_dir, resolve


def make_model(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "MLmodel").write_text("flavors:\n  python_function: {}\n")
    (path / "model.pkl").write_bytes(b"\x80\x04N.")
    return path


@pytest.mark.parametrize(
    ("written", "pinned"), [("./model", "model"), ("model", "model"), ("models/../model", "models/../model")]
)
def test_local_folder_is_relative_to_base_dir_and_pinned_as_written(tmp_path: Path, written: str, pinned: str) -> None:
    (tmp_path / "models").mkdir()
    folder = make_model(tmp_path / "model")
    ref = resolve(written, base_dir=tmp_path, cache_dir=tmp_path / "cache", environ={})
    assert ref.uri == written
    assert ref.pinned_uri == pinned
    assert ref.local_path.resolve() == folder.resolve()
    assert ref.digest == model_digest(folder)
    assert ref.version is None and ref.alias is None


def test_absolute_path_is_pinned_relative_to_the_repository_or_by_digest(tmp_path: Path) -> None:
    """No machine path and no ../ in the pinned form (it lands in labels, tags and plans)."""
    folder = make_model(tmp_path / "common" / "model")
    base = tmp_path / "project"
    base.mkdir()
    ref = resolve(str(folder), base_dir=base, cache_dir=tmp_path / "cache", environ={})
    assert str(tmp_path) not in ref.pinned_uri and "../" not in ref.pinned_uri
    (tmp_path / ".git").mkdir()  # now inside a repository: the path from its root
    ref = resolve(str(folder), base_dir=base, cache_dir=tmp_path / "cache", environ={})
    assert ref.pinned_uri == "common/model"


def test_missing_folder_is_a_source_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="'nope' not found"):
        resolve("nope", base_dir=tmp_path, cache_dir=tmp_path / "c", environ={})


def test_a_file_is_not_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"x")
    with pytest.raises(SourceError, match="is a file"):
        resolve("model.pkl", base_dir=tmp_path, cache_dir=tmp_path / "c", environ={})


def test_cache_dir_comes_from_the_given_environment(tmp_path: Path) -> None:
    assert default_cache_dir({"MODELDEPLOY_CACHE_DIR": str(tmp_path / "x")}) == tmp_path / "x"
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "modeldeploy"
    assert default_cache_dir({}) == Path.home() / ".cache" / "modeldeploy"
    make_model(tmp_path / "m")
    (tmp_path / "m" / "weights.bin").write_bytes(b"\0" * (1 << 20))  # big enough to be worth caching
    resolve("m", base_dir=tmp_path, environ={"MODELDEPLOY_CACHE_DIR": str(tmp_path / "envcache")})
    assert (tmp_path / "envcache" / "digests.json").is_file()


def test_remote_source_without_tracking_server_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="MLFLOW_TRACKING_URI"):
        resolve("models:/iris/1", base_dir=tmp_path, cache_dir=tmp_path / "c", environ={})


def test_non_http_tracking_uri_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not an http"):
        resolve(
            "models:/iris/1", base_dir=tmp_path, cache_dir=tmp_path / "c", tracking_uri="sqlite:///x.db", environ={}
        )
