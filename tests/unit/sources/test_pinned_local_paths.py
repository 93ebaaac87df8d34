"""Issue #19, item 5: no path of the rendering machine (absolute, or ``../`` out of deploy.yaml's
folder) reaches an artifact, label, tag, description or plan through the pinned model URI."""

from __future__ import annotations

from pathlib import Path

from modeldeploy.model.sources.local import pinned_local, repo_root

DIGEST = "sha256:" + "ab" * 32


def test_a_path_inside_the_deploy_folder_is_kept_as_written(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    assert pinned_local("./model", tmp_path / "model", tmp_path, digest=DIGEST) == "model"
    assert pinned_local("model/", tmp_path / "model", tmp_path, digest=DIGEST) == "model"


def test_a_path_out_of_the_folder_is_relative_to_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "models" / "heart").mkdir(parents=True)
    (tmp_path / "services" / "heart").mkdir(parents=True)
    base = tmp_path / "services" / "heart"
    assert repo_root(base) == tmp_path
    assert pinned_local("../../models/heart", tmp_path / "models" / "heart", base, digest=DIGEST) == "models/heart"
    absolute = str(tmp_path / "models" / "heart")
    assert pinned_local(absolute, tmp_path / "models" / "heart", base, digest=DIGEST) == "models/heart"


def test_a_worktree_git_file_marks_the_root_too(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "svc").mkdir()
    assert pinned_local("../m", tmp_path / "m", tmp_path / "svc", digest=DIGEST) == "m"


def test_outside_any_repository_the_digest_stands_in(tmp_path: Path) -> None:
    (tmp_path / "a" / "model").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    if repo_root(tmp_path) is not None:  # a temp dir inside a checkout: nothing to test honestly here
        return
    pinned = pinned_local("../a/model", tmp_path / "a" / "model", tmp_path / "b", digest=DIGEST)
    assert pinned == DIGEST
    assert (
        pinned_local(str(tmp_path / "a" / "model"), tmp_path / "a" / "model", tmp_path / "b", digest=DIGEST) == DIGEST
    )


def test_a_rendered_deployment_carries_no_machine_path(tmp_path: Path) -> None:
    """End to end: a kubernetes render of a model outside deploy.yaml's folder, inside a repository."""
    import shutil

    from modeldeploy import api

    repo = Path(__file__).resolve().parents[3]
    (tmp_path / ".git").mkdir()
    shutil.copytree(repo / "examples" / "iris" / "model", tmp_path / "models" / "iris")
    svc = tmp_path / "services" / "iris"
    svc.mkdir(parents=True)
    (svc / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ../../models/iris}\n"
        "signature: {required: false}\ntarget: {kind: kubernetes, image: registry.internal/ml/iris:1}\n"
    )
    result = api.render(api.load(svc / "deploy.yaml"))
    for artifact in result.artifacts:
        if artifact.file is None:
            text = artifact.content.decode("utf-8", "replace")
            assert str(tmp_path) not in text and "../" not in text, artifact.path
    assert any(a.file is None and b"models/iris" in a.content for a in result.artifacts)
