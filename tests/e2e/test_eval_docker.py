"""The evaluation gate's image way on a real Docker engine: the rendered image is built, and
``evaluate`` — given no interpreter — finds it by the docker target's image reference, scores the
held-out rows with ``docker run IMAGE predict`` in batches, and reaches the same verdict, metrics and
cohorts as scoring with an interpreter that has mlflow (this Python). A baseline cannot be scored in
the candidate's image: that is an error, not a pass. An image that is not built is refused."""

from __future__ import annotations

import os
import sys

import pytest

from tests.e2e import engine as eng

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

SPEC = """apiVersion: modeldeploy/v1
name: eval-image
model: {{source: ./model}}
target: {{kind: docker, image: {image}}}
evaluation:
  data: data/test.csv
  target: label
  task: classification
  features: [x1, x2, region]
  thresholds:
    accuracy_score: {{threshold: 0.9, greater_is_better: true}}
  cohorts: {{max_error_rate: 0.3}}
  baseline: {baseline}
  batch_size: 250
"""


@pytest.fixture(scope="module")
def built(docker_engine, tmp_path_factory):
    from tests.integration.evaluation.conftest import _pipeline, _rows, _save

    root = tmp_path_factory.mktemp("eval-image")
    (root / "data").mkdir()
    train, test = _rows(1500, 1), _rows(600, 2)
    test.to_csv(root / "data" / "test.csv", index=False)
    features = ["x1", "x2", "region"]
    model = _pipeline().fit(train[features], train.label)
    _save(model, root / "model", train[features])
    image = "modeldeploy-e2e/eval-image:test"
    (root / "deploy.yaml").write_text(SPEC.format(image=image, baseline="none"))
    context = eng.render(root / "deploy.yaml", root / "out")
    eng.build(context, image)
    return root, image


def _no_interpreter(monkeypatch) -> None:
    monkeypatch.delenv("MODELDEPLOY_EVAL_PYTHON", raising=False)


def test_image_way_scores_like_the_interpreter(built, monkeypatch) -> None:
    from modeldeploy import api
    from modeldeploy.evaluation.run import evaluate

    root, image = built
    _no_interpreter(monkeypatch)
    dep = api.load(root / "deploy.yaml")
    by_image = evaluate(dep)  # no --eval-python, no $MODELDEPLOY_EVAL_PYTHON: the built image
    assert by_image.scorer == f"image {image} (docker predict)"
    by_python = evaluate(dep, eval_python=sys.executable)
    assert by_image.passed == by_python.passed
    assert by_image.metrics["accuracy_score"] == pytest.approx(by_python.metrics["accuracy_score"])
    assert [c.summary() for c in by_image.cohorts] == [c.summary() for c in by_python.cohorts]
    assert by_image.rows == 600  # three batches of 250, 250, 100 came back in order


def test_baseline_in_the_image_way_is_an_error(built, monkeypatch) -> None:
    from modeldeploy import api
    from modeldeploy.errors import EvaluationError
    from modeldeploy.evaluation.run import evaluate

    root, image = built
    _no_interpreter(monkeypatch)
    spec = root / "with-baseline.yaml"
    spec.write_text(SPEC.format(image=image, baseline="./model"))
    with pytest.raises(EvaluationError, match="baseline cannot be scored in the candidate's image"):
        evaluate(api.load(spec))


def test_an_image_that_is_not_built_is_refused(built, monkeypatch) -> None:
    from modeldeploy import api
    from modeldeploy.errors import EvaluationError
    from modeldeploy.evaluation.run import evaluate

    root, _ = built
    _no_interpreter(monkeypatch)
    spec = root / "absent.yaml"
    spec.write_text(SPEC.format(image="modeldeploy-e2e/never-built:0", baseline="none"))
    with pytest.raises(EvaluationError, match="is not on the Docker engine"):
        evaluate(api.load(spec))
    assert os.environ.get("DOCKER_HOST")
