"""The Azure ML lease (modeldeploy/targets/azureml/lease.py): a ``modeldeploy.lease`` tag on the endpoint.

No Azure ML service can run here. Concurrency and the apply wiring run the real target, the real
lease protocol and ``rollout.apply`` against FakeWorkspace (tests/unit/targets/azureml/az_fake.py),
an in-memory workspace behind the adapter seam whose endpoint PUT replaces the tags as Azure's does;
each concurrent "run" is its own target instance (as separate processes would be). The adapter's tag
update is tested against ``create_autospec`` of the SDK's OnlineEndpointOperations with a real
endpoint entity (the seam of test_azureml_client.py).
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modeldeploy import applier as rollout
from modeldeploy.api import Deployment
from modeldeploy.api import plan as make_plan
from modeldeploy.errors import ApplyError, PlanError
from modeldeploy.lease import Lease, LeaseHeld, LeaseRecord, LeaseSettings
from modeldeploy.model.kinds import read_for_spec
from modeldeploy.model.ref import ModelRef
from modeldeploy.planning.plan import Action
from modeldeploy.progress import Progress
from modeldeploy.spec.loader import load_spec
from modeldeploy.targets.azureml import lease as az_lease
from modeldeploy.targets.azureml.target import AzureMLTargetImpl
from tests.unit.targets.azureml.az_fake import FakeWorkspace
from tests.unit.targets.azureml.az_helpers import write_spec

EP = "iris-classifier"
DIGEST_1 = "sha256:" + "11" * 32
DIGEST_2 = "sha256:" + "22" * 32
TAG = az_lease.TAG_LEASE


class Clock:
    """The rollout's watch clock: sleeping advances it (the lease itself uses real time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def deployment(ws: FakeWorkspace, spec_path: Path, digest: str) -> Deployment:
    """A Deployment whose target talks to ``ws`` (one per concurrent run, like one per process)."""
    loaded = load_spec(spec_path)
    source = (loaded.base_dir / loaded.spec.model.source).resolve()
    ref = ModelRef(uri=str(source), pinned_uri=str(source), digest=digest, local_path=source)
    clock = Clock()
    target = AzureMLTargetImpl(lambda ctx: ws, sleep=clock.sleep, clock=clock)
    return Deployment(
        loaded=loaded, ref=ref, model=read_for_spec(source, loaded.spec.model, loaded.base_dir), target=target
    )


_SETTINGS = LeaseSettings(60)


def apply(dep: Deployment, settings: LeaseSettings = _SETTINGS, out: io.StringIO | None = None) -> Any:
    plan, result = make_plan(dep, "live")
    return rollout.apply(dep, plan, result=result, progress=Progress(out or io.StringIO()), lease=settings)


def live_tags(ws: FakeWorkspace) -> dict[str, str]:
    return dict(ws.endpoints[EP]["spec"].get("tags") or {})


def assert_clean(ws: FakeWorkspace, spec_path: Path, digest: str) -> None:
    """No lease left, and a fresh plan (by a new run) shows no change."""
    assert TAG not in live_tags(ws)
    plan, _ = make_plan(deployment(ws, spec_path, digest), "live")
    assert not plan.has_changes, [(c.address, c.action.value) for c in plan.changes if c.action is not Action.NOOP]


@pytest.fixture
def ws() -> FakeWorkspace:
    return FakeWorkspace()


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path)


class Gate:
    """The first two calls of one fake method meet before either writes, and again after both have
    written: both runs read the endpoint before either writes, and both writes land before either
    run re-reads — the worst interleaving the emulated compare-and-set is built to survive."""

    def __init__(self, ws: FakeWorkspace, method: str) -> None:
        self.before = threading.Barrier(2, timeout=10)
        self.after = threading.Barrier(2, timeout=10)
        self.left = 2
        self.lock = threading.Lock()
        inner = getattr(ws, method)

        def gated(*a: Any, **kw: Any) -> Any:
            with self.lock:
                mine = self.left > 0
                self.left -= 1
            if not mine:
                return inner(*a, **kw)
            self._meet(self.before)
            try:
                return inner(*a, **kw)
            finally:
                self._meet(self.after)

        setattr(ws, method, gated)

    @staticmethod
    def _meet(barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other run stopped before getting here


STALE = "changed since this plan was made"


def race(ws: FakeWorkspace, spec_path: Path, digest: str) -> tuple[list[Any], list[Exception]]:
    """Two applies of plans made from the same state. A run is refused either by the lease (the other
    holds it) or, when the other finished its whole apply before this one took the lease, by the
    re-plan under the lease: its reviewed plan is stale — both are the one-writer rule at work."""
    deps = [deployment(ws, spec_path, digest) for _ in range(2)]
    plans = [make_plan(d, "live") for d in deps]  # both planned from the same state
    start = threading.Barrier(2)
    won: list[Any] = []
    refused: list[Exception] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            won.append(
                rollout.apply(
                    deps[i], plans[i][0], result=plans[i][1], progress=Progress(io.StringIO()), lease=LeaseSettings(60)
                )
            )
        except LeaseHeld as exc:
            refused.append(exc)
        except PlanError as exc:
            (refused if STALE in str(exc) else errors).append(exc)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return won, refused


@pytest.mark.parametrize("gated", [None, "update_endpoint_tags"], ids=["free", "both-read-before-either-writes"])
def test_two_concurrent_applies_over_a_serving_endpoint_exactly_one_proceeds(
    ws: FakeWorkspace, spec_path: Path, gated: str | None
) -> None:
    apply(deployment(ws, spec_path, DIGEST_1))
    if gated:
        Gate(ws, gated)
    won, refused = race(ws, spec_path, DIGEST_2)
    assert len(won) == 1 and len(refused) == 1, (won, refused)
    message = str(refused[0])
    assert "is being applied by" in message or "is leased by" in message or (not gated and STALE in message), message
    assert [v.tags["modeldeploy.model.digest"] for v in ws.models["iris-classifier"]].count(DIGEST_2) == 1
    assert_clean(ws, spec_path, DIGEST_2)


def test_two_concurrent_first_applies_exactly_one_proceeds(ws: FakeWorkspace, spec_path: Path) -> None:
    """No endpoint yet: each run's lease is pending until its endpoint-creating PUT, which carries it.
    Both runs read "no endpoint" and both PUTs land before either re-reads: the run whose tag is on
    the endpoint goes on, the other stops right after its PUT (before registering the model)."""
    Gate(ws, "create_or_update_endpoint")
    won, refused = race(ws, spec_path, DIGEST_1)
    assert len(won) == 1 and len(refused) == 1, (won, refused)
    assert "is leased by" in str(refused[0])
    assert len(ws.models["iris-classifier"]) == 1
    assert_clean(ws, spec_path, DIGEST_1)


def test_two_free_running_first_applies_never_both_stop_and_converge(ws: FakeWorkspace, spec_path: Path) -> None:
    """Ungated, the fake answers at once, so one run can finish its whole apply before the other's
    endpoint PUT lands — the window below, where both proceed. What always holds: at most one is
    refused (never both), nothing else fails, and the workspace converges with no lease left."""
    won, refused = race(ws, spec_path, DIGEST_1)
    assert len(won) >= 1 and len(won) + len(refused) == 2, (won, refused)
    assert_clean(ws, spec_path, DIGEST_1)


def test_the_remaining_window_a_first_apply_whose_create_lands_late(ws: FakeWorkspace, spec_path: Path) -> None:
    """The race lease.py documents: run A reads "no endpoint", then run B creates the endpoint and
    finishes its whole apply, and only then A's endpoint-creating PUT lands. A cannot tell this from
    a sequential re-apply: both proceed. The outcome still converges — A's PUT carries the endpoint's
    live traffic (re-read under the lock), its deployment PUT is the same, no lease is left behind
    and the next plan is empty."""
    a, b = deployment(ws, spec_path, DIGEST_1), deployment(ws, spec_path, DIGEST_1)
    plan_a, plan_b = make_plan(a, "live"), make_plan(b, "live")
    a_reached_put, b_done = threading.Event(), threading.Event()
    inner = ws.create_or_update_endpoint
    calls = {"n": 0}

    def late_for_a(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:  # A's create
            a_reached_put.set()
            b_done.wait(30)
        return inner(*args, **kw)

    ws.create_or_update_endpoint = late_for_a
    results: list[Any] = []
    t = threading.Thread(
        target=lambda: results.append(
            rollout.apply(a, plan_a[0], result=plan_a[1], progress=Progress(io.StringIO()), lease=LeaseSettings(60))
        )
    )
    t.start()
    assert a_reached_put.wait(30)
    results.append(
        rollout.apply(b, plan_b[0], result=plan_b[1], progress=Progress(io.StringIO()), lease=LeaseSettings(60))
    )
    b_done.set()
    t.join(30)
    assert len(results) == 2  # both proceeded: the documented window
    assert sum(ws.endpoints[EP]["traffic"].values()) == 100  # serving after both
    assert_clean(ws, spec_path, DIGEST_1)


def test_a_held_lease_stops_an_apply_before_any_change(ws: FakeWorkspace, spec_path: Path) -> None:
    first = deployment(ws, spec_path, DIGEST_1)
    apply(first)
    holder = Lease(
        first.target.lease(first.context(), None),
        "iris-classifier",
        LeaseSettings(60),
        holder="ci@runner-7:4121:9f3a1c",
    )
    holder.acquire()
    assert live_tags(ws)[TAG].startswith('{"acquired":')
    calls = len(ws.calls)
    with pytest.raises(
        LeaseHeld,
        match=r"^iris-classifier is being applied by ci@runner-7:4121:9f3a1c since .*; wait, or pass --steal-lease",
    ):
        apply(deployment(ws, spec_path, DIGEST_2), LeaseSettings(60, steal=True))  # unexpired: never stolen
    assert ws.calls[calls:] == [] and DIGEST_2 not in str(ws.models)
    # A plan made meanwhile does not show the lease tag (the endpoint is unchanged).
    assert_plan_without_tag(ws, spec_path)
    holder.release()
    assert TAG not in live_tags(ws)


def assert_plan_without_tag(ws: FakeWorkspace, spec_path: Path) -> None:
    plan, _ = make_plan(deployment(ws, spec_path, DIGEST_1), "live")
    assert not plan.has_changes
    assert all(TAG not in str(c.before) for c in plan.changes)


def test_an_expired_lease_is_taken_only_with_steal(ws: FakeWorkspace, spec_path: Path) -> None:
    apply(deployment(ws, spec_path, DIGEST_1))
    past = time.time() - 3600
    dead = az_lease.encode(LeaseRecord("dead@ci:1:aa", "apply", past, past, past + 60))
    ws.update_endpoint_tags(EP, {TAG: dead})
    with pytest.raises(LeaseHeld, match=r"lease held by dead@ci:1:aa since .* expired at .*; pass --steal-lease"):
        apply(deployment(ws, spec_path, DIGEST_2))
    assert live_tags(ws)[TAG] == dead
    out = io.StringIO()
    apply(deployment(ws, spec_path, DIGEST_2), LeaseSettings(60, steal=True), out)
    assert "took over the expired lease of dead@ci:1:aa" in out.getvalue()
    assert_clean(ws, spec_path, DIGEST_2)


class Watching(FakeWorkspace):
    """Records the lease tag right after every endpoint PUT and deployment PUT of the apply."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []
        self.fail: BaseException | None = None

    def create_or_update_endpoint(self, spec, **kw):
        out = super().create_or_update_endpoint(spec, **kw)
        self.seen.append(("endpoint", out.tags.get(TAG)))
        return out

    def create_or_update_deployment(self, spec, base_dir, **kw):
        self.seen.append(("deployment", (self.endpoints[spec["endpoint_name"]]["spec"].get("tags") or {}).get(TAG)))
        if self.fail is not None:
            raise self.fail
        return super().create_or_update_deployment(spec, base_dir, **kw)


def test_the_apply_carries_its_lease_through_its_own_endpoint_puts(tmp_path: Path) -> None:
    ws = Watching()
    spec_path = write_spec(tmp_path)
    apply(deployment(ws, spec_path, DIGEST_1))  # creates the endpoint: the pending lease rides on it
    # A label change updates the endpoint's tags: the apply's PUT must keep its own lease tag.
    spec_path = write_spec(tmp_path, extra="labels: {team: ml}\n")
    apply(deployment(ws, spec_path, DIGEST_2))
    endpoint_puts = [tag for what, tag in ws.seen if what == "endpoint"]
    assert len(endpoint_puts) == 2 and all(endpoint_puts), ws.seen
    assert all(tag for what, tag in ws.seen if what == "deployment"), ws.seen
    assert live_tags(ws)["team"] == "ml"
    assert_clean(ws, spec_path, DIGEST_2)


@pytest.mark.parametrize("first", [True, False], ids=["first-apply", "update"])
@pytest.mark.parametrize("failure", [ApplyError("quota exceeded"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_the_lease_is_released_after_an_error_and_ctrl_c(tmp_path: Path, failure: BaseException, first: bool) -> None:
    ws = Watching()
    spec_path = write_spec(tmp_path)
    if not first:
        apply(deployment(ws, spec_path, DIGEST_1))
    ws.fail = failure
    dep = deployment(ws, spec_path, DIGEST_2)
    with pytest.raises(type(failure)):
        apply(dep)
    assert ws.seen[-1][0] == "deployment" and ws.seen[-1][1], ws.seen  # held while it ran
    assert TAG not in live_tags(ws)
    guard = dep.target.guard(dep.context(), EP)
    assert guard.held is None
    ws.fail = None
    apply(deployment(ws, spec_path, DIGEST_2))  # nothing left behind blocks the next run
    assert_clean(ws, spec_path, DIGEST_2)


def test_destroy_holds_the_lease_and_leaves_nothing(ws: FakeWorkspace, spec_path: Path) -> None:
    dep = deployment(ws, spec_path, DIGEST_1)
    apply(dep)
    rollout.destroy(dep, against="live", progress=Progress(io.StringIO()), lease=LeaseSettings(60))
    assert EP not in ws.endpoints
    assert dep.target.guard(dep.context(), EP).held is None


def test_renewal_during_an_endpoint_put_is_deferred_not_interleaved(ws: FakeWorkspace, spec_path: Path) -> None:
    """A renewal tick while the apply holds the endpoint lock (mid-PUT) writes nothing and keeps the
    token; the next tick writes the new expiry."""
    dep = deployment(ws, spec_path, DIGEST_1)
    apply(dep)
    backend = dep.target.lease(dep.context(), None)
    now = [time.time()]
    lease = Lease(backend, "iris-classifier", LeaseSettings(60), clock=lambda: now[0])
    lease.acquire()
    token = lease.token
    now[0] += 20
    guard = dep.target.guard(dep.context(), EP)
    calls = len(ws.calls)
    blocked = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with guard.lock:
            blocked.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    blocked.wait(10)
    assert lease.renew() and lease.token == token and ws.calls[calls:] == []
    release.set()
    t.join()
    assert lease.renew() and lease.token != token and live_tags(ws)[TAG] == lease.token
    lease.release()
    assert TAG not in live_tags(ws)


def test_a_long_holder_id_fits_an_arm_tag_and_is_still_recognised(ws: FakeWorkspace, spec_path: Path) -> None:
    dep = deployment(ws, spec_path, DIGEST_1)
    apply(dep)
    holder = "someone@" + "h" * 300 + ":123:abcdef"
    lease = Lease(dep.target.lease(dep.context(), None), "iris-classifier", LeaseSettings(60), holder=holder)
    lease.acquire()
    assert len(live_tags(ws)[TAG]) <= 256
    found = lease.backend.read()
    assert found is not None and found[0].holder == holder  # so our own retried write is ours
    lease.release()
    assert TAG not in live_tags(ws)


def test_the_adapter_changes_only_the_tags_it_is_given() -> None:
    aml = pytest.importorskip("azure.ai.ml")
    from modeldeploy.targets.azureml.client import AzureMLClient
    from tests.unit.targets.azureml.test_azureml_client import GOLDEN, ml_client

    ml = ml_client()
    ep = aml.load_online_endpoint(str(GOLDEN / "managed-online" / "expected" / "azureml" / "endpoint.yaml"))
    ep.traffic = {"blue": 90, "green": 10}
    ep.tags = {**ep.tags, "keep": "me", TAG: "old"}
    ml.online_endpoints.get.return_value = ep
    client = AzureMLClient(ml, "online", poll_seconds=0)
    state = client.update_endpoint_tags(EP, {TAG: "new"})
    ml.online_endpoints.get.assert_called_once_with(EP)
    sent = ml.online_endpoints.begin_create_or_update.call_args.args[0]
    assert sent.tags[TAG] == "new" and sent.tags["keep"] == "me" and sent.traffic == {"blue": 90, "green": 10}
    assert state is not None and state.tags[TAG] == "new"
    client.update_endpoint_tags(EP, {TAG: None})
    assert TAG not in ml.online_endpoints.begin_create_or_update.call_args.args[0].tags
    from azure.core.exceptions import ResourceNotFoundError

    ml.online_endpoints.get.side_effect = ResourceNotFoundError("gone")
    assert client.update_endpoint_tags(EP, {TAG: "x"}) is None
