"""Docker build contexts for custom and Triton models (hadolint-clean), and modeldeploy's generic
custom scoring server run for real in a subprocess on 127.0.0.1 with a real scoring module."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.errors import RenderError
from modeldeploy.rendering.jinja import templates_dir
from tests.unit.model.test_custom_triton import write_custom_project, write_triton_model
from tests.unit.targets.docker.test_docker_target import hadolint

REPO = Path(__file__).resolve().parents[4]
CUSTOM_EXAMPLE = REPO / "examples" / "custom"


def files_of(spec: Path, env: str | None = None) -> dict[str, bytes]:
    return {a.path: a.content for a in api.render(api.load(spec, env)).artifacts}


def triton_spec(tmp_path: Path, source: str, extra: str = "") -> Path:
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        f"apiVersion: modeldeploy/v1\nname: dense\nmodel: {{source: {source}, type: triton}}\n{extra}target: {{kind: docker}}\n"
    )
    return spec


# --- custom ----------------------------------------------------------------------------------------


def test_custom_context_ships_code_model_and_server_and_lints_clean(tmp_path: Path) -> None:
    files = files_of(write_custom_project(tmp_path))
    assert {
        "Dockerfile",
        "server.py",
        "entrypoint.py",
        "requirements.txt",
        "code/score.py",
        "model/weights.json",
    } <= set(files)
    d = files["Dockerfile"].decode()
    assert hadolint(files["Dockerfile"], tmp_path) == ""
    assert files["requirements.txt"].decode().splitlines() == ["numpy==2.1.3"]  # no mlflow added
    assert 'MODELDEPLOY_ENTRY="score"' in d and "COPY code/ /opt/ml/code/" in d and "USER 10001:10001" in d
    assert 'CMD ["serve"]' in d and "EXPOSE 8080" in d and "io.modeldeploy.code.digest=" in d
    assert d.index("pip install") < d.index("COPY code/") < d.index("COPY model/")
    assert files["server.py"] == (templates_dir() / "docker" / "custom_server.py").read_bytes()


@pytest.mark.parametrize(
    ("environment", "expect"),
    [
        ("  environment: {image: 'registry.example.com/base/py:3.12'}\n", ["FROM registry.example.com/base/py:3.12\n"]),
        (
            "  environment: {image: 'python:3.12-slim', requirements_file: requirements.txt}\n",
            ["FROM python:3.12-slim\n", "RUN python -m pip install --no-cache-dir -r /tmp/deps/requirements.txt"],
        ),
        ("  environment: {conda_file: conda.yaml}\n", ["FROM python:3.10.14 AS build", "FROM python:3.10.14-slim\n"]),
        ("", ["FROM python:3.11 AS build", "# Note: model.environment is not set"]),
    ],
)
def test_custom_environments_lint_clean(tmp_path: Path, environment: str, expect: list[str]) -> None:
    files = files_of(write_custom_project(tmp_path, environment=environment))
    d = files["Dockerfile"].decode()
    for text in expect:
        assert text in d, d
    assert hadolint(files["Dockerfile"], tmp_path) == ""
    if "conda" in environment:
        assert files["requirements.txt"].decode().splitlines() == ["scipy==1.13.1", "requests==2.32.3"]


def test_command_entry_becomes_the_entrypoint(tmp_path: Path) -> None:
    spec = write_custom_project(tmp_path)
    spec.write_text(spec.read_text().replace("entry: score.py", "entry: 'gunicorn --bind 0.0.0.0:8080 app:api'"))
    files = files_of(spec)
    d = files["Dockerfile"].decode()
    assert 'ENTRYPOINT ["gunicorn", "--bind", "0.0.0.0:8080", "app:api"]' in d and "MODELDEPLOY_ENTRY" not in d
    assert hadolint(files["Dockerfile"], tmp_path) == ""


def test_image_and_base_image_together_are_refused(tmp_path: Path) -> None:
    spec = write_custom_project(tmp_path, environment="  environment: {image: 'python:3.12-slim'}\n")
    spec.write_text(
        spec.read_text().replace("target: {kind: docker}", "target: {kind: docker, base_image: 'python:3.11-slim'}")
    )
    with pytest.raises(RenderError, match="not both"):
        files_of(spec)


def test_code_change_changes_the_default_image_tag(tmp_path: Path) -> None:
    from modeldeploy.targets.docker.target import image_reference

    spec = write_custom_project(tmp_path)
    before = image_reference(api.load(spec).context())
    (tmp_path / "code" / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return 1\n")
    after = image_reference(api.load(spec).context())
    assert before != after and before.startswith("custom-one:")


# --- triton ----------------------------------------------------------------------------------------


def test_triton_single_model_goes_into_the_repository_by_name(tmp_path: Path) -> None:
    write_triton_model(tmp_path / "densenet")
    files = files_of(triton_spec(tmp_path, "densenet", extra="resources: {gpu: 1}\n"))
    d = files["Dockerfile"].decode()
    assert "models/densenet/config.pbtxt" in files and "models/densenet/1/model.onnx" in files
    assert "FROM nvcr.io/nvidia/tritonserver:24.12-py3\n" in d and "USER 1000:1000" in d
    assert "/v2/health/ready" in d and "EXPOSE 8000 8001 8002" in d and "--model-repository=/models" in d
    assert "docker run --gpus 1" in d
    sig = json.loads(files["modeldeploy.json"])["model"]["signature"]
    assert sig["inputs"][0]["tensor-spec"] == {"dtype": "float32", "shape": [-1, 3, 224, 224]}
    assert hadolint(files["Dockerfile"], tmp_path) == ""


def test_triton_repository_and_version_key(tmp_path: Path) -> None:
    write_triton_model(tmp_path / "repo" / "densenet")
    spec = triton_spec(tmp_path, "repo")
    spec.write_text(spec.read_text().replace("{kind: docker}", "{kind: docker, triton_version: '24.05'}"))
    files = files_of(spec)
    assert "FROM nvcr.io/nvidia/tritonserver:24.05-py3\n" in files["Dockerfile"].decode()
    assert "models/densenet/config.pbtxt" in files


def test_triton_malformed_repository_is_a_located_model_error(tmp_path: Path) -> None:
    from modeldeploy.errors import ModelError

    write_triton_model(
        tmp_path / "densenet",
        'name: "densenet"\nplatform: "onnxruntime_onnx"\ninput [ { name: "x" data_type: FP32 dims: [1] } ]\n',
    )
    with pytest.raises(ModelError) as err:
        files_of(triton_spec(tmp_path, "densenet"))
    assert "densenet/config.pbtxt:3:" in err.value.lines()[0] and "unknown data_type FP32" in err.value.lines()[0]


# --- the generic custom server, for real -----------------------------------------------------------


@pytest.fixture()
def custom_server(tmp_path: Path):
    """Start templates/docker/custom_server.py as the image would (serve), on 127.0.0.1 with port 0
    (the server prints the port it got), serving examples/custom's score.py and weights; stop it after."""
    rendered = tmp_path / "ctx"
    for name in ("custom_server.py", "entrypoint.py"):
        (rendered / "opt").mkdir(parents=True, exist_ok=True)
        shutil.copy(
            templates_dir() / "docker" / name, rendered / "opt" / ("server.py" if name == "custom_server.py" else name)
        )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "MODELDEPLOY_HOST": "127.0.0.1",
        "MODELDEPLOY_PORT": "0",
        "MODELDEPLOY_CODE_PATH": str(CUSTOM_EXAMPLE / "code"),
        "MODELDEPLOY_MODEL_PATH": str(CUSTOM_EXAMPLE / "model"),
        "MODELDEPLOY_ENTRY": "score",
        "MODELDEPLOY_MAX_BODY_BYTES": "2048",
        "MODELDEPLOY_TIMEOUT_SECONDS": "5",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, str(rendered / "opt" / "server.py"), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            proc.kill()
            pytest.fail(f"server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        yield f"http://127.0.0.1:{int(line.rsplit(':', 1)[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_custom_server_serves_ping_and_invocations(custom_server: str) -> None:
    with urllib.request.urlopen(custom_server + "/ping", timeout=10) as resp:
        assert resp.status == 200
    weights = json.loads((CUSTOM_EXAMPLE / "model" / "weights.json").read_text())
    row = {"rooms": 3, "age": 10, "distance_km": 2}
    status, out = _post(custom_server + "/invocations", json.dumps({"inputs": [row]}).encode())
    expected = weights["bias"] + sum(weights["weights"][k] * v for k, v in row.items())
    assert status == 200 and out == {"predictions": [pytest.approx(expected)]}


def test_custom_server_refuses_large_bodies_and_reports_scoring_errors_in_one_line(custom_server: str) -> None:
    status, out = _post(custom_server + "/invocations", b"{" + b" " * 4096 + b"}")
    assert status == 413 and out["error_code"] == "REQUEST_TOO_LARGE"
    status, out = _post(custom_server + "/invocations", b'{"rows": []}')
    assert status == 500 and out == {"error_code": "INTERNAL_ERROR", "message": "KeyError: 'inputs'"}
    status, out = _post(custom_server + "/nope", b"{}")
    assert status == 404
    # The server keeps serving after a failed request.
    status, _ = _post(custom_server + "/invocations", b'{"inputs": []}')
    assert status == 200
