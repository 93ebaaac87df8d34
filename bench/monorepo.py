"""A generated monorepo of N deploy.yaml files, for the render/validate/plan-at-scale benchmark.

    python bench/monorepo.py DIR N      # write DIR/models/... and DIR/services/svc-XXXX/deploy.yaml

Layout: a few shared real MLflow models (the bundled iris example, plus two saved with mlflow when it is
installed) used by most specs, and every tenth spec with its own small model (a copy of a shared model
with one distinct file, so it has its own digest). Targets rotate over every target whose render works
here; each spec is a realistic deploy.yaml (env, secret references, scaling, labels, overlays).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_MODEL = REPO / "examples" / "iris" / "model"
TARGETS = ("docker", "kubernetes", "sagemaker", "azureml")

_COMMON = """\
apiVersion: modeldeploy/v1
name: {name}
model:
  source: {source}
signature:
  required: true
  compatibility: backward
serving:
  env: {{LOG_LEVEL: info, SERVICE_INDEX: "{i}"}}
  secrets: {{API_TOKEN: {{secret: {name}-secrets, key: token}}}}
  timeout_seconds: 30
resources: {{cpu: "1", memory: 2Gi}}
scaling: {{min_replicas: 1, max_replicas: {maxr}}}
labels: {{team: team-{team}}}
"""

_TARGET = {
    "docker": """\
target:
  kind: docker
environments:
  prod:
    target: {{kind: docker, image: registry.example.com/ml/{name}:1.0.{i}}}
""",
    "kubernetes": """\
target:
  kind: kubernetes
  namespace: team-{team}
environments:
  prod:
    scaling: {{min_replicas: 2}}
""",
    "sagemaker": """\
target:
  kind: sagemaker
  region: eu-west-1
  execution_role_arn: arn:aws:iam::123456789012:role/sagemaker-exec
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:abababababab
  artifact_bucket: ml-artifacts
  instance_type: ml.c5.xlarge
  instance_count: 1
environments:
  prod:
    target: {{kind: sagemaker, instance_count: 2}}
""",
    "azureml": """\
target:
  kind: azureml
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: ml-rg
  workspace: ml-ws
  instance_type: Standard_DS3_v2
  instance_count: 1
environments:
  prod:
    target: {{kind: azureml, instance_count: 2}}
""",
}


def shared_models(root: Path) -> list[Path]:
    """The shared real models: the bundled example, plus two saved with mlflow (different signatures)
    when mlflow and the test model factory are importable."""
    models = root / "models"
    models.mkdir(parents=True, exist_ok=True)
    out = [models / "shared-iris"]
    if not out[0].exists():
        shutil.copytree(EXAMPLE_MODEL, out[0])
    try:
        sys.path.insert(0, str(REPO))
        from tests.modelfactory import make_sklearn_model
    except Exception:  # mlflow missing: the example alone
        return out
    for name, cols in (("shared-wide", ("a", "b", "c", "d", "e", "f")), ("shared-tensor", ("x", "y"))):
        dest = models / name
        if not dest.exists():
            make_sklearn_model(dest, signature="tensor" if name.endswith("tensor") else "columns", columns=cols)
        out.append(dest)
    return out


def working_targets(root: Path, shared: Path) -> tuple[str, ...]:
    """Targets whose render works in this tree (kubernetes may still be in progress elsewhere)."""
    sys.path.insert(0, str(REPO))
    from modeldeploy import api

    ok = []
    probe = root / ".probe"
    for kind in TARGETS:
        spec = probe / kind / "deploy.yaml"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(_spec(f"probe-{kind}", kind, str(shared.resolve()), 0))
        try:
            api.render(api.load(spec))
            ok.append(kind)
        except Exception as exc:  # noqa: BLE001 - report and skip the target
            print(
                f"monorepo: target {kind} does not render here, left out ({type(exc).__name__}: {exc})", file=sys.stderr
            )
    shutil.rmtree(probe, ignore_errors=True)
    return tuple(ok)


def _spec(name: str, kind: str, source: str, i: int) -> str:
    fields = {"name": name, "source": source, "i": i, "team": i % 7, "maxr": 2 + i % 5}
    return _COMMON.format(**fields) + _TARGET[kind].format(**fields)


def generate(root: Path, n: int, targets: tuple[str, ...] | None = None) -> list[Path]:
    """Write n deploy.yaml files under root/services; returns their paths."""
    root = Path(root)
    shared = shared_models(root)
    targets = targets or working_targets(root, shared[0])
    services = root / "services"
    if services.exists():
        shutil.rmtree(services)
    paths = []
    for i in range(n):
        folder = services / f"svc-{i:04d}"
        folder.mkdir(parents=True)
        if i % 10 == 9:  # a distinct small model of its own
            model = folder / "model"
            shutil.copytree(shared[i % len(shared)], model)
            (model / "NOTES.txt").write_text(f"service {i}: retrained on its own slice\n")
            source = "./model"
        else:
            source = "../../models/" + shared[i % len(shared)].name
        path = folder / "deploy.yaml"
        path.write_text(_spec(f"svc-{i:04d}", targets[i % len(targets)], source, i))
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/monorepo.py DIR N")
    written = generate(Path(sys.argv[1]), int(sys.argv[2]))
    print(f"wrote {len(written)} deploy.yaml files under {sys.argv[1]}/services")
