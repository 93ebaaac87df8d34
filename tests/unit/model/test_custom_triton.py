"""Custom and Triton models: the config.pbtxt parser, repository layout errors, the tensor signature
built from Triton's inputs/outputs (and its compatibility check), the custom-model reader, the spec
rules for model.code/entry/environment and `inspect --type`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modeldeploy.errors import ModelError, SpecError
from modeldeploy.model import compat
from modeldeploy.model.kinds import detect_type, read_typed
from modeldeploy.model.pbtxt import Enum, Message, parse
from modeldeploy.model.triton import DATA_TYPES, parse_config, read_repository, read_triton
from modeldeploy.spec.loader import load_spec

CONFIG = """\
# densenet, as in Triton's quick start
name: "densenet"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "data_0"
    data_type: TYPE_FP32
    format: FORMAT_NCHW
    dims: [ 3, 224, 224 ]
  }
]
output [
  {
    name: "fc6_1"
    data_type: TYPE_FP32
    dims: [ 1000 ]
    label_filename: "labels.txt"
  }
]
instance_group [ { kind: KIND_GPU, count: 1 } ]
dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
"""


def write_triton_model(folder: Path, config: str = CONFIG, *, model_file: str = "model.onnx") -> Path:
    """A real Triton model folder: config.pbtxt and 1/<model file> (bytes are not a real ONNX graph;
    nothing here loads it)."""
    (folder / "1").mkdir(parents=True, exist_ok=True)
    (folder / "config.pbtxt").write_text(config)
    (folder / "1" / model_file).write_bytes(b"\x08\x07placeholder-onnx")
    return folder


def write_custom_project(
    root: Path, *, environment: str = "  environment: {requirements_file: requirements.txt}\n"
) -> Path:
    (root / "model").mkdir(parents=True)
    (root / "model" / "weights.json").write_text('{"bias": 1.0, "weights": {"x": 2.0}}')
    (root / "code").mkdir()
    (root / "code" / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    (root / "requirements.txt").write_text("numpy==2.1.3  # math\n")
    (root / "conda.yaml").write_text(
        "channels: [conda-forge]\ndependencies:\n- python=3.10.14\n- scipy=1.13.1\n- pip\n- pip:\n  - requests==2.32.3\n"
    )
    spec = root / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: custom-one\nmodel:\n  source: model\n  type: custom\n  code: code\n  entry: score.py\n"
        + environment
        + "signature: {required: false}\ntarget: {kind: docker}\n"
    )
    return spec


# --- protobuf text format -------------------------------------------------------------------------


def test_parser_reads_the_subset_with_positions() -> None:
    msg = parse(CONFIG, "c.pbtxt")
    assert msg.fields["name"][0].value == "densenet"
    assert msg.fields["max_batch_size"][0].value == 8
    inp = msg.fields["input"][0].value
    assert isinstance(inp, Message)
    assert inp.fields["data_type"][0].value == Enum("TYPE_FP32")
    assert [v.value for v in inp.fields["dims"]] == [3, 224, 224]
    assert (msg.fields["input"][0].pos.line, msg.fields["input"][0].pos.col) == (6, 3)
    batching = msg.fields["dynamic_batching"][0].value
    assert [v.value for v in batching.fields["preferred_batch_size"]] == [4, 8]


def test_parser_variants_repeated_fields_angle_brackets_escapes_and_separators() -> None:
    text = 'name: "a\\tb" \'c\'; input { name: "x", data_type: TYPE_INT64, dims: [-1] } input < name: "y" dims: 2 dims: 3 >\nflag: true\n'
    msg = parse(text, "c.pbtxt")
    assert msg.fields["name"][0].value == "a\tbc"
    assert [v.value.fields["name"][0].value for v in msg.fields["input"]] == ["x", "y"]
    assert [d.value for d in msg.fields["input"][1].value.fields["dims"]] == [2, 3]
    assert msg.fields["flag"][0].value is True


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ('name: "x"\ninput [\n  { name: "a" data_type: TYPE_FP32 dims: [ 1 }\n]\n', "3:46", "expected ']'"),
        ('name "x"\n', "1:6", "expected ':'"),
        ('name: "x\n', "1:7", "unexpected character"),
        ('input {\n  name: "a"\n', "3:1", "end of file"),
        ("name: @\n", "1:7", "unexpected character"),
    ],
)
def test_syntax_errors_are_located(text: str, where: str, words: str) -> None:
    with pytest.raises(ModelError) as err:
        parse(text, "m/config.pbtxt")
    line = err.value.lines()[0]
    assert line.startswith(f"m/config.pbtxt:{where}: error:") and words in line, line


# --- config.pbtxt schema ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (
            ("TYPE_FP32\n    format", "TYPE_FP23\n    format"),
            "8:16",
            "unknown data_type TYPE_FP23 (did you mean TYPE_FP32?)",
        ),
        (
            ("max_batch_size: 8", "max_batch: 8"),
            "4:1",
            "unknown field 'max_batch' in the model config; did you mean 'max_batch_size'?",
        ),
        (("max_batch_size: 8", "max_batch_size: -1"), "4:17", "max_batch_size must be 0 or more"),
        (("dims: [ 1000 ]", "dims: [ 0 ]"), "17:13", "dims must be positive or -1"),
        (('platform: "onnxruntime_onnx"\n', ""), "1:1", "neither 'platform' nor 'backend'"),
        (("    dims: [ 3, 224, 224 ]\n", ""), "6:3", "has no 'dims'"),
        (('name: "fc6_1"', 'name: "data_0"'), None, None),  # same name in input and output is allowed
        (
            ('    label_filename: "labels.txt"\n', '    label_file: "labels.txt"\n'),
            "18:5",
            "did you mean 'label_filename'",
        ),
    ],
)
def test_config_errors_are_located(change: tuple[str, str], where: str | None, words: str | None) -> None:
    text = CONFIG.replace(*change)
    assert text != CONFIG
    if where is None:
        parse_config(text, "m/config.pbtxt")
        return
    with pytest.raises(ModelError) as err:
        parse_config(text, "m/config.pbtxt")
    line = err.value.lines()[0]
    assert line.startswith(f"m/config.pbtxt:{where}: error:") and words in line, line


def test_duplicate_input_names_are_refused() -> None:
    text = CONFIG.replace("input [\n  {", 'input [\n  { name: "data_0" data_type: TYPE_FP32 dims: [ 1 ] },\n  {')
    with pytest.raises(ModelError, match="input name 'data_0' is used twice"):
        parse_config(text, "c")


# --- repository layout -----------------------------------------------------------------------------


def test_single_model_folder_and_repository(tmp_path: Path) -> None:
    single = write_triton_model(tmp_path / "densenet")
    repo = read_repository(single)
    assert repo.single and [m.name for m in repo.models] == ["densenet"] and repo.models[0].versions == (1,)
    ens_config = 'name: "pipeline"\nplatform: "ensemble"\nmax_batch_size: 8\ninput [ { name: "raw" data_type: TYPE_STRING dims: [ 1 ] } ]\noutput [ { name: "fc6_1" data_type: TYPE_FP32 dims: [ 1000 ] } ]\n'
    (tmp_path / "pipeline" / "1").mkdir(parents=True)
    (tmp_path / "pipeline" / "config.pbtxt").write_text(ens_config)
    (tmp_path / "README.md").write_text("files at the top of a repository are ignored")
    repo = read_repository(tmp_path)
    assert not repo.single and [m.name for m in repo.models] == ["densenet", "pipeline"]
    assert repo.default_model is not None and repo.default_model.name == "pipeline"
    info = read_triton(tmp_path)
    assert info.signature is not None and info.signature.inputs.specs[0].dtype == "object"


@pytest.mark.parametrize(
    ("breakage", "words"),
    [
        (lambda m: (m / "1" / "model.onnx").unlink(), "repo/densenet/1: error: has no model.onnx"),
        (lambda m: (m / "1").rename(m / "v1"), "repo/densenet/v1: error: is not a numbered version folder"),
        (
            lambda m: [(m / "1" / "model.onnx").unlink(), (m / "1").rmdir()],
            "repo/densenet: error: has no numbered version folder",
        ),
        (
            lambda m: (m / "config.pbtxt").write_text(CONFIG.replace('"densenet"', '"resnet"')),
            "densenet/config.pbtxt:2:7: error: name 'resnet' does not match the model folder 'densenet'",
        ),
        (lambda m: (m / "config.pbtxt").rename(m / "config.txt"), "repo/densenet: error: has no config.pbtxt"),
    ],
)
def test_layout_errors_name_the_folder(tmp_path: Path, breakage, words: str) -> None:
    model = write_triton_model(tmp_path / "repo" / "densenet")
    breakage(model)
    with pytest.raises(ModelError) as err:
        read_repository(tmp_path / "repo", display="repo")
    assert words in "\n".join(err.value.lines())


def test_default_model_filename_and_python_backend(tmp_path: Path) -> None:
    cfg = CONFIG.replace(
        'platform: "onnxruntime_onnx"', 'platform: "onnxruntime_onnx"\ndefault_model_filename: "dense.onnx"'
    )
    write_triton_model(tmp_path / "densenet", cfg, model_file="dense.onnx")
    assert read_repository(tmp_path / "densenet").models[0].kind == "onnxruntime_onnx"
    py = 'name: "pre"\nbackend: "python"\ninput [ { name: "x" data_type: TYPE_FP64 dims: [ -1 ] } ]\noutput [ { name: "y" data_type: TYPE_FP64 dims: [ -1 ] } ]\n'
    write_triton_model(tmp_path / "pre", py, model_file="model.py")
    sig = read_triton(tmp_path / "pre").signature
    assert sig is not None and sig.inputs.specs[0].shape == (-1,)  # max_batch_size 0: no batch axis


def test_several_models_without_an_ensemble_have_no_default(tmp_path: Path) -> None:
    write_triton_model(tmp_path / "a", CONFIG.replace('"densenet"', '"a"'))
    write_triton_model(tmp_path / "b", CONFIG.replace('"densenet"', '"b"'))
    info = read_triton(tmp_path)
    assert info.repository.default_model is None and info.signature is None


# --- signature -------------------------------------------------------------------------------------


def test_signature_maps_types_and_batch_dimension(tmp_path: Path) -> None:
    info = read_triton(write_triton_model(tmp_path / "densenet"))
    canonical = info.signature.to_canonical()
    assert canonical["inputs"] == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3, 224, 224]}, "name": "data_0"}
    ]
    assert canonical["outputs"][0]["tensor-spec"] == {"dtype": "float32", "shape": [-1, 1000]}
    assert info.flavors == {} and info.requirements == () and info.model_type == "triton"


def test_every_triton_type_maps_to_a_numpy_dtype_name_mlflow_uses() -> None:
    import numpy as np

    for triton, dtype in DATA_TYPES.items():
        if triton == "TYPE_BF16":
            continue  # no numpy type; kept as "bfloat16"
        assert np.dtype(dtype).name == dtype, triton


def test_compatibility_check_runs_on_triton_signatures(tmp_path: Path) -> None:
    old = read_triton(write_triton_model(tmp_path / "old" / "densenet")).signature
    changed = CONFIG.replace("TYPE_FP32\n    format", "TYPE_FP16\n    format")
    new = read_triton(write_triton_model(tmp_path / "new" / "densenet", changed)).signature
    findings = compat.check(old, new, "backward", [])
    assert any(f.severity == "breaking" and "dtype" in f.message for f in findings), findings
    assert not [f for f in compat.check(old, old, "backward", []) if f.severity == "breaking"]


# --- custom models and the spec --------------------------------------------------------------------


def test_custom_model_reads_requirements_and_conda(tmp_path: Path) -> None:
    from modeldeploy.model.custom import read_custom

    spec = write_custom_project(tmp_path)
    loaded = load_spec(spec)
    info = read_custom(tmp_path / "model", loaded.spec.model, tmp_path)
    assert info.requirements == ("numpy==2.1.3",) and info.flavors == {} and info.signature is None
    assert info.code == tmp_path / "code" and info.entry_module == "score"
    spec.write_text(
        spec.read_text().replace(
            "requirements_file: requirements.txt", "conda_file: conda.yaml, image: 'python:3.12-slim'"
        )
    )
    info = read_custom(tmp_path / "model", load_spec(spec).spec.model, tmp_path)
    assert info.python_version == "3.10.14" and info.requirements == ("requests==2.32.3",) and info.conda is not None
    spec.write_text(spec.read_text().replace("conda_file: conda.yaml, ", ""))
    assert read_custom(tmp_path / "model", load_spec(spec).spec.model, tmp_path).python_version == "3.12"


def test_custom_model_with_missing_code_or_entry_file(tmp_path: Path) -> None:
    from modeldeploy.model.custom import read_custom

    spec = write_custom_project(tmp_path)
    (tmp_path / "code" / "score.py").unlink()
    with pytest.raises(ModelError, match="model.entry: no such file in model.code"):
        read_custom(tmp_path / "model", load_spec(spec).spec.model, tmp_path)
    spec.write_text(spec.read_text().replace("code: code", "code: ../elsewhere"))
    with pytest.raises(ModelError, match="relative path inside"):
        read_custom(tmp_path / "model", load_spec(spec).spec.model, tmp_path)


@pytest.mark.parametrize(
    ("model", "where", "words"),
    [
        (
            "  source: model\n  type: custom\n  entry: score.py\n",
            "4:3",
            "model.code: model.type custom needs model.code",
        ),
        (
            "  source: model\n  code: code\n",
            "5:9",
            "model.code: only used with model.type custom (this model is type mlflow)",
        ),
        (
            "  source: model\n  type: triton\n  environment: {image: 'x:1'}\n",
            "6:16",
            "only used with model.type custom",
        ),
        (
            "  source: model\n  type: custom\n  code: c\n  entry: s.py\n  environment: {conda_file: a, requirements_file: b}\n",
            "8:16",
            "not both",
        ),
        (
            "  source: model\n  type: custom\n  code: c\n  entry: s.py\n  environment: {}\n",
            "8:16",
            "needs image, conda_file or requirements_file",
        ),
    ],
)
def test_spec_rules_are_located(tmp_path: Path, model: str, where: str, words: str) -> None:
    spec = tmp_path / "deploy.yaml"
    spec.write_text(f"apiVersion: modeldeploy/v1\nname: x\nmodel:\n{model}target: {{kind: docker}}\n")
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    text = "\n".join(err.value.lines())
    assert words in text, text
    assert f"deploy.yaml:{where}:" in text, text


# --- dispatch and inspect --------------------------------------------------------------------------


def test_detect_type(tmp_path: Path) -> None:
    write_triton_model(tmp_path / "repo" / "densenet")
    assert detect_type(tmp_path / "repo") == "triton" and detect_type(tmp_path / "repo" / "densenet") == "triton"
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelError, match="has no MLmodel file") as e:
        detect_type(tmp_path / "plain")
    assert "config.pbtxt" in (e.value.hint or "") and "--type custom" in (e.value.hint or "")
    assert read_typed(tmp_path / "plain", "custom").model_type == "custom"


def test_inspect_shows_triton_inputs_and_outputs(tmp_path: Path) -> None:
    from modeldeploy.cli.app import app

    folder = write_triton_model(tmp_path / "densenet")
    runner = CliRunner()
    r = runner.invoke(app, ["inspect", str(folder)])
    assert r.exit_code == 0, r.output
    assert "type:           triton" in r.output and "data_0" in r.output and "(-1, 3, 224, 224)" in r.output
    facts = json.loads(runner.invoke(app, ["inspect", str(folder), "--format", "json"]).output)
    assert facts["type"] == "triton" and facts["triton_models"][0]["name"] == "densenet"
    assert facts["signature"]["outputs"][0]["name"] == "fc6_1"
    bad = runner.invoke(app, ["inspect", str(folder), "--type", "onnx"])
    assert bad.exit_code == 1 and "--type must be one of" in bad.output
    custom = runner.invoke(app, ["inspect", str(folder), "--type", "custom", "--format", "json"])
    assert json.loads(custom.output)["type"] == "custom"


def test_inspect_reports_a_malformed_config_in_one_located_line(tmp_path: Path) -> None:
    from modeldeploy.cli.app import app

    folder = write_triton_model(tmp_path / "densenet", CONFIG.replace("dims: [ 1000 ]", "dims: [ 1000 "))
    r = CliRunner().invoke(app, ["inspect", str(folder)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "config.pbtxt:18:5: error: expected ']'" in r.output, r.output


def test_example_repository_reads(repo_root: Path) -> None:
    info = read_triton(repo_root / "examples" / "triton" / "models")
    assert [m.name for m in info.repository.models] == ["tiny_linear"]
    assert textwrap.dedent(info.signature.render()).count("tensor<float32>") == 2
