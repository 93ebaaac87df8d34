"""target.registry: the kubernetes target renders the docker target's build context beside its
manifests and references REGISTRY/NAME:<digest of that context>, byte-stable before any build."""

from __future__ import annotations

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.targets.docker.build import build_command, context_digest, split_reference
from modeldeploy.targets.docker.registry import split_context
from tests.unit.targets.kubernetes.k8s_case import context, render_ctx, write_spec

REG = {"target": {"registry": "127.0.0.1:5000/ml"}}


def _image(arts) -> str:
    import yaml

    dep = next(a for a in arts if a.path == "k8s/deployment.yaml")
    return yaml.safe_load(dep.content)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_registry_renders_the_build_context_and_a_digest_reference(tmp_path):
    from modeldeploy.targets.docker.target import DockerTargetImpl

    ctx = context(write_spec(tmp_path, **REG))
    arts = render_ctx(ctx)
    image = _image(arts)
    context_files = split_context(arts)
    # The same context the docker target renders for this model, under image/.
    from dataclasses import replace

    from modeldeploy.spec.targets.docker import DockerTarget

    docker = DockerTargetImpl().render(
        replace(ctx, spec=ctx.spec.model_copy(update={"target": DockerTarget(kind="docker")}))
    )
    assert sorted((a.path, a.digest) for a in docker) == sorted((a.path, a.digest) for a in context_files)
    assert {a.path for a in context_files} >= {"Dockerfile", "requirements.txt", "entrypoint.py", "model/MLmodel"}
    digest = context_digest(context_files)
    assert image == f"127.0.0.1:5000/ml/iris:{digest[:12]}"
    # Byte-stable: rendering again gives the same files and the same reference.
    again = render_ctx(context(write_spec(tmp_path, **REG)))
    assert [(a.path, a.digest) for a in again] == [(a.path, a.digest) for a in arts]


def test_a_build_key_that_changes_the_context_changes_the_reference(tmp_path):
    first = _image(render_ctx(context(write_spec(tmp_path, **REG))))
    other = _image(
        render_ctx(context(write_spec(tmp_path, target={"registry": "127.0.0.1:5000/ml", "base_image": "python:3.11"})))
    )
    assert first != other and other.startswith("127.0.0.1:5000/ml/iris:")


def test_without_registry_nothing_changes(tmp_path):
    arts = render_ctx(context(write_spec(tmp_path)))
    assert not any(a.path.startswith("image/") for a in arts)
    assert _image(arts) == "iris:" + context(write_spec(tmp_path)).ref.short_digest


def test_registry_and_image_exclude_each_other_with_a_located_error(tmp_path):
    path = write_spec(tmp_path, target={"registry": "ghcr.io/org", "image": "ghcr.io/org/iris:1"})
    with pytest.raises(SpecError) as err:
        context(path)
    assert "deploy.yaml:" in str(err.value) and "registry and image exclude each other" in str(err.value)


@pytest.mark.parametrize("bad", ["https://ghcr.io/org", "ghcr.io/Org", "ghcr.io/org:tag x"])
def test_a_registry_that_is_not_host_and_path_is_refused(tmp_path, bad):
    with pytest.raises(SpecError, match="registry"):
        context(write_spec(tmp_path, target={"registry": bad}))


@pytest.mark.parametrize(
    "ok", ["ghcr.io/org", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "myacr.azurecr.io/ml", "127.0.0.1:5000/ml"]
)
def test_the_registries_users_name_are_accepted(tmp_path, ok):
    assert _image(render_ctx(context(write_spec(tmp_path, target={"registry": ok})))).startswith(ok + "/iris:")


def test_build_options_reach_docker_build(tmp_path):
    from modeldeploy.spec.targets.imagebuild import BuildConfig

    cmd = build_command(
        "docker",
        tmp_path,
        "r/x:1",
        platform="linux/amd64",
        build=BuildConfig(network="host", pull=True, args={"B": "2", "A": "1"}),
    )
    assert cmd == [
        "docker",
        "build",
        "--tag",
        "r/x:1",
        "--platform",
        "linux/amd64",
        "--network",
        "host",
        "--pull",
        "--build-arg",
        "A=1",
        "--build-arg",
        "B=2",
        str(tmp_path),
    ]


def test_split_reference():
    assert split_reference("127.0.0.1:5000/ml/iris:abc") == ("127.0.0.1:5000", "ml/iris", "abc")
