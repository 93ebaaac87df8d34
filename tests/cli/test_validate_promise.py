"""`validate` is the render's promise: a configuration it passes renders, one render refuses it
refuses too — located in deploy.yaml, in every environment, with nothing dropped.

Each case adds an environment ``case`` to a copy of a bundled example and runs the real CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modeldeploy.cli.app import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

K8S_BATCH = {
    "kind": "kubernetes",
    "namespace": "models-batch",
    "mode": "batch",
    "batch": {"input": "/data/in.csv", "output": "/data/out.json", "claim": "batch-data"},
}
SM_SERVERLESS = {
    "mode": "serverless",
    "serverless": {"memory_mb": 2048, "max_concurrency": 5},
    "rollout": {"strategy": "all_at_once"},
}
ONE = {"scaling": {"min_replicas": 1, "max_replicas": 1}}

# (example, overlay for environment "case", what the error says, the overlay key it points at)
REFUSED = [
    ("custom", {"target": K8S_BATCH}, "model.type custom serves online only", ("target", "mode")),
    (
        "custom",
        {
            "model": {"entry": "uvicorn app:api --port 8080"},
            "target": {
                "kind": "azureml",
                "subscription_id": "11111111-2222-3333-4444-555555555555",
                "resource_group": "rg",
                "workspace": "ws",
            },
        },
        "not a command",
        ("model", "entry"),
    ),
    (
        "triton",
        {
            "target": {
                "kind": "azureml",
                "subscription_id": "11111111-2222-3333-4444-555555555555",
                "resource_group": "rg",
                "workspace": "ws",
                "mode": "batch",
                "compute": "cpu-cluster",
            }
        },
        "managed online endpoints only",
        ("model", "type"),
    ),
    (
        "triton",
        {
            "serving": {"secrets": {"API_TOKEN": {"secret": "s", "key": "k"}}},
            "resources": {"gpu": 1},
            "target": {
                "kind": "sagemaker",
                "region": "eu-west-1",
                "execution_role_arn": "arn:aws:iam::111111111111:role/r",
                "image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/t:1",
                "artifact_bucket": "b",
                "instance_type": "ml.g5.xlarge",
            },
        },
        "cannot resolve secret references",
        ("serving", "secrets"),
    ),
    (
        "sagemaker",
        {"resources": {"gpu": 1}, "target": {"instance_type": "ml.m5.xlarge"}},
        "has no GPU",
        ("resources", "gpu"),
    ),
    (
        "sagemaker",
        {"scaling": {"min_replicas": 1, "max_replicas": 4}, "target": SM_SERVERLESS},
        "serverless",
        ("scaling", "max_replicas"),
    ),
    (
        "sagemaker",
        {**ONE, "target": {**SM_SERVERLESS, "data_capture": {"destination": "s3://b/capture"}}},
        "data_capture",
        ("target", "data_capture"),
    ),
    (
        "sagemaker",
        {**ONE, "target": {**SM_SERVERLESS, "network_isolation": True}},
        "network_isolation",
        ("target", "network_isolation"),
    ),
    (
        "sagemaker",
        {**ONE, "target": {**SM_SERVERLESS, "vpc": {"subnets": ["subnet-1"], "security_group_ids": ["sg-1"]}}},
        "vpc",
        ("target", "vpc"),
    ),
    ("iris", {"target": {**K8S_BATCH, "schedule": "61 25 * * *"}}, "schedule", ("target", "schedule")),
    (
        "iris",
        {
            "target": {
                **K8S_BATCH,
                "schedule": "0 2 * * *",
                "batch": {**K8S_BATCH["batch"], "time_zone": "Mars/Olympus"},
            }
        },
        "time_zone",
        ("target", "batch", "time_zone"),
    ),
]


def _project(tmp_path: Path, example: str, overlay: dict | None) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("make_model.py", "ci"))
    spec = tmp_path / "examples" / example / "deploy.yaml"
    if overlay is not None:
        data = yaml.safe_load(spec.read_text())
        data.setdefault("environments", {})["case"] = overlay
        spec.write_text(yaml.safe_dump(data, sort_keys=False))
    return spec


def _run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _lines_of(spec: Path, key_path: tuple[str, ...]) -> set[int]:
    """The line of the deepest key of ``key_path`` inside environments.case (as safe_dump wrote it),
    else in the base; the line after it too (where a block value starts)."""
    lines = spec.read_text().splitlines()
    start = lines.index("  case:")
    want = key_path[-1] + ":"
    for begin in (start, 0):
        for n, line in enumerate(lines[begin:], begin + 1):
            if line.strip().startswith(want):
                return {n, n + 1}
    raise AssertionError(f"{key_path} not in deploy.yaml")


@pytest.mark.parametrize("example,overlay,says,key", REFUSED, ids=[f"{c[0]}-{c[2][:24]}" for c in REFUSED])
def test_validate_refuses_what_render_refuses_located(
    tmp_path: Path, example: str, overlay: dict, says: str, key
) -> None:
    spec = _project(tmp_path, example, overlay)
    for args in (["--env", "case"], []):
        r = _run("validate", *args, str(spec))
        assert r.exit_code == 1, (args, r.stderr)
        assert says in r.stderr, r.stderr
        assert "(environment case)" in r.stderr or args, r.stderr
        assert any(f"{spec}:{n}:" in r.stderr for n in _lines_of(spec, key)), r.stderr
    r = _run("render", str(spec), "--env", "case", "-o", str(tmp_path / "out"))
    assert r.exit_code == 1, r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))


EXAMPLES = sorted(p.parent.name for p in (REPO / "examples").glob("*/deploy.yaml"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_validate_ok_means_render_ok_for_every_example_and_environment(tmp_path: Path, example: str) -> None:
    spec = _project(tmp_path, example, None)
    envs = [None, *sorted(yaml.safe_load(spec.read_text()).get("environments") or {})]
    for env in envs:
        args = ["--env", env] if env else []
        v = _run("validate", *args, str(spec))
        r = _run("render", *args, str(spec), "-o", str(tmp_path / "out" / (env or "base")))
        assert v.exit_code != 0 or r.exit_code == 0, (env, v.stderr, r.stderr)
        assert v.exit_code == 0, (env, v.stderr)  # the bundled examples are valid


@pytest.mark.parametrize("example,overlay,says,key", REFUSED, ids=[f"{c[0]}-{c[2][:24]}" for c in REFUSED])
def test_validate_ok_implies_render_ok_over_the_corpus(tmp_path: Path, example, overlay, says, key) -> None:
    """The implication itself, over the corpus (whatever the verdict on each case is)."""
    spec = _project(tmp_path, example, overlay)
    v = _run("validate", "--env", "case", str(spec))
    r = _run("render", "--env", "case", str(spec), "-o", str(tmp_path / "out"))
    assert v.exit_code != 0 or r.exit_code == 0, (v.stderr, r.stderr)
