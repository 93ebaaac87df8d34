"""Hostile model folders: symlinks leaving the folder, special files, absurd sizes, and deterministic
packaging — through the real load → render path of every target that renders here.

Where a check could hang or exhaust memory it runs in a subprocess with a timeout / address-space
limit, so a regression fails the test instead of the test run.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.errors import ModelDeployError
from tests.hostile.corpus import EXAMPLE_MODEL, TARGETS

REPO = Path(__file__).resolve().parents[2]


def _target_yaml(kind: str) -> str:
    import json

    return json.dumps(TARGETS[kind])


def project(tmp_path: Path, kind: str = "docker", source: str = "./model") -> Path:
    model = tmp_path / "model"
    if not model.exists():
        shutil.copytree(EXAMPLE_MODEL, model)
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: probe\n"
        f"model: {{source: {source}}}\nsignature: {{required: false}}\ntarget: {_target_yaml(kind)}\n"
    )
    return spec


def render(spec: Path) -> dict[str, bytes]:
    return {a.path: a.content for a in api.render(api.load(spec, environ={})).artifacts}


# Every target, always: a target that fails to import or load fails these tests (it is the code under
# test); it is never quietly dropped from the list.
KINDS = list(TARGETS)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.txt").write_text("SECRET OUTSIDE THE MODEL FOLDER\n")
    return d


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("link", ["file", "dir", "dangling", "absolute-root"])
def test_symlinks_leaving_the_model_folder_are_refused(tmp_path: Path, outside: Path, kind: str, link: str) -> None:
    spec = project(tmp_path, kind)
    model = tmp_path / "model"
    if link == "file":
        (model / "leak.txt").symlink_to(outside / "secret.txt")
    elif link == "dir":
        (model / "leakdir").symlink_to(outside, target_is_directory=True)
    elif link == "dangling":
        (model / "gone").symlink_to(tmp_path / "does-not-exist")
    else:
        (model / "root").symlink_to("/", target_is_directory=True)
    with pytest.raises(ModelDeployError) as info:
        render(spec)
    assert info.value.lines()


@pytest.mark.parametrize("kind", KINDS)
def test_symlinks_inside_the_folder_are_fine_and_nothing_outside_is_read(
    tmp_path: Path, outside: Path, kind: str
) -> None:
    spec = project(tmp_path, kind)
    (tmp_path / "model" / "alias.json").symlink_to("input_example.json")
    files = render(spec)
    for content in files.values():
        assert b"SECRET OUTSIDE" not in content


def test_the_model_source_itself_may_not_escape_through_a_symlinked_parent(tmp_path: Path, outside: Path) -> None:
    """model.source pointing through a symlink to a folder elsewhere is the user's choice (it is what
    they wrote); the folder's *contents* are what is confined. This pins that behaviour."""
    shutil.copytree(EXAMPLE_MODEL, outside / "real-model")
    (tmp_path / "linked").symlink_to(outside / "real-model", target_is_directory=True)
    spec = project(tmp_path, "docker", source="./linked")
    assert "Dockerfile" in render(spec)


def _run_python(code: str, *, timeout: float, address_space: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=limit,
    )


def _render_in_subprocess(
    spec: Path, *, timeout: float, address_space: int | None = None
) -> subprocess.CompletedProcess[str]:
    return _run_python(
        f"""
        import sys
        from modeldeploy import api
        from modeldeploy.errors import ModelDeployError
        try:
            api.render(api.load({str(spec)!r}, environ={{}}))
        except ModelDeployError as exc:
            print("MODELDEPLOY-ERROR", exc.code, exc.lines()[0])
            sys.exit(1)
        print("RENDERED")
        """,
        timeout=timeout,
        address_space=address_space,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_fifo_in_the_model_folder_does_not_hang_render(tmp_path: Path, kind: str) -> None:
    """render.model_files skips non-regular files as the model digest does (one file set: list_files)."""
    spec = project(tmp_path, kind)
    os.mkfifo(tmp_path / "model" / "pipe")
    proc = _render_in_subprocess(spec, timeout=30)
    assert proc.returncode == 0 and "RENDERED" in proc.stdout and "Traceback" not in proc.stderr, proc.stderr


# Render holds no model bytes: model copies are named by digest and streamed when written. 1 GiB of
# address space is far more than the CLI needs and far less than the sparse model files below, so
# reading one whole into memory fails under it.
RENDER_MEMORY_LIMIT = 1 << 30


def test_a_model_bigger_than_memory_renders_and_plans_without_being_read_into_it(tmp_path: Path) -> None:
    spec = project(tmp_path, "docker")
    with open(tmp_path / "model" / "weights.bin", "wb") as f:  # sparse: no disk space used
        f.truncate(4 << 30)
    (tmp_path / "rendered").mkdir()  # an empty folder: nothing deployed
    proc = _run_python(
        f"""
        from modeldeploy import api
        dep = api.load({str(spec)!r}, environ={{}})
        plan, result = api.plan(dep, "dir:{tmp_path / "rendered"}")
        [weights] = [c for c in plan.changes if c.name.endswith("/model/weights.bin")]
        print("PLANNED", weights.action.value, weights.after["size"], weights.after["digest"])
        """,
        timeout=180,
        address_space=RENDER_MEMORY_LIMIT,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    zeros, h = bytes(1 << 20), hashlib.sha256()
    for _ in range(4 << 10):
        h.update(zeros)
    assert proc.stdout.split() == ["PLANNED", "create", str(4 << 30), "sha256:" + h.hexdigest()], proc.stdout


def test_writing_a_render_streams_model_files(tmp_path: Path) -> None:
    spec = project(tmp_path, "docker")
    with open(tmp_path / "model" / "weights.bin", "wb") as f:
        f.truncate((1 << 30) + (256 << 20))  # 1.25 GiB: more than the address space the writer has
    out = tmp_path / "out"
    proc = _run_python(
        f"""
        from modeldeploy import api
        from modeldeploy.rendering.write import write_tree
        result = api.render(api.load({str(spec)!r}, environ={{}}))
        write_tree(__import__("pathlib").Path({str(out)!r}), result.artifacts)
        print("WRITTEN")
        """,
        timeout=180,
        address_space=RENDER_MEMORY_LIMIT,
    )
    assert proc.returncode == 0 and "WRITTEN" in proc.stdout, proc.stderr[-1500:]
    written = out / "model" / "weights.bin"
    assert written.stat().st_size == (1 << 30) + (256 << 20)
    with open(written, "rb") as f:
        f.seek(-(1 << 20), os.SEEK_END)
        assert f.read() == bytes(1 << 20)


def test_a_model_file_changed_after_it_was_digested_is_not_written(tmp_path: Path) -> None:
    from modeldeploy.errors import RenderError
    from modeldeploy.rendering.write import write_tree

    spec = project(tmp_path, "docker")
    weights = tmp_path / "model" / "weights.bin"
    weights.write_bytes(b"a" * 4096)
    result = api.render(api.load(spec, environ={}))
    weights.write_bytes(b"b" * 4096)  # same size, other bytes: as a training job still writing would
    with pytest.raises(RenderError, match="changed while modeldeploy was using it"):
        write_tree(tmp_path / "out", result.artifacts)
    # Nothing is written: no file, no temp file, not even the folders the write had made for them.
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_packaging_is_deterministic_across_copies_times_and_modes(tmp_path: Path, kind: str) -> None:
    """Same model bytes → same artifacts, whatever the folder's path, mtimes, or creation order."""
    a = tmp_path / "a"
    a.mkdir()
    first = render(project(a, kind))
    again = render(project(a, kind))
    assert first == again
    b = tmp_path / "elsewhere" / "b"
    b.mkdir(parents=True)
    model = b / "model"
    model.mkdir()
    for src in sorted(EXAMPLE_MODEL.iterdir(), reverse=True):  # another creation order
        shutil.copyfile(src, model / src.name)
        os.utime(model / src.name, (1_000_000_000, 1_000_000_000))
    second = render(project(b, kind))
    assert second == first


def test_a_normal_model_renders_within_the_memory_limit(tmp_path: Path) -> None:
    """The control for the tests above: the example model renders under the same address-space limit."""
    proc = _render_in_subprocess(project(tmp_path, "docker"), timeout=120, address_space=RENDER_MEMORY_LIMIT)
    assert proc.returncode == 0 and "RENDERED" in proc.stdout, proc.stderr[-1500:]


def test_render_ships_the_files_the_digest_covers(tmp_path: Path) -> None:
    """One file set (model.digest.list_files): a symlinked folder inside the model is shipped as the
    digest counts it, special files are in neither, and only build caches are left out of render."""
    from modeldeploy.model.digest import list_files

    spec = project(tmp_path, "docker")
    model = tmp_path / "model"
    (model / "extra").mkdir()
    (model / "extra" / "vocab.txt").write_text("a\nb\n")
    (model / "linked").symlink_to("extra", target_is_directory=True)
    (model / "__pycache__").mkdir()
    (model / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    os.mkfifo(model / "pipe")
    shipped = {p.removeprefix("model/") for p in render(spec) if p.startswith("model/")}
    digested = {e.rel for e in list_files(model)}
    assert shipped == digested - {"__pycache__/x.cpython-311.pyc"}
    assert {"extra/vocab.txt", "linked/vocab.txt"} <= shipped and "pipe" not in digested
