"""A deploy.yaml is validated against the model of its own target kind (``spec_model``), which holds
that kind's section alone in the ``target`` union: what it accepts, what it returns and every error it
gives (message, location, "did you mean") must be exactly what the full union of every kind gives.

The same holds for the ``evaluation`` section, whose model is only part of the spec's model when
the data has the key.

The corpus: every bundled example (the four kinds, custom and triton models) in each of its
configurations, the iris example with an evaluation section, and a few thousand broken variants of
each, made by deleting each key, giving each value a wrong type, misspelling each key and adding an
unknown key at each level.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import load_all_environments
from modeldeploy.spec.models import BUILTIN_KINDS, DeploySpec, spec_model
from modeldeploy.spec.overlays import apply_environment
from modeldeploy.spec.parsing import read_file
from modeldeploy.spec.validation import validation_diagnostics

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p for p in (REPO / "examples").glob("*/deploy.yaml"))
EVALUATION = {
    "data": "data/test.csv",
    "train_data": "data/train.csv",
    "target": "label",
    "task": "classification",
    "features": ["x1", "x2"],
    "thresholds": {"accuracy_score": {"threshold": 0.9, "greater_is_better": True}},
    "cohorts": {"max_error_rate": 0.3, "max_depth": 3, "min_samples_leaf": 20},
    "baseline": "deployed",
    "fairness": {"sensitive_features": ["sex"], "metric": "error_rate", "kind": "difference", "threshold": 0.05},
}


def _configurations(path: Path) -> Iterator[tuple[str, dict[str, Any], Any]]:
    loaded = read_file(path)
    envs = loaded.data.get("environments") or {}
    for env in [None, *sorted(envs)]:
        data, positions = apply_environment(loaded, loaded.data, env)
        yield f"{path.parent.name}[{env}]", data, positions
    if path.parent.name == "iris":
        data, positions = apply_environment(loaded, loaded.data, None)
        yield "iris with evaluation", {**data, "evaluation": copy.deepcopy(EVALUATION)}, positions
        yield "iris with evaluation: null", {**data, "evaluation": None}, positions


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _variants(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield data
    for path in list(_paths(data)):
        parent, last = path[:-1], path[-1]
        for wrong in ({"x": 1}, [1], "not-a-valid value\n", -5, None, True):
            broken = copy.deepcopy(data)
            _get(broken, parent)[last] = wrong
            yield broken
        broken = copy.deepcopy(data)
        holder = _get(broken, parent)
        if isinstance(holder, dict):
            value = holder.pop(last)
            yield copy.deepcopy(broken)
            holder[f"{last}x"] = value  # a misspelt key: "did you mean"
            yield broken
    for path in [(), *(p for p in _paths(data) if isinstance(_get(data, p), dict))]:
        broken = copy.deepcopy(data)
        _get(broken, path)["surely_unknown"] = 1
        yield broken


def _outcome(model: type[DeploySpec], data: dict[str, Any], positions: Any) -> Any:
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        return [d.format() for d in validation_diagnostics(exc, data, positions, "deploy.yaml", model)]
    assert isinstance(spec, DeploySpec)
    return spec.model_dump(mode="json", by_alias=True)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_the_kinds_own_model_gives_what_the_full_union_gives(example: Path) -> None:
    checked = failed = 0
    for label, data, positions in _configurations(example):
        for variant in _variants(data):
            target = variant.get("target")
            kind = target.get("kind") if isinstance(target, dict) else None
            model = spec_model(kind, "evaluation" in variant)
            want = _outcome(DeploySpec, variant, positions)
            got = _outcome(model, variant, positions)
            assert got == want, (label, variant)
            checked += 1
            failed += isinstance(want, list)
    assert checked > 100 and failed > 50  # the corpus really holds broken specs


def test_each_builtin_kind_has_its_own_subclass_and_others_get_the_full_model() -> None:
    for kind in BUILTIN_KINDS:
        for evaluation in (False, True):
            model = spec_model(kind, evaluation)
            assert model is not DeploySpec and issubclass(model, DeploySpec)
            assert model is spec_model(kind, evaluation)  # defined once
            assert list(model.model_fields) == list(DeploySpec.model_fields)  # same keys, same order
    for kind in ("my-plugin", None, 3, ["docker"]):
        assert spec_model(kind) is DeploySpec and spec_model(kind, False) is DeploySpec


def test_a_loaded_spec_pickles_by_its_kinds_model(tmp_path: Path) -> None:
    for loaded in load_all_environments(REPO / "examples" / "kubernetes" / "deploy.yaml"):
        again = pickle.loads(pickle.dumps(loaded.spec))
        assert again == loaded.spec and type(again) is spec_model("kubernetes", False)
    with_evaluation = spec_model("docker", True).model_validate(
        {"apiVersion": "modeldeploy/v1", "name": "x", "model": {"source": "m"}, "target": {"kind": "docker"}}
    )
    assert type(pickle.loads(pickle.dumps(with_evaluation))) is spec_model("docker", True)


def test_unknown_kind_still_names_every_builtin_kind(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text("apiVersion: modeldeploy/v1\nname: x\nmodel: {source: ./m}\ntarget: {kind: 5}\n")
    with pytest.raises(SpecError) as info:
        load_all_environments(p)
    assert "docker, kubernetes, sagemaker, azureml" in "\n".join(info.value.lines())


CODE = """
import sys
from modeldeploy.spec.loader import load_spec
load_spec("examples/iris/deploy.yaml", "prod")
print(sorted(m for m in sys.modules if m.startswith(("modeldeploy.spec.targets.", "modeldeploy.spec.evaluation"))))
"""


def test_a_docker_spec_without_evaluation_defines_no_other_section() -> None:
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['modeldeploy.spec.targets.docker',", "'modeldeploy.spec.targets.imagebuild']"]
