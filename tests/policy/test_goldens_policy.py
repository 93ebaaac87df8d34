"""Goldens cannot rewrite themselves: a test run only compares (no option or environment variable turns
a comparison into a rewrite); `python -m tests.goldens update` rewrites what differs and ends non-zero
when it did; and every example renders byte-identically in two processes with different hash seeds."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tests.goldens as goldens
from modeldeploy.rendering.artifact import Artifact

REPO = Path(__file__).resolve().parents[2]


def _artifact(path: str, content: bytes) -> Artifact:
    return Artifact(path, "text/plain", content)


def test_a_test_run_never_rewrites_a_golden_whatever_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old switches (MODELDEPLOY_UPDATE_GOLDENS, --update-goldens) made every golden test pass."""
    monkeypatch.setenv("MODELDEPLOY_UPDATE_GOLDENS", "1")
    golden = tmp_path / "plan.txt"
    golden.write_bytes(b"old\n")
    with pytest.raises(AssertionError, match="differs"):
        goldens.assert_file(b"new\n", golden)
    assert golden.read_bytes() == b"old\n"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "Dockerfile").write_bytes(b"FROM old\n")
    with pytest.raises(AssertionError, match="differs"):
        goldens.assert_tree([_artifact("Dockerfile", b"FROM new\n")], tree)
    assert (tree / "Dockerfile").read_bytes() == b"FROM old\n"
    with pytest.raises(AssertionError, match="no golden"):
        goldens.assert_file(b"x", tmp_path / "missing.txt")
    assert not (tmp_path / "missing.txt").exists()


def test_the_update_mode_rewrites_and_fails_and_leaves_equal_files_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(goldens, "_rewritten", [])
    same = tmp_path / "same.txt"
    same.write_bytes(b"same\n")
    goldens.assert_file(b"same\n", same)
    assert goldens._rewritten == []
    changed = tmp_path / "changed.txt"
    changed.write_bytes(b"old\n")
    with pytest.raises(AssertionError, match="rewrote"):
        goldens.assert_file(b"new\n", changed)
    assert changed.read_bytes() == b"new\n" and goldens._rewritten


def test_the_update_command_ends_non_zero_after_rewriting_and_zero_after(tmp_path: Path) -> None:
    """`update()` on a one-test stand-in for GOLDEN_TESTS, in a subprocess (it runs pytest itself)."""
    golden = tmp_path / "g.txt"
    golden.write_bytes(b"old\n")
    (tmp_path / "test_one_golden.py").write_text(
        textwrap.dedent(f"""
        from pathlib import Path
        from tests.goldens import assert_file

        def test_golden():
            assert_file(b"new\\n", Path({str(golden)!r}))
    """)
    )
    driver = f"import sys, tests.goldens as g; g.GOLDEN_TESTS = ({str(tmp_path / 'test_one_golden.py')!r},); sys.exit(g.update([]))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run(
        [sys.executable, "-c", driver], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 1, first.stdout + first.stderr
    assert "rewrote" in first.stderr and golden.read_bytes() == b"new\n"
    second = subprocess.run(
        [sys.executable, "-c", driver], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stdout + second.stderr


def test_every_golden_test_module_is_listed_for_update() -> None:
    users = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "tests").rglob("test_*.py")
        if "policy" not in p.parts and ("assert_tree" in p.read_text() or "assert_file" in p.read_text())
    )
    assert users and set(users) <= set(goldens.GOLDEN_TESTS), users


RENDER_ALL = """
import sys
from pathlib import Path
from modeldeploy import api
from modeldeploy.rendering.write import write_tree
from modeldeploy.spec.loader import load_all_environments

out = Path(sys.argv[1])
for spec in sorted(Path("examples").rglob("deploy.yaml")):
    for loaded in load_all_environments(spec):
        case = spec.parent.as_posix().replace("/", "_") + "-" + (loaded.env or "base")
        write_tree(out / case, api.render(api.load(spec, loaded.env)).artifacts)
print("rendered")
"""


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_example_renders_byte_identically_under_two_hash_seeds(tmp_path: Path) -> None:
    """Rendering twice in one process cannot catch an order that follows str hashing (set iteration)."""
    trees = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", RENDER_ALL, str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0 and "rendered" in proc.stdout, proc.stderr
        trees.append(_tree(out))
    assert len(trees[0]) >= 10
    assert sorted(trees[0]) == sorted(trees[1])
    differing = [rel for rel in trees[0] if trees[0][rel] != trees[1][rel]]
    assert not differing, differing
    assert not filecmp.dircmp(tmp_path / "seed-1", tmp_path / "seed-4242").diff_files
