"""The compatibility rule registry (modeldeploy.model.compat.rules): every rule is a class with
well-formed declarative metadata, its id is unique, it sits in the family module its id belongs to,
and every rule class defined in a family module is registered (none is silently left out)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

from modeldeploy.model import compat
from modeldeploy.model.compat import rules as rules_pkg
from modeldeploy.model.compat.base import SEVERITIES, Rule

# family module → the id pattern its rules carry (cfn-lint style: the id says where the rule lives)
FAMILIES = {
    "signature": r"SIG0\d\d",
    "inputs": r"SIG10\d",
    "datatypes": r"SIG11\d",
    "tensors": r"SIG12\d",
    "outputs": r"SIG2\d\d",
    "params": r"SIG3\d\d",
    "policy": r"SIG9\d\d",
}
SCOPES = {"signature", "inputs", "outputs", "params", "policy", "inputs, params"}


def _defined_rules() -> dict[str, list[type[Rule]]]:
    found: dict[str, list[type[Rule]]] = {}
    for info in pkgutil.iter_modules(rules_pkg.__path__):
        module = importlib.import_module(f"{rules_pkg.__name__}.{info.name}")
        found[info.name] = [
            obj
            for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Rule) and obj is not Rule and obj.__module__ == module.__name__
        ]
    return found


def test_every_family_module_is_known_and_holds_rules() -> None:
    defined = _defined_rules()
    assert set(defined) == set(FAMILIES)
    assert all(defined.values())


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r.id for r in compat.RULES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"SIG\d{3}", i) for i in ids), ids
    assert compat.RULES_BY_ID == {r.id: r for r in compat.RULES}


def test_each_rule_lives_in_the_family_its_id_names() -> None:
    for family, rules in _defined_rules().items():
        for rule in rules:
            assert re.fullmatch(FAMILIES[family], rule.id), f"{rule.__name__} ({rule.id}) in rules/{family}.py"


def test_every_defined_rule_is_registered_once() -> None:
    defined = [r for rules in _defined_rules().values() for r in rules]
    assert sorted(r.id for r in defined) == sorted(r.id for r in compat.RULES)
    assert set(compat.COMPARISON_RULES).isdisjoint(compat.POLICY_RULES)


@pytest.mark.parametrize("rule", compat.RULES, ids=lambda r: r.id)
def test_metadata_is_declared(rule: type[Rule]) -> None:
    assert rule.backward in SEVERITIES and rule.forward in SEVERITIES
    assert rule.scope in SCOPES
    assert rule.title and rule.title == rule.title.strip() and "\n" not in rule.title
    assert rule.explanation and "\n" not in rule.explanation
    assert (rule.__doc__ or "").strip(), f"{rule.__name__} needs a docstring: what the scoring server does"
    assert "applies" in vars(rule), f"{rule.__name__} must define applies()"
    meta = rule.metadata()
    assert meta["id"] == rule.id and meta["full"] in SEVERITIES


def test_public_names_stay_importable_from_the_package() -> None:
    for name in compat.__all__:
        assert hasattr(compat, name), name
    for rule in compat.RULES:
        assert getattr(compat, rule.__name__) is rule
