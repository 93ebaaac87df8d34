"""Generated and mutated MLflow model folders through the real reader (and on to what reads its result).

Property: ``read_model`` returns a ModelInfo or raises ModelError (a located one — line ≥ 1 — when
the problem is inside a non-empty MLmodel); never another exception, never a hang. When it succeeds,
the pieces other stages use on every render must work too: the canonical signature and its digest
(and a round trip through ``Signature.from_canonical``), and the input-example check (findings or a
ModelError). A model that reads is then rendered by one target per example (drawn, so every target
gets its share) with the hostile corpus' checks (tests/property/render_check.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from modeldeploy.errors import ModelDeployError, ModelError
from modeldeploy.model.example import check_input_example
from modeldeploy.model.info import MAX_MLMODEL_BYTES, read_model
from modeldeploy.model.signature import Signature
from tests.hostile.corpus import TARGETS
from tests.property.generators import (
    dump,
    dumps_json,
    json_deep,
    mutated,
    nested,
    text_mutated,
    time_limit,
    to_bytes,
    wrong_values,
)
from tests.property.known_bugs import known_bug, known_multiline
from tests.property.render_check import check_render
from tests.property.test_property_spec import fuzz_settings

N_STRUCTURAL = 150
N_SIGNATURE = 150
N_TEXT = 100
N_SIDE = 100

INPUTS = [
    {"type": "double", "name": "x", "required": True},
    {"type": "array", "items": {"type": "string"}, "name": "tags"},
]
OUTPUTS = [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
PARAMS = [{"name": "t", "type": "float", "default": 0.5, "shape": None}]

MLMODEL: dict[str, Any] = {
    "artifact_path": "model",
    "flavors": {
        "python_function": {
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "loader_module": "mlflow.sklearn",
            "model_path": "model.pkl",
            "predict_fn": "predict",
            "python_version": "3.11.7",
        },
        "sklearn": {
            "code": None,
            "pickled_model": "model.pkl",
            "serialization_format": "cloudpickle",
            "sklearn_version": "1.5.0",
        },
    },
    "mlflow_version": "3.17.2",
    "model_uuid": "0123456789abcdef0123456789abcdef",
    "run_id": "fedcba9876543210",
    "signature": {"inputs": json.dumps(INPUTS), "outputs": json.dumps(OUTPUTS), "params": json.dumps(PARAMS)},
    "saved_input_example_info": {"artifact_path": "input_example.json", "type": "dataframe", "pandas_orient": "split"},
    "utc_time_created": "2024-01-01 00:00:00.000000",
    "env_vars": ["MY_VAR"],
    "metadata": {"k": "v"},
}
SIDE = {
    "conda.yaml": "channels: [conda-forge]\ndependencies:\n- python=3.11.7\n- pip\n- pip: [mlflow==3.17.2, scikit-learn==1.5.0]\nname: mlflow-env\n",
    "python_env.yaml": "python: 3.11.7\nbuild_dependencies: [pip]\ndependencies: ['-r requirements.txt']\n",
    "requirements.txt": "mlflow==3.17.2\nscikit-learn==1.5.0\n",
    "input_example.json": json.dumps({"columns": ["x", "tags"], "data": [[1.0, ["a"]]]}),
    "model.pkl": "not really a pickle",
}


def write_model(root: Path, mlmodel: bytes, side: dict[str, str | bytes] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for f in root.iterdir():
        f.unlink()
    (root / "MLmodel").write_bytes(mlmodel)
    for name, content in (SIDE if side is None else side).items():
        (root / name).write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return root


KINDS = st.sampled_from(sorted(TARGETS))


def check_renders_with(root: Path, kind: str) -> str:
    """deploy.yaml beside the model folder, target ``kind``; render it (see render_check)."""
    spec = {
        "apiVersion": "modeldeploy/v1",
        "name": "fuzz",
        "model": {"source": f"./{root.name}"},
        "signature": {"required": False},
        "target": TARGETS[kind],
    }
    path = root.parent / "deploy.yaml"
    path.write_text(json.dumps(spec), encoding="utf-8")
    outcome = check_render(path, None)
    event(f"render ({kind}): {outcome}")
    return outcome


def check_read(root: Path, kind: str | None = None) -> str:
    raw = (root / "MLmodel").read_bytes()
    with time_limit():
        try:
            info = read_model(root)
        except ModelError as exc:
            assert exc.diagnostics, exc.message
            for d in exc.diagnostics:
                if d.file.endswith("/MLmodel") and raw.strip() and len(raw) <= MAX_MLMODEL_BYTES:
                    assert d.line >= 1 and d.col >= 1, f"unlocated MLmodel diagnostic: {d}"
            for d in exc.diagnostics:
                if known_multiline(d.message):
                    continue
                assert not any(c in d.format() for c in "\n\r"), f"a diagnostic spans lines: {d.format()!r}"
            return "error"
        except Exception as exc:
            if known_bug(exc) is None:
                raise
            return "known-bug"
        # What every render and policy check does with a successfully read model.
        sig = info.signature
        if sig is not None:
            canonical = sig.to_canonical()
            json.loads(sig.canonical_json())
            assert sig.digest().startswith("sha256:")
            assert Signature.from_canonical(canonical).to_canonical() == canonical
        try:
            check_input_example(info)
        except ModelDeployError:
            pass
        except Exception as exc:
            if known_bug(exc) is None:
                raise
            return "known-bug"
    if kind is not None:
        check_renders_with(root, kind)
    return "ok"


@fuzz_settings(N_STRUCTURAL)
@given(data=st.data(), flow=st.sampled_from([None, True, False]), uni=st.booleans(), kind=KINDS)
def test_mutated_mlmodel_reads_or_fails_located(tmp_path: Path, data: st.DataObject, flow, uni, kind: str) -> None:
    doc = data.draw(mutated(MLMODEL))
    check_read(write_model(tmp_path / "m", dump(doc, flow=flow, unicode=uni).encode()), kind)


def signature_strings() -> st.SearchStrategy[Any]:
    """Values for signature.inputs/outputs/params: JSON text of junk, deep JSON, broken JSON, non-strings."""
    spec_like = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(
                ["double", "long", "string", "tensor", "array", "object", "map", "any", "nope", 1, None]
            ),
            "name": st.one_of(st.text(max_size=5), st.integers(), st.none()),
            "required": st.one_of(st.booleans(), st.none(), st.text(max_size=2)),
            "items": nested(4),
            "values": nested(4),
            "properties": nested(4),
            "tensor-spec": st.fixed_dictionaries({}, optional={"dtype": nested(2), "shape": nested(3)}),
            "default": nested(2),
            "shape": nested(3),
            "dtype": nested(2),
        },
    )
    return st.one_of(
        st.lists(spec_like, max_size=4).map(dumps_json),
        nested().map(dumps_json),
        st.sampled_from([10, 60, 65, 200, 1000, 100_000]).map(json_deep),
        st.integers(1, 300)
        .map(
            lambda d: json.dumps({"type": "array", "items": None}).replace(
                "null", '{"type": "array", "items": ' * d + '{"type": "double"}' + "}" * d, 1
            )
        )
        .map(lambda s: f"[{s}]"),
        st.sampled_from(["", "[", "NaN", "[NaN]", '[{"type": "double", "name": 1e999}]', "\x00", '"\\ud800"']),
        wrong_values(),
    )


@fuzz_settings(N_SIGNATURE)
@given(data=st.data(), kind=KINDS)
def test_hostile_signatures_read_or_fail_located(tmp_path: Path, data: st.DataObject, kind: str) -> None:
    doc = copy.deepcopy(MLMODEL)
    for part in data.draw(
        st.lists(st.sampled_from(["inputs", "outputs", "params"]), min_size=1, max_size=3, unique=True)
    ):
        doc["signature"][part] = data.draw(signature_strings())
    check_read(write_model(tmp_path / "m", dump(doc, flow=None, unicode=True).encode()), kind)


@fuzz_settings(N_TEXT)
@given(data=st.data(), kind=KINDS)
def test_textually_mutated_mlmodel_reads_or_fails_located(tmp_path: Path, data: st.DataObject, kind: str) -> None:
    text = data.draw(text_mutated(dump(MLMODEL, flow=None, unicode=True)))
    check_read(write_model(tmp_path / "m", to_bytes(text)), kind)


def side_files() -> st.SearchStrategy[dict[str, str]]:
    requirement_lines = st.sampled_from(
        [
            "mlflow",
            "-r requirements.txt",
            "-r ../outside.txt",
            "-r /etc/passwd",
            "-c constraints.txt",
            "--requirement=x.txt",
            "-r",
            "# c",
            "pkg @ file:///etc",
            "x" * 5000,
            "\u2028",
            "-e .",
            "pkg==1 # note",
        ]
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "requirements.txt": st.lists(requirement_lines, max_size=5).map("\n".join),
            "constraints.txt": st.lists(requirement_lines, max_size=3).map("\n".join),
            "x.txt": st.lists(requirement_lines, max_size=3).map("\n".join),
            "conda.yaml": st.one_of(
                st.just(SIDE["conda.yaml"]), nested().map(lambda d: dump(d, flow=None, unicode=True))
            ),
            "python_env.yaml": st.one_of(
                st.just(SIDE["python_env.yaml"]), nested().map(lambda d: dump(d, flow=None, unicode=True))
            ),
            "input_example.json": st.one_of(
                st.just(SIDE["input_example.json"]), nested().map(dumps_json), st.just("{"), st.just(json_deep(100_000))
            ),
            "serving_input_example.json": st.one_of(nested().map(dumps_json), st.just('{"inputs": [1]}')),
        },
    )


@fuzz_settings(N_SIDE)
@given(
    side=side_files(),
    env=st.one_of(
        st.just(MLMODEL["flavors"]["python_function"]["env"]),
        wrong_values(),
        st.sampled_from(["conda.yaml", "../x", "/etc/passwd"]),
    ),
    kind=KINDS,
)
def test_hostile_side_files_read_or_fail_located(tmp_path: Path, side: dict[str, str], env: Any, kind: str) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["python_function"]["env"] = env
    doc["saved_input_example_info"]["serving_input_path"] = "serving_input_example.json"
    check_read(write_model(tmp_path / "m", dump(doc, flow=None, unicode=True).encode(), side), kind)
