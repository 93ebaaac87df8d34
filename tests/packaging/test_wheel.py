"""The wheel, built from a checkout without symlinks, installs into a fresh virtualenv and renders
every example exactly as the source tree does.

Slow but real (a wheel build, a virtualenv, an install, one CLI run per example and environment):
marked ``slow``, and it runs with the rest of the suite in CI. The checkout is a snapshot of the
working tree (tracked files plus new, unignored ones; symlinks kept as symlinks) committed to a
scratch repository and cloned from there with ``core.symlinks=false`` — the way Windows checks out
by default — so a symlink anywhere in the package would arrive as a text file and break the render.
Needs git and a package index pip can reach (the one pip is configured with); without them the test
fails, it does not skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.spec.loader import load_all_environments

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    p for p in (REPO / "examples").rglob("deploy.yaml") if "ci" not in p.relative_to(REPO / "examples").parts
)
assert EXAMPLES, "no examples/*/deploy.yaml found"

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _snapshot(dest: Path) -> None:
    """The working tree as a scratch git repository with one commit."""
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for rel in sorted(set(filter(None, listed.split("\0")))):
        src = REPO / rel
        if not src.is_symlink() and not src.exists():
            continue  # deleted in the working tree, not yet committed
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), target)
        else:
            shutil.copy2(src, target)
    git = ("git", "-c", "user.name=snapshot", "-c", "user.email=snapshot@example.invalid", "-c", "commit.gpgsign=false")
    _run("git", "init", "-q", dest)
    _run(*git, "add", "-A", cwd=dest)
    _run(*git, "commit", "-q", "-m", "snapshot", cwd=dest)


def _expected(path: Path, env: str | None) -> dict[str, bytes]:
    dep = api.load(path, env)
    return {f"{dep.spec.name}/{a.path}": a.content for a in api.render(dep).artifacts}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_wheel_from_a_checkout_without_symlinks_renders_every_example(tmp_path: Path) -> None:
    src = tmp_path / "snapshot"
    _snapshot(src)
    clone = tmp_path / "clone"
    _run("git", "-c", "core.symlinks=false", "clone", "-q", src, clone)
    links = [p for p in clone.rglob("*") if p.is_symlink()]
    assert links == [], f"the clone should hold no symlinks: {links}"
    assert not (clone / "modeldeploy" / "templates").exists(), "templates/ must live only at the top level"

    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, clone)
    wheels = sorted(dist.glob("modeldeploy-*.whl"))
    assert len(wheels) == 1, wheels

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    # Nothing of the source tree may leak in: no PYTHONPATH, and never the repository as working folder.
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    # with the extras: rendering validates every target's output with its SDK (kubernetes, Azure ML)
    _run(python, "-m", "pip", "install", "--quiet", f"{wheels[0]}[all]", cwd=tmp_path, env=clean)
    where = _run(
        python,
        "-c",
        "import modeldeploy.rendering.jinja as j, modeldeploy; print(modeldeploy.__file__); print(j.templates_dir())",
        cwd=tmp_path,
        env=clean,
    )
    package_file, templates = where.splitlines()
    assert Path(package_file).is_relative_to(env_dir), (
        f"modeldeploy imported from {package_file}, not the fresh virtualenv"
    )
    assert Path(templates) == Path(package_file).parent / "templates", templates

    cli = bindir / "modeldeploy"
    cases = [(p, s.env) for p in EXAMPLES for s in load_all_environments(p)]
    assert len(cases) >= len(EXAMPLES)
    for path, env in cases:
        rel = path.relative_to(REPO)
        out = tmp_path / "out" / rel.parent.name / (env or "base")
        args = [cli, "render", clone / rel, "-o", out] + (["--env", env] if env else [])
        _run(*args, cwd=tmp_path, env=clean)
        got, want = _tree(out), _expected(path, env)
        assert sorted(got) == sorted(want), f"{rel} ({env or 'base'}): files differ"
        for name in want:
            assert got[name] == want[name], f"{rel} ({env or 'base'}): {name} differs from the source-tree render"
