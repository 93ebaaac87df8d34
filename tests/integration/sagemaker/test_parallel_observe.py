"""A live plan of many SageMaker deployments reads them at the same time, through one client per service.

moto's own WSGI app runs in werkzeug's threaded server on 127.0.0.1 (as ThreadedMotoServer runs it),
wrapped in a small middleware that delays every AWS call by LATENCY seconds and records when each
call started and ended and which endpoint it named. Real boto3 talks to it over HTTP. Nothing here
is timed: the tests check that calls overlapped, not how fast they were.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.runs import plan_many as make_plans
from modeldeploy.targets import get_target
from modeldeploy.targets.sagemaker import aws

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
BUCKET = "md-parallel"
LATENCY = 0.05

SPEC = """\
apiVersion: modeldeploy/v1
name: {name}
model:
  source: ../model
scaling: {{min_replicas: 1, max_replicas: 2, target_invocations_per_replica: 50}}
target:
  kind: sagemaker
  region: {region}
  execution_role_arn: arn:aws:iam::123456789012:role/sagemaker
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:1
  artifact_bucket: {bucket}
  instance_type: ml.m5.large
"""


class Recorder:
    """WSGI middleware: delays each call and records (operation, endpoint name, start, end, thread)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.latency = 0.0
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str | None, float, float]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self, latency: float) -> None:
        with self.lock:
            self.latency, self.calls, self.max_in_flight = latency, [], 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        op = (environ.get("HTTP_X_AMZ_TARGET") or environ.get("REQUEST_METHOD", "")).rsplit(".", 1)[-1]
        try:
            endpoint = json.loads(body).get("EndpointName") if body.startswith(b"{") else None
        except ValueError:
            endpoint = None
        start = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.latency)
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.in_flight -= 1
                self.calls.append((op, endpoint, start, time.monotonic()))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    recorder = Recorder(DomainDispatcherApplication(create_backend_app))
    httpd = make_server("127.0.0.1", 0, recorder, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    url = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).read()
    for key, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    get_target.cache_clear()  # the target (and its clients) is per process: start one for this server
    try:
        yield recorder
    finally:
        get_target.cache_clear()
        httpd.shutdown()
        thread.join()


@pytest.fixture
def created_clients(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every boto3 client the SageMaker target creates (spy on aws._new_client; it still creates them)."""
    made: list[str] = []
    real = aws._new_client

    def spy(service: str, region: str) -> Any:
        made.append(service)
        return real(service, region)

    monkeypatch.setattr(aws, "_new_client", spy)
    return made


def _deployments(root: Path, n: int) -> list[Path]:
    model = REPO / "examples" / "iris" / "model"
    assert (model / "MLmodel").is_file(), "examples/iris/model is part of the repository"
    shutil.copytree(model, root / "model")
    paths = []
    for i in range(n):
        path = root / f"ep-{i}" / "deploy.yaml"
        path.parent.mkdir()
        path.write_text(SPEC.format(name=f"ep-{i}", region=REGION, bucket=BUCKET))
        paths.append(path)
    return paths


def _apply(paths: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from modeldeploy.cli.app import app

    monkeypatch.setenv("MODELDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    import boto3

    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    result = CliRunner().invoke(app, ["apply", *map(str, paths), "--auto-approve"])
    assert result.exit_code == 0, result.output


def _overlap(a: tuple[str, str | None, float, float], b: tuple[str, str | None, float, float]) -> bool:
    return a[2] < b[3] and b[2] < a[3]


def test_observe_of_several_deployments_overlaps_and_shares_one_client_per_service(
    server: Recorder, created_clients: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _deployments(tmp_path, 4)
    _apply(paths, tmp_path, monkeypatch)
    assert sorted(set(created_clients)) == ["application-autoscaling", "s3", "sagemaker"]
    created_clients.clear()

    server.reset(LATENCY)
    plans = make_plans(paths, None, "live", parallelism=4)

    assert [p.name for p, _, _ in plans] == ["ep-0", "ep-1", "ep-2", "ep-3"]
    assert all(not p.has_changes for p, _, _ in plans), [p.changes for p, _, _ in plans if p.has_changes]
    # The clients made for apply are reused by the plan: none is created per deployment.
    assert created_clients == []
    describes = [c for c in server.calls if c[0] == "DescribeEndpoint"]
    assert sorted(c[1] for c in describes) == ["ep-0", "ep-1", "ep-2", "ep-3"]
    overlapping = {frozenset((a[1], b[1])) for a in describes for b in describes if a[1] != b[1] and _overlap(a, b)}
    assert overlapping, "no two deployments' DescribeEndpoint calls were in flight at the same time"
    assert server.max_in_flight > 1


def test_one_deployments_independent_reads_run_side_by_side(
    server: Recorder, created_clients: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _deployments(tmp_path, 1)
    _apply(paths, tmp_path, monkeypatch)

    server.reset(LATENCY)
    ((plan, _, _),) = make_plans(paths, None, "live", parallelism=1)

    assert not plan.has_changes, plan.changes
    ops = {c[0] for c in server.calls}
    assert {"DescribeEndpoint", "ListModels", "DescribeScalableTargets"} <= ops
    # The owned-object listings and the scaling reads do not wait for the endpoint chain.
    assert server.max_in_flight > 1
    assert sorted(set(created_clients)) == ["application-autoscaling", "s3", "sagemaker"]
    assert len(created_clients) == 3, created_clients


def _ops(server: Recorder) -> dict[str, int]:
    out: dict[str, int] = {}
    for op, *_ in server.calls:
        out[op] = out.get(op, 0) + 1
    return out


def _changes(plans) -> list[tuple[str, list[tuple[str, str, Any, Any]]]]:
    return [(p.name, [(c.address, c.action.value, c.before, c.after) for c in p.changes]) for p, _, _ in plans]


def test_a_run_lists_each_region_once_and_reads_two_things_per_steady_deployment(
    server: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _deployments(tmp_path, 4)
    _apply(paths, tmp_path, monkeypatch)

    server.reset(0.0)
    plans = make_plans(paths, None, "live", parallelism=4)

    assert all(not p.has_changes for p, _, _ in plans), _changes(plans)
    ops = _ops(server)
    # One listing per region (not per deployment), each one page here.
    for op in ("ListEndpoints", "ListEndpointConfigs", "ListModels", "DescribeScalableTargets"):
        assert ops.get(op) == 1, (op, ops)
    # ListObjectsV2 of the artifact prefix, plus one read of each deployment's lease object (a live
    # plan says when a lease is held and by whom).
    assert ops.get("GET") == 1 + 4, ops
    # Per deployment: the (mutable) endpoint and its tags. The rendered config, model and
    # model.tar.gz are content-addressed, so the listings show they exist; nothing describes them.
    assert ops.get("DescribeEndpoint") == 4 and ops.get("ListTags") == 4, ops
    assert not {"DescribeEndpointConfig", "DescribeModel", "HEAD"} & set(ops), ops


def test_a_shared_run_plans_exactly_what_one_file_at_a_time_plans(
    server: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.sagemaker.test_sagemaker_lifecycle import _patch_update_endpoint

    _patch_update_endpoint(monkeypatch)  # moto has no UpdateEndpoint; the lifecycle tests add it the same way
    paths = _deployments(tmp_path, 3)
    _apply(paths, tmp_path, monkeypatch)
    changed = paths[1]
    for value in ("1", "2"):  # two applies: ep-1 keeps the previous config for rollback
        changed.write_text(
            changed.read_text().replace("scaling:", f"serving: {{env: {{V: '{value}'}}}}\nscaling:", 1)
            if value == "1"
            else changed.read_text().replace("V: '1'", "V: '2'")
        )
        _apply([changed], tmp_path, monkeypatch)
    changed.write_text(changed.read_text().replace("V: '2'", "V: '3'"))

    server.reset(0.0)
    shared = make_plans(paths, None, "live", parallelism=3)
    one_by_one = [plan for path in paths for plan in make_plans([path], None, "live")]

    assert _changes(shared) == _changes(one_by_one)
    actions = {c.address: c.action.value for c in shared[1][0].changes if c.action.value != "no-op"}
    # The new config and model are created, the endpoint moves to them, the oldest config and
    # model (two applies ago) are deleted; the previous ones stay for rollback.
    assert sorted(actions.values()).count("delete") == 2, actions
    assert "sagemaker_endpoint.ep-1" in actions and actions["sagemaker_endpoint.ep-1"] == "update", actions
    assert not shared[0][0].has_changes and not shared[2][0].has_changes


def test_a_region_too_large_to_list_is_read_per_deployment(
    server: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modeldeploy.targets.sagemaker import reader

    paths = _deployments(tmp_path, 3)
    _apply(paths, tmp_path, monkeypatch)
    monkeypatch.setattr(reader, "LIST_PAGE", 1)  # 3 configs need 3 pages; the budget is 3 / 3 = 1

    server.reset(0.0)
    plans = make_plans(paths, None, "live", parallelism=3)

    assert all(not p.has_changes for p, _, _ in plans), _changes(plans)
    ops = _ops(server)
    # The shared config listing stopped after its one-page budget (moto pages ListEndpointConfigs
    # by MaxResults; it returns ListModels whole); every deployment then listed its own configs
    # and read its rendered config's existence itself.
    assert ops.get("ListEndpointConfigs") == 1 + 3, ops
    assert ops.get("DescribeEndpointConfig") == 3, ops


DOCKER_SPEC = """\
apiVersion: modeldeploy/v1
name: {name}
model:
  source: ../model
target:
  kind: docker
"""


@pytest.mark.parametrize("sagemaker", [1, 2])
def test_a_target_shares_region_listings_only_among_its_own_deployments(
    sagemaker: int, server: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A monorepo of many specs of other kinds and one SageMaker endpoint: that endpoint is read on
    its own (no region listing), as if planned alone; two SageMaker endpoints share the listings."""
    paths = _deployments(tmp_path, sagemaker)
    _apply(paths, tmp_path, monkeypatch)
    for i in range(6):
        path = tmp_path / f"img-{i}" / "deploy.yaml"
        path.parent.mkdir()
        path.write_text(DOCKER_SPEC.format(name=f"img-{i}"))
        paths.append(path)

    server.reset(0.0)
    plans = make_plans(paths, None, None, parallelism=4)  # each at its default: SageMaker live, Docker a folder

    assert [p.name for p, _, _ in plans] == [f"ep-{i}" for i in range(sagemaker)] + [f"img-{i}" for i in range(6)]
    assert all(not p.has_changes for p, _, _ in plans[:sagemaker]), _changes(plans)
    ops = _ops(server)
    if sagemaker == 1:
        # Its own rendered config and model are read directly; the region is not listed.
        assert "ListEndpoints" not in ops, ops
        assert ops.get("DescribeEndpointConfig") == 1 and ops.get("DescribeModel") == 1, ops
    else:
        assert ops.get("ListEndpoints") == 1, ops
        assert not {"DescribeEndpointConfig", "DescribeModel"} & set(ops), ops
