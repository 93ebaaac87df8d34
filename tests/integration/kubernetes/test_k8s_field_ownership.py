"""Server-side apply with other field managers, immutable fields, namespaces and delete propagation:
the product (real kubernetes client) against the fake API server, whose SSA keeps ownership per
field (see fakeapi's docstring for what it models and what it does not: lists are atomic there).

The fake's own rules are checked first on raw requests (409 without force, 422 on an immutable
field, 404 for a missing namespace, the three propagation policies), so that the product tests
below stand on a stand-in that is known to answer like the API does in those cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeldeploy.errors import ApplyError, TargetError
from tests.integration.kubernetes.conftest import Cluster
from tests.integration.kubernetes.fakeapi import FakeCluster
from tests.integration.kubernetes.test_k8s_live import Deploy, healthy

APPLY = {"content-type": "application/apply-patch+yaml"}
PATH = "/apis/apps/v1/namespaces/models/deployments/web"


def _deployment(replicas: int | None = 2, selector: str = "web", annotations: dict | None = None) -> dict:
    spec = {
        "selector": {"matchLabels": {"app": selector}},
        "template": {
            "metadata": {"labels": {"app": selector}},
            "spec": {"containers": [{"name": "c", "image": "i:1"}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    md = {"name": "web", "namespace": "models", **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": spec}


def _apply(fake: FakeCluster, body: dict, manager: str, force: bool = False, path: str = PATH) -> tuple[int, dict]:
    query = f"?fieldManager={manager}" + ("&force=true" if force else "")
    return fake.handle("PATCH", path + query, APPLY, json.dumps(body).encode())


# --- the stand-in's rules, on raw requests ------------------------------------------------------------


def test_the_fake_answers_409_on_a_conflict_without_force_and_moves_ownership_with_it() -> None:
    fake = FakeCluster()
    assert _apply(fake, _deployment(2), "modeldeploy")[0] == 201
    code, status = _apply(fake, _deployment(3), "kubectl")
    assert code == 409 and 'conflict with "modeldeploy": .spec.replicas' in status["message"]
    assert fake.get("deployments", "models", "web")["spec"]["replicas"] == 2
    assert _apply(fake, _deployment(2), "kubectl")[0] == 200  # the same value: shared, no conflict
    assert fake.managers_of("deployments", "models", "web", ("spec", "replicas")) == {"modeldeploy", "kubectl"}
    assert _apply(fake, _deployment(3), "kubectl", force=True)[0] == 200
    assert fake.managers_of("deployments", "models", "web", ("spec", "replicas")) == {"kubectl"}
    managers = {m["manager"]: m for m in fake.get("deployments", "models", "web")["metadata"]["managedFields"]}
    assert "f:replicas" in managers["kubectl"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in managers["modeldeploy"]["fieldsV1"]["f:spec"]


def test_the_fake_keeps_fields_the_config_omits_when_someone_else_owns_them() -> None:
    fake = FakeCluster()
    _apply(fake, _deployment(2, annotations={"mine": "1"}), "modeldeploy")
    fake.update_fields(
        "deployments", "models", "web", {("metadata", "annotations", "oncall"): "team-a"}, "kubectl-edit"
    )
    _apply(fake, _deployment(None), "modeldeploy")  # stops applying replicas and its own annotation
    obj = fake.get("deployments", "models", "web")
    assert obj["metadata"]["annotations"] == {"oncall": "team-a"}
    assert obj["spec"]["replicas"] == 1  # no longer owned by anyone: removed, then defaulted


def test_the_fake_answers_422_on_an_immutable_field() -> None:
    fake = FakeCluster()
    _apply(fake, _deployment(2), "modeldeploy")
    code, status = _apply(fake, _deployment(2, selector="other"), "modeldeploy", force=True)
    assert code == 422 and "spec.selector" in status["message"] and "immutable" in status["message"]
    assert fake.get("deployments", "models", "web")["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_the_fake_knows_which_namespaces_exist() -> None:
    fake = FakeCluster(namespaces={"elsewhere"})
    code, status = _apply(fake, _deployment(2), "modeldeploy")
    assert code == 404 and status["message"] == 'namespaces "models" not found'
    assert fake.handle("GET", "/apis/apps/v1/namespaces/models/deployments", {}, b"")[1]["items"] == []


@pytest.mark.parametrize(
    "policy,owner_after_delete,child_left",
    [
        ("Orphan", False, True),
        ("Background", False, False),
        ("Foreground", True, False),
    ],
)
def test_the_fake_honours_propagation_policy(policy: str, owner_after_delete: bool, child_left: bool) -> None:
    fake = FakeCluster()
    owner = fake.put(_deployment(1))
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web-1",
                "namespace": "models",
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner["metadata"]["uid"]}
                ],
            },
            "spec": {},
        }
    )
    code, _ = fake.handle(
        "DELETE",
        PATH,
        {"content-type": "application/json"},
        json.dumps({"kind": "DeleteOptions", "propagationPolicy": policy}).encode(),
    )
    assert code == 200
    assert (fake.get("deployments", "models", "web") is not None) == owner_after_delete
    if owner_after_delete:
        assert fake.get("deployments", "models", "web")["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert fake.handle("GET", PATH, {}, b"")[0] == 404  # gone once its dependents are
    pod = fake.get("pods", "models", "web-1")
    assert (pod is not None) == child_left
    if pod is not None:
        assert pod["metadata"]["ownerReferences"] == []


# --- the product against those rules ------------------------------------------------------------------


def test_an_hpa_owned_replicas_survives_apply(cluster: Cluster, tmp_path: Path) -> None:
    """With an HPA (max > min) modeldeploy does not apply spec.replicas, so what the autoscaler set
    stays, through a later apply that changes the workload, and the next plan is clean."""
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, scaling={"min_replicas": 2, "max_replicas": 6})
    d.apply()
    assert d.actions() == {}
    fake.update_fields("deployments", "models", "iris", {("spec", "replicas"): 5}, "kube-controller-manager")
    d.change(serving={"env": {"LOG_LEVEL": "debug"}})
    d.apply()
    obj = fake.get("deployments", "models", "iris")
    assert obj["spec"]["replicas"] == 5
    assert fake.managers_of("deployments", "models", "iris", ("spec", "replicas")) == {"kube-controller-manager"}
    assert "LOG_LEVEL" in json.dumps(obj["spec"]["template"]) and "debug" in json.dumps(obj["spec"]["template"])
    assert d.actions() == {}


def test_without_an_hpa_modeldeploy_takes_replicas_back(cluster: Cluster, tmp_path: Path) -> None:
    """min == max: modeldeploy owns replicas and applies with force, so a manual scale is undone."""
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path, scaling={"min_replicas": 2, "max_replicas": 2})
    d.apply()
    fake.update_fields("deployments", "models", "iris", {("spec", "replicas"): 7}, "kubectl-scale")
    assert d.actions() != {}  # the drift shows in the plan
    d.apply()
    assert fake.get("deployments", "models", "iris")["spec"]["replicas"] == 2
    assert fake.managers_of("deployments", "models", "iris", ("spec", "replicas")) == {"modeldeploy"}


def test_an_annotation_another_manager_added_survives_apply(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.controllers["Deployment"] = healthy
    d = Deploy(cluster, tmp_path)
    d.apply()
    fake.update_fields(
        "deployments", "models", "iris", {("metadata", "annotations", "oncall.example.com/team"): "a"}, "kubectl-edit"
    )
    d.change(serving={"env": {"LOG_LEVEL": "debug"}})
    d.apply()
    assert fake.get("deployments", "models", "iris")["metadata"]["annotations"]["oncall.example.com/team"] == "a"


def test_apply_into_a_namespace_that_does_not_exist_is_a_clear_error(cluster: Cluster, tmp_path: Path) -> None:
    fake = cluster.need_fake()
    fake.namespaces = {"elsewhere"}
    with pytest.raises(
        (TargetError, ApplyError), match='namespaces \\\\"?models\\\\"? not found|namespaces "models" not found'
    ):
        Deploy(cluster, tmp_path).apply()


def test_a_product_that_applies_replicas_despite_an_hpa_is_caught(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break the product on purpose (it forgets the HPA and applies replicas with force): the HPA test
    must go red, because the autoscaler's value is overwritten."""
    from modeldeploy.targets.kubernetes import manifests

    monkeypatch.setattr(manifests, "_has_hpa", lambda ctx: False)
    with pytest.raises(AssertionError):
        test_an_hpa_owned_replicas_survives_apply(cluster, tmp_path)
