"""Fault injection for the Kubernetes target: the REAL kubernetes client against the in-process fake
API server (no kube-apiserver can run here), extended in faultk8s.py with Lease objects and faults.

For every request N of a clean apply (lease, server-side applies, rollout waits, prunes, release):
* 500, 429 (Retry-After: 0), a dropped connection, and a lost answer (carried out, then dropped) are
  retried by modeldeploy.retry's policy and the apply succeeds in one run;
* a KeyboardInterrupt at API call N, then a clean re-run, converges: the next plan is empty, the
  cluster holds exactly the rendered objects (nothing orphaned, no lease left), and in the update
  scenario the Deployment that was serving never disappears.

The policy's sleeps are recorded, not slept.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeldeploy import api, retry
from modeldeploy import applier as rollout
from modeldeploy.lease import LeaseSettings
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action
from modeldeploy.progress import Progress
from modeldeploy.targets.kubernetes.api import KubeApi
from modeldeploy.targets.kubernetes.target import KubernetesTargetImpl
from tests.faults.faultk8s import KINDS, FaultyApiServer
from tests.faults.faultproxy import record
from tests.integration.kubernetes.test_k8s_live import healthy
from tests.unit.targets.kubernetes.k8s_case import write_spec

NS = "models"
VERSIONS: dict[str, dict[str, Any]] = {
    "v1": {"target": {"ingress": {"host": "iris.example.com"}}},
    "v2": {"serving": {"env": {"LOG_LEVEL": "debug"}}, "scaling": {"min_replicas": 1, "max_replicas": 3}},
}
LEASE = LeaseSettings(seconds=30)


class K8sWorld:
    def __init__(self, server: FaultyApiServer, root: Path):
        self.server = server
        self.root = root
        self.kubeconfig = server.kubeconfig(root / "kubeconfig")
        self.sleeps: list[float] = []

    @property
    def cluster(self) -> Any:
        return self.server.cluster

    def reset(self) -> None:
        self.cluster.objects.clear()
        self.cluster.leases.clear()
        self.cluster.requests.clear()
        self.cluster.controllers["Deployment"] = healthy
        self.server.faults.reset()

    def options(self) -> ObserveOptions:
        return ObserveOptions(timeout_seconds=5, extra={"kubeconfig": self.kubeconfig, "poll_seconds": 0.01})

    def deployment(self, version: str) -> Any:
        folder = self.root / version
        folder.mkdir(exist_ok=True)
        dep = api.load(write_spec(folder, **VERSIONS[version]))
        return dataclasses.replace(dep, target=KubernetesTargetImpl())

    def plan(self, dep: Any) -> tuple[Any, Any]:
        return api.plan(dep, "live", options=self.options())

    def apply(self, version: str, lease: LeaseSettings = LEASE) -> Any:
        dep = self.deployment(version)
        plan, result = self.plan(dep)
        return rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=lease)

    def pending(self, version: str) -> dict[str, str]:
        plan, _ = self.plan(self.deployment(version))
        return {c.address: c.action.value for c in plan.changes if c.action is not Action.NOOP}

    def inventory(self) -> list[str]:
        objs = [f"{o['kind'].lower()}.{ns}.{name}" for (_, ns, name), o in self.cluster.objects.items()]
        return sorted(objs + [f"lease.{ns}.{name}" for ns, name in self.cluster.leases])

    def expected(self, version: str) -> list[str]:
        dep = self.deployment(version)
        ctx = dep.context()
        return sorted(r.address for r in dep.target.desired(ctx, dep.target.render(ctx)))


def _memoise_validation(mp: pytest.MonkeyPatch) -> None:
    """The sweep renders the same few objects hundreds of times; kubernetes-validate's answer for an
    identical object is identical, so it is asked once per distinct object (speed only)."""
    import json

    from modeldeploy.targets.kubernetes import target, validate

    seen: set[str] = set()
    real = validate.validate_object

    def once(obj: Any, version: str) -> None:
        key = json.dumps([obj, version], sort_keys=True)
        if key not in seen:
            real(obj, version)
            seen.add(key)

    mp.setattr(target, "validate_object", once)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sWorld]:
    with FaultyApiServer() as server, pytest.MonkeyPatch.context() as mp:
        w = K8sWorld(server, tmp_path_factory.mktemp("k8s-faults"))
        mp.setattr(retry, "default_policy", lambda service="": retry.RetryPolicy(sleep=w.sleeps.append))
        _memoise_validation(mp)
        yield w


def _clean_requests(world: K8sWorld, versions: list[str]) -> int:
    world.reset()
    for v in versions[:-1]:
        world.apply(v)
    dep = world.deployment(versions[-1])
    plan, result = world.plan(dep)
    world.server.faults.reset()
    rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
    count = world.server.faults.count
    assert world.pending(versions[-1]) == {} and world.inventory() == world.expected(versions[-1])
    return count


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("versions", [["v1"], ["v1", "v2"]], ids=["create", "update"])
def test_a_fault_at_every_request_is_retried(world: K8sWorld, kind: str, versions: list[str]) -> None:
    total = _clean_requests(world, versions)
    points = 0
    for n in range(1, total + 1):
        world.reset()
        for v in versions[:-1]:
            world.apply(v)
        dep = world.deployment(versions[-1])
        plan, result = world.plan(dep)
        world.server.faults.reset(at={n: kind})
        world.sleeps.clear()
        rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
        injected = world.server.faults.injected
        assert len(injected) == 1 and injected[0][:2] == (n, kind), injected
        assert len(world.sleeps) == 1, (n, injected, world.sleeps)  # exactly one backoff for one fault
        world.server.faults.reset()
        assert world.pending(versions[-1]) == {}, f"{kind} at request {n} ({injected[0][2]})"
        assert world.inventory() == world.expected(versions[-1]), f"{kind} at request {n} ({injected[0][2]})"
        points += 1
    record(f"kubernetes {'+'.join(versions)} {kind}", {"points": points, "succeeded": points})
    assert points == total >= 8


class Interrupt:
    def __init__(self, at: int = 0):
        self.at = at
        self.calls: list[str] = []

    def wrap(self, real: Any) -> Any:
        def _call(api_self: KubeApi, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(f"{method} {path}")
            if self.at and len(self.calls) == self.at:
                raise KeyboardInterrupt(f"interrupted at call {self.at}")
            return real(api_self, method, path, *args, **kwargs)

        return _call


@pytest.mark.parametrize("versions", [["v1"], ["v1", "v2"]], ids=["create", "update"])
def test_an_interruption_at_every_call_converges(
    world: K8sWorld, versions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = KubeApi._call

    def run(hook: Interrupt) -> BaseException | None:
        dep = world.deployment(versions[-1])
        plan, result = world.plan(dep)
        monkeypatch.setattr(KubeApi, "_call", hook.wrap(real))
        try:
            rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
        except KeyboardInterrupt as exc:
            return exc
        finally:
            monkeypatch.setattr(KubeApi, "_call", real)
        return None

    world.reset()
    for v in versions[:-1]:
        world.apply(v)
    counter = Interrupt()
    assert run(counter) is None
    total = len(counter.calls)
    for n in range(1, total + 1):
        world.reset()
        for v in versions[:-1]:
            world.apply(v)
        hook = Interrupt(at=n)
        assert run(hook) is not None
        if len(versions) > 1:
            assert world.cluster.get("deployments", NS, "iris") is not None  # still serving
        assert not world.cluster.leases, f"lease left after an interruption at call {n} ({hook.calls[-1]})"
        world.apply(versions[-1])
        assert world.pending(versions[-1]) == {}, f"interrupted at call {n} ({hook.calls[-1]})"
        assert world.inventory() == world.expected(versions[-1]), f"interrupted at call {n} ({hook.calls[-1]})"
    record(f"kubernetes {'+'.join(versions)} interrupt", {"points": total, "calls": counter.calls})
    assert total >= 8


# -- two applies at once ------------------------------------------------------------------------------

BUSY = r"^iris is being applied by \S+@\S+:\d+:[0-9a-f]{6} since \S+Z \(lease expires \S+Z\); wait, or pass --steal-lease after it expires$"


def test_concurrent_applies_race_and_exactly_one_proceeds(world: K8sWorld) -> None:
    """Four applies of the same deployment start together; each holds the apply open until all have
    tried to take the lease. Exactly one proceeds; the others stop with the busy message."""
    import re
    import threading

    from modeldeploy.lease import LeaseHeld

    world.reset()
    deps = [world.deployment("v1") for _ in range(4)]
    plans = [world.plan(d) for d in deps]
    tried = threading.Barrier(4, timeout=30)
    results: list[Any] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        dep, (plan, result) = deps[i], plans[i]
        real = dep.target.apply

        def held(*args: Any, **kwargs: Any) -> Any:
            tried.wait()  # the winner waits here until the three others have been refused
            return real(*args, **kwargs)

        dep.target.apply = held
        try:
            out = rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
            with lock:
                results.append(("applied", out))
        except LeaseHeld as exc:
            with lock:
                results.append(("refused", exc.message))
            tried.wait()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r[0] for r in results) == ["applied", "refused", "refused", "refused"]
    assert all(re.match(BUSY, m) for kind, m in results if kind == "refused")
    assert world.pending("v1") == {} and world.inventory() == world.expected("v1")


def test_an_expired_lease_is_stolen_and_the_lease_is_released_on_error(world: K8sWorld) -> None:
    import time

    from modeldeploy.errors import ApplyError
    from modeldeploy.lease import LeaseHeld, LeaseRecord
    from modeldeploy.targets.kubernetes.api import connect
    from modeldeploy.targets.kubernetes.lease import KubernetesLeaseBackend

    world.reset()
    stale = KubernetesLeaseBackend(connect(None, world.kubeconfig), NS, "iris")
    now = time.time()
    stale.create(LeaseRecord("ci@runner:42:abcdef", "destroy", now - 900, now - 900, now - 600))
    lease_obj = world.cluster.leases[(NS, "iris-modeldeploy")]
    assert (
        lease_obj["spec"]["holderIdentity"] == "ci@runner:42:abcdef"
        and lease_obj["spec"]["leaseDurationSeconds"] == 300
    )
    with pytest.raises(LeaseHeld, match="lease held by ci@runner:42:abcdef .* expired at"):
        world.apply("v1")
    dep = world.deployment("v1")
    plan, result = world.plan(dep)

    def broken(*args: Any, **kwargs: Any) -> Any:
        assert world.cluster.leases[(NS, "iris-modeldeploy")]["spec"]["holderIdentity"] != "ci@runner:42:abcdef"
        raise ApplyError("rollout of deployment models/iris failed: boom")

    dep.target.apply = broken
    with pytest.raises(ApplyError):
        rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LeaseSettings(30, steal=True))
    assert world.cluster.leases == {}  # stolen, then released after the error
    world.apply("v1")
    assert world.pending("v1") == {} and world.inventory() == world.expected("v1")
