"""The lower bounds of the optional extras in pyproject.toml are true: with every direct dependency
of ``[all]`` (aws, azure, kubernetes) and ``[eval]`` at its lowest allowed release, what a user of
each extra does first works.

Like tests/packaging/test_lowest_deps.py (whose installer this uses): the core dependencies and the
extras' dependencies are pinned to their lower bounds (``boto3>=1.34`` → ``boto3==1.34``) and
installed with ``modeldeploy[all,eval]`` in one pip command, so pip checks the pins against each
other and against the project's own requirements, into a fresh virtualenv. Core at its lowest too:
a user may pin any of them, and the strictest combination is the one that breaks first.
Dependencies of dependencies take the newest release pip finds that the pins allow.

There, offline:

- ``validate``, ``render -o`` and ``plan --against`` the rendered folder for examples/kubernetes
  (kubernetes-validate checks every manifest), examples/sagemaker (botocore's service model checks
  every request) and examples/azureml (the Azure ML SDK's loaders check every spec), for the base
  spec and each environment. The rendered trees are compared with tests/golden/examples/<name>/<env>
  as the golden tests do: text files byte for byte, model copies and verbatim templates by the
  sha256 that MODEL_FILES.sha256 records, and no file more or less.
- the SDK clients ``apply`` and a live ``plan`` use, built as modeldeploy builds them (boto3's
  SageMaker client, the kubernetes client from a kubeconfig, Azure ML's ``MLClient``), no call made;
- ``evaluate`` (the eval extra: numpy, pandas, scikit-learn run the analysis) on the iris example's
  model with the iris data set as held-out rows, scored by this suite's Python (which has mlflow, as
  ``--eval-python`` needs). Its evaluation.json must equal the one this suite's own (newest)
  dependencies write from the same run: the lowest releases compute the same metrics, cohorts,
  fairness and importance.

A bound that is too low fails here, not in a user's install: with ``azure-ai-ml`` 1.20 (the bound
until this test) pip installs marshmallow 4, which that release does not cap and cannot import with
(nor can any release before 1.26.3), so every render of an Azure ML spec stopped with "needs the
Azure ML SDK".

Needs a package index pip can reach (marker ``index``); it fails, it does not skip, without one. One
test function, so under xdist the virtualenv is built once. About two and a quarter minutes with a
warm pip cache (136 s on a shared 2-core machine), most of it pip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.spec.loader import load_all_environments
from tests.goldens import MANIFEST
from tests.packaging.test_lowest_deps import _install_lowest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ("kubernetes", "sagemaker", "azureml")
EXTRAS = ("all", "eval")

EVAL_SPEC = """apiVersion: modeldeploy/v1
name: iris-eval
model: {{source: {model}}}
target: {{kind: docker}}
evaluation:
  data: data/test.csv
  target: species
  task: classification
  features: [sepal_length, sepal_width, petal_length, petal_width]
  thresholds:
    accuracy_score: {{threshold: 0.9, greater_is_better: true}}
  cohorts: {{max_error_rate: 0.5, max_depth: 3, min_samples_leaf: 20}}
  fairness: {{sensitive_features: [site], metric: error_rate, kind: difference, threshold: 0.5}}
"""

# What `apply` and a live `plan` build before their first call, offline: each target's SDK client, the
# way modeldeploy builds it (a kubeconfig naming a server nobody listens on; no call is made).
CLIENTS = """
import sys
from modeldeploy.targets.azureml.client import AzureMLClient
from modeldeploy.targets.kubernetes.api import connect
from modeldeploy.targets.sagemaker.aws import Clients

sm = Clients().get("sagemaker", "eu-west-1")
assert (sm.meta.region_name, sm.meta.service_model.service_name) == ("eu-west-1", "sagemaker"), sm.meta
kube = connect(None, sys.argv[1])
assert kube.api_client.configuration.host == "https://127.0.0.1:1", kube.api_client.configuration.host
az = AzureMLClient.connect("00000000-0000-0000-0000-000000000000", "rg", "ws", "online")
assert (az.ml.subscription_id, az.ml.workspace_name) == ("00000000-0000-0000-0000-000000000000", "ws")
print("clients built")
"""
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def tree_differences(rendered: Path, golden: Path) -> list[str]:
    """How the rendered folder differs from a golden folder (tests/goldens.py's layout): text files
    byte for byte, the files MODEL_FILES.sha256 lists by their digest, nothing missing or extra."""
    import hashlib

    on_disk = {p.relative_to(rendered).as_posix(): p for p in rendered.rglob("*") if p.is_file()}
    expected = {p.relative_to(golden).as_posix(): p.read_bytes() for p in golden.rglob("*") if p.is_file()}
    digests = {}
    if MANIFEST in expected:
        for line in expected.pop(MANIFEST).decode().splitlines():
            digest, path = line.split("  ", 1)
            digests[path] = digest
    problems = [f"missing {name}" for name in sorted((set(expected) | set(digests)) - set(on_disk))]
    problems += [f"extra {name}" for name in sorted(set(on_disk) - set(expected) - set(digests))]
    problems += [f"differs {n}" for n in sorted(expected) if n in on_disk and on_disk[n].read_bytes() != expected[n]]
    problems += [
        f"digest differs {n}"
        for n in sorted(digests)
        if n in on_disk and hashlib.sha256(on_disk[n].read_bytes()).hexdigest() != digests[n]
    ]
    return problems


def test_tree_differences_sees_every_kind_of_difference(tmp_path: Path) -> None:
    import hashlib

    golden, rendered = tmp_path / "golden", tmp_path / "rendered"
    for root in (golden, rendered):
        (root / "sub").mkdir(parents=True)
        (root / "a.yaml").write_bytes(b"a: 1\n")
    (rendered / "sub" / "model.bin").write_bytes(b"weights")
    (golden / MANIFEST).write_text(f"{hashlib.sha256(b'weights').hexdigest()}  sub/model.bin\n")
    assert tree_differences(rendered, golden) == []
    (rendered / "a.yaml").write_bytes(b"a: 2\n")
    (rendered / "sub" / "model.bin").write_bytes(b"other")
    (rendered / "b.yaml").write_bytes(b"")
    (golden / "c.yaml").write_bytes(b"")
    assert tree_differences(rendered, golden) == [
        "missing c.yaml",
        "extra b.yaml",
        "differs a.yaml",
        "digest differs sub/model.bin",
    ]


def _iris_eval_world(root: Path) -> Path:
    """deploy.yaml with ``evaluation:`` for the iris example's model; the held-out rows are the iris
    data set (scikit-learn's copy, in this suite's Python) with a made-up ``site`` to group by."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    frame["site"] = ["north" if i % 2 else "south" for i in range(len(frame))]
    (root / "data").mkdir(parents=True)
    frame.to_csv(root / "data" / "test.csv", index=False)
    spec = root / "deploy.yaml"
    spec.write_text(EVAL_SPEC.format(model=json.dumps(str(REPO / "examples" / "iris" / "model"))), encoding="utf-8")
    return spec


@pytest.mark.index
@pytest.mark.slow
def test_the_extras_work_with_every_direct_dependency_at_its_lowest_bound(tmp_path: Path) -> None:
    venv, env, pins = _install_lowest(tmp_path, EXTRAS)
    at = f"(at {' '.join(pins)})"

    def md(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
        cmd = [str(venv / "bin" / "modeldeploy"), *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)

    for name in EXAMPLES:
        path = REPO / "examples" / name / "deploy.yaml"
        for env_name in [s.env for s in load_all_environments(path)]:
            select = ["--env", env_name] if env_name else []
            case = f"{name} {env_name or 'base'} {at}"
            validate = md("validate", *select, path)
            assert validate.returncode == 0, f"validate {case}:\n{validate.stdout}{validate.stderr}"
            assert ": valid (model" in validate.stderr, f"validate {case} did not validate:\n{validate.stderr}"

            out = tmp_path / "out" / name / (env_name or "base")
            render = md("render", *select, path, "-o", out)
            assert render.returncode == 0, f"render {case}:\n{render.stdout}{render.stderr}"
            (rendered,) = [p for p in out.iterdir() if p.is_dir()]
            golden = REPO / "tests" / "golden" / "examples" / name / (env_name or "base")
            differ = tree_differences(rendered, golden)
            assert differ == [], f"render {case} is not its golden tree {golden.relative_to(REPO)}: {differ}"

            plan = md("plan", *select, path, "--against", out, "--detailed-exitcode")
            assert plan.returncode == 0, f"plan {case}:\n{plan.stdout}{plan.stderr}"
            assert "No changes" in plan.stdout + plan.stderr, f"plan {case}:\n{plan.stdout}{plan.stderr}"

    # the SDK clients of the live commands (the kubernetes client is used nowhere else)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG, encoding="utf-8")
    python = str(venv / "bin" / "python")
    clients = subprocess.run([python, "-c", CLIENTS, kubeconfig], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert (clients.returncode, clients.stdout) == (0, "clients built\n"), f"{at}\n{clients.stdout}{clients.stderr}"

    # the eval extra: the lowest numpy/pandas/scikit-learn analyse as the newest do
    spec = _iris_eval_world(tmp_path / "eval")
    scorer = ["--eval-python", sys.executable]  # has mlflow (the test extra); scoring runs there
    lowest = md("evaluate", spec, "-o", tmp_path / "eval" / "lowest", *scorer, cwd=spec.parent)
    assert lowest.returncode == 0, f"evaluate {at}:\n{lowest.stdout}{lowest.stderr}"
    assert "Evaluation of iris-eval: passed (150 rows" in lowest.stdout, f"{at}\n{lowest.stdout}"
    here = {**env, "PYTHONPATH": str(REPO)}
    newest = subprocess.run(
        [sys.executable, "-c", "from modeldeploy.cli.app import main; main()"]
        + ["evaluate", str(spec), "-o", str(tmp_path / "eval" / "newest"), *scorer],
        capture_output=True,
        text=True,
        env=here,
        cwd=spec.parent,
    )
    assert newest.returncode == 0, newest.stdout + newest.stderr
    report = json.loads((tmp_path / "eval" / "lowest" / "iris-eval" / "evaluation.json").read_text(encoding="utf-8"))
    assert report["metrics"]["accuracy_score"] > 0.9 and report["cohorts"] and report["feature_importance"], report
    assert [g["n"] for g in report["fairness"][0]["groups"]] == [75, 75], report["fairness"]
    expected = json.loads((tmp_path / "eval" / "newest" / "iris-eval" / "evaluation.json").read_text(encoding="utf-8"))
    assert report == expected, f"evaluate {at} differs from the newest releases' report"
    assert (tmp_path / "eval" / "lowest" / "iris-eval" / "evaluation.html").is_file()
