"""rendering.checked: a check of rendered output that passed is not run again on identical input;
any difference in the input (value, type, key order) runs it again, and a failing check always runs."""

from __future__ import annotations

import pytest

from modeldeploy.rendering import checked


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checked, "_PASSED", set())


def test_a_pass_is_remembered_for_the_same_input_only() -> None:
    calls: list[object] = []

    def check(value: object) -> None:
        checked.once("t", value, lambda: calls.append(value))

    check({"a": 1, "b": [1, 2]})
    check({"a": 1, "b": [1, 2]})
    assert len(calls) == 1
    for other in ({"b": [1, 2], "a": 1}, {"a": 1, "b": (1, 2)}, {"a": 1.0, "b": [1, 2]}, {"a": True, "b": [1, 2]}):
        check(other)
    assert len(calls) == 5, "key order, tuple/list, int/float/bool are different inputs"
    checked.once("other-check", {"a": 1, "b": [1, 2]}, lambda: calls.append("other"))
    assert calls[-1] == "other", "the check's name is part of the key"


def test_a_failing_check_runs_and_fails_every_time() -> None:
    runs: list[int] = []

    def failing() -> None:
        runs.append(1)
        raise ValueError("bad")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad"):
            checked.once("t", {"x": 1}, failing)
    assert len(runs) == 2


def test_an_input_that_cannot_be_pickled_is_always_checked() -> None:
    runs: list[int] = []
    value = {"f": lambda: None}
    checked.once("t", value, lambda: runs.append(1))
    checked.once("t", value, lambda: runs.append(1))
    assert len(runs) == 2


def test_kubernetes_objects_are_schema_checked_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from modeldeploy.targets.kubernetes import validate

    seen: list[str] = []
    real = validate._validate_object
    monkeypatch.setattr(validate, "_validate_object", lambda obj, v: (seen.append(obj["kind"]), real(obj, v)))
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}
    validate.validate_object(svc, "1.29.0")
    validate.validate_object(dict(svc), "1.29.0")
    assert seen == ["Service"]
    bad = {**svc, "spec": {"ports": [{"port": "eighty"}]}}
    for _ in range(2):
        with pytest.raises(Exception, match="port"):
            validate.validate_object(bad, "1.29.0")
    assert seen == ["Service", "Service", "Service"]


def test_remembered_text_is_made_once_per_input_and_is_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import OrderedDict

    from modeldeploy.rendering.canonical import dump_yaml

    monkeypatch.setattr(checked, "_MADE", OrderedDict())
    made: list[object] = []

    def make(data: object) -> bytes:
        made.append(data)
        return dump_yaml(data)

    dump = checked.remembered("t", make)
    doc = {"kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}
    first = dump(doc)
    assert dump({"kind": "Service", "metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}) == first
    assert len(made) == 1 and first == dump_yaml(doc)
    assert dump({**doc, "spec": {"ports": [{"port": "80"}]}}) != first  # a str is another input
    assert len(made) == 2
    monkeypatch.setattr(checked, "_MAX_MADE", 2)
    dump({"a": 1})
    dump({"b": 1})  # the oldest (doc) is dropped: made again
    dump(doc)
    assert len(made) == 5
