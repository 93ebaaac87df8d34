"""Compiled templates are kept on disk by Jinja's FileSystemBytecodeCache under the cache dir: a
second process loads the code instead of compiling the template, renders the same bytes, and a cache
it cannot use (a damaged file, a folder it cannot make) costs a compile, never a render."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.rendering import jinja

REPO = Path(__file__).resolve().parents[3]

RENDER = """
import hashlib, sys
from jinja2.sandbox import SandboxedEnvironment
compiled = []
real = SandboxedEnvironment.compile
def spy(self, source, name=None, *a, **k):
    compiled.append(name)
    return real(self, source, name, *a, **k)
SandboxedEnvironment.compile = spy
from modeldeploy import api
result = api.render(api.load("examples/iris/deploy.yaml", "prod"))
dockerfile = next(a.content for a in result.artifacts if a.path == "Dockerfile")
print(compiled, hashlib.sha256(dockerfile).hexdigest())
"""


def _render(cache: Path) -> tuple[str, str]:
    env = {"MODELDEPLOY_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", RENDER], capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    compiled, digest = proc.stdout.rsplit(" ", 1)
    return compiled, digest.strip()


def test_a_second_process_loads_the_compiled_template_and_renders_the_same_bytes(tmp_path: Path) -> None:
    first, out1 = _render(tmp_path / "cache")
    assert first == "['docker/Dockerfile.j2']"
    assert len(list((tmp_path / "cache" / "jinja").glob("*/*.cache"))) == 1
    second, out2 = _render(tmp_path / "cache")
    assert second == "[]" and out2 == out1


def test_a_damaged_cache_file_is_compiled_again(tmp_path: Path) -> None:
    _, want = _render(tmp_path / "cache")
    (cached,) = (tmp_path / "cache" / "jinja").glob("*/*.cache")
    for damage in (cached.read_bytes()[:40], b"", b"\x00garbage" * 100):
        cached.write_bytes(damage)
        compiled, got = _render(tmp_path / "cache")
        assert compiled == "['docker/Dockerfile.j2']" and got == want


def test_a_cache_folder_that_cannot_be_made_means_compiling(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    compiled, _ = _render(tmp_path / "cache")
    assert compiled == "['docker/Dockerfile.j2']"


def test_the_folder_is_keyed_by_the_options_the_code_is_compiled_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELDEPLOY_CACHE_DIR", str(tmp_path))
    first = jinja._bytecode_cache()
    monkeypatch.setitem(jinja._OPTIONS, "trim_blocks", False)
    second = jinja._bytecode_cache()
    assert first is not None and second is not None
    assert Path(first.directory).parent == Path(second.directory).parent == tmp_path / "jinja"
    assert first.directory != second.directory


def test_a_folder_others_may_write_to_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache holds code the process runs: a folder group or others may write to (or owned by
    another user) is not trusted, as Jinja does not trust its own default folder then."""
    monkeypatch.setenv("MODELDEPLOY_CACHE_DIR", str(tmp_path))
    cache = jinja._bytecode_cache()
    assert cache is not None
    Path(cache.directory).chmod(0o777)
    assert jinja._bytecode_cache() is None
    Path(cache.directory).chmod(0o700)
    assert jinja._bytecode_cache() is not None
