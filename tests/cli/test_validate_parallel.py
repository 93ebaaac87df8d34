"""`validate --jobs N` checks several files in N worker processes and prints exactly what a serial run
prints: the same lines in the same order, the same located errors, the same exit code (1 for an invalid
file, 3 for a signature policy violation). Real worker processes (the CLI in a subprocess) over the
monorepo of tests/cli/test_render_parallel.py (docker, kubernetes, sagemaker and Azure ML specs sharing
one model folder). Speed is measured in bench/ (monorepo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_render_parallel import REPO, _monorepo


def _validate(root: Path, jobs: int, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(root / ".cache")}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", "validate", str(root), "--jobs", str(jobs), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )


def test_parallel_validate_prints_what_a_serial_run_prints(tmp_path: Path) -> None:
    root = _monorepo(tmp_path / "repo", n=16)
    serial, parallel = _validate(root, 1), _validate(root, 2)
    assert serial.returncode == parallel.returncode == 0, serial.stderr
    assert serial.stderr == parallel.stderr
    lines = serial.stderr.splitlines()
    assert sum(": valid (model ../model, sha256:" in line for line in lines) == 16
    assert [line.split(":")[0] for line in lines if ": valid" in line] == sorted(
        str(p) for p in root.glob("svc-*/deploy.yaml")
    )


def test_errors_and_exit_codes_of_every_worker_are_those_of_a_serial_run(tmp_path: Path) -> None:
    root = _monorepo(tmp_path / "repo", n=12)
    (root / "svc-02" / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: svc-02\nmodel:\n  source: ../model\ntarget:\n  kind: dockr\n"
    )
    azure = (root / "svc-07" / "deploy.yaml").read_text()
    (root / "svc-07" / "deploy.yaml").write_text(azure.replace("instance_count: 1", "instance_count: -1"))
    serial, parallel = _validate(root, 1), _validate(root, 3)
    assert serial.returncode == parallel.returncode == 1
    assert serial.stderr == parallel.stderr
    assert "svc-02/deploy.yaml:6:9" in serial.stderr and "dockr" in serial.stderr
    assert "svc-07/deploy.yaml" in serial.stderr and "instance_count" in serial.stderr  # an Azure ML file
    # a signature policy violation keeps its own exit code (3) when it is the only failure
    (root / "svc-02" / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: svc-02\nmodel:\n  source: ../model\n"
        "signature:\n  input_kinds: [tensors]\ntarget:\n  kind: docker\n"
    )
    (root / "svc-07" / "deploy.yaml").write_text(azure)
    serial, parallel = _validate(root, 1), _validate(root, 2)
    assert serial.returncode == parallel.returncode == 3, serial.stderr
    assert serial.stderr == parallel.stderr


def test_jobs_below_one_is_a_usage_error(tmp_path: Path) -> None:
    root = _monorepo(tmp_path / "repo", n=1)
    r = _validate(root, 0)
    assert r.returncode == 1
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: Invalid value for '--jobs': 0 is not at least 1.") and line.endswith(
        "validate --help') [MD001]"
    )
