"""Strict-xfail reproducers for bugs in other helpers' modules that the hostile and generated inputs
found (reported to the lead; not fixed here because the files are not ours). When a fix lands, the
reproducer XPASSes and fails: delete the xfail marker and the entry in tests/property/known_bugs.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from modeldeploy.errors import ModelError
from modeldeploy.model.example import check_input_example
from modeldeploy.model.info import read_model
from tests.property.generators import dump, json_deep
from tests.property.test_property_mlmodel import MLMODEL, SIDE, write_model


def model(tmp_path: Path, doc: dict, side: dict | None = None) -> Path:
    return write_model(tmp_path / "m", dump(doc, flow=None, unicode=True).encode(), side)


@pytest.mark.xfail(strict=True, raises=RecursionError, reason="signature.py _json: json.loads RecursionError is not caught (signature-json-recursion)")
def test_deeply_nested_signature_json_is_a_model_error(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["signature"]["inputs"] = json_deep(1000)
    with pytest.raises(ModelError):
        read_model(model(tmp_path, doc))


@pytest.mark.xfail(strict=True, raises=RecursionError, reason="info.py read_json: json.loads RecursionError is not caught (read-json-recursion)")
def test_deeply_nested_input_example_is_a_model_error(tmp_path: Path) -> None:
    info = read_model(model(tmp_path, MLMODEL, {**SIDE, "input_example.json": json_deep(1000)}))
    with pytest.raises(ModelError):
        check_input_example(info)


@pytest.mark.xfail(strict=True, raises=TypeError, reason="info.py _Reader.load: env_vars that is not a list raises TypeError (env-vars-not-a-list)")
def test_env_vars_that_is_not_a_list_is_a_model_error(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["env_vars"] = 5
    with pytest.raises(ModelError):
        read_model(model(tmp_path, doc))


@pytest.mark.xfail(strict=True, reason="info.py _Reader.env: the pre-2.0 string form of python_function.env is not confined to the model folder")
def test_string_env_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text("dependencies: [{pip: [outside-package==6.6.6]}]\n")
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["python_function"]["env"] = "../outside.yaml"
    side = {k: v for k, v in SIDE.items() if k not in ("requirements.txt", "python_env.yaml")}
    with pytest.raises(ModelError, match="inside the model folder"):
        read_model(model(tmp_path, doc, side))


@pytest.mark.xfail(strict=True, reason="info.py _Reader.input_example: saved_input_example_info paths are not confined to the model folder")
@pytest.mark.parametrize("key", ["artifact_path", "serving_input_path"])
def test_input_example_outside_the_model_folder_is_refused(tmp_path: Path, key: str) -> None:
    (tmp_path / "outside.json").write_text(json.dumps({"columns": ["zzz"], "data": [[1]]}))
    doc = copy.deepcopy(MLMODEL)
    doc["saved_input_example_info"] = {"artifact_path": "input_example.json", key: "../outside.json"}
    try:
        info = read_model(model(tmp_path, doc))
    except ModelError:
        return
    example = info.input_example
    paths = [example.artifact_path, example.serving_input_path] if example else []
    for p in filter(None, paths):
        assert (info.path / p).resolve().is_relative_to(info.path.resolve()), f"{key} {p!r} leaves the model folder"


@pytest.mark.xfail(strict=True, raises=OSError, reason="info.py: a side-file name longer than NAME_MAX raises OSError ENAMETOOLONG (mlmodel-file-name-too-long)")
def test_overlong_env_file_name_is_a_model_error(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["python_function"]["env"] = "x" * 4096
    with pytest.raises(ModelError):
        read_model(model(tmp_path, doc))


@pytest.mark.xfail(strict=True, raises=OSError, reason="sources/local.py resolve_local: ENAMETOOLONG escapes as OSError (local-source-name-too-long)")
def test_overlong_local_source_is_a_located_error(tmp_path: Path) -> None:
    from modeldeploy import api
    from modeldeploy.errors import ModelDeployError

    spec = tmp_path / "deploy.yaml"
    spec.write_text("apiVersion: modeldeploy/v1\nname: m\nmodel: {source: ./" + "x" * 300 + "}\ntarget: {kind: docker}\n")
    with pytest.raises(ModelDeployError):
        api.load(spec, environ={})


@pytest.mark.xfail(strict=True, reason="info.py _Reader.load/_Reader.env echo raw MLmodel keys in messages: a newline in a flavor name forges a second output line")
def test_mlmodel_messages_quote_keys(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["evil\nerror: forged"] = True
    with pytest.raises(ModelError) as info:
        read_model(model(tmp_path, doc))
    for line in info.value.lines():
        assert "\n" not in line


def test_diagnostic_file_names_stay_on_one_line() -> None:
    """errors.py Diagnostic.format printed the file name raw: a file named with a newline split one
    diagnostic over two output lines (and could forge a 'FILE:1:1: error:' line)."""
    from modeldeploy.errors import Diagnostic

    for name in ("a\nevil.yaml:1:1: error: forged", "a\rb", "a\u2028b", "a\x85b"):
        text = Diagnostic(name, 3, 4, "boom").format()
        assert text.splitlines() == [text] and "\u2028" not in text and "\x85" not in text, text
        assert text.endswith(":3:4: error: boom [MD100]")
    assert Diagnostic("my models/deploy.yaml", 1, 2, "x").format() == "my models/deploy.yaml:1:2: error: x [MD100]"
