"""Helpers shared by the Kubernetes target's tests: write a deploy.yaml, load it, render it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from modeldeploy import api
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext

REPO = Path(__file__).resolve().parents[4]
GOLDEN = REPO / "tests" / "golden" / "kubernetes"
MODEL = GOLDEN / "model"  # a hand-written MLmodel folder with a column signature (render never loads it)
KSERVE_CRD = REPO / "tests" / "data" / "reference" / "kserve" / "serving.kserve.io_inferenceservices.yaml"

BASE = {
    "apiVersion": "modeldeploy/v1",
    "name": "iris",
    "model": {"source": MODEL.as_posix()},
    "target": {"kind": "kubernetes", "namespace": "models"},
}


def merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return over


def write_spec(tmp_path: Path, **overrides: Any) -> Path:
    spec = merge(BASE, overrides)
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def context(path: Path) -> RenderContext:
    return api.load(path).context()


def render_ctx(ctx: RenderContext) -> list[Artifact]:
    from modeldeploy.targets.kubernetes.target import KubernetesTargetImpl

    return KubernetesTargetImpl().render(ctx)


def render(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """{path: parsed object} for one spec."""
    arts = render_ctx(context(write_spec(tmp_path, **overrides)))
    return {a.path: yaml.safe_load(a.content) for a in arts}


def pod_specs(objects: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, pod spec) for every pod template in the rendered objects."""
    out = []
    for path, obj in objects.items():
        spec = obj.get("spec") or {}
        if "template" in spec:
            out.append((path, spec["template"]["spec"]))
        if "jobTemplate" in spec:
            out.append((path, spec["jobTemplate"]["spec"]["template"]["spec"]))
    return out
