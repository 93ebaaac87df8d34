"""Deploy locally, at the seams that need no engine: the ``docker run`` arguments (the bridge/publish
path the test engine cannot run), reading ``docker inspect`` back, the secrets check, the answer
check of the smoke test, the workers sizing from cgroup files, and the spec's new keys. The real
container lifecycle is tested against the engine in tests/e2e/test_local_deploy.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.errors import ApplyError, ModelDeployError
from modeldeploy.model.signature import Signature
from modeldeploy.targets.docker import local
from modeldeploy.targets.docker.smoke import check_answer, example_request
from modeldeploy.targets.docker.target import image_reference

REPO = Path(__file__).resolve().parents[4]
IRIS = REPO / "examples" / "iris" / "model"


def _dep(tmp_path: Path, target: str, env: str | None = None):
    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: iris\n"
        f"model: {{source: {IRIS.as_posix()}}}\n"
        "serving:\n  env: {LOG_LEVEL: info}\n  secrets: {API_TOKEN: {secret: s, key: k}}\n"
        f"target: {target}\n"
        "environments:\n  staging: {serving: {env: {LOG_LEVEL: debug}}}\n"
    )
    return api.load(spec, env)


def test_run_arguments_publish_on_the_host_address_and_name_secrets_only(tmp_path):
    dep = _dep(tmp_path, "{kind: docker, run: {port: 5001, gpus: all}}", env="staging")
    ctx = dep.context()
    arts = list(api.render(dep).artifacts)
    body = local.desired_body(ctx, arts, image_reference(ctx))
    assert body["name"] == "iris-staging"
    args = local.run_arguments(ctx, body, body["name"])
    assert args[args.index("--publish") + 1] == "127.0.0.1:5001:8080"
    assert args[args.index("--gpus") + 1] == "all"
    assert "API_TOKEN" in args and not any(a.startswith("API_TOKEN=") for a in args)
    assert (
        "io.modeldeploy.deployment=iris-staging" in args and "io.modeldeploy.environment=staging" in args
    )  # the environment's own name (docs/environments.md)
    assert args[-2:] == [image_reference(ctx), "serve"]


def test_inspect_output_reads_back_as_the_desired_body(tmp_path):
    dep = _dep(tmp_path, "{kind: docker, run: {port: 5001}}")
    ctx = dep.context()
    arts = list(api.render(dep).artifacts)
    body = local.desired_body(ctx, arts, "iris:abc")
    inspected = {
        "Name": "/iris",
        "Config": {
            "Image": "iris:abc",
            "Env": ["LOG_LEVEL=info", "API_TOKEN=value", "PATH=/x"],
            "Labels": {
                "io.modeldeploy.deployment": "iris",
                "io.modeldeploy.context-digest": body["context_digest"],
                "io.modeldeploy.secrets": "API_TOKEN",
            },
        },
        "HostConfig": {
            "NetworkMode": "bridge",
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5001"}]},
        },
    }
    seen = local.observed_body(inspected, ctx.spec.serving.env)
    assert seen == body
    assert "value" not in repr(seen)
    inspected["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"] = "5002"
    assert local.observed_body(inspected, ctx.spec.serving.env)["port"] == 5002


def test_a_missing_secret_is_an_error_naming_it(tmp_path):
    ctx = _dep(tmp_path, "{kind: docker, run: {port: 5001}}").context()
    with pytest.raises(ApplyError, match="API_TOKEN"):
        local.secret_environment(ctx, {})
    assert local.secret_environment(ctx, {"API_TOKEN": "v", "OTHER": "x"}) == {"API_TOKEN": "v"}


def test_live_plans_need_run(tmp_path):
    dep = _dep(tmp_path, "{kind: docker}")
    assert api.default_against(dep) == "dir:deploy/rendered"
    with pytest.raises(ModelDeployError, match="target.run"):
        api.plan(dep, "live")
    assert api.default_against(_dep(tmp_path, "{kind: docker, run: {port: 80}}")) == "live"


def test_build_and_run_keys_are_checked(tmp_path):
    with pytest.raises(ModelDeployError):
        _dep(tmp_path, "{kind: docker, run: {port: 70000}}")
    with pytest.raises(ModelDeployError):
        _dep(tmp_path, "{kind: docker, build: {pul: true}}")
    dep = _dep(tmp_path, "{kind: docker, build: {network: host, pull: true, args: {HTTP_PROXY: x}}}")
    assert dep.spec.target.build.args == {"HTTP_PROXY": "x"}


def test_smoke_request_is_the_saved_serving_example(tmp_path):
    dep = _dep(tmp_path, "{kind: docker}")
    body, rows = example_request(dep.model)
    assert b"dataframe_split" in body and rows and rows > 0
    sig = dep.model.signature
    assert check_answer(sig, {"predictions": [0] * rows}, rows) is None
    assert "prediction(s)" in check_answer(sig, {"predictions": [0]}, rows + 1)
    assert "not long" in check_answer(sig, {"predictions": ["setosa"] * rows}, rows)
    assert "predictions" in check_answer(sig, {"oops": 1}, rows)


def test_smoke_check_of_tensor_shapes():
    sig = Signature.from_mlmodel(
        {"outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]'}
    )
    assert check_answer(sig, {"predictions": [[0.1, 0.2, 0.7]]}, 1) is None
    assert "shape" in check_answer(sig, {"predictions": [[0.1, 0.2]]}, 1)


def _entrypoint():
    spec = importlib.util.spec_from_file_location("md_entrypoint", REPO / "templates" / "docker" / "entrypoint.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_workers_from_cgroup_cpu_max(tmp_path):
    ep = _entrypoint()
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert ep.cpu_limit(str(tmp_path)) == min(2, len(__import__("os").sched_getaffinity(0)))
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert ep.cpu_limit(str(tmp_path)) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert ep.cpu_limit(str(tmp_path)) == len(__import__("os").sched_getaffinity(0))
    assert ep.cpu_limit(str(tmp_path / "none")) == len(__import__("os").sched_getaffinity(0))
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert ep.cpu_limit(str(tmp_path / "v1")) == 1
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert ep.cpu_limit(str(tmp_path / "v1")) == len(__import__("os").sched_getaffinity(0))


def test_explicit_workers_stay_in_the_render(tmp_path):
    from modeldeploy.rendering.serving import serving_env

    unset = _dep(tmp_path, "{kind: docker}").spec.serving
    assert "MODELDEPLOY_WORKERS" not in serving_env(unset)
    spec = tmp_path / "w.yaml"
    spec.write_text(
        f"apiVersion: modeldeploy/v1\nname: w\nmodel: {{source: {IRIS.as_posix()}}}\nserving: {{workers: 1}}\ntarget: {{kind: docker}}\n"
    )
    assert serving_env(api.load(spec).spec.serving)["MODELDEPLOY_WORKERS"] == "1"


def test_served_connections_have_nagle_off(monkeypatch):
    """The protocol uvicorn's workers get sets TCP_NODELAY on each accepted connection.

    Narrow seam (no container): uvicorn binds a multi-worker socket without naming the protocol, so
    asyncio leaves Nagle on and each keep-alive response waited ~40 ms for the client's delayed ACK
    (bench/serving.py: 20 vs 132 requests/s with one client). Here a real TCP connection accepted from
    such a socket goes through the protocol's connection_made; uvicorn's own handler is recorded, not run.
    """
    import socket

    ep = _entrypoint()
    cls = ep.NoDelayHTTPProtocol
    base = cls.__mro__[1]
    seen = []
    monkeypatch.setattr(base, "connection_made", lambda self, transport: seen.append(transport))
    with socket.socket(socket.AF_INET) as server:  # proto 0, as uvicorn binds it for several workers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname()) as client:
            conn, _ = server.accept()
            with conn:
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0

                class Transport:
                    def get_extra_info(self, name):
                        return conn if name == "socket" else None

                t = Transport()
                cls.connection_made(object.__new__(cls), t)
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert seen == [t]
                assert client.fileno() >= 0
