"""Real MLflow models of each shape: render → docker build → docker run → MLflow's HTTP contract.

Every model is saved here with the installed mlflow and the same requirements, so all their images
share one dependency layer (built once, then cached by the engine); only the model layer differs.
Each response is compared with what ``mlflow.pyfunc.load_model(...).predict(...)`` returns in this
process for the same input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.e2e import engine as eng
from tests.e2e.scoring import JSON, assert_mlflow_error, expected, frame_payloads, post
from tests.modelfactory import DEFAULT_REQUIREMENTS, make_pyfunc_model, make_sklearn_model

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

MAX_BODY = 64 * 1024
IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _iris_frame():
    import pandas as pd

    return pd.DataFrame([[5.1, 3.5, 1.4, 0.2], [-0.3, 1.2, 0.0, 2.5], [0.7, -1.1, 4.4, 1.3]], columns=IRIS)


def _pipeline_model(dest: Path) -> Path:
    """A scikit-learn Pipeline that one-hot encodes a string column next to a numeric one."""
    import warnings

    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    x = pd.DataFrame(
        {"color": ["red", "green", "blue", "red", "green", "blue"] * 3, "size": [float(i % 5) for i in range(18)]}
    )
    y = (x["color"] == "red").astype("int64")
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("onehot", OneHotEncoder(handle_unknown="ignore"), ["color"])], remainder="passthrough"
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            pipe, str(dest), signature=infer_signature(x, pipe.predict(x)), pip_requirements=list(DEFAULT_REQUIREMENTS)
        )
    return dest


def _scaling_model(dest: Path) -> Path:
    """A tensor pyfunc whose output depends on a param (so a lost param shows in the answer)."""
    import warnings

    import mlflow.pyfunc
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec, Schema, TensorSpec

    def make():  # a class defined in a function is pickled by value, so the image needs no test code
        class Scale(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input * float((params or {}).get("scale", 1.0))

        return Scale()

    sig = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype("float64"), (-1, 3))]),
        outputs=Schema([TensorSpec(np.dtype("float64"), (-1, 3))]),
        params=ParamSchema([ParamSpec("scale", "double", 1.0)]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            str(dest), python_model=make(), signature=sig, pip_requirements=list(DEFAULT_REQUIREMENTS)
        )
    return dest


SHAPES = ["sklearn_columns", "pipeline_strings", "tensor_params", "optional_columns", "no_signature"]


def _make(shape: str, dest: Path) -> Path:
    if shape == "sklearn_columns":
        return make_sklearn_model(dest)
    if shape == "pipeline_strings":
        return _pipeline_model(dest)
    if shape == "tensor_params":
        return _scaling_model(dest)
    if shape == "optional_columns":
        return make_pyfunc_model(
            dest,
            inputs=[
                {"name": "a", "type": "double"},
                {"name": "b", "type": "long"},
                {"name": "note", "type": "string", "required": False},
            ],
        )
    if shape == "no_signature":
        return make_sklearn_model(dest, signature=None)
    raise AssertionError(shape)


class Served:
    def __init__(self, shape: str, model: Path, image: str, container: eng.Container):
        self.shape, self.model, self.image, self.container = shape, model, image, container
        self.url = container.url


@pytest.fixture(scope="module", params=SHAPES)
def served(request, docker_engine, tmp_path_factory):
    shape = request.param
    root = tmp_path_factory.mktemp(shape)
    model = _make(shape, root / "model")
    (root / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\n"
        f"name: e2e-{shape.replace('_', '-')}\n"
        "model: {source: ./model}\n"
        "signature: {required: false}\n"
        f"serving: {{env: {{E2E_MARK: {shape}}}, max_request_body: {MAX_BODY // 1024}Ki, timeout_seconds: 30}}\n"
        "target: {kind: docker}\n"
    )
    context = eng.render(root / "deploy.yaml", root / "out")
    image = f"modeldeploy-e2e/{shape.replace('_', '-')}:test"
    eng.build(context, image)
    container = eng.Container(image, "serve")
    request.addfinalizer(container.stop)
    container.wait_ready()
    return Served(shape, model, image, container)


def _cases(shape: str):
    """(name, body, headers, local input, params) for every payload format the shape takes."""
    import numpy as np
    import pandas as pd

    if shape == "sklearn_columns":
        df = _iris_frame()
        return [(fmt, body, headers, df, None) for fmt, (body, headers) in frame_payloads(df).items()]
    if shape == "no_signature":
        # Without a schema MLflow reads `instances`/`inputs` as tensors: rows of numbers, not records.
        df = _iris_frame()
        x = df.to_numpy()
        return [
            (fmt, body, headers, df, None)
            for fmt, (body, headers) in frame_payloads(df).items()
            if fmt not in ("instances", "inputs")
        ] + [
            ("instances", json.dumps({"instances": x.tolist()}), JSON, x, None),
            ("inputs", json.dumps({"inputs": x.tolist()}), JSON, x, None),
        ]
    if shape == "pipeline_strings":
        df = pd.DataFrame({"color": ["red", "blue", "green", "purple"], "size": [1.0, 4.0, 2.5, 0.0]})
        return [(fmt, body, headers, df, None) for fmt, (body, headers) in frame_payloads(df).items()]
    if shape == "optional_columns":
        df = pd.DataFrame({"a": [1.5, -2.0], "b": [3, 4]})  # the optional column left out
        full = pd.DataFrame({"a": [0.5], "b": [7], "note": ["x"]})
        return [(fmt, body, headers, df, None) for fmt, (body, headers) in frame_payloads(df).items()] + [
            (
                "with_optional",
                json.dumps({"dataframe_split": json.loads(full.to_json(orient="split", index=False))}),
                JSON,
                full,
                None,
            )
        ]
    if shape == "tensor_params":
        x = np.array([[1.0, 2.0, 3.0], [-0.5, 0.25, 8.0]])
        return [
            ("instances", json.dumps({"instances": x.tolist()}), JSON, x, None),
            ("inputs", json.dumps({"inputs": x.tolist()}), JSON, x, None),
            ("inputs_params", json.dumps({"inputs": x.tolist(), "params": {"scale": 2.5}}), JSON, x, {"scale": 2.5}),
        ]
    raise AssertionError(shape)


def test_ping_health_version(served):
    for path in ("/ping", "/health"):
        assert requests.get(served.url + path, timeout=10).status_code == 200
    version = requests.get(served.url + "/version", timeout=10)
    assert version.status_code == 200
    assert version.text.strip() == "3.17.2"  # the mlflow the model was saved with, installed in the image


def test_every_payload_format_answers_what_mlflow_predicts(served):
    for name, body, headers, data, params in _cases(served.shape):
        resp = post(served.url, body, headers)
        assert resp.status_code == 200, (name, resp.status_code, resp.text[:1000])
        assert resp.json() == expected(served.model, data, params), name


def test_malformed_bodies_get_mlflow_error_json(served):
    assert_mlflow_error(post(served.url, "{not json"))
    assert_mlflow_error(post(served.url, json.dumps({"no_such_format": [1, 2]})))
    # An unsupported content type: MLflow's own server answers 415 (in plain text) too.
    assert post(served.url, "a,b\n1,2", {"Content-Type": "application/x-nope"}).status_code == 415


def test_body_over_the_limit_is_413_and_the_server_keeps_serving(served):
    big = json.dumps({"inputs": [[0.0] * 1000] * 20})
    assert len(big) > MAX_BODY
    resp = post(served.url, big)
    assert resp.status_code == 413, resp.text[:300]
    assert requests.get(served.url + "/ping", timeout=10).status_code == 200
    name, body, headers, data, params = _cases(served.shape)[0]
    again = post(served.url, body, headers)
    assert again.status_code == 200 and again.json() == expected(served.model, data, params)


def test_runs_as_non_root_with_the_serving_env(served):
    proc = eng.docker(
        "exec", served.container.name, "python", "-c", "import os; print(os.getuid(), os.environ['E2E_MARK'])"
    )
    uid, mark = proc.stdout.split()
    assert uid != "0" and uid == "10001"
    assert mark == served.shape


def test_predict_command_scores_a_file_once(served, tmp_path):
    """``IMAGE predict IN OUT``: the batch contract (CSV and JSON files) in a container without network."""

    tmp_path.chmod(0o777)
    files = []
    for name, body, _headers, data, params in _cases(served.shape):
        if params is None and name in ("csv", "dataframe_split", "inputs"):
            kind = "csv" if name == "csv" else "json"
            (tmp_path / f"in-{name}").write_text(body)
            files.append((name, kind, data))
    assert files
    for name, kind, data in files:
        out = f"out-{name}.json"
        eng.docker(
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            f"{tmp_path}:/data",
            "-e",
            f"MODELDEPLOY_INPUT_TYPE={kind}",
            served.image,
            "predict",
            f"/data/in-{name}",
            f"/data/{out}",
            timeout=120,
        )
        assert json.loads((tmp_path / out).read_text()) == expected(served.model, data), name


def test_full_mlflow_requirement_is_served_by_mlflow_skinny(served):
    """The test models name `mlflow==3.17.2` as MLflow's log_model writes it; the image holds
    mlflow-skinny 3.17.2 and none of the full package's tracking-server dependencies, and every
    scoring test of this module ran against it."""
    probe = eng.docker(
        "run",
        "--rm",
        "--network",
        "host",
        "--entrypoint",
        "python",
        served.image,
        "-c",
        "import importlib.metadata as m\n"
        "for d in ('mlflow-skinny', 'mlflow', 'sqlalchemy', 'alembic', 'matplotlib', 'pyarrow', 'flask'):\n"
        "    try:\n"
        "        print(d, m.version(d))\n"
        "    except m.PackageNotFoundError:\n"
        "        print(d, '-')\n",
    ).stdout.split("\n")
    assert [line for line in probe if line] == [
        "mlflow-skinny 3.17.2",
        "mlflow -",
        "sqlalchemy -",
        "alembic -",
        "matplotlib -",
        "pyarrow -",
        "flask -",
    ]


@pytest.mark.parametrize("version", ["2.22.1", "2.17.2"])
def test_mlflow_2_model_is_served_on_mlflow_skinny_2(version, docker_engine, tmp_path):
    """A model whose requirements name `mlflow==2.22.1` (or 2.17.2): the image installs that
    mlflow-skinny, whose scoring server is a FastAPI app from 2.21 (served under uvicorn, with
    Starlette < 1, which still has the `app.route` it uses) and a Flask app before (under gunicorn,
    Flask < 3), and answers as the model does here. The model is saved by this process's
    MLflow 3 in the cloudpickle format (2.x cannot read skops) and labelled 2.22.1, its requirements
    as a 2.x `log_model` would write them: the seam is the image's install and server, not MLflow's
    own saving code."""
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame(np.random.RandomState(0).rand(40, 4), columns=list("abcd"))
    clf = LogisticRegression().fit(x, (x.a > 0.5).astype(int))
    model = tmp_path / "model"
    mlflow.sklearn.save_model(
        clf,
        str(model),
        serialization_format="cloudpickle",
        signature=infer_signature(x, clf.predict(x)),
        pip_requirements=[f"mlflow=={version}", "cloudpickle>=2", f"scikit-learn=={sklearn.__version__}"],
    )
    text = (model / "MLmodel").read_text()
    (model / "MLmodel").write_text(text.replace("mlflow_version: 3.17.2", f"mlflow_version: {version}"))
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: e2e-mlflow2\nmodel: {source: ./model}\n"
        "signature: {required: false}\ntarget: {kind: docker}\n"
    )
    context = eng.render(tmp_path / "deploy.yaml", tmp_path / "out")
    assert (context / "requirements.txt").read_text().splitlines()[0] == f"mlflow-skinny=={version}"
    image = f"modeldeploy-e2e/mlflow{version.replace('.', '-')}:test"
    eng.build(context, image)
    container = eng.Container(image, "serve")
    try:
        container.wait_ready()
        assert requests.get(container.url + "/version", timeout=10).text.strip() == version
        rows = x.head(5)
        body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
        answer = requests.post(container.url + "/invocations", data=body, headers=JSON, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": clf.predict(rows).tolist()}
    finally:
        container.stop()
