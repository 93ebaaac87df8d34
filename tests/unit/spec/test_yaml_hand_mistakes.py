"""The YAML mistakes people make by hand, in plain words with the fix: a tab, and a key indented off
its siblings (more or less than them). Other syntax errors keep the parser's own words."""

from __future__ import annotations

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import parse_text
from modeldeploy.spec.yamlread import YAMLProblem, compose

SPEC = """apiVersion: modeldeploy/v1
name: iris
model:
  source: ./model
  type: mlflow
target:
  kind: docker
"""


def lines_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as e:
        parse_text(text, "deploy.yaml")
    return e.value.lines()


def test_a_tab_before_a_key():
    assert lines_of(SPEC.replace("  source:", "\tsource:")) == [
        "deploy.yaml:4:1: error: a tab character indents this line; YAML indents with spaces only [MD101]",
        "hint: replace the tab with spaces (as many as the keys it belongs with)",
    ]


def test_a_tab_after_a_key_is_not_called_indentation():
    assert lines_of(SPEC.replace("  source: ./model", "  source:\t./model")) == [
        "deploy.yaml:4:10: error: a tab character follows 'source:'; YAML separates with spaces only [MD101]",
        "hint: replace the tab after 'source:' with a space",
    ]


@pytest.mark.parametrize("indent", [1, 3, 4])
def test_a_key_indented_off_its_siblings(indent: int):
    lines = lines_of(SPEC.replace("  type: mlflow", " " * indent + "type: mlflow"))
    spaces = f"{indent} space" + ("" if indent == 1 else "s")
    assert lines == [
        f"deploy.yaml:5:{indent + 1}: error: 'type' is indented {spaces}, but 'source' on line 4 is at 2: "
        "keys of one mapping must start in the same column [MD101]",
        "hint: indent 'type' by 2 spaces, like 'source' (YAML nests by indentation, with spaces only)",
    ]


def test_other_syntax_errors_keep_the_parsers_words():
    with pytest.raises(YAMLProblem) as e:
        compose("name: [unclosed\n")
    assert e.value.message.startswith("invalid YAML: ") and e.value.hint is None
