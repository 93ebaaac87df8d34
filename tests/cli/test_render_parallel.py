"""`render --jobs N` renders in N worker processes and writes exactly what a serial run writes.

Real worker processes (the CLI in a subprocess): ~20 specs over the docker, kubernetes, sagemaker and
azureml targets sharing one model folder (``source: ../model``), rendered with --jobs 1 and --jobs 2 and
compared byte for byte, file modes included; and a monorepo with broken files reports the same located
errors, in the same order, whichever the number of workers. The Azure ML files are rendered by the
parent while the workers render the others, then shared with workers forked after it
(tests/unit/test_render_schedule.py checks that order): the output must not show it. Speed is
measured in bench/ (monorepo)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_TARGETS = {
    "docker": "target:\n  kind: docker\n",
    "kubernetes": "target:\n  kind: kubernetes\n  namespace: team-{i}\n",
    "sagemaker": (
        "target:\n  kind: sagemaker\n  region: eu-west-1\n  execution_role_arn: arn:aws:iam::123456789012:role/exec\n"
        "  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/svc:abababababab\n  artifact_bucket: ml-artifacts\n"
        "  instance_type: ml.c5.xlarge\n  instance_count: 1\n"
    ),
    "azureml": (
        "target:\n  kind: azureml\n  subscription_id: 11111111-2222-3333-4444-555555555555\n"
        "  resource_group: ml-rg\n  workspace: ml-ws\n  instance_type: Standard_DS3_v2\n  instance_count: 1\n"
    ),
}


def _monorepo(root: Path, n: int = 25) -> Path:
    shutil.copytree(REPO / "examples" / "iris" / "model", root / "model")
    kinds = list(_TARGETS)
    for i in range(n):
        svc = root / f"svc-{i:02d}"
        svc.mkdir()
        (svc / "deploy.yaml").write_text(
            f"apiVersion: modeldeploy/v1\nname: svc-{i:02d}\nmodel:\n  source: ../model\n"
            f'serving:\n  env: {{INDEX: "{i}"}}\nscaling: {{min_replicas: 1, max_replicas: {2 + i % 3}}}\n'
            + _TARGETS[kinds[i % len(kinds)]].format(i=i)
        )
    return root


def _render(root: Path, out: Path, jobs: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(root / ".cache")}
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", "render", str(root), "-o", str(out), "--jobs", str(jobs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
    )


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_parallel_render_is_byte_identical_to_serial(tmp_path: Path) -> None:
    root = _monorepo(tmp_path / "repo")
    serial, parallel = _render(root, tmp_path / "serial", 1), _render(root, tmp_path / "parallel", 2)
    assert serial.returncode == 0, serial.stderr
    assert parallel.returncode == 0, parallel.stderr
    a, b = _tree(tmp_path / "serial"), _tree(tmp_path / "parallel")
    assert len({k.split("/")[0] for k in a}) == 25
    assert any(k.endswith("azureml/deployment.yaml") for k in a)
    assert a == b
    # the same report, in the order the files were given
    strip = lambda text, out: text.replace(str(out), "OUT")  # noqa: E731
    assert strip(serial.stderr, tmp_path / "serial") == strip(parallel.stderr, tmp_path / "parallel")


def test_errors_of_every_worker_are_reported_as_a_serial_run_reports_them(tmp_path: Path) -> None:
    root = _monorepo(tmp_path / "repo", n=16)
    (root / "svc-02" / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: svc-02\nmodel:\n  source: ../model\ntarget:\n  kind: dockr\n"
    )
    (root / "svc-07" / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: svc-07\nmodel:\n  source: ../nowhere\ntarget:\n  kind: docker\n"
    )
    azure = (root / "svc-11" / "deploy.yaml").read_text()
    (root / "svc-11" / "deploy.yaml").write_text(azure.replace("instance_count: 1", "instance_count: -1"))
    serial, parallel = _render(root, tmp_path / "serial", 1), _render(root, tmp_path / "parallel", 3)
    assert serial.returncode == parallel.returncode == 1
    assert serial.stderr == parallel.stderr
    assert "svc-02/deploy.yaml:6:9" in serial.stderr and "dockr" in serial.stderr
    assert "svc-07/deploy.yaml" in serial.stderr and "nowhere" in serial.stderr
    assert "svc-11/deploy.yaml" in serial.stderr and "instance_count" in serial.stderr  # an Azure ML file
    assert not (tmp_path / "parallel").exists()  # nothing is written when any file fails


def test_jobs_below_one_is_a_usage_error(tmp_path: Path) -> None:
    root = _monorepo(tmp_path / "repo", n=1)
    r = _render(root, tmp_path / "out", 0)
    assert r.returncode == 1
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: Invalid value for '--jobs': 0 is not at least 1. (see '") and line.endswith(
        "render --help') [MD001]"
    )
