"""plan --against git:REF in a monorepo whose services share one model beside their folders
(``source: ../model``): everything the spec reaches inside the repository is read at the ref.

Real git repositories in tmp_path; the CLI runs as a user runs it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.cli.test_plan_apply import EXAMPLE, git, md


def _monorepo(root: Path, services: int = 2, weights: int = 0) -> Path:
    shutil.copytree(EXAMPLE / "model", root / "model")
    if weights:
        (root / "model" / "weights.bin").write_bytes(b"\0" * weights)
    text = (EXAMPLE / "deploy.yaml").read_text().replace("source: ./model", "source: ../model")
    for i in range(services):
        (root / f"svc{i}").mkdir()
        (root / f"svc{i}" / "deploy.yaml").write_text(text.replace("name: iris-classifier", f"name: svc{i}"))
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "init", cwd=root)
    return root


def test_git_plan_reads_a_shared_model_beside_the_service_at_the_ref(tmp_path: Path) -> None:
    repo = _monorepo(tmp_path)
    r = md("plan", "svc0/deploy.yaml", "svc1/deploy.yaml", "--against", "git:HEAD", "--detailed-exitcode", cwd=repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout
    # The model at the ref, not the working tree: changing it now is a change against HEAD.
    mlmodel = repo / "model" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text() + "\n# changed\n")
    r = md("plan", "svc0/deploy.yaml", "--against", "git:HEAD", "--format", "json", cwd=repo)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    text = json.dumps(plan)
    assert '"update"' in text or '"replace"' in text or '"create"' in text, text[:2000]


def test_git_plan_of_a_model_not_in_git_at_the_ref_is_a_located_error(tmp_path: Path) -> None:
    """The model is in the working tree (so the desired render works) but was never committed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _monorepo(repo, services=1)
    git("rm", "-rq", "--cached", "model", cwd=repo)
    git("commit", "-qm", "model out of git", cwd=repo)
    r = md("plan", "svc0/deploy.yaml", "--against", "git:HEAD", cwd=repo)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "svc0/deploy.yaml@HEAD:6:" in r.stderr and "'../model' is not in git at HEAD" in r.stderr, r.stderr
    assert "modeldeploy-git-" not in r.stderr and "/tmp" not in r.stderr and "Traceback" not in r.stderr


def test_git_plan_keeps_the_refs_temporary_trees_out_of_the_digest_cache(tmp_path: Path) -> None:
    """The ref's model is digested from a temporary copy whose paths never recur: those digests stay
    in the process. Writing them to the on-disk cache rewrote (and fsynced) the whole cache file once
    per model, made parallel workers re-read each other's writes, and pushed real models out of it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _monorepo(repo, services=2, weights=1 << 20)  # a model under 1 MiB is hashed without the cache at all
    cache = tmp_path / "cache"
    env = {"MODELDEPLOY_CACHE_DIR": str(cache)}
    for jobs in ("1", "2"):
        r = md("plan", "svc0", "svc1", "--against", "git:HEAD", "--jobs", jobs, cwd=repo, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "No changes" in r.stdout
        files = json.loads((cache / "digests.json").read_text())["files"]
        assert files, "the working tree's model is cached as before"
        assert all(str(repo.resolve()) in path for path in files), [p for p in files if "modeldeploy-git-" in p]


def test_git_plan_reads_evaluation_data_beside_the_service_at_the_ref(tmp_path: Path) -> None:
    """Azure ML's Responsible AI job uploads the evaluation data, so its render reads the files:
    data kept beside the service (``evaluation.data: ../data/test.csv``) is read at the ref too. It
    failed with 'not found next to deploy.yaml' before: only the spec's and the model's folders were
    extracted at the ref."""
    import sys

    import pandas as pd

    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "data").mkdir()
    shutil.copytree(EXAMPLE / "model", repo / "model")
    rows = pd.DataFrame(
        [[5.1, 3.5, 1.4, 0.2, 0], [6.7, 3.1, 4.4, 1.4, 1], [6.3, 3.3, 6.0, 2.5, 2], [4.9, 3.0, 1.4, 0.2, 0]] * 5,
        columns=["sepal_length", "sepal_width", "petal_length", "petal_width", "label"],
    )
    rows.to_csv(repo / "data" / "test.csv", index=False)
    rows.to_csv(repo / "data" / "train.csv", index=False)
    text = (EXAMPLE.parent / "azureml" / "deploy.yaml").read_text()
    text = re.sub(r"source: \S+", "source: ../model", text, count=1)
    text += (
        "evaluation:\n  data: ../data/test.csv\n  train_data: ../data/train.csv\n  target: label\n"
        "  task: classification\n  thresholds:\n    accuracy_score: {threshold: 0.5, greater_is_better: true}\n"
    )
    (repo / "svc" / "deploy.yaml").write_text(text)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "init", cwd=repo)
    env = {"MODELDEPLOY_EVAL_PYTHON": sys.executable}
    args = ("plan", "svc/deploy.yaml", "--against", "git:HEAD", "--env", "prod", "--detailed-exitcode")
    r = md(*args, cwd=repo, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout
    # The data at the ref, not the working tree's: new rows now are a change against HEAD.
    rows.iloc[:4].to_csv(repo / "data" / "test.csv", mode="a", header=False, index=False)
    r = md(*args, cwd=repo, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "rai-data/test/test.csv" in r.stdout, r.stdout
