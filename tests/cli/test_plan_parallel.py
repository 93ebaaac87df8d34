"""`plan --jobs N` plans a folder or git:REF plan of many files in N worker processes and prints
exactly what a serial run prints.

Real worker processes (the CLI in a subprocess) over a git repository of ~15 specs (docker,
kubernetes, sagemaker) sharing one model folder: planned against ``git:HEAD`` after edits (one spec
changed, one added, one broken) and against a rendered folder, with --jobs 1 and --jobs 2; stdout,
stderr and exit codes must be equal, and the trees the workers extract must not outlive the run.
Speed is measured in bench/ (monorepo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_render_parallel import _monorepo

REPO = Path(__file__).resolve().parents[2]


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=root, check=True, capture_output=True
    )


def _md(root: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(root / ".cache"), "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args], capture_output=True, text=True, cwd=root, env=env
    )


def _repo(tmp_path: Path) -> Path:
    root = _monorepo(tmp_path / "repo", n=15)
    _git(root, "init", "-q")
    _git(root, "add", "model", *[f"svc-{i:02d}" for i in range(15)])
    _git(root, "commit", "-qm", "services")
    # changes since HEAD: a new variable, and a service not committed yet
    spec = root / "svc-04" / "deploy.yaml"
    spec.write_text(spec.read_text().replace('INDEX: "4"', 'INDEX: "4", MODE: fast'))
    (root / "svc-99").mkdir()
    (root / "svc-99" / "deploy.yaml").write_text(
        (root / "svc-01" / "deploy.yaml").read_text().replace("svc-01", "svc-99")
    )
    return root


def test_parallel_git_and_folder_plans_print_what_a_serial_plan_prints(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    for fmt in ("text", "json"):
        serial = _md(
            root, tmp, "plan", ".", "--against", "git:HEAD", "--format", fmt, "--detailed-exitcode", "--jobs", "1"
        )
        parallel = _md(
            root, tmp, "plan", ".", "--against", "git:HEAD", "--format", fmt, "--detailed-exitcode", "--jobs", "2"
        )
        assert serial.returncode == 2, serial.stderr
        assert (parallel.returncode, parallel.stdout, parallel.stderr) == (
            serial.returncode,
            serial.stdout,
            serial.stderr,
        )
    data = json.loads(parallel.stdout)
    assert len(data["plans"]) == 16 and data["summary"]["change"] >= 1  # the edit and the new file are seen
    assert list(tmp.iterdir()) == []  # the workers' extracted trees are gone with the run
    rendered = _md(root, tmp, "render", ".", "-o", "rendered", "--jobs", "1")
    assert rendered.returncode == 0, rendered.stderr
    (root / "svc-07" / "deploy.yaml").write_text(
        (root / "svc-07" / "deploy.yaml").read_text().replace("max_replicas: 4", "max_replicas: 9")
    )
    serial = _md(root, tmp, "plan", ".", "--against", "rendered", "--jobs", "1")
    parallel = _md(root, tmp, "plan", ".", "--against", "rendered", "--jobs", "2")
    assert serial.returncode == 0, serial.stderr
    assert "svc-07" in serial.stdout
    assert (parallel.returncode, parallel.stdout, parallel.stderr) == (serial.returncode, serial.stdout, serial.stderr)


def test_errors_of_a_parallel_plan_are_reported_as_a_serial_plan_reports_them(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (root / "svc-03" / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: svc-03\nmodel:\n  source: ../model\ntarget:\n  kind: dockr\n"
    )
    (root / "svc-11" / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: svc-11\nmodel:\n  source: ../nowhere\ntarget:\n  kind: docker\n"
    )
    serial = _md(root, tmp, "plan", ".", "--against", "git:HEAD", "--jobs", "1")
    parallel = _md(root, tmp, "plan", ".", "--against", "git:HEAD", "--jobs", "3")
    assert serial.returncode == parallel.returncode == 1
    assert "svc-03/deploy.yaml:6:9" in serial.stderr and "svc-11/deploy.yaml" in serial.stderr
    assert (parallel.stdout, parallel.stderr) == (serial.stdout, serial.stderr)


def test_jobs_must_be_at_least_one(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    result = _md(root, tmp_path, "plan", ".", "--against", "git:HEAD", "--jobs", "0")
    assert result.returncode == 1
    assert "'--jobs'" in result.stderr and "0 is not at least 1" in result.stderr


def test_workers_send_back_only_the_plans_when_asked(tmp_path: Path, monkeypatch) -> None:
    """``plans_only`` (what the CLI asks when it only prints): the same plans, options included, as a
    serial run; no deployment or render result crosses back. Without it, both come back as before."""
    from modeldeploy import runs
    from modeldeploy.planning import printers

    root = _repo(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MODELDEPLOY_CACHE_DIR", str(root / ".cache"))
    paths = sorted(Path(".").glob("svc-*/deploy.yaml"))[:6]
    serial = runs.plan_many(paths, None, "git:HEAD", jobs=1)
    light = runs.plan_many(paths, None, "git:HEAD", jobs=2, plans_only=True)
    full = runs.plan_many(paths, None, "git:HEAD", jobs=2)
    assert all(dep is None and result is None for _, dep, result in light)
    assert all(dep is not None and result is not None for _, dep, result in full)
    text = printers.format_json([p for p, _, _ in serial])
    assert printers.format_json([p for p, _, _ in light]) == text == printers.format_json([p for p, _, _ in full])
    assert [p.options for p, _, _ in light] == [p.options for p, _, _ in serial]
