"""modeldeploy.spec.yamlread: the one YAML reader with positions behind deploy.yaml and MLmodel."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from modeldeploy.spec.yamlread import Builder, Path_, Positions, YAMLProblem, compose, decode


class Collect(Builder):
    def __init__(self) -> None:
        super().__init__(max_nodes=50, max_depth=5)
        self.refused: list[tuple[str, tuple[int, int], Path_]] = []

    def refuse(self, node: yaml.Node, kind: str, at: Path_ = ()) -> None:
        if kind in ("nodes", "depth"):
            raise YAMLProblem(kind, (node.start_mark.line + 1, node.start_mark.column + 1))
        self.refused.append((kind, (node.start_mark.line + 1, node.start_mark.column + 1), at))


def _build(text: str) -> tuple[Any, Collect]:
    b = Collect()
    return b.run(compose(text)[0]), b


def test_positions_of_values_and_keys() -> None:
    data, b = _build("# c\na: 1\nb:\n  - x\n  - {c: 2}\n")
    assert data == {"a": 1, "b": ["x", {"c": 2}]}
    pos = b.positions
    assert pos.at(("a",)) == (2, 4) and pos.at(("a",), key=True) == (2, 1)
    assert pos.at(("b", 1, "c")) == (5, 9)
    assert pos.at(("b", 1, "missing")) == (5, 5)  # nearest recorded ancestor
    assert pos.at(("nothing",)) == (2, 1)  # the root mapping starts at line 2
    assert Positions(pos.values, pos.keys, root=False).at(("nothing",)) == (1, 1)


def test_refusals_are_located_and_reading_goes_on() -> None:
    data, b = _build("a: 1\na: 2\nb: !custom x\n? [k]\n: v\n<<: {z: 1}\nc: 3\n")
    assert data == {"a": 1, "b": None, "c": 3}
    assert [(k, w) for k, w, _ in b.refused] == [
        ("duplicate", (2, 1)),
        ("tag", (3, 4)),
        ("key", (4, 3)),
        ("merge", (6, 1)),
    ]
    assert b.refused[0][2] == ("a",)


def test_alias_bombs_and_depth_stop_the_build() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    with pytest.raises(YAMLProblem) as exc:
        _build(bomb)
    assert exc.value.kind == "nodes"
    with pytest.raises(YAMLProblem) as exc:
        _build("a: " + "[" * 7 + "]" * 7)
    assert exc.value.kind == "depth"


def test_syntax_encoding_and_value_problems() -> None:
    with pytest.raises(YAMLProblem) as exc:
        compose("a: [1\nb: 2\n")
    assert exc.value.kind == "syntax" and exc.value.message.startswith("invalid YAML: ") and exc.value.where[0] >= 2
    with pytest.raises(YAMLProblem) as exc:
        compose("a: 1\n---\nb: 2\n", single=True)
    assert exc.value.kind == "syntax" and exc.value.where == (2, 1)
    assert len(compose("a: 1\n---\nb: 2\n")) == 2
    with pytest.raises(YAMLProblem) as exc:
        decode(b"\xef\xbb\xbfa: 1\nb: \xff\n")
    assert (exc.value.kind, exc.value.where, exc.value.byte) == ("encoding", (2, 4), 0xFF)
    assert decode(b"\xef\xbb\xbfa: 1") == "a: 1"
