"""The Python API enforces the signature policy at apply, as the CLI does: a breaking finding that is
neither waived nor allowed stops apply before anything is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import modeldeploy
from modeldeploy.errors import PolicyViolation
from modeldeploy.model.findings import Finding

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "kubernetes" / "deploy.yaml"
BREAKING = Finding("SIG101", "breaking", "inputs.x", "", "double (required)", "required input added: x")


def test_breaking_plan_is_refused_unless_allowed(tmp_path: Path) -> None:
    dep = modeldeploy.load(EXAMPLE, "staging")
    plan, result = modeldeploy.plan(dep, against=f"dir:{tmp_path}")
    breaking = dataclasses.replace(plan, policy=(BREAKING,))
    with pytest.raises(PolicyViolation, match="SIG101"):
        modeldeploy.apply(dep, breaking, result=result)
    assert not any(tmp_path.iterdir())  # nothing written
    allowed = dataclasses.replace(breaking, allow_breaking=True)
    modeldeploy.apply(dep, allowed, result=result)
    assert (tmp_path / "iris-classifier" / "k8s" / "deployment.yaml").is_file()


def test_waived_finding_does_not_block(tmp_path: Path) -> None:
    dep = modeldeploy.load(EXAMPLE, "staging")
    plan, result = modeldeploy.plan(dep, against=f"dir:{tmp_path}")
    waived = dataclasses.replace(plan, policy=(dataclasses.replace(BREAKING, waived="clients upgraded"),))
    modeldeploy.apply(dep, waived, result=result)
    assert (tmp_path / "iris-classifier" / "modeldeploy.json").is_file()


def test_public_api_names_are_the_functions_even_after_every_submodule_is_imported() -> None:
    """The four documented names must stay callables: no subpackage may share their names."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(modeldeploy.__path__, "modeldeploy."):
        if ".targets." in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    for name in ("load", "render", "plan", "apply", "destroy"):
        assert callable(getattr(modeldeploy, name)) and not isinstance(getattr(modeldeploy, name), type(modeldeploy)), (
            name
        )
