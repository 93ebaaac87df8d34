"""Shared helpers for the SageMaker target's tests: build a RenderContext from a deploy.yaml."""

from __future__ import annotations

from pathlib import Path

from modeldeploy.model.digest import model_digest
from modeldeploy.model.info import read_model
from modeldeploy.model.ref import ModelRef
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.loader import load_spec

FIXED_DIGEST = "sha256:" + "ab" * 32

MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    env:
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.11.9
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 3.17.2
model_uuid: 0123456789abcdef0123456789abcdef
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}, {"type": "double", "name": "y", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
utc_time_created: '2024-01-01 00:00:00.000000'
"""


def write_model(dest: Path, mlmodel: str = MLMODEL) -> Path:
    """A minimal hand-written MLflow model folder (enough for render; not loadable by mlflow)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "MLmodel").write_text(mlmodel)
    (dest / "requirements.txt").write_text("mlflow==3.17.2\nscikit-learn==1.5.0\n")
    (dest / "python_env.yaml").write_text(
        "python: 3.11.9\nbuild_dependencies: [pip]\ndependencies: [-r requirements.txt]\n"
    )
    (dest / "model.pkl").write_bytes(b"not really a pickle\n")
    return dest


def context(deploy_yaml: Path, *, digest: str | None = None, env: str | None = None) -> RenderContext:
    """What the CLI builds: spec (overlay applied), the model read from its folder, a pinned ref.

    ``digest`` defaults to the folder's real model digest (apply re-checks it); golden tests pass
    a fixed one so names do not depend on file bytes.
    """
    loaded = load_spec(deploy_yaml, env)
    source = loaded.spec.model.source
    folder = (loaded.base_dir / source).resolve()
    ref = ModelRef(uri=source, pinned_uri=source, digest=digest or model_digest(folder), local_path=folder)
    return RenderContext(spec=loaded.spec, model=read_model(folder), ref=ref, env=env, base_dir=loaded.base_dir)
