"""The Azure ML loaders' scratch folder (targets/azureml/scratch.py) holds exactly what a fresh
temporary folder written by ``write_tree(..., placeholders=True)`` holds, whatever trees came before.

Real files on disk; the loaders themselves are not run here (tests/unit/targets/azureml/test_azureml_render.py
renders and loads real specs through this folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modeldeploy.rendering.artifact import Artifact
from modeldeploy.targets.azureml import scratch
from modeldeploy.targets.azureml.validate import _placed, write_tree


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root: a file's bytes, None for a folder."""
    return {p.relative_to(root).as_posix(): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


def _fresh(tmp_path: Path, artifacts: list[Artifact]) -> dict[str, bytes | None]:
    root = tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}"
    root.mkdir()
    write_tree(root, artifacts, placeholders=True)
    return _snapshot(root)


def _tree(name: str, *, extra: bool = False, model_as_file: bool = False) -> list[Artifact]:
    out = [
        Artifact("azureml/endpoint.yaml", "application/yaml", f"name: {name}\n".encode()),
        Artifact("azureml/deployment.yaml", "application/yaml", f"name: {name}-d\nmodel: {{path: model}}\n".encode()),
    ]
    if model_as_file:
        out.append(Artifact("azureml/model", "text/plain", b"not a folder now\n"))
    else:
        out.append(Artifact("azureml/model/MLmodel", "text/plain", b"flavors: {}\n", source="model/MLmodel"))
        out.append(Artifact("azureml/model/conda.yaml", "text/plain", b"name: env\n", source="model/conda.yaml"))
    if extra:
        out.append(Artifact("azureml/model/extra/input_example.json", "application/json", b"{}", source="model/x"))
        out.append(Artifact("azureml/code/score.py", "text/x-python", b"print(1)\n"))
    return out


def test_the_folder_holds_exactly_each_tree_in_turn(tmp_path: Path) -> None:
    seen = set()
    for artifacts in (
        _tree("a", extra=True),
        _tree("b"),  # the extra files and their folders must go
        _tree("c", model_as_file=True),  # a file where a folder was
        _tree("d", extra=True),  # and a folder where that file was
        _tree("d", extra=True),  # the same tree again: nothing to write
    ):
        with scratch.folder(artifacts, _placed) as root:
            assert _snapshot(root) == _fresh(tmp_path, artifacts)
            seen.add(root)
    assert len(seen) == 1  # one folder for the process


def test_a_file_changed_behind_its_back_is_written_again(tmp_path: Path) -> None:
    artifacts = _tree("e")
    with scratch.folder(artifacts, _placed) as root:
        (root / "azureml/endpoint.yaml").write_bytes(b"name: tampered-with-a-longer-text\n")
        (root / "azureml/model/conda.yaml").write_bytes(b"not a placeholder")
        (root / "azureml/stray.yaml").write_bytes(b"x")
    with scratch.folder(artifacts, _placed) as root:
        assert _snapshot(root) == _fresh(tmp_path, artifacts)


def test_a_forked_process_has_its_own_folder_and_every_process_removes_its_own(tmp_path: Path) -> None:
    code = """
import os, sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.targets.azureml import scratch
from modeldeploy.targets.azureml.validate import _placed

def used():
    with scratch.folder([Artifact("azureml/endpoint.yaml", "application/yaml", b"name: x\\n")], _placed) as root:
        return str(root)

if __name__ == "__main__":
    mine = used()
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:  # as render --jobs runs them
        theirs = pool.submit(used).result()
    print(mine, theirs, os.path.isdir(mine), os.path.isdir(theirs))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ}
    ).stdout.split()
    mine, theirs, mine_there, theirs_there = out
    assert mine != theirs and mine_there == "True"
    assert theirs_there == "False"  # the worker removed its folder when it ended
    assert not Path(mine).exists()  # and this process at its exit
