"""The shipped examples that render a Docker image, built and served on a real engine.

Also here: SageMaker's contract (`docker run IMAGE serve` answers on 8080, checked from inside a
container with no network of its own) and the image's HEALTHCHECK becoming healthy. The check
interval is shortened at `docker run` (--health-interval) so the test does not wait 30 s; the
command that runs is the image's own.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
import yaml

from tests.e2e import engine as eng
from tests.e2e.scoring import assert_mlflow_error, expected, frame_payloads, post

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

EXAMPLES = eng.REPO / "examples"
# Examples whose image cannot be built on a machine without an image registry, and why.
NOT_BUILDABLE = {"triton": "FROM nvcr.io/nvidia/tritonserver (several GB, from NVIDIA's registry only)"}
SERVED = {"iris", "custom"}


def test_every_docker_example_is_served_here_or_says_why_not():
    docker_examples = set()
    for deploy in EXAMPLES.glob("*/deploy.yaml"):
        if yaml.safe_load(deploy.read_text()).get("target", {}).get("kind") == "docker":
            docker_examples.add(deploy.parent.name)
    assert docker_examples == SERVED | set(NOT_BUILDABLE)


def _served_on_8080(image: str, env: dict | None = None) -> None:
    """`docker run IMAGE serve` with no port setting answers /ping on 8080 and becomes healthy."""
    c = eng.Container(
        image, "serve", network="none", env=env, run_args=("--health-interval", "2s", "--health-start-period", "120s")
    )
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline:
            state = c.inspect()["State"]
            assert state["Running"], c.logs()
            status = state.get("Health", {}).get("Status")
            if status == "healthy":
                break
            time.sleep(1)
        assert status == "healthy", (status, c.logs())
        probe = eng.docker(
            "exec",
            c.name,
            "python",
            "-c",
            "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8080/ping').status)",
        )
        assert probe.stdout.strip() == "200"
        assert eng.docker("exec", c.name, "id", "-u").stdout.strip() == "10001"
    finally:
        c.stop()


@pytest.fixture(scope="module")
def iris_image(docker_engine, tmp_path_factory):
    context = eng.render(EXAMPLES / "iris" / "deploy.yaml", tmp_path_factory.mktemp("iris"))
    eng.build(context, "modeldeploy-e2e/iris-example:test")
    return "modeldeploy-e2e/iris-example:test"


def test_iris_example_serves_what_mlflow_predicts(iris_image):
    import pandas as pd

    model = EXAMPLES / "iris" / "model"
    example = json.loads((model / "serving_input_example.json").read_text())["dataframe_split"]
    df = pd.DataFrame(example["data"], columns=example["columns"])
    c = eng.Container(iris_image, "serve")
    try:
        c.wait_ready()
        assert requests.get(c.url + "/health", timeout=10).status_code == 200
        assert requests.get(c.url + "/version", timeout=10).text.strip() == "3.17.2"
        for name, (body, headers) in frame_payloads(df).items():
            resp = post(c.url, body, headers)
            assert resp.status_code == 200, (name, resp.text[:500])
            assert resp.json() == expected(model, df), name
        assert_mlflow_error(post(c.url, json.dumps({"dataframe_split": {"columns": ["nope"], "data": [[1]]}})))
        # max_request_body: 20Mi in the example
        assert post(c.url, b"x" * (20 * 1024 * 1024 + 1)).status_code == 413
        assert post(c.url, (model / "serving_input_example.json").read_text()).status_code == 200
    finally:
        c.stop()


def test_iris_example_answers_on_8080_and_becomes_healthy(iris_image):
    _served_on_8080(iris_image)


def test_iris_image_holds_no_test_suites_and_no_pip(iris_image):
    """What scoring does not need stays out of the image: the packages' tests/ folders (pandas, scipy,
    scikit-learn and numpy ship about 110 MB of them) and pip. The scoring tests above show the
    image still serves without them."""
    probe = eng.docker(
        "run",
        "--rm",
        "--network",
        "host",
        "--entrypoint",
        "sh",
        iris_image,
        "-c",
        "find /opt/venv -type d -name tests | head -5; python -c 'import pip' 2>&1 | tail -1",
    ).stdout
    lines = probe.strip().splitlines()
    assert lines and "No module named 'pip'" in lines[-1], probe
    assert lines[:-1] == [], probe


CUSTOM_SCORE = """
import json, os
STATE = {}

def init():
    with open(os.path.join(os.environ["MODELDEPLOY_MODEL_PATH"], "factor.json")) as f:
        STATE["factor"] = json.load(f)["factor"]
    STATE["init_calls"] = STATE.get("init_calls", 0) + 1

def run(data):
    rows = json.loads(data)["inputs"]
    return {"predictions": [STATE["factor"] * x for x in rows],
            "greeting": os.environ.get("GREETING"), "init_calls": STATE["init_calls"]}
"""


@pytest.fixture(scope="module")
def custom_images(docker_engine, tmp_path_factory):
    """The shipped custom example, and a custom model whose run() reports init() and serving.env."""
    example = eng.render(EXAMPLES / "custom" / "deploy.yaml", tmp_path_factory.mktemp("custom-example"))
    eng.build(example, "modeldeploy-e2e/custom-example:test")
    root = tmp_path_factory.mktemp("custom-env")
    (root / "code").mkdir()
    (root / "code" / "score.py").write_text(CUSTOM_SCORE)
    (root / "model").mkdir()
    (root / "model" / "factor.json").write_text('{"factor": 3}')
    (root / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: e2e-custom\n"
        "model: {source: ./model, type: custom, code: ./code, entry: score.py}\n"
        "signature: {required: false}\n"
        "serving: {env: {GREETING: hello from deploy.yaml}, max_request_body: 1Ki}\n"
        "target: {kind: docker}\n"
    )
    eng.build(eng.render(root / "deploy.yaml", root / "out"), "modeldeploy-e2e/custom-env:test")
    return {"example": "modeldeploy-e2e/custom-example:test", "env": "modeldeploy-e2e/custom-env:test"}


def test_custom_example_scores_with_its_weights(custom_images):
    weights = json.loads((EXAMPLES / "custom" / "model" / "weights.json").read_text())
    rows = [{"rooms": 3, "age": 10, "distance_km": 2.5}, {"rooms": 1, "age": 40, "distance_km": 0.0}]
    want = [weights["bias"] + sum(w * float(r[k]) for k, w in weights["weights"].items()) for r in rows]
    c = eng.Container(custom_images["example"], "serve")
    try:
        c.wait_ready()
        assert requests.get(c.url + "/health", timeout=10).status_code == 200
        resp = post(c.url, json.dumps({"inputs": rows}))
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"predictions": pytest.approx(want)}
        # max_request_body: 1Mi in the example; then it still serves
        assert post(c.url, b"x" * (1024 * 1024 + 1)).status_code == 413
        assert post(c.url, json.dumps({"inputs": rows})).status_code == 200
    finally:
        c.stop()


def test_custom_model_init_run_and_serving_env_reach_the_code(custom_images):
    c = eng.Container(custom_images["env"], "serve")
    try:
        c.wait_ready()
        resp = post(c.url, json.dumps({"inputs": [1, 2.5]}))
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"predictions": [3, 7.5], "greeting": "hello from deploy.yaml", "init_calls": 1}
        bad = post(c.url, "{broken")
        assert bad.status_code == 500 and bad.json()["error_code"] == "INTERNAL_ERROR"
        assert post(c.url, json.dumps({"inputs": [0] * 600})).status_code == 413
        assert post(c.url, json.dumps({"inputs": [1]})).json()["predictions"] == [3]
    finally:
        c.stop()


def test_custom_example_answers_on_8080_and_becomes_healthy(custom_images):
    _served_on_8080(custom_images["example"])
