"""What a served MLflow image must answer, checked against MLflow itself in the test process.

``expected(model_dir, data, params)`` is what ``mlflow.pyfunc.load_model(...).predict(...)`` returns
here, serialized the way MLflow's scoring server serializes it, so a response can be compared with
``==`` (no tolerance: the same input through the same model gives the same numbers).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import requests

JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}

_loaded: dict[str, Any] = {}


def load(model_dir: Path):
    import mlflow.pyfunc

    key = str(model_dir)
    if key not in _loaded:
        _loaded[key] = mlflow.pyfunc.load_model(key)
    return _loaded[key]


def expected(model_dir: Path, data: Any, params: dict | None = None) -> Any:
    from mlflow.pyfunc.scoring_server import predictions_to_json

    raw = load(model_dir).predict(data, params=params) if params else load(model_dir).predict(data)
    out = io.StringIO()
    predictions_to_json(raw, out)
    return json.loads(out.getvalue())


def post(url: str, body: str | bytes, headers: dict = JSON) -> requests.Response:
    return requests.post(url + "/invocations", data=body, headers=headers, timeout=60)


def frame_payloads(df) -> dict[str, tuple[str, dict]]:
    """The same DataFrame in each of MLflow's payload formats for column models."""
    records = json.loads(df.to_json(orient="records"))
    split = json.loads(df.to_json(orient="split", index=False))
    return {
        "dataframe_split": (json.dumps({"dataframe_split": split}), JSON),
        "dataframe_records": (json.dumps({"dataframe_records": records}), JSON),
        "instances": (json.dumps({"instances": records}), JSON),
        "inputs": (json.dumps({"inputs": records}), JSON),
        "csv": (df.to_csv(index=False), CSV),
    }


def assert_mlflow_error(resp: requests.Response) -> None:
    """A 4xx whose body is MLflow's error JSON ({"error_code": ..., "message": ...})."""
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert isinstance(body.get("error_code"), str) and body["error_code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
