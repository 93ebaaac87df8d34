"""modeldeploy.model.info: real MLflow-written folders (wild ones from many MLflow versions, and ones
saved here with mlflow 3.17) read without mlflow; broken folders give located ModelErrors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modeldeploy.errors import ModelError, SourceError
from modeldeploy.model.info import MAX_MLMODEL_BYTES, read_model

# Copied into the repository with its LICENSE and SOURCE.md: the suite needs nothing outside it.
WILD = Path(__file__).resolve().parents[2] / "data" / "reference" / "mlmodel-wild"
WILD_DIRS = sorted(p.name for p in WILD.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", WILD_DIRS)
def test_every_wild_folder_reads(name: str) -> None:
    import yaml

    folder = WILD / name
    info = read_model(folder)
    raw = yaml.safe_load((folder / "MLmodel").read_text())
    assert info.path == folder
    assert set(info.flavors) == set(raw["flavors"])
    assert info.loader_module == raw["flavors"]["python_function"]["loader_module"]
    assert info.python_version == str(raw["flavors"]["python_function"]["python_version"])
    assert info.mlflow_version == raw.get("mlflow_version")
    assert info.run_id == raw.get("run_id")
    assert info.model_uuid == raw.get("model_uuid")
    assert info.raw == raw
    assert info.env.get("conda") == "conda.yaml"
    if (folder / "requirements.txt").is_file():
        lines = [
            ln.strip()
            for ln in (folder / "requirements.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
        assert info.requirements == tuple(lines) and info.requirements_source == "requirements.txt"
    assert info.has_input_example == (folder / "input_example.json").is_file()
    if "signature" in raw:
        sig = info.signature
        assert sig is not None
        # The parsed inputs name exactly the columns the JSON string names.
        assert [s.name for s in sig.inputs.specs] == [s.get("name") for s in json.loads(raw["signature"]["inputs"])]
    else:
        assert info.signature is None


def test_wild_folder_count() -> None:
    assert len(WILD_DIRS) >= 20


def test_pre_2_0_env_string_and_params_dtype_key() -> None:
    info = read_model(WILD / "cli_endpoints_batch_deploy-models_openai-embeddings_model")
    assert info.env == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert info.signature.params[0].name == "batch_size"  # MLflow 2.5 wrote "dtype", not "type"
    assert info.signature.params[0].type.render() == "long"
    old = read_model(WILD / "cli_jobs_parallel_2a_iris_batch_prediction_iris-model")
    assert old.env == {"conda": "conda.yaml"} and old.requirements == () and old.signature is None


def test_mlflow_3_folder(models: dict[str, Path]) -> None:
    import yaml

    info = read_model(models["sk_columns"])
    raw = yaml.safe_load((models["sk_columns"] / "MLmodel").read_text())
    assert info.loader_module == "mlflow.sklearn"
    assert info.mlflow_version == "3.17.2"
    assert info.model_uuid == raw["model_uuid"]
    assert info.requirements_source == "requirements.txt"
    assert "mlflow==3.17.2" in info.requirements
    assert info.python_env is not None and info.conda is not None
    assert info.input_example is not None
    assert info.input_example.artifact_path == "input_example.json"
    assert info.input_example.serving_input_path == "serving_input_example.json"
    assert info.signature is not None and info.signature.input_kind == "columns"
    assert read_model(models["sk_nosig"]).signature is None
    assert read_model(models["sk_nosig"]).has_input_example is False


def test_signature_required_matches_mlflow(models: dict[str, Path]) -> None:
    """Our required/optional reading agrees with MLflow's own Schema for a real MLmodel."""
    from mlflow.models import Model

    for name in ("cols_v1", "cols_v2", "sk_columns"):
        theirs = Model.load(str(models[name])).signature.inputs
        ours = read_model(models[name]).signature.inputs
        assert [s.name for s in ours.specs if s.required] == theirs.required_input_names()
        assert [s.name for s in ours.specs if not s.required] == theirs.optional_input_names()


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def test_requirement_fallbacks(models: dict[str, Path], tmp_path: Path) -> None:
    m = _copy(models["sk_nosig"], tmp_path / "m")
    (m / "constraints.txt").write_text("numpy<3\n")
    (m / "requirements.txt").unlink()
    (m / "extra.txt").write_text("# comment\nscikit-learn==1.5.0\n")
    (m / "python_env.yaml").write_text(
        "python: 3.11.7\nbuild_dependencies: [pip]\ndependencies:\n- -r extra.txt\n- pandas\n"
    )
    info = read_model(m)
    assert info.requirements == ("scikit-learn==1.5.0", "pandas")
    assert info.requirements_source == "python_env.yaml"
    assert info.constraints == ("numpy<3",)
    (m / "python_env.yaml").unlink()
    info = read_model(m)
    assert info.requirements_source == "conda.yaml"
    assert any(r.startswith("mlflow") for r in info.requirements)


def test_include_outside_folder_rejected(models: dict[str, Path], tmp_path: Path) -> None:
    m = _copy(models["sk_nosig"], tmp_path / "m")
    (m / "requirements.txt").write_text("-r ../../etc/passwd\n")
    with pytest.raises(ModelError, match="outside the model folder"):
        read_model(m)


def _write(folder: Path, mlmodel: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(mlmodel)
    return folder


def _located(exc: ModelError) -> str:
    return exc.lines()[0]


def test_missing_folder_and_mlmodel(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as s:  # the error a missing model.source gets
        read_model(tmp_path / "nope", display="nope")
    assert _located(s.value) == "error: model folder 'nope' not found [MD300]"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError) as e:
        read_model(tmp_path / "empty", display="model")
    assert e.value.lines() == [
        "error: model folder 'model' has no MLmodel file [MD200]",
        "hint: name the folder that holds the MLmodel file (the one mlflow.<flavor>.save_model writes)",
    ]


def test_invalid_yaml_is_located(tmp_path: Path) -> None:
    m = _write(tmp_path / "m", "flavors:\n  python_function:\n    loader_module: [a\n")
    with pytest.raises(ModelError) as e:
        read_model(m, display="model")
    assert _located(e.value).startswith("model/MLmodel:4:1: error: invalid YAML")


def test_bad_signature_json_is_located(tmp_path: Path) -> None:
    m = _write(
        tmp_path / "m",
        'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\nsignature:\n  inputs: \'[{"name": "x", "type": }]\'\n',
    )
    with pytest.raises(ModelError) as e:
        read_model(m, display="model")
    line = _located(e.value)
    assert line.startswith("model/MLmodel:5:11: error: signature.inputs is not valid JSON"), line


def test_unknown_signature_type_is_located(tmp_path: Path) -> None:
    m = _write(tmp_path / "m", 'flavors: {}\nsignature:\n  outputs: \'[{"type": "decimal"}]\'\n')
    with pytest.raises(ModelError) as e:
        read_model(m, display="model")
    assert _located(e.value).startswith("model/MLmodel:3:12: error: outputs[0]: unknown type 'decimal'")


def test_python_tags_rejected(tmp_path: Path) -> None:
    m = _write(tmp_path / "m", "flavors: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ModelError) as e:
        read_model(m, display="model")
    assert "model/MLmodel:1:10" in _located(e.value) and "not allowed" in _located(e.value)


def test_alias_bomb_and_size_bounded(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdef", "bcdefg", strict=False)
    )
    m = _write(tmp_path / "bomb", bomb + "flavors: {}\n")
    with pytest.raises(ModelError, match="alias bomb"):
        read_model(m)
    big = _write(tmp_path / "big", "flavors: {}\nmetadata: {x: '" + "y" * MAX_MLMODEL_BYTES + "'}\n")
    with pytest.raises(ModelError, match="at most"):
        read_model(big)


def test_structure_errors(tmp_path: Path) -> None:
    cases = {
        "- a\n- b\n": "MLmodel must be a YAML mapping",
        "run_id: x\n": "no 'flavors' section",
        "flavors: [a]\n": "flavors must be a mapping",
        "flavors:\n  python_function:\n    env: 3\n": "python_function.env must be a mapping",
        "flavors:\n  python_function:\n    env: {conda: ../../x.yaml}\n": "inside the model folder",
        "flavors: {}\nsignature: '[]'\n": "signature must be a mapping",
        "flavors: {}\nflavors: {}\n": "duplicate key",
    }
    for i, (text, message) in enumerate(cases.items()):
        with pytest.raises(ModelError, match=message):
            read_model(_write(tmp_path / str(i), text))


def test_unknown_keys_and_timestamps_kept(tmp_path: Path) -> None:
    m = _write(tmp_path / "m", "flavors: {}\nutc_time_created: 2024-01-01 10:00:00\nsomething_new: {a: 1}\n")
    info = read_model(m)
    assert info.raw["something_new"] == {"a": 1}
    assert info.utc_time_created == "2024-01-01 10:00:00"
    assert info.signature is None and info.loader_module is None


def test_mlmodel_file_path_accepted(models: dict[str, Path]) -> None:
    assert read_model(models["cols_v1"] / "MLmodel").path == models["cols_v1"]


@pytest.mark.parametrize("value", ["!!int nope", "!!float x", "!!bool maybe"])
def test_a_standard_tag_on_the_wrong_text_is_located(tmp_path: Path, value: str) -> None:
    """It used to end as "internal error: ValueError" on the command line."""
    m = _write(tmp_path / "m", f"flavors: {{}}\nmlflow_version: {value}\n")
    with pytest.raises(ModelError) as e:
        read_model(m, display="model")
    assert _located(e.value).startswith("model/MLmodel:2:17: error: "), _located(e.value)
    assert "is not a valid" in _located(e.value)
