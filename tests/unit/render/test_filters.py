"""Escaping filters and the template discipline: every output expression goes through a named filter."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from jinja2 import nodes

from modeldeploy.errors import RenderError
from modeldeploy.rendering import filters
from modeldeploy.rendering.jinja import environment, render_template, templates_dir

HOSTILE = [
    "quote \" and ' both",
    "$(rm -rf /)",
    "`id`",
    "${HOME}",
    "{{ 7*7 }}",
    "{% raw %}x",
    "key: value # comment",
    "back\\slash\\",
    "tab\tinside",
    "unicode ünïcødé ✓",
    "- looks like a list",
    "yes",
    "null",
    "0x1F",
    "",
]
LINE_BREAKS = ["two\nlines", "carriage\rreturn", "line\u2028separator", "para\u2029sep", "nel\x85x"]


@pytest.mark.parametrize("value", HOSTILE)
def test_sh_round_trips_through_a_real_shell(value: str) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf %s {filters.sh(value)}"], capture_output=True, text=True, check=True
    ).stdout
    assert out == value
    assert shlex.split(filters.sh(value)) == [value]


@pytest.mark.parametrize("value", HOSTILE + LINE_BREAKS)
def test_yaml_scalar_round_trips(value: str) -> None:
    assert yaml.safe_load(f"k: {filters.yaml_scalar(value)}\n") == {"k": value}


@pytest.mark.parametrize("value", HOSTILE + LINE_BREAKS)
def test_json_round_trips(value: str) -> None:
    assert json.loads(filters.json_value(value)) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_dockerfile_value_is_inert(value: str) -> None:
    escaped = filters.dockerfile_value(value)
    assert escaped.startswith('"') and escaped.endswith('"')
    inner = escaped[1:-1]
    # Every quote and $ inside is escaped, so the builder neither ends the word nor expands.
    i = 0
    while i < len(inner):
        if inner[i] == "\\":
            i += 2
            continue
        assert inner[i] not in '"$', (value, escaped)
        i += 1


@pytest.mark.parametrize("value", LINE_BREAKS + ["nul\x00byte"])
def test_line_breaks_are_refused_in_dockerfile_contexts(value: str) -> None:
    with pytest.raises(RenderError):
        filters.dockerfile_value(value)
    with pytest.raises(RenderError):
        filters.dockerfile_comment(value)


@pytest.mark.parametrize("value", ["ubuntu; rm -rf /", "a b", "Python:3.11", "x\ny", "$(id)"])
def test_image_ref_rejects_non_references(value: str) -> None:
    with pytest.raises(RenderError):
        filters.image_ref(value)


@pytest.mark.parametrize(
    "value", ["python:3.11-slim", "registry.example.com:5000/team/img:1.0", "img@sha256:" + "a" * 64]
)
def test_image_ref_accepts_references(value: str) -> None:
    assert filters.image_ref(value) == value


def test_unfiltered_output_is_refused_at_render_time() -> None:
    env = environment()
    with pytest.raises(RenderError, match="did not pass through an escaping filter"):
        env.from_string("x={{ value }}").render(value="$(id)")
    assert env.from_string("x={{ value|sh }}").render(value="$(id)") == "x='$(id)'"


def test_user_data_is_never_a_template() -> None:
    out = render_template(
        "init/deploy.yaml.j2",
        schema_url="s",
        name="{{ 7*7 }}",
        source="./m",
        file_name="d.yaml",
        required=True,
        kind="docker",
        python="3.11",
    )
    assert "49" not in out and yaml.safe_load(out)["name"] == "{{ 7*7 }}"


def _templates() -> list[Path]:
    return sorted(p for p in templates_dir().rglob("*.j2"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: p.relative_to(templates_dir()).as_posix())
def test_every_output_expression_ends_in_a_named_filter(path: Path) -> None:
    env = environment()
    ast = env.parse(path.read_text())
    bad = []
    for output in ast.find_all(nodes.Output):
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                continue
            if not (isinstance(node, nodes.Filter) and node.name in filters.FILTERS):
                bad.append(f"line {node.lineno}: {type(node).__name__}")
    assert not bad, f"{path.name}: output expressions without an escaping filter: {bad}"


def test_templates_exist() -> None:
    assert _templates(), "no templates found"
