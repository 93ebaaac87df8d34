"""Fault injection for the SageMaker target against moto's threaded server (real HTTP, real boto3).

A proxy on 127.0.0.1 (faultproxy.py) sits between boto3 and moto. First a clean apply is run and its
requests counted; then, for every request number N of that apply, a fresh account is set up and the
same apply runs with a fault at request N:

* transient faults (500, throttling, a dropped connection) — botocore's ``standard`` retry mode
  retries them and the apply succeeds in one run;
* a lost answer (the request reached moto, the answer never came back) — the run either succeeds or
  stops with a clear error; a second run converges;
* a hard interruption: KeyboardInterrupt raised from the clients' ``before-call`` event at API call N
  (what Ctrl-C does between two calls) — a second run converges, and in the update scenario the
  endpoint keeps serving the old config (InService, config/model/model.tar.gz all present) until the
  new one is in place.

"Converges" means: the next plan is empty, and the account holds exactly the objects the plan says
should exist (no orphaned model, config, model.tar.gz, scaling target or lease object). moto lacks
UpdateEndpoint; the lifecycle tests' in-process patch adds it (the endpoint switches at once). Two more
in-process patches make moto answer as AWS does where a retried request would otherwise look better
on moto: AddTags overwrites a key (moto appends), and creating a model/config/endpoint that exists is
a ValidationException (moto accepts it).

botocore's backoff delays are recorded (``delays``) and not slept, so the sweep runs in seconds; the
retry decisions and attempt counts are botocore's own.
"""

from __future__ import annotations

import dataclasses
import io
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeldeploy import api
from modeldeploy import applier as rollout
from modeldeploy.errors import ModelDeployError
from modeldeploy.lease import LeaseSettings
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action
from modeldeploy.progress import Progress
from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.faults.faultproxy import FaultProxy, record
from tests.integration.sagemaker.test_sagemaker_lifecycle import BUCKET, REGION, UPDATES, _patch_update_endpoint
from tests.unit.targets.sagemaker.sm_helpers import write_model

pytestmark = pytest.mark.integration

DEPLOY = """\
apiVersion: modeldeploy/v1
name: iris
model:
  source: {source}
scaling: {{min_replicas: 1, max_replicas: 3, target_invocations_per_replica: 50}}
target:
  kind: sagemaker
  region: {region}
  execution_role_arn: arn:aws:iam::123456789012:role/sagemaker
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/iris:1
  artifact_bucket: {bucket}
  rollout: {{strategy: all_at_once}}
"""
LEASE = LeaseSettings(seconds=30)


class World:
    def __init__(self, moto_url: str, proxy: FaultProxy, root: Path):
        self.moto_url = moto_url
        self.proxy = proxy
        self.root = root
        self.delays: list[float] = []
        import boto3

        session = boto3.session.Session(region_name=REGION)
        # Direct clients (not through the proxy) for setting up and inspecting the account.
        self.sm = session.client("sagemaker", endpoint_url=moto_url)
        self.s3 = session.client("s3", endpoint_url=moto_url)
        self.aas = session.client("application-autoscaling", endpoint_url=moto_url)
        models = root / "models"
        self.models = {v: write_model(models / v) for v in ("v1", "v2")}
        (self.models["v2"] / "model.pkl").write_bytes(b"version two\n")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")).read()
        self.s3.create_bucket(Bucket=BUCKET)
        UPDATES.clear()
        self.proxy.faults.reset()

    def deployment(self, version: str) -> Any:
        folder = self.root / f"deploy-{version}"
        folder.mkdir(exist_ok=True)
        (folder / "deploy.yaml").write_text(DEPLOY.format(source=self.models[version], region=REGION, bucket=BUCKET))
        dep = api.load(folder / "deploy.yaml")
        return dataclasses.replace(dep, target=SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30))

    def plan(self, dep: Any) -> tuple[Any, Any]:
        return api.plan(dep, "live", options=ObserveOptions(timeout_seconds=30))

    def apply(self, version: str, *, lease: LeaseSettings = LEASE) -> Any:
        dep = self.deployment(version)
        plan, result = self.plan(dep)
        return rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=lease)

    def pending(self, version: str) -> dict[str, str]:
        plan, _ = self.plan(self.deployment(version))
        return {c.address: c.action.value for c in plan.changes if c.action is not Action.NOOP}

    def inventory(self) -> dict[str, Any]:
        endpoints = self.sm.list_endpoints()["Endpoints"]
        return {
            "endpoints": sorted((e["EndpointName"], e["EndpointStatus"]) for e in endpoints),
            "configs": sorted(c["EndpointConfigName"] for c in self.sm.list_endpoint_configs()["EndpointConfigs"]),
            "models": sorted(m["ModelName"] for m in self.sm.list_models()["Models"]),
            "objects": sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])),
            "scaling": sorted(
                t["ResourceId"]
                for t in self.aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
            ),
        }

    def expected(self, versions: list[str]) -> dict[str, Any]:
        """What the plans say should exist after applying ``versions`` in order (the last one serves;
        the one before is kept for rollback)."""
        configs, models, objects = [], [], []
        for v in versions:
            dep = self.deployment(v)
            ctx = dep.context()
            desired = {r.kind: r for r in dep.target.desired(ctx, dep.target.render(ctx))}
            configs.append(desired["sagemaker_endpoint_config"].name)
            models.append(desired["sagemaker_model"].name)
            objects.append(desired["s3_object"].body["Key"])
        return {
            "endpoints": [("iris", "InService")],
            "configs": sorted(configs),
            "models": sorted(models),
            "objects": sorted(objects),
            "scaling": ["endpoint/iris/variant/AllTraffic"],
        }

    def serving(self) -> str:
        """The config the endpoint serves; fails unless the whole serving chain exists."""
        ep = self.sm.describe_endpoint(EndpointName="iris")
        assert ep["EndpointStatus"] == "InService", ep["EndpointStatus"]
        cfg = self.sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
        model = self.sm.describe_model(ModelName=cfg["ProductionVariants"][0]["ModelName"])
        url = model["PrimaryContainer"]["ModelDataUrl"]
        bucket, key = url[5:].split("/", 1)
        self.s3.head_object(Bucket=bucket, Key=key)
        return ep["EndpointConfigName"]


def _patch_add_tags(mp: pytest.MonkeyPatch) -> None:
    """moto's AddTags appends a second tag with the same key; AWS overwrites the value ("If you
    specify a tag key that is already associated with the resource, the new value overwrites the old
    one"). A retried AddTags whose first answer was lost must not look different on moto than on AWS."""
    from moto.sagemaker.models import SageMakerModelBackend

    def add_tags(self: Any, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        resource = self._get_resource_from_arn(arn)
        new = {t["Key"] for t in tags}
        resource.tags = [t for t in resource.tags if t["Key"] not in new] + list(tags)
        return resource.tags

    mp.setattr(SageMakerModelBackend, "add_tags", add_tags)


def _patch_create_twice(mp: pytest.MonkeyPatch) -> None:
    """moto accepts CreateModel / CreateEndpointConfig / CreateEndpoint for a name that exists; AWS
    answers ValidationException "Cannot create already existing ...". A create whose first answer was
    lost and that botocore retried must fail here as it does on AWS."""
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    for method, param, store, what in (
        ("create_model", "model_name", "_models", "model"),
        ("create_endpoint_config", "endpoint_config_name", "endpoint_configs", "endpoint configuration"),
        ("create_endpoint", "endpoint_name", "endpoints", "endpoint"),
    ):
        real = getattr(SageMakerModelBackend, method)

        def strict(
            self: Any,
            *args: Any,
            _real: Any = real,
            _param: str = param,
            _store: str = store,
            _what: str = what,
            **kw: Any,
        ) -> Any:
            name = args[0] if args else kw[_param]
            if name in getattr(self, _store):
                raise ValidationError(message=f'Cannot create already existing {_what} "{name}".')
            return _real(self, *args, **kw)

        mp.setattr(SageMakerModelBackend, method, strict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp, FaultProxy(host, port) as proxy:
        for key, value in {
            "AWS_ENDPOINT_URL": proxy.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        _patch_update_endpoint(mp)
        _patch_add_tags(mp)
        _patch_create_twice(mp)
        w = World(f"http://{host}:{port}", proxy, tmp_path_factory.mktemp("sm-faults"))
        from botocore.retries.standard import ExponentialBackoff

        real = ExponentialBackoff.delay_amount

        def recorded(self: Any, context: Any) -> float:
            w.delays.append(real(self, context))
            return 0.0

        mp.setattr(ExponentialBackoff, "delay_amount", recorded)
        try:
            yield w
        finally:
            server.stop()


def _clean_requests(world: World, versions: list[str]) -> int:
    """HTTP requests of a clean apply of the last version (after the earlier ones)."""
    world.reset()
    for v in versions[:-1]:
        world.apply(v)
    dep = world.deployment(versions[-1])
    plan, result = world.plan(dep)
    world.proxy.faults.reset()
    rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
    n = world.proxy.faults.count
    assert world.pending(versions[-1]) == {}
    return n


def _sweep(world: World, versions: list[str], kind: str) -> dict[str, int]:
    total = _clean_requests(world, versions)
    outcomes = {"points": 0, "succeeded": 0, "failed_then_converged": 0}
    for n in range(1, total + 1):
        world.reset()
        for v in versions[:-1]:
            world.apply(v)
        before = world.serving() if len(versions) > 1 else None
        dep = world.deployment(versions[-1])
        plan, result = world.plan(dep)
        world.proxy.faults.reset(at={n: kind})
        try:
            rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
            outcomes["succeeded"] += 1
        except ModelDeployError as exc:
            assert kind == "drop-after", f"{kind} at request {n}: {exc.message}"
            assert "Traceback" not in exc.message
            if before is not None:
                world.serving()  # whatever it serves now, it serves
            world.apply(versions[-1])  # the re-run
            outcomes["failed_then_converged"] += 1
        injected = world.proxy.faults.injected
        assert len(injected) == 1 and injected[0][:2] == (n, kind), injected
        world.proxy.faults.reset()
        assert world.pending(versions[-1]) == {}, f"{kind} at request {n} ({injected[0][2]})"
        assert world.inventory() == world.expected(versions), f"{kind} at request {n} ({injected[0][2]})"
        outcomes["points"] += 1
    return outcomes


@pytest.mark.parametrize("kind", ["http500", "throttle", "drop", "drop-after"])
@pytest.mark.parametrize("scenario", [["v1"], ["v1", "v2"]], ids=["create", "update"])
def test_a_fault_at_every_request_is_retried_or_converges(world: World, kind: str, scenario: list[str]) -> None:
    world.delays.clear()
    outcomes = _sweep(world, scenario, kind)
    record(f"sagemaker {'+'.join(scenario)} {kind}", {**outcomes, "retries": len(world.delays)})
    assert outcomes["points"] >= 10
    # Every fault, including a lost answer to a create (accepted when the content-named object now
    # exists), is absorbed within the one run.
    assert outcomes["succeeded"] == outcomes["points"]
    if kind != "drop-after":
        assert len(world.delays) >= outcomes["points"]  # each fault cost botocore one backoff


class Interrupt:
    """Raises KeyboardInterrupt from botocore's before-call event at API call ``at`` (0: count only)."""

    def __init__(self, at: int = 0):
        self.at = at
        self.calls: list[str] = []

    def __call__(self, model: Any = None, **kwargs: Any) -> None:
        import _thread
        import threading

        self.calls.append(getattr(model, "name", "?"))
        if self.at and len(self.calls) == self.at:
            if threading.current_thread() is threading.main_thread():
                raise KeyboardInterrupt(f"interrupted at call {self.at} ({self.calls[-1]})")
            # s3transfer uploads from worker threads; Ctrl-C (SIGINT) lands in the main thread.
            _thread.interrupt_main()

    def install(self, dep: Any) -> None:
        for service in ("sagemaker", "s3", "application-autoscaling"):
            dep.target.clients.get(service, REGION).meta.events.register("before-call", self)


def _interrupted_apply(world: World, version: str, hook: Interrupt) -> BaseException | None:
    dep = world.deployment(version)
    plan, result = world.plan(dep)
    hook.install(dep)
    try:
        rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
    except KeyboardInterrupt as exc:
        return exc
    return None


@pytest.mark.parametrize("scenario", [["v1"], ["v1", "v2"]], ids=["create", "update"])
def test_an_interruption_at_every_call_converges_and_keeps_serving(world: World, scenario: list[str]) -> None:
    world.reset()
    for v in scenario[:-1]:
        world.apply(v)
    counter = Interrupt()
    assert _interrupted_apply(world, scenario[-1], counter) is None
    total = len(counter.calls)
    outcomes = {"points": 0, "interrupted": 0}
    for n in range(1, total + 1):
        world.reset()
        for v in scenario[:-1]:
            world.apply(v)
        old = world.serving() if len(scenario) > 1 else None
        hook = Interrupt(at=n)
        exc = _interrupted_apply(world, scenario[-1], hook)
        assert exc is not None, f"call {n} was never reached"
        outcomes["interrupted"] += 1
        where = hook.calls[-1]
        if old is not None:
            now = world.serving()  # never down: InService with a complete serving chain
            assert now in (old, world.expected(scenario)["configs"][0], world.expected(scenario)["configs"][1])
        lease_key = "modeldeploy/iris/.modeldeploy-lease.json"
        assert lease_key not in world.inventory()["objects"], f"lease left after an interruption at call {n} ({where})"
        world.apply(scenario[-1])
        assert world.pending(scenario[-1]) == {}, f"interrupted at call {n} ({where})"
        assert world.inventory() == world.expected(scenario), f"interrupted at call {n} ({where})"
        outcomes["points"] += 1
    record(f"sagemaker {'+'.join(scenario)} interrupt", {**outcomes, "calls": counter.calls})
    assert outcomes["points"] == total >= 10


# -- two applies at once ------------------------------------------------------------------------------

BUSY = r"^iris is being applied by \S+@\S+:\d+:[0-9a-f]{6} since \S+Z \(lease expires \S+Z\); wait, or pass --steal-lease after it expires$"


def test_two_concurrent_applies_one_proceeds_the_other_stops(world: World) -> None:
    import re
    import threading

    from modeldeploy.lease import LeaseHeld

    world.reset()
    first, second = world.deployment("v1"), world.deployment("v1")
    plan1, result1 = world.plan(first)
    plan2, result2 = world.plan(second)  # both planned against the same empty account
    inside, go = threading.Event(), threading.Event()
    real = first.target.apply

    def slow(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert go.wait(30)
        return real(*args, **kwargs)

    first.target.apply = slow  # type: ignore[method-assign]
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.setdefault(
            "first", rollout.apply(first, plan1, result=result1, progress=Progress(io.StringIO()), lease=LEASE)
        )
    )
    thread.start()
    assert inside.wait(30)
    with pytest.raises(LeaseHeld) as info:
        rollout.apply(second, plan2, result=result2, progress=Progress(io.StringIO()), lease=LEASE)
    assert re.match(BUSY, info.value.message), info.value.message
    assert world.inventory()["models"] == []  # the second run changed nothing
    go.set()
    thread.join(30)
    assert outcome["first"].outputs["endpoint"] == "iris"
    assert world.pending("v1") == {} and world.inventory() == world.expected(["v1"])


def test_an_expired_lease_is_stolen_only_when_asked(world: World) -> None:
    import time

    from modeldeploy.lease import LeaseHeld, LeaseRecord
    from modeldeploy.targets.sagemaker.lease import S3LeaseBackend, lease_key

    world.reset()
    stale = S3LeaseBackend(world.s3, BUCKET, lease_key("modeldeploy", "iris"))
    now = time.time()
    assert stale.create(LeaseRecord("ci@runner:42:abcdef", "apply", now - 900, now - 900, now - 600)) is not None
    with pytest.raises(
        LeaseHeld, match=r"lease held by ci@runner:42:abcdef since \S+ expired at \S+ .*pass --steal-lease"
    ):
        world.apply("v1")
    assert world.inventory()["models"] == []
    progress = Progress(io.StringIO())
    dep = world.deployment("v1")
    plan, result = world.plan(dep)
    rollout.apply(dep, plan, result=result, progress=progress, lease=LeaseSettings(seconds=30, steal=True))
    assert any("took over the expired lease of ci@runner:42:abcdef" in e for e in progress.events)
    assert world.inventory() == world.expected(["v1"])  # lease object released too


@pytest.mark.parametrize("failure", ["error", "ctrl-c"])
def test_the_lease_is_released_after_an_error_or_ctrl_c(world: World, failure: str) -> None:
    from modeldeploy.errors import ApplyError

    world.reset()
    dep = world.deployment("v1")
    plan, result = world.plan(dep)
    seen: list[list[str]] = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        seen.append(world.inventory()["objects"])
        raise ApplyError("endpoint iris failed: boom") if failure == "error" else KeyboardInterrupt()

    dep.target.apply = broken  # type: ignore[method-assign]
    with pytest.raises(ApplyError if failure == "error" else KeyboardInterrupt):
        rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
    assert seen == [["modeldeploy/iris/.modeldeploy-lease.json"]]  # held while applying
    assert world.inventory()["objects"] == []  # released
