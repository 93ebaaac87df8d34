"""The JSON plan for machines (docs/plan-json.md): object-level resource_changes with structured,
redacted before/after in live, folder and git plans; the summary's findings counts; the
format_version convention. Every document is checked against schemas/plan.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from plan_samples import PLANTED, files_plan, live_plan, unchanged_plan

from modeldeploy.planning.filediff import diff_files
from modeldeploy.planning.formats import readable
from modeldeploy.planning.objects import parse_objects, sensitive_mask
from modeldeploy.planning.plan import Plan
from modeldeploy.planning.planfile import load_plan
from modeldeploy.planning.printers import format_json
from modeldeploy.rendering.artifact import Artifact

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "schemas" / "plan.schema.json").read_text())


def check(text: str) -> dict:
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return doc


DEPLOYMENT_OLD = b"""apiVersion: apps/v1
kind: Deployment
metadata: {name: iris, namespace: ml}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      containers:
      - name: main
        image: iris:1
        env:
        - {name: DB_PASSWORD, value: PLANTED-old}
---
apiVersion: v1
kind: Service
metadata: {name: iris, namespace: ml}
spec: {ports: [{port: 80}]}
"""
DEPLOYMENT_NEW = (
    DEPLOYMENT_OLD.replace(b"iris:1", b"iris:2")
    .replace(b"PLANTED-old", b"PLANTED-new")
    .replace(b"automountServiceAccountToken: false", b"automountServiceAccountToken: true")
)
DOCKERFILE = b'FROM python:3.11-slim\nENV DB_PASSWORD="PLANTED-x" LOG_LEVEL="info"\nCMD ["serve"]\n'


def folder_plan() -> Plan:
    desired = [
        Artifact("k8s/deployment.yaml", "application/yaml", DEPLOYMENT_NEW),
        Artifact(
            "sagemaker/CreateEndpoint.json",
            "application/json",
            b'{"EndpointName": "iris-prod", "EndpointConfigName": "c2"}',
        ),
        Artifact("Dockerfile", "text/plain", DOCKERFILE),
    ]
    current = {
        "k8s/deployment.yaml": DEPLOYMENT_OLD,
        "sagemaker/CreateEndpoint.json": b'{"EndpointName": "iris-prod", "EndpointConfigName": "c1"}',
        "azureml/endpoint.yml": b"$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: iris\n",
    }
    return Plan("iris", "kubernetes", None, "dir:out", tuple(diff_files(desired, current, "iris")))


def test_folder_plan_has_object_level_changes_redacted() -> None:
    doc = check(format_json([folder_plan()]))
    assert doc["format_version"] == "1.1"
    changes = {c["address"]: c for c in doc["plans"][0]["resource_changes"]}
    assert set(changes) == {
        "kubernetes/apps/v1/Deployment/ml/iris",  # the Service did not change: not listed
        "sagemaker/CreateEndpoint/iris-prod",
        "azureml/endpoint/iris",
        "docker/Dockerfile",
    }
    dep = changes["kubernetes/apps/v1/Deployment/ml/iris"]
    assert dep["type"] == "kubernetes/Deployment" and dep["file"] == "k8s/deployment.yaml"
    assert dep["change"]["actions"] == ["update"]
    pod = dep["change"]["after"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "iris:2" and pod["automountServiceAccountToken"] is True
    assert dep["change"]["before"]["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert pod["containers"][0]["env"][0]["value"] == "(sensitive)"
    assert dep["change"]["after_sensitive"] == {
        "spec": {"template": {"spec": {"containers": [{"env": [{"value": True}]}]}}}
    }
    assert changes["sagemaker/CreateEndpoint/iris-prod"]["change"]["before"]["EndpointConfigName"] == "c1"
    assert changes["azureml/endpoint/iris"]["change"]["actions"] == ["delete"]
    assert changes["azureml/endpoint/iris"]["change"]["after"] is None
    docker = changes["docker/Dockerfile"]["change"]
    assert docker["actions"] == ["create"] and docker["before"] is None
    env = docker["after"]["instructions"][1]
    assert env["instruction"] == "ENV" and env["values"] == {"DB_PASSWORD": "(sensitive)", "LOG_LEVEL": "info"}
    assert PLANTED not in json.dumps(doc)


def test_live_plan_resource_changes_terraform_style() -> None:
    plan = live_plan()
    doc = check(format_json([plan]))
    rc = doc["plans"][0]["resource_changes"]
    assert len(rc) == sum(1 for c in plan.changes if c.action.value != "no-op")
    by_action = {tuple(r["change"]["actions"]) for r in rc}
    assert {("create",), ("update",), ("delete",), ("delete", "create")} <= by_action
    replace = next(r for r in rc if r["change"]["actions"] == ["delete", "create"])
    assert replace["action_reason"] == "replace_because_cannot_update" and replace["reason"]
    assert PLANTED not in json.dumps(doc)


def test_summary_counts_actions_and_breaking_and_blocked_findings() -> None:
    live = live_plan()
    doc = check(format_json([live, files_plan(), unchanged_plan()]))
    assert doc["summary"]["breaking"] == 1 and doc["summary"]["blocked"] == 1 and doc["summary"]["warnings"] == 1
    allowed = Plan(**{**{f: getattr(live, f) for f in live.__dataclass_fields__}, "allow_breaking": True})
    doc = check(format_json([allowed]))
    assert doc["summary"]["breaking"] == 1 and doc["summary"]["blocked"] == 0


def test_schema_refuses_an_unknown_major_and_readers_too() -> None:
    doc = json.loads(format_json([unchanged_plan()]))
    doc["format_version"] = "2.0"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert readable("1", 1) and readable("1.7", 1) and not readable("2.0", 1) and not readable(1, 1)


def test_parse_objects_addresses_and_masks() -> None:
    objs = parse_objects("k8s/ns.yaml", b"apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n")
    assert objs is not None and list(objs) == ["kubernetes/v1/Namespace/ml"]
    assert parse_objects("model/model.pkl", b"\x00\x01") is None
    assert parse_objects("requirements.txt", b"mlflow\n") is None
    assert sensitive_mask({"a": [1, "(sensitive)"], "b": 2}) == {"a": [False, True]}
    assert sensitive_mask({"a": 1}) is False


GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "plan"


def test_every_emitted_json_plan_validates_golden_saved_lease_and_no_baseline() -> None:
    """The published schema describes every JSON plan the tool writes: the golden plan, the plans inside a
    saved plan file, and the optional parts (a held lease, no deployed baseline, an evaluation gate)."""
    check((GOLDEN / "plan.json").read_text())
    saved = load_plan(GOLDEN / "saved-plan.json")  # `plan PLANFILE --format json` shows a saved plan
    assert check(format_json(saved.plans))["plans"][0]["resource_changes"]
    live = live_plan()
    fields = {f: getattr(live, f) for f in live.__dataclass_fields__}
    lease = {
        "holder": "ci@runner",
        "operation": "apply",
        "acquired": "2026-01-01T00:00:00Z",
        "expires": "2026-01-01T00:05:00Z",
        "expired": False,
        "where": "tag on the endpoint",
        "gone": "",
    }
    evaluation = {"passed": True, "baseline": "none", "metrics": [], "cohorts": [], "fairness": [], "findings": []}
    doc = check(
        format_json(
            [Plan(**{**fields, "lease": lease, "no_baseline": "nothing is deployed", "evaluation": evaluation})]
        )
    )
    assert doc["plans"][0]["lease"]["holder"] == "ci@runner"
    assert doc["plans"][0]["no_baseline"] == "nothing is deployed"
    doc["plans"][0]["lease"]["unexpected"] = 1  # the schema is strict where it says so: not a rubber stamp
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
