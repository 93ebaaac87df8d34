"""models:/, runs:/ and mlflow-artifacts:/ resolved against a real `mlflow server` (see conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.errors import SourceError
from modeldeploy.model.cache import ModelCache
from modeldeploy.model.digest import model_digest
from modeldeploy.model.sources import resolve
from modeldeploy.progress import Progress

pytestmark = pytest.mark.integration


def res(uri: str, url: str, cache: Path, **kw):
    return resolve(uri, base_dir=cache, cache_dir=cache, environ={"MLFLOW_TRACKING_URI": url}, **kw)


def test_version_uri_is_pinned_and_downloaded(registry, tmp_path: Path) -> None:
    ref = res("models:/iris/1", registry.url, tmp_path)
    assert (ref.pinned_uri, ref.version, ref.alias, ref.registered_name) == ("models:/iris/1", "1", None, "iris")
    assert (ref.local_path / "MLmodel").is_file()
    assert ref.digest == model_digest(ref.local_path)
    other = res("models:/iris/2", registry.url, tmp_path)
    assert other.digest != ref.digest  # different weights → different bytes


def test_alias_is_pinned_to_its_version(registry, tmp_path: Path) -> None:
    ref = res("models:/iris@champion", registry.url, tmp_path)
    assert ref.pinned_uri == "models:/iris/2"
    assert (ref.version, ref.alias) == ("2", "champion")
    assert ref.digest == res("models:/iris/2", registry.url, tmp_path).digest


def test_latest_is_the_highest_version(registry, tmp_path: Path) -> None:
    ref = res("models:/iris/latest", registry.url, tmp_path)
    assert (ref.pinned_uri, ref.version) == ("models:/iris/3", "3")


def test_stage_resolves_when_the_server_supports_stages(registry, tmp_path: Path) -> None:
    if not registry.stage_supported:
        pytest.skip("this mlflow server no longer supports stage transitions")
    ref = res("models:/iris/Production", registry.url, tmp_path)
    assert ref.pinned_uri == "models:/iris/3"
    with pytest.raises(SourceError, match="no version in stage 'Staging'"):
        res("models:/iris/Staging", registry.url, tmp_path)


def test_runs_uri_finds_mlflow3_logged_model(registry, tmp_path: Path) -> None:
    """MLflow 3 stores log_model output under models/m-…/artifacts, not in the run's artifacts."""
    ref = res(f"runs:/{registry.run_id}/model", registry.url, tmp_path)
    assert ref.pinned_uri == f"runs:/{registry.run_id}/model"
    assert ref.digest == res("models:/iris/1", registry.url, tmp_path).digest


def test_runs_uri_reads_run_artifacts(registry, tmp_path: Path) -> None:
    ref = res(f"runs:/{registry.run_id}/{registry.classic_run_path}", registry.url, tmp_path)
    assert (ref.local_path / "MLmodel").is_file()
    assert "sklearn" in (ref.local_path / "MLmodel").read_text()


def test_logged_model_id_and_artifact_proxy_uris(registry, tmp_path: Path) -> None:
    by_id = res(f"models:/{registry.logged_model_id}", registry.url, tmp_path)
    assert by_id.pinned_uri == f"models:/{registry.logged_model_id}"
    direct = res(f"mlflow-artifacts:/0/models/{registry.logged_model_id}/artifacts", registry.url, tmp_path)
    assert by_id.digest == direct.digest == res("models:/iris/1", registry.url, tmp_path).digest


def test_model_tracking_uri_wins_over_environment(registry, tmp_path: Path) -> None:
    ref = resolve(
        "models:/iris/1",
        base_dir=tmp_path,
        cache_dir=tmp_path,
        tracking_uri=registry.url,
        environ={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
    )
    assert ref.version == "1"


def test_second_resolve_does_not_download(registry, make_proxy, tmp_path: Path) -> None:
    proxy = make_proxy()
    first = res("models:/iris/2", proxy.url, tmp_path)
    n = len(proxy.downloads)
    assert n >= 1
    stamp = {p: p.stat().st_mtime_ns for p in first.local_path.rglob("*")}
    progress = Progress()
    again = res("models:/iris@champion", proxy.url, tmp_path, progress=progress)
    assert len(proxy.downloads) == n  # nothing fetched the second time
    assert again.local_path == first.local_path and again.digest == first.digest
    assert {p: p.stat().st_mtime_ns for p in again.local_path.rglob("*")} == stamp
    assert any("using cached download" in e for e in progress.events)


def test_cut_download_is_never_cached(registry, make_proxy, tmp_path: Path) -> None:
    cut = make_proxy(truncate=True)
    with pytest.raises(SourceError) as info:
        res("models:/iris/3", cut.url, tmp_path)
    assert "models:/iris/3" in str(info.value) and "\n" not in str(info.value)
    key_dirs = list((tmp_path / "models").iterdir()) if (tmp_path / "models").exists() else []
    assert [p for p in key_dirs if p.is_dir()] == []  # no entry looks complete
    assert list((tmp_path / "tmp").iterdir()) == []  # and the partial files are gone
    whole = make_proxy()
    ref = res("models:/iris/3", whole.url, tmp_path)
    assert len(whole.downloads) >= 1 and ref.digest == model_digest(ref.local_path)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/no-such-model/1", "registered model 'no-such-model' not found"),
        ("models:/no-such-model@champion", "registered model 'no-such-model' not found"),
        ("models:/no-such-model/latest", "registered model 'no-such-model' not found"),
        ("models:/iris/99", "registered model 'iris' has no version 99"),
        ("models:/iris@retired", "registered model 'iris' has no alias 'retired'"),
        ("runs:/0123456789abcdef0123456789abcdef/model", "run 0123456789abcdef0123456789abcdef not found"),
    ],
)
def test_specific_one_line_errors(registry, tmp_path: Path, uri: str, message: str) -> None:
    with pytest.raises(SourceError) as info:
        res(uri, registry.url, tmp_path)
    text = str(info.value)
    assert message in text and text.startswith(uri) and "\n" not in text


def test_missing_run_path(registry, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="has no artifacts at 'nothing-here'"):
        res(f"runs:/{registry.run_id}/nothing-here", registry.url, tmp_path)


def test_unreachable_server(tmp_path: Path) -> None:
    from tests.integration.sources.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SourceError, match="unreachable") as info:
        res("models:/iris/1", url, tmp_path)
    assert str(info.value).startswith("models:/iris/1")
    assert not ModelCache(tmp_path).root.joinpath("models").exists() or not any((tmp_path / "models").iterdir())


@pytest.mark.parametrize(("status", "phrase"), [(401, "requires authentication"), (403, "refused the credentials")])
def test_auth_refused(make_proxy, tmp_path: Path, status: int, phrase: str) -> None:
    """A local stand-in that answers every request with 401/403 (an honest label: a real MLflow
    server with basic-auth would need the auth app and its database; the client side is the same)."""
    refusing = make_proxy(refuse=status)
    env = {"MLFLOW_TRACKING_URI": refusing.url, "MLFLOW_TRACKING_TOKEN": "t0ken"}
    with pytest.raises(SourceError, match=phrase) as info:
        resolve("models:/iris@champion", base_dir=tmp_path, cache_dir=tmp_path, environ=env)
    assert "MLFLOW_TRACKING_TOKEN" in str(info.value) and "t0ken" not in str(info.value)
    assert refusing.auth_headers == ["Bearer t0ken"]


def test_basic_auth_header_from_username_and_password(make_proxy, tmp_path: Path) -> None:
    refusing = make_proxy(refuse=401)
    env = {"MLFLOW_TRACKING_URI": refusing.url, "MLFLOW_TRACKING_USERNAME": "ann", "MLFLOW_TRACKING_PASSWORD": "pw"}
    with pytest.raises(SourceError):
        resolve("models:/iris/1", base_dir=tmp_path, cache_dir=tmp_path, environ=env)
    assert refusing.auth_headers == ["Basic YW5uOnB3"]
