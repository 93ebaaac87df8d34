"""How ``runs.render_many`` spreads a monorepo mixing Azure ML files with others over its processes.

The order of work is what is tested here, so the render itself is replaced by a stand-in that records
which process rendered each file and whether that process had already "imported the SDK" (rendered
an Azure ML file before, or was forked from one that had). The workers are real forked processes;
that the real renders are byte-identical to a serial run is tested in tests/cli/test_render_parallel.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modeldeploy import runs
from modeldeploy.errors import ModelDeployError

_WARM: list[str] = []  # the kinds this process has rendered before (inherited by a forked worker)


def _fake_render_one(item):
    path, _env = item
    kind = path.parent.name.split("-")[0]
    warm, sdk = kind in _WARM, "azureml" in _WARM
    _WARM.append(kind)
    if "-bad-" in path.parent.name:
        return runs._Outcome(error=ModelDeployError(f"{path}: broken"))
    return runs._Outcome(value=(path.parent.name, os.getpid(), warm, sdk))


def _monorepo(root: Path, kinds: list[str]) -> list[Path]:
    paths = []
    for i, kind in enumerate(kinds):
        p = root / f"{kind}-{i:03d}" / "deploy.yaml"
        p.parent.mkdir(parents=True)
        p.write_text(f"apiVersion: modeldeploy/v1\nname: s{i}\ntarget:\n  # the kind\n  kind: '{kind.split('-')[0]}'\n")
        paths.append(p)
    return paths


@pytest.fixture(autouse=True)
def _stand_in(monkeypatch):
    monkeypatch.setattr(runs, "_render_one", _fake_render_one)
    _WARM.clear()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the workers are forked")
def test_azureml_files_pay_their_warm_up_once_while_the_workers_render_the_others(tmp_path: Path) -> None:
    kinds = ["docker", "kubernetes", "azureml", "sagemaker"] * 30
    paths = _monorepo(tmp_path, kinds)
    results = runs.render_many(paths, None, jobs=2)
    assert [r[0] for r in results] == [p.parent.name for p in paths]  # each once, in order
    parent = os.getpid()
    by_kind: dict[str, list[tuple[int, bool]]] = {}
    for name, pid, warm, sdk in results:
        by_kind.setdefault(name.split("-")[0], []).append((pid, warm))
        if not name.startswith("azureml"):
            assert not sdk  # the workers rendering the others were forked before the SDK's import
    for kind in ("docker", "kubernetes", "sagemaker"):
        first, *rest = by_kind[kind]
        assert first == (parent, False)  # warmed up here before the fork...
        assert all(pid != parent and warm for pid, warm in rest)  # ...and the workers start warm
    azure = by_kind["azureml"]
    assert azure[0] == (parent, False)  # the one Azure ML warm-up, here, after the fork
    assert all(warm for _, warm in azure[1:])  # no worker paid it again
    assert any(pid == parent for pid, _ in azure[1:])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the workers are forked")
def test_errors_of_every_process_come_back_together_in_file_order(tmp_path: Path) -> None:
    kinds = ["docker", "azureml"] * 12 + ["azureml-bad", "docker-bad"] + ["azureml"] * 10
    paths = _monorepo(tmp_path, kinds)
    serial = pytest.raises(ModelDeployError, runs.render_many, paths, None, jobs=1)
    _WARM.clear()
    parallel = pytest.raises(ModelDeployError, runs.render_many, paths, None, jobs=2)
    messages = [d.message for d in parallel.value.diagnostics]
    assert messages == [d.message for d in serial.value.diagnostics]
    assert len(messages) == 2 and "azureml-bad" in messages[0] and "docker-bad" in messages[1]


@pytest.mark.parametrize("kinds", [["azureml"] * 9, ["docker", "kubernetes"] * 5])
def test_a_monorepo_of_one_weight_is_rendered_as_before(tmp_path: Path, kinds: list[str]) -> None:
    """All Azure ML (or none): one file of each kind here, then the workers (which start warm)."""
    paths = _monorepo(tmp_path, kinds)
    results = runs.render_many(paths, None, jobs=2)
    assert [r[0] for r in results] == [p.parent.name for p in paths]
    parent = os.getpid()
    assert [(pid == parent, warm) for _, pid, warm, _ in results[len(set(kinds)) :]] == [(False, True)] * (
        len(kinds) - len(set(kinds))
    )


def test_an_interrupted_render_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    """Each process stages the trees it rendered (temp files beside their targets) before the parent
    commits them; a run stopped before the commit (Ctrl-C reaching the workers: their staged trees
    never come back) removes every temp file it made, found by the run's mark in their names."""
    monkeypatch.undo()  # the real render: this test is about what is left on disk
    import shutil

    from tests.cli.test_render_parallel import _monorepo

    root = _monorepo(tmp_path / "repo", n=8)
    out = tmp_path / "out"
    real = runs.per_file

    def stopped(fn, items, jobs):
        real(fn, items[:5], 1)  # five trees staged, then the stop
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "per_file", stopped)
    with pytest.raises(KeyboardInterrupt):
        runs.render_to(out, sorted(root.glob("svc-*/deploy.yaml")), None, jobs=2)
    assert out.is_dir() and not [p for p in out.rglob("*") if p.is_file()]
    shutil.rmtree(out)
    monkeypatch.undo()
    results = runs.render_to(out, sorted(root.glob("svc-*/deploy.yaml")), None, jobs=1)
    assert [name for name, _, _ in results] == [f"svc-{i:02d}" for i in range(8)]
    assert not list(out.rglob("*.tmp")) and (out / "svc-00" / "Dockerfile").is_file()
