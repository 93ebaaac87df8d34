"""Projection of live objects onto the desired shape, and the rollout status rules (pure functions)."""

from __future__ import annotations

from modeldeploy.targets.kubernetes.live import project, strip_server_fields
from modeldeploy.targets.kubernetes.rollout import deployment_status, inference_service_status

DESIRED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "iris", "namespace": "models", "annotations": {"a": "1"}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "model",
                        "image": "iris:1",
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {"requests": {"cpu": "1000m"}},
                    }
                ]
            }
        },
    },
}

LIVE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "iris",
        "namespace": "models",
        "annotations": {"a": "1", "deployment.kubernetes.io/revision": "3"},
        "uid": "u",
        "resourceVersion": "9",
        "generation": 4,
        "managedFields": [{}],
        "creationTimestamp": "t",
    },
    "spec": {
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "template": {
            "spec": {
                "dnsPolicy": "ClusterFirst",
                "containers": [
                    {
                        "name": "model",
                        "image": "iris:1",
                        "terminationMessagePath": "/dev/termination-log",
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {"requests": {"cpu": "1"}},
                    }
                ],
            }
        },
    },
    "status": {"replicas": 1},
}


def test_strip_server_fields_drops_bookkeeping_and_status() -> None:
    clean = strip_server_fields(LIVE)
    assert "status" not in clean
    assert set(clean["metadata"]) == {"name", "namespace", "annotations"}
    assert "uid" in LIVE["metadata"]  # the input is not modified


def test_projection_keeps_only_desired_fields_but_shows_real_differences() -> None:
    body = project(DESIRED, strip_server_fields(LIVE))
    c = body["spec"]["template"]["spec"]["containers"][0]
    assert "terminationMessagePath" not in c and "replicas" not in body["spec"]
    assert body["metadata"]["annotations"] == {"a": "1"}
    assert c["resources"]["requests"]["cpu"] == "1"  # normalised by the server: a (spurious) difference


def test_dry_run_merge_turns_equivalent_fields_into_the_desired_value() -> None:
    live = strip_server_fields(LIVE)
    merged = strip_server_fields(LIVE)  # applying DESIRED would change nothing
    assert project(DESIRED, live, merged) == DESIRED


def test_dry_run_merge_reports_fields_the_apply_would_remove() -> None:
    live = strip_server_fields(LIVE)
    live["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "OLD", "value": "x"})
    merged = strip_server_fields(LIVE)  # the apply drops OLD (modeldeploy owned it, the render no longer has it)
    body = project(DESIRED, live, merged)
    assert body["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "OLD", "value": "x"},
    ]
    assert body != DESIRED


def test_list_items_added_by_others_are_ignored_when_the_apply_keeps_them() -> None:
    live = strip_server_fields(LIVE)
    sidecar = {"name": "istio-proxy", "image": "proxy"}
    live["spec"]["template"]["spec"]["containers"].append(sidecar)
    merged = strip_server_fields(live)
    merged["spec"]["template"]["spec"]["containers"][0]["image"] = "iris:2"  # a real change elsewhere
    desired = strip_server_fields(DESIRED)
    desired["spec"]["template"]["spec"]["containers"][0]["image"] = "iris:2"
    body = project(desired, live, merged)
    assert [c["name"] for c in body["spec"]["template"]["spec"]["containers"]] == ["model"]
    assert body["spec"]["template"]["spec"]["containers"][0]["image"] == "iris:1"


def _dep(**status):
    return {"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2, **status}}


def test_deployment_rollout_rules() -> None:
    assert not deployment_status({"metadata": {"generation": 3}, "spec": {}, "status": {"observedGeneration": 2}}).done
    assert not deployment_status(_dep(replicas=2, updatedReplicas=1, availableReplicas=2)).done
    assert not deployment_status(_dep(replicas=3, updatedReplicas=2, availableReplicas=2)).done  # old pod left
    assert not deployment_status(_dep(replicas=2, updatedReplicas=2, availableReplicas=1)).done
    assert deployment_status(_dep(replicas=2, updatedReplicas=2, availableReplicas=2)).done
    stuck = deployment_status(
        _dep(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "timed out"}])
    )
    assert stuck.failed and "ProgressDeadlineExceeded" in stuck.failed


def test_inference_service_ready_rules() -> None:
    isvc = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert inference_service_status(isvc).done
    isvc["metadata"]["generation"] = 2
    assert not inference_service_status(isvc).done  # Ready, but for the previous spec
    assert not inference_service_status({"metadata": {}, "status": {}}).done
