"""A Kubernetes schema check skips a container value (a pod template's probes, resources, volumes…)
that already passed the same subschema in this process, and reports exactly what a full walk reports.

The validator is the real one (kubernetes-validate's strict schemas, $refs inlined); the reference is
the plain Draft 2020-12 validator of the same inlined schema, without the memo. test_k8s_schemarefs.py
compares both with the shipped schemas on every golden manifest and its mutations (which run after the
unmutated object passed, so the memo is in play there too)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from modeldeploy.targets.kubernetes import validate

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "kubernetes"


def _deployment() -> dict[str, Any]:
    for path in sorted(GOLDEN.glob("*/expected/k8s/*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if isinstance(obj, dict) and obj.get("kind") == "Deployment":
                return obj
    raise AssertionError("no Deployment among the golden manifests")


def _walks(validator: Any, obj: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[Any]]:
    calls = 0
    descend = type(validator).descend

    def counted(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        return descend(self, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(type(validator), "descend", counted)
        errors = [(list(e.path), e.message, e.validator) for e in validator.iter_errors(obj)]
    return calls, errors


def test_a_passed_subtree_is_not_walked_again_and_errors_stay_those_of_a_full_walk(monkeypatch) -> None:
    validate._SUBTREES_PASSED.clear()
    obj = _deployment()
    fast = validate.builtin_validator("1.30", obj["apiVersion"], obj["kind"])
    assert type(fast) is not jsonschema.Draft202012Validator  # the memo is on for these schemas
    plain = jsonschema.Draft202012Validator(fast.schema, registry=fast._registry)

    first, errors = _walks(fast, obj, monkeypatch)
    assert errors == []
    renamed = copy.deepcopy(obj)
    renamed["metadata"]["name"] = "another-name"
    again, errors = _walks(fast, renamed, monkeypatch)
    assert errors == [] and again < first / 4  # only the changed path is walked

    # a broken value inside a subtree whose twin passed, and beside subtrees that passed
    container = renamed["spec"]["template"]["spec"]["containers"][0]
    for broken in (
        {**container, "imagePullPolicy": 7},
        {**container, "notAField": 1},
        {k: v for k, v in container.items() if k != "name"},
    ):
        bad = copy.deepcopy(renamed)
        bad["spec"]["template"]["spec"]["containers"][0] = broken
        _, errors = _walks(fast, bad, monkeypatch)
        assert errors and errors == _walks(plain, bad, monkeypatch)[1]
        with pytest.raises(jsonschema.ValidationError) as got:
            fast.validate(bad)
        with pytest.raises(jsonschema.ValidationError) as expected:
            plain.validate(bad)
        assert (list(got.value.path), got.value.message) == (list(expected.value.path), expected.value.message)
    # a failing value is never remembered: the same broken object fails again
    assert _walks(fast, bad, monkeypatch)[1] == _walks(plain, bad, monkeypatch)[1] != []


def test_a_schema_whose_checks_depend_on_their_context_gets_no_memo() -> None:
    assert validate._context_dependent({"properties": {"a": {"$ref": "#/$defs/x"}}})
    assert validate._context_dependent({"items": {"unevaluatedProperties": False}})
    assert not validate._context_dependent({"properties": {"a": {"type": "string"}}, "required": ["a"]})
