"""desired → observe → plan → apply → destroy for the Azure ML target.

There is no Azure ML emulator, so these run the real target logic against FakeWorkspace (az_fake.py),
an in-memory workspace behind the adapter seam (AzureMLAPI) that enforces the service's rules
(traffic sums to 0 or 100, mirror ≤ 50% on one deployment without live traffic, lowercased names,
incrementing model versions, no deleting a deployment that takes traffic) and reports objects the
way the service does. The adapter's own calls into azure-ai-ml are tested in test_azureml_client.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.errors import ApplyError, TargetError
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.progress import Progress
from modeldeploy.targets.azureml.naming import TAG_NAME
from modeldeploy.targets.azureml.rollout import split, traffic_steps
from modeldeploy.targets.azureml.target import AzureMLTargetImpl
from tests.unit.targets.azureml.az_fake import FakeWorkspace
from tests.unit.targets.azureml.az_helpers import actions, context, product_plan, write_spec

DIGEST_1 = "sha256:" + "11" * 32
DIGEST_2 = "sha256:" + "22" * 32
ROLLOUT = "  rollout: {strategy: blue_green, steps: [10, 50, 100], wait_seconds: 300}\n"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ws() -> FakeWorkspace:
    return FakeWorkspace()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_target(ws: FakeWorkspace, clock: Clock) -> AzureMLTargetImpl:
    return AzureMLTargetImpl(lambda ctx: ws, sleep=clock.sleep, clock=clock)


def cycle(target: AzureMLTargetImpl, ctx, progress: Progress | None = None):
    """render → desired → observe → plan → apply, like the CLI's apply does."""
    artifacts = target.render(ctx)
    desired = target.desired(ctx, artifacts)
    plan = product_plan(desired, target.observe(ctx, desired, ObserveOptions()))
    result = target.apply(ctx, plan, artifacts, progress or Progress())
    return plan, result


def replan(target: AzureMLTargetImpl, ctx):
    desired = target.desired(ctx, target.render(ctx))
    return product_plan(desired, target.observe(ctx, desired, ObserveOptions()))


def serving(ws: FakeWorkspace, endpoint: str = "iris-classifier") -> dict[str, int]:
    return dict(ws.endpoints[endpoint]["traffic"])


def test_first_apply_creates_everything_and_replan_is_clean(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    ctx = context(write_spec(tmp_path, target=ROLLOUT), digest=DIGEST_1)
    plan, result = cycle(target, ctx)
    assert set(actions(plan).values()) == {"create"}
    # The product's diff puts what a resource depends on first (it once was a sorted test-local plan).
    order = [k.split(".")[0] for k in actions(plan)]
    assert order.index("azureml_model") < order.index("azureml_online_deployment")
    assert (
        order.index("azureml_online_endpoint")
        < order.index("azureml_online_deployment")
        < order.index("azureml_traffic")
    )
    dep = target.render(ctx)  # same name again
    dep_name = next(a for a in dep if a.path == "azureml/deployment.yaml").text().split("\nname: ")[1].split("\n")[0]
    assert serving(ws) == {dep_name: 100}
    assert clock.slept == []  # nothing served before: straight to 100%
    assert [m.version for m in ws.models["iris-classifier"]] == ["1"]
    assert "MLmodel" in ws.model_files[("iris-classifier", "1")]
    assert result.outputs["model"] == "azureml:iris-classifier:1"
    assert result.outputs["scoring_uri"].startswith("https://iris-classifier.")
    again = replan(target, ctx)
    assert set(actions(again).values()) == {"no-op"}, [c for c in again.changes if c.action.value != "no-op"]


def test_reapplying_the_same_digest_registers_no_new_version(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    spec = write_spec(tmp_path)
    cycle(target, context(spec, digest=DIGEST_1))
    # A config change (new deployment) with the same model bytes reuses version 1.
    spec2 = write_spec(tmp_path, extra="serving: {env: {A: b}}\n", file="deploy2.yaml")
    plan, result = cycle(target, context(spec2, digest=DIGEST_1))
    assert "create" in actions(plan).values()
    assert [m.version for m in ws.models["iris-classifier"]] == ["1"]
    assert [c for c in ws.calls if c.startswith("register")] == ["register iris-classifier:1"]
    assert result.outputs["model"] == "azureml:iris-classifier:1"


def test_blue_green_rollout_shifts_in_steps_and_deletes_the_old(
    tmp_path: Path, ws: FakeWorkspace, clock: Clock
) -> None:
    target = make_target(ws, clock)
    spec = write_spec(tmp_path, target=ROLLOUT)
    cycle(target, context(spec, digest=DIGEST_1))
    (old,) = serving(ws)
    ctx2 = context(spec, digest=DIGEST_2)
    plan = replan(target, ctx2)
    acts = actions(plan)
    new = next(a.split("/")[1] for a, v in acts.items() if a.startswith("azureml_online_deployment.") and v == "create")
    assert acts[f"azureml_online_deployment.iris-classifier/{old}"] == "delete"
    assert acts["azureml_traffic.iris-classifier"] == "update"
    assert acts["azureml_model.iris-classifier"] == "create"
    ws.traffic_history.clear()
    target.apply(ctx2, plan, target.render(ctx2), Progress())
    assert [t for t, _ in ws.traffic_history] == [{new: 10, old: 90}, {new: 50, old: 50}, {new: 100}]
    assert sum(clock.slept) == 600  # two waits of 300 s between three steps
    assert ("iris-classifier", old) not in ws.deployments
    assert [m.version for m in ws.models["iris-classifier"]] == ["1", "2"]
    assert ws.endpoints["iris-classifier"]["raw"]["tags"]["modeldeploy.model.digest"] == DIGEST_2
    assert set(actions(replan(target, ctx2)).values()) == {"no-op"}


def test_failed_deployment_gets_no_traffic_and_old_keeps_serving(
    tmp_path: Path, ws: FakeWorkspace, clock: Clock
) -> None:
    target = make_target(ws, clock)
    spec = write_spec(tmp_path, target=ROLLOUT)
    cycle(target, context(spec, digest=DIGEST_1))
    before = serving(ws)
    ctx2 = context(spec, digest=DIGEST_2)
    plan = replan(target, ctx2)
    new = next(
        a.split("/")[1]
        for a, v in actions(plan).items()
        if a.startswith("azureml_online_deployment.") and v == "create"
    )
    ws.fail_create[new] = "container crashed: liveness probe failed"
    with pytest.raises(ApplyError) as err:
        target.apply(ctx2, plan, target.render(ctx2), Progress())
    assert "liveness probe failed" in err.value.message and "keeps serving" in err.value.message
    assert "No module named 'sklearn'" in (err.value.hint or "")
    assert serving(ws) == before
    assert ws.traffic_history[-1][0] == before  # traffic never moved
    assert ("iris-classifier", new) not in ws.deployments  # failed one removed (keep_failed: false)
    assert ("iris-classifier", next(iter(before))) in ws.deployments


def test_keep_failed_leaves_it_at_zero_and_the_next_plan_retries(
    tmp_path: Path, ws: FakeWorkspace, clock: Clock
) -> None:
    target = make_target(ws, clock)
    spec = write_spec(tmp_path, target="  rollout: {keep_failed: true}\n")
    cycle(target, context(spec, digest=DIGEST_1))
    ctx2 = context(spec, digest=DIGEST_2)
    plan = replan(target, ctx2)
    new = next(
        a.split("/")[1]
        for a, v in actions(plan).items()
        if a.startswith("azureml_online_deployment.") and v == "create"
    )
    ws.fail_create[new] = "quota exceeded"
    with pytest.raises(ApplyError, match="quota exceeded"):
        target.apply(ctx2, plan, target.render(ctx2), Progress())
    assert ws.deployments[("iris-classifier", new)]["state"] == "Failed"
    assert new not in serving(ws)
    retry = actions(replan(target, ctx2))
    assert retry[f"azureml_online_deployment.iris-classifier/{new}"] == "update"  # provisioning_state differs


def test_deployment_failing_during_rollout_rolls_traffic_back(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    spec = write_spec(tmp_path, target=ROLLOUT)
    cycle(target, context(spec, digest=DIGEST_1))
    before = serving(ws)
    ctx2 = context(spec, digest=DIGEST_2)
    plan = replan(target, ctx2)
    new = next(
        a.split("/")[1]
        for a, v in actions(plan).items()
        if a.startswith("azureml_online_deployment.") and v == "create"
    )
    ws.fail_later.add(new)
    progress = Progress()
    with pytest.raises(ApplyError, match="restored"):
        target.apply(ctx2, plan, target.render(ctx2), progress)
    assert ws.traffic_history[-2][0] == {new: 10, **{k: 90 for k in before}}
    assert serving(ws) == before
    assert any("rolling back" in e for e in progress.events)
    assert ("iris-classifier", next(iter(before))) in ws.deployments  # old not deleted


def test_mirror_first_mirrors_before_shifting(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    spec = write_spec(
        tmp_path, target="  rollout: {strategy: mirror_first, mirror_percent: 20, steps: [100], wait_seconds: 60}\n"
    )
    cycle(target, context(spec, digest=DIGEST_1))
    (old,) = serving(ws)
    ws.traffic_history.clear()
    _, result = cycle(target, context(spec, digest=DIGEST_2))
    new = result.outputs["deployment"]
    assert ws.traffic_history == [({old: 100}, {new: 20}), ({new: 100}, {})]
    assert sum(clock.slept) == 60


def test_scale_change_updates_in_place(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    cycle(target, context(write_spec(tmp_path), digest=DIGEST_1))
    (name,) = serving(ws)
    plan, _ = cycle(target, context(write_spec(tmp_path, target="  instance_count: 3\n"), digest=DIGEST_1))
    changed = {a: v for a, v in actions(plan).items() if v != "no-op"}
    assert changed == {f"azureml_online_deployment.iris-classifier/{name}": "update"}
    assert ws.deployments[("iris-classifier", name)]["spec"]["instance_count"] == 3
    assert serving(ws) == {name: 100}


def test_kubernetes_endpoint_compute_change_is_a_replace(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    cycle(target, context(write_spec(tmp_path, target="  compute: k8s-a\n"), digest=DIGEST_1))
    assert set(
        actions(replan(target, context(write_spec(tmp_path, target="  compute: k8s-a\n"), digest=DIGEST_1))).values()
    ) == {"no-op"}
    plan = replan(target, context(write_spec(tmp_path, target="  compute: k8s-b\n"), digest=DIGEST_1))
    assert actions(plan)["azureml_online_endpoint.iris-classifier"] == "replace"


def test_kubernetes_mirror_first_falls_back_to_steps(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    spec = write_spec(
        tmp_path, target="  compute: k8s\n  rollout: {strategy: mirror_first, steps: [25, 100], wait_seconds: 5}\n"
    )
    cycle(target, context(spec, digest=DIGEST_1))
    (old,) = serving(ws)
    ws.traffic_history.clear()
    _, result = cycle(target, context(spec, digest=DIGEST_2))
    new = result.outputs["deployment"]
    assert ws.traffic_history == [({new: 25, old: 75}, {}), ({new: 100}, {})]


def test_batch_switches_the_default_deployment(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    spec = write_spec(tmp_path, name="iris-scoring", target="  mode: batch\n  compute: cpu-cluster\n")
    _, first = cycle(target, context(spec, digest=DIGEST_1))
    assert ws.endpoints["iris-scoring"]["default"] == first.outputs["deployment"]
    assert set(actions(replan(target, context(spec, digest=DIGEST_1))).values()) == {"no-op"}
    plan, second = cycle(target, context(spec, digest=DIGEST_2))
    assert actions(plan)["azureml_batch_default.iris-scoring"] == "update"
    assert ws.endpoints["iris-scoring"]["default"] == second.outputs["deployment"]
    assert [k[1] for k in ws.deployments] == [second.outputs["deployment"]]


def test_observe_reports_the_deployed_signature_and_model(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    target = make_target(ws, clock)
    ctx = context(write_spec(tmp_path), digest=DIGEST_1)
    cycle(target, ctx)
    observed = target.observe(ctx, target.desired(ctx, []), ObserveOptions())
    assert observed.deployed_signature == ctx.model.signature.to_canonical()
    assert observed.deployed_model["digest"] == DIGEST_1 and observed.deployed_model["version"] == "1"
    assert all(r.fingerprint for r in observed.resources.values())


def test_observe_refuses_an_endpoint_modeldeploy_did_not_create(
    tmp_path: Path, ws: FakeWorkspace, clock: Clock
) -> None:
    target = make_target(ws, clock)
    ctx = context(write_spec(tmp_path), digest=DIGEST_1)
    ws.create_or_update_endpoint(
        {
            "$schema": "managedOnlineEndpoint",
            "name": "iris-classifier",
            "auth_mode": "key",
            "tags": {TAG_NAME: "someone-else"},
        }
    )
    with pytest.raises(TargetError, match="not created by modeldeploy"):
        target.observe(ctx, target.desired(ctx, []), ObserveOptions())


def test_destroy_removes_the_endpoint_and_optionally_archives_versions(
    tmp_path: Path, ws: FakeWorkspace, clock: Clock
) -> None:
    target = make_target(ws, clock)
    ctx = context(write_spec(tmp_path, target="  destroy_model_versions: true\n"), digest=DIGEST_1)
    cycle(target, ctx)
    observed = target.observe(ctx, target.desired(ctx, []), ObserveOptions())
    result = target.destroy(ctx, observed, Progress())
    assert ws.endpoints == {} and ws.deployments == {}
    assert ws.archived == {("iris-classifier", "1")}
    assert "azureml_online_endpoint.iris-classifier" in result.changed
    kept = make_target(FakeWorkspace(), clock)
    ctx2 = context(write_spec(tmp_path), digest=DIGEST_1)
    cycle(kept, ctx2)
    kept.destroy(ctx2, kept.observe(ctx2, [], ObserveOptions()), Progress())
    assert kept._clients and next(iter(kept._clients.values())).archived == set()


def test_fake_enforces_the_service_rules(ws: FakeWorkspace) -> None:
    """The fake is only useful if it refuses what Azure refuses."""
    ws.create_or_update_endpoint({"$schema": "managedOnlineEndpoint", "name": "ep-one", "auth_mode": "key", "tags": {}})
    with pytest.raises(TargetError, match="not a valid Azure ML name"):
        ws.create_or_update_endpoint({"name": "1bad", "tags": {}})
    with pytest.raises(TargetError, match="does not exist"):
        ws.set_traffic("ep-one", {"x": 100}, {})


@pytest.mark.parametrize(
    "old, pct, expected",
    [
        ({"a": 100}, 10, {"n": 10, "a": 90}),
        ({"a": 50, "b": 50}, 25, {"n": 25, "a": 38, "b": 37}),
        ({"a": 70, "b": 30}, 100, {"n": 100}),
        ({"a": 1, "b": 1, "c": 1}, 0, {"a": 34, "b": 33, "c": 33}),
    ],
)
def test_split_always_sums_to_100(old, pct, expected) -> None:
    got = split(old, "n", pct)
    assert got == expected and sum(got.values()) == 100


def test_traffic_steps_first_deploy_goes_straight_to_100() -> None:
    assert traffic_steps({}, "n", [10, 100]) == [{"n": 100}]
    assert traffic_steps({"n": 100}, "n", [10, 100]) == [{"n": 100}]
    assert traffic_steps({"o": 100}, "n", [10, 100]) == [{"n": 10, "o": 90}, {"n": 100}]


def test_real_plan_engine_reads_a_new_model_as_blue_green(tmp_path: Path, ws: FakeWorkspace, clock: Clock) -> None:
    """With the project's own diff, planning from desired() alone (no render): a new model is +model,
    +deployment, ~traffic, ~endpoint tags, -old deployment; applying that plan converges to no changes."""
    from modeldeploy.planning import diff
    from modeldeploy.planning.plan import Plan

    target = make_target(ws, clock)
    spec = write_spec(tmp_path)

    def plan_for(ctx):
        desired = target.desired(ctx, [])
        changes = diff.diff_resources(desired, target.observe(ctx, desired, ObserveOptions()))
        return Plan("iris-classifier", "azureml", None, "live", tuple(changes))

    ctx1 = context(spec, digest=DIGEST_1)
    target.apply(ctx1, plan_for(ctx1), target.render(ctx1), Progress())
    (old,) = serving(ws)
    ctx2 = context(spec, digest=DIGEST_2)
    plan = plan_for(ctx2)
    got = {c.address: c.action.value for c in plan.changes if c.action.value != "no-op"}
    assert got.pop(f"azureml_online_deployment.iris-classifier/{old}") == "delete"
    assert got.pop("azureml_model.iris-classifier") == "create"
    assert got.pop("azureml_traffic.iris-classifier") == "update"
    assert got.pop("azureml_online_endpoint.iris-classifier") == "update"
    assert list(got.values()) == ["create"]
    target.apply(ctx2, plan, target.render(ctx2), Progress())
    assert not plan_for(ctx2).has_changes


def test_the_lifecycle_tests_see_a_broken_plan_engine(
    tmp_path: Path, ws: FakeWorkspace, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They plan with the product's diff: break it on purpose (every change an update, as a diff that
    ignores whether a resource exists would) and the first lifecycle test goes red."""
    import dataclasses

    from modeldeploy.planning import diff
    from modeldeploy.planning.plan import Action

    real = diff.diff_resources
    monkeypatch.setattr(
        diff, "diff_resources", lambda d, o: [dataclasses.replace(c, action=Action.UPDATE) for c in real(d, o)]
    )
    with pytest.raises(AssertionError):
        test_first_apply_creates_everything_and_replan_is_clean(tmp_path, ws, clock)
