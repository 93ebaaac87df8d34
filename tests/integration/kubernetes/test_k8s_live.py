"""observe / apply / prune / rollout / rollback / destroy through the REAL kubernetes Python client.

No Kubernetes API server can run here, so these tests talk HTTP to :mod:`fakeapi`, an in-process
server on 127.0.0.1 implementing the slice of the API the target uses (GET, LIST with selectors,
server-side apply PATCH with per-field ownership, fieldManager/force/dryRun, 409 and 422, DELETE with
propagationPolicy, namespaces, defaulting, generation bumps) while
the test drives object status (rollouts, readiness, failures) through its ``controllers``. The plans
are computed by modeldeploy's own plan engine (``diff_resources``) from desired() and observe().
Set MODELDEPLOY_K8S_KUBECONFIG to run the non-status tests against a real (kind) cluster instead.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.errors import ApplyError, MissingDependencyError, TargetError
from modeldeploy.planning.diff import diff_resources
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.progress import Progress
from modeldeploy.targets.kubernetes import meta
from modeldeploy.targets.kubernetes.target import KubernetesTargetImpl
from tests.integration.kubernetes.conftest import Cluster
from tests.unit.targets.kubernetes.k8s_case import context, merge, write_spec


class Deploy:
    """One deploy.yaml in a tmp dir, planned and applied with a fresh target instance each time."""

    def __init__(self, cluster: Cluster, tmp_path: Path, **spec: Any):
        self.cluster = cluster
        self.tmp_path = tmp_path
        self.spec = merge({"target": {"namespace": cluster.namespace}}, spec)
        self.progress = Progress(io.StringIO())

    def change(self, **spec: Any) -> None:
        self.spec = merge(self.spec, spec)

    @property
    def plan_options(self) -> Any:
        """The run options a plan of this deployment observes with (the target keeps none itself)."""
        return self.cluster.options()

    def plan(self, **extra: Any) -> tuple[KubernetesTargetImpl, Any, list, Plan, Any]:
        target = KubernetesTargetImpl()
        ctx = context(write_spec(self.tmp_path, **self.spec))
        arts = target.render(ctx)
        desired = target.desired(ctx, arts)
        options = self.cluster.options(**extra)
        observed = target.observe(ctx, desired, options)
        plan = Plan(
            ctx.spec.name,
            "kubernetes",
            None,
            "live",
            tuple(diff_resources(desired, observed)),
            options=options,
            observed=observed,
        )
        return target, ctx, arts, plan, observed

    def apply(self, **extra: Any) -> tuple[Plan, Any]:
        target, ctx, arts, plan, _ = self.plan(**extra)
        return plan, target.apply(ctx, plan, arts, self.progress)

    def actions(self, **extra: Any) -> dict[str, str]:
        return {c.address: c.action.value for c in self.plan(**extra)[3].changes if c.action is not Action.NOOP}


def healthy(obj: dict[str, Any]) -> None:
    """A Deployment controller that rolls out at once."""
    n = obj["spec"].get("replicas", 1)
    obj["status"] = {
        "observedGeneration": obj["metadata"]["generation"],
        "replicas": n,
        "updatedReplicas": n,
        "availableReplicas": n,
        "readyReplicas": n,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}],
    }


def slow(polls: int):
    """A Deployment controller that needs ``polls`` GETs per generation before it is available."""
    seen: dict[int, int] = {}

    def controller(obj: dict[str, Any]) -> None:
        gen = obj["metadata"]["generation"]
        seen[gen] = seen.get(gen, 0) + 1
        n = obj["spec"].get("replicas", 1)
        if seen[gen] < polls:
            obj["status"] = {
                "observedGeneration": gen,
                "replicas": n + 1,
                "updatedReplicas": n,
                "availableReplicas": n - 1,
            }
        else:
            healthy(obj)

    return controller


def test_first_apply_creates_everything_with_server_side_apply_in_order(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.fake
    if fake:
        fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, scaling={"min_replicas": 1, "max_replicas": 3})
    plan, result = d.apply()
    ns = cluster.namespace
    assert {c.address: c.action for c in plan.changes} == {
        f"configmap.{ns}.iris-applyset": Action.CREATE,
        f"serviceaccount.{ns}.iris": Action.CREATE,
        f"service.{ns}.iris": Action.CREATE,
        f"deployment.{ns}.iris": Action.CREATE,
        f"horizontalpodautoscaler.{ns}.iris": Action.CREATE,
        f"poddisruptionbudget.{ns}.iris": Action.CREATE,
        f"networkpolicy.{ns}.iris": Action.CREATE,
    }
    assert result.changed[0] == f"configmap.{ns}.iris-applyset"
    assert result.outputs == {"namespace": ns, "deployment": "iris"}
    if fake:
        applies = fake.applies()
        assert [r.body["kind"] for r in applies] == [
            "ConfigMap",
            "ServiceAccount",
            "NetworkPolicy",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
        ]
        for r in applies:
            assert r.content_type == "application/apply-patch+yaml"
            assert r.query["fieldManager"] == "modeldeploy" and r.query["force"] == "true"
        assert fake.get("deployments", ns, "iris")["spec"]["template"]["spec"]["containers"][0][
            "terminationMessagePath"
        ]


def test_a_second_plan_is_empty_despite_server_defaults(cluster: Cluster, tmp_path: Path) -> None:
    if cluster.fake:
        cluster.fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, target={"ingress": {"host": "iris.example.com"}})
    d.apply()
    assert d.actions() == {}
    # Without the dry-run merge, projection alone still hides defaulted fields the render never sets.
    assert d.actions(server_dry_run=False) == {}


def test_dry_run_hides_quantity_normalisation_that_projection_alone_shows(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, resources={"cpu": "1000m", "memory": "1Gi"})
    d.apply()
    assert (
        fake.get("deployments", "models", "iris")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
            "cpu"
        ]
        == "1"
    )
    assert d.actions() == {}
    assert d.actions(server_dry_run=False) == {"deployment.models.iris": "update"}
    assert any(r.query.get("dryRun") == "All" for r in fake.requests)


def test_observe_falls_back_when_dry_run_is_forbidden(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    d.apply()
    fake.fail[("PATCH", "deployments")] = (403, 'deployments.apps "iris" is forbidden: User "ci" cannot patch')
    assert d.actions() == {}


def test_model_change_updates_the_workload_only_and_waits_for_the_rollout(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    d.apply()
    fake.controllers["Deployment"] = slow(3)
    d.change(serving={"env": {"LOG_LEVEL": "debug"}})
    plan, result = d.apply()
    changed = {c.address: c.action for c in plan.changes if c.action is not Action.NOOP}
    assert changed == {"deployment.models.iris": Action.UPDATE}
    assert result.changed == ("deployment.models.iris",)
    lines = "\n".join(d.progress.events)
    assert "rollout of deployment models/iris: 1/1 updated, 0 available, 1 old pending termination" in lines
    assert "✓ deployment models/iris: 1/1 updated, 1 available" in lines


def test_deployed_signature_and_model_are_read_back(cluster: Cluster, tmp_path: Path) -> None:
    if cluster.fake:
        cluster.fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    _, _, _, _, before = d.plan()
    assert before.deployed_signature is None and before.resources == {}
    d.apply()
    _, ctx, _, _, observed = d.plan()
    assert observed.deployed_signature == ctx.model.signature.to_canonical()
    assert observed.deployed_model["digest"] == ctx.ref.digest
    assert observed.deployed_model["uri"] == ctx.ref.pinned_uri
    fingerprints = {r.fingerprint for r in observed.resources.values()}
    assert all(fingerprints) and len(fingerprints) == len(observed.resources)


def test_objects_no_longer_rendered_are_pruned_and_nothing_else(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(
        cluster, tmp_path, scaling={"min_replicas": 1, "max_replicas": 3}, target={"ingress": {"host": "a.example.com"}}
    )
    d.apply()
    # Neighbours: same kinds, same namespace, one even with the same app labels, none in our ApplySet.
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "other", "namespace": "models", "labels": {meta.NAME: "iris"}},
            "spec": {},
        }
    )
    fake.put(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {
                "name": "foreign",
                "namespace": "models",
                "labels": {meta.APPLYSET_PART_OF: meta.applyset_id("x-applyset", "models")},
            },
            "spec": {},
        }
    )
    d.change(scaling={"min_replicas": 2, "max_replicas": 2}, target={"ingress": None})
    d.spec["target"].pop("ingress")
    target, ctx, arts, plan, _ = d.plan()
    assert {c.address: c.action.value for c in plan.changes if c.action is not Action.NOOP} == {
        "configmap.models.iris-applyset": "update",  # contains-group-kinds shrinks
        "deployment.models.iris": "update",  # replicas now set: no HPA
        "horizontalpodautoscaler.models.iris": "delete",
        "ingress.models.iris": "delete",
    }
    result = target.apply(ctx, plan, arts, d.progress)
    assert set(result.changed) >= {"horizontalpodautoscaler.models.iris", "ingress.models.iris"}
    assert fake.get("horizontalpodautoscalers", "models", "iris") is None
    assert fake.get("ingresses", "models", "iris") is None
    assert fake.get("services", "models", "other") is not None
    assert fake.get("horizontalpodautoscalers", "models", "foreign") is not None
    assert {(r.path.rsplit("/", 2)[-2], r.path.rsplit("/", 1)[-1]) for r in fake.deletes()} == {
        ("horizontalpodautoscalers", "iris"),
        ("ingresses", "iris"),
    }
    assert d.actions() == {}


def test_prune_refuses_an_object_that_lost_the_applyset_label(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, target={"ingress": {"host": "a.example.com"}})
    d.apply()
    d.spec["target"].pop("ingress")
    target, ctx, arts, plan, _ = d.plan()
    assert "ingress.models.iris" in {c.address for c in plan.changes if c.action is Action.DELETE}
    # Someone adopts the Ingress between plan and apply: it is no longer ours to delete.
    fake.get("ingresses", "models", "iris")["metadata"]["labels"].pop(meta.APPLYSET_PART_OF)
    target.apply(ctx, plan, arts, d.progress)
    assert fake.get("ingresses", "models", "iris") is not None
    assert any("not deleting ingress.models.iris" in e for e in d.progress.events)


def _failing_pod(fake) -> None:
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "iris-7d4f-abcde",
                "namespace": "models",
                "labels": {meta.NAME: "iris", meta.INSTANCE: "iris"},
            },
            "status": {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "model",
                        "state": {
                            "waiting": {
                                "reason": "ImagePullBackOff",
                                "message": 'Back-off pulling image "iris:0839146f4a76"',
                            }
                        },
                    }
                ],
            },
        }
    )
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "iris-7d4f-abcde.1", "namespace": "models"},
            "involvedObject": {"kind": "Pod", "name": "iris-7d4f-abcde"},
            "type": "Warning",
            "reason": "Failed",
            "message": "Failed to pull image: not found",
        }
    )


def _deadline_exceeded(obj: dict[str, Any]) -> None:
    obj["status"] = {
        "observedGeneration": obj["metadata"]["generation"],
        "replicas": 2,
        "updatedReplicas": 1,
        "availableReplicas": 1,
        "conditions": [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "iris-7d4f" has timed out progressing.',
            }
        ],
    }


def test_failed_rollout_reports_the_pods_reasons(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    d.apply()
    fake.controllers["Deployment"] = _deadline_exceeded
    _failing_pod(fake)
    d.change(serving={"env": {"NEW": "1"}})
    with pytest.raises(ApplyError) as err:
        d.apply()
    message = str(err.value)
    assert "rollout of deployment models/iris failed: ProgressDeadlineExceeded" in message
    assert "ImagePullBackOff" in message
    assert any("event Failed: Failed to pull image: not found" in e for e in d.progress.events)
    env = fake.get("deployments", "models", "iris")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "NEW", "value": "1"} in env  # no rollback unless asked


def test_failed_rollout_rolls_back_when_asked(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    d.apply()
    old_template = fake.get("deployments", "models", "iris")["spec"]["template"]
    fake.controllers["Deployment"] = _deadline_exceeded
    _failing_pod(fake)
    d.change(serving={"env": {"NEW": "1"}}, target={"ingress": {"host": "new.example.com"}})
    with pytest.raises(ApplyError, match="rolled back"):
        d.apply(rollback_on_failure=True)
    assert fake.get("deployments", "models", "iris")["spec"]["template"] == old_template
    assert fake.get("ingresses", "models", "iris") is None  # created by the failed apply, removed again


def test_rollback_reads_its_own_deployments_objects_when_one_target_serves_several(
    cluster: Cluster, tmp_path: Path
) -> None:
    """get_target() is cached, so one instance observes every deployment of a run before any is
    applied. Rolling back the first must re-apply *its* previous objects; reading the last-observed
    deployment's instead made it delete iris's Deployment as "created by this apply"."""
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    (tmp_path / "iris").mkdir()
    (tmp_path / "other").mkdir()
    iris, other = Deploy(cluster, tmp_path / "iris"), Deploy(cluster, tmp_path / "other", name="other")
    iris.apply()
    other.apply()
    old_template = fake.get("deployments", "models", "iris")["spec"]["template"]
    fake.controllers["Deployment"] = _deadline_exceeded
    _failing_pod(fake)
    iris.change(serving={"env": {"NEW": "1"}})

    shared = KubernetesTargetImpl()
    options = cluster.options(rollback_on_failure=True)
    planned = []
    for d in (iris, other):  # both observed before either is applied, as `modeldeploy apply a b` does
        ctx = context(write_spec(d.tmp_path, **d.spec))
        arts = shared.render(ctx)
        desired = shared.desired(ctx, arts)
        observed = shared.observe(ctx, desired, options)
        planned.append(
            (
                ctx,
                arts,
                Plan(
                    ctx.spec.name,
                    "kubernetes",
                    None,
                    "live",
                    tuple(diff_resources(desired, observed)),
                    options=options,
                    observed=observed,
                ),
            )
        )
    ctx, arts, plan = planned[0]
    assert [c.address for c in plan.changes if c.action is not Action.NOOP] == ["deployment.models.iris"]
    with pytest.raises(ApplyError, match="rolled back to the previously observed objects"):
        shared.apply(ctx, plan, arts, iris.progress)
    assert fake.get("deployments", "models", "iris") is not None, "rollback deleted a Deployment that existed before"
    assert fake.get("deployments", "models", "iris")["spec"]["template"] == old_template
    assert fake.get("deployments", "models", "other") is not None


def test_rollout_timeout(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = slow(10_000)
    d = Deploy(cluster, tmp_path)
    with pytest.raises(ApplyError, match=r"timed out after 0.2s"):
        d.apply(timeout=0.2)


def test_inference_service_waits_for_ready(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    polls = {"n": 0}

    def kserve(obj: dict[str, Any]) -> None:
        polls["n"] += 1
        ready = "True" if polls["n"] > 2 else "False"
        obj["status"] = {
            "observedGeneration": obj["metadata"]["generation"],
            "url": "http://iris.models.example.com",
            "conditions": [
                {"type": "Ready", "status": ready, "reason": "PredictorNotReady" if ready == "False" else ""}
            ],
        }

    fake.controllers["InferenceService"] = kserve
    d = Deploy(cluster, tmp_path, target={"flavor": "kserve", "storage_uri": "s3://models/iris/3"})
    _, result = d.apply()
    assert "inferenceservice.models.iris" in result.changed
    assert any("PredictorNotReady" in e for e in d.progress.events)
    assert any("ready at http://iris.models.example.com" in e for e in d.progress.events)


def test_cluster_without_kserve_gives_a_clear_error(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.installed.discard("inferenceservices")
    d = Deploy(cluster, tmp_path, target={"flavor": "kserve", "storage_uri": "s3://models/iris/3"})
    assert d.actions()["inferenceservice.models.iris"] == "create"  # LIST/GET of a missing API: nothing there
    with pytest.raises(TargetError, match="apply InferenceService models/iris"):
        d.apply()


def test_changed_job_template_replaces_the_job(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    batch = {"mode": "batch", "batch": {"input": "/data/in.csv", "output": "/data/out.json", "claim": "scoring"}}
    d = Deploy(cluster, tmp_path, target=batch)
    d.apply()
    assert d.actions() == {}
    first_uid = fake.get("jobs", "models", "iris")["metadata"]["uid"]
    d.change(target={"batch": {"output": "/data/out2.json"}})
    target, ctx, arts, plan, _ = d.plan()
    job = next(c for c in plan.changes if c.address == "job.models.iris")
    assert job.action is Action.REPLACE and "immutable" in job.reason
    fake.linger[("jobs", "models", "iris")] = 2  # the Job's pods take a moment to go
    target.apply(ctx, plan, arts, d.progress)
    new = fake.get("jobs", "models", "iris")
    assert new["metadata"]["uid"] != first_uid
    assert new["spec"]["template"]["spec"]["containers"][0]["args"] == ["predict", "/data/in.csv", "/data/out2.json"]


def test_destroy_deletes_exactly_the_deployments_objects(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, scaling={"min_replicas": 1, "max_replicas": 2})
    d.apply()
    fake.put(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "neighbour", "namespace": "models"}, "spec": {}}
    )
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "iris-settings", "namespace": "models", "labels": {meta.NAME: "iris"}},
        }
    )
    fake.linger[("deployments", "models", "iris")] = 3
    target, ctx, _, _, observed = d.plan()
    result = target.destroy(ctx, observed, d.progress, d.plan_options)
    assert set(result.changed) == {
        "configmap.models.iris-applyset",
        "serviceaccount.models.iris",
        "service.models.iris",
        "deployment.models.iris",
        "horizontalpodautoscaler.models.iris",
        "poddisruptionbudget.models.iris",
        "networkpolicy.models.iris",
    }
    assert result.changed[-1] == "configmap.models.iris-applyset"  # the parent goes last
    remaining = sorted(name for (_, _, name) in fake.objects)
    assert remaining == ["iris-settings", "neighbour"]
    assert all(r.query.get("propagationPolicy") == "Foreground" for r in fake.deletes())


def test_destroy_on_a_real_or_fake_cluster_leaves_nothing(cluster: Cluster, tmp_path: Path) -> None:
    if cluster.fake:
        cluster.fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    d.apply()
    target, ctx, _, _, observed = d.plan()
    target.destroy(ctx, observed, d.progress, d.plan_options)
    _, _, _, plan, after = d.plan()
    assert after.resources == {}
    assert all(c.action is Action.CREATE for c in plan.changes)


def test_api_errors_become_target_errors_with_the_servers_message(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.fail[("PATCH", "services")] = (
        422,
        "Service \"iris\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    )
    d = Deploy(cluster, tmp_path)
    with pytest.raises(TargetError) as err:
        d.apply()
    assert "apply Service models/iris" in str(err.value) and "nodePort: Forbidden" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_unreachable_api_server_is_a_target_error(tmp_path: Path) -> None:
    from tests.integration.kubernetes.fakeapi import FakeApiServer

    with FakeApiServer() as server:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
    ctx = context(write_spec(tmp_path))
    target = KubernetesTargetImpl()
    opts = ObserveOptions(extra={"kubeconfig": kubeconfig})
    with pytest.raises(TargetError, match="Kubernetes API"):
        target.observe(ctx, target.desired(ctx, target.render(ctx)), opts)


def test_missing_kubeconfig_is_a_target_error(tmp_path: Path) -> None:
    ctx = context(write_spec(tmp_path))
    target = KubernetesTargetImpl()
    opts = ObserveOptions(extra={"kubeconfig": str(tmp_path / "nope")})
    with pytest.raises(TargetError, match="kubeconfig"):
        target.observe(ctx, [], opts)


def test_missing_kubernetes_package_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The narrowest honest seam: make `import kubernetes` fail as it does when the extra is absent."""
    import sys

    monkeypatch.setitem(sys.modules, "kubernetes", None)
    ctx = context(write_spec(tmp_path))
    target = KubernetesTargetImpl()
    with pytest.raises(MissingDependencyError) as err:
        target.observe(ctx, [], ObserveOptions())
    assert err.value.hint == "pip install 'modeldeploy[kubernetes]'"


def test_children_that_inherit_our_labels_are_never_planned_or_deleted(cluster: Cluster, tmp_path: Path) -> None:
    """A CronJob's Jobs (and KServe's predictor Deployment) copy our labels but belong to their owner."""
    fake = cluster.need_fake()
    batch = {
        "mode": "batch",
        "schedule": "0 2 * * *",
        "batch": {"input": "/data/in.csv", "output": "/data/out.json", "claim": "scoring"},
    }
    d = Deploy(cluster, tmp_path, target=batch)
    d.apply()
    cron = fake.get("cronjobs", "models", "iris")
    child_labels = dict(cron["spec"]["jobTemplate"]["metadata"]["labels"])
    fake.put(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "iris-29000000",
                "namespace": "models",
                "labels": child_labels,
                "ownerReferences": [
                    {"apiVersion": "batch/v1", "kind": "CronJob", "name": "iris", "uid": cron["metadata"]["uid"]}
                ],
            },
            "spec": {"template": {"metadata": {}, "spec": {"containers": []}}},
        }
    )
    assert d.actions() == {}
    target, ctx, _, _, observed = d.plan()
    assert "job.models.iris-29000000" not in observed.resources
    target.destroy(ctx, observed, d.progress, d.plan_options)
    # modeldeploy never deletes the child itself; the API's cascade (the CronJob's propagationPolicy)
    # does, as the garbage collector would.
    assert not [r for r in fake.deletes() if r.path.endswith("/iris-29000000")]
    cron_delete = next(r for r in fake.deletes() if r.path.endswith("/cronjobs/iris"))
    assert (cron_delete.query.get("propagationPolicy") or cron_delete.body["propagationPolicy"]) in (
        "Foreground",
        "Background",
    )
    assert list(fake.objects) == []
