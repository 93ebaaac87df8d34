"""model.register on a target without its own registry is an auxiliary resource: a live plan shows the
MLflow model version after the target's own objects (create, then no-op), apply registers it after the
deployment succeeded, and a plan against a folder only says what apply will do. Against a real `mlflow
server` and the Kubernetes API stand-in (tests/integration/kubernetes/fakeapi.py)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from modeldeploy import api
from modeldeploy.applier import apply
from modeldeploy.lease import LeaseSettings
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.plan import Action
from modeldeploy.progress import Progress
from tests.integration.kubernetes.fakeapi import FakeApiServer
from tests.unit.targets.kubernetes.k8s_case import MODEL

pytestmark = pytest.mark.integration


def _healthy(obj: dict) -> None:
    n = obj["spec"].get("replicas", 1)
    obj["status"] = {
        "observedGeneration": obj["metadata"]["generation"],
        "replicas": n,
        "updatedReplicas": n,
        "availableReplicas": n,
        "readyReplicas": n,
    }


def test_registration_is_planned_and_applied_after_the_deployment(registry, tmp_path: Path) -> None:
    shutil.copytree(MODEL, tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "modeldeploy/v1",
                "name": "iris",
                "model": {
                    "source": "./model",
                    "tracking_uri": registry.url,
                    "register": {"name": "aux-iris", "tags": {"team": "ml"}},
                },
                "target": {"kind": "kubernetes", "namespace": "models"},
            }
        )
    )
    dep = api.load(tmp_path / "deploy.yaml")

    folder = tmp_path / "rendered"
    folder.mkdir()
    review, _ = api.plan(dep, f"dir:{folder}")
    assert not any(c.kind == "mlflow_model_version" for c in review.changes)
    assert any("apply registers the model in the MLflow registry as 'aux-iris'" in n for n in review.notes)

    with FakeApiServer() as server:
        server.cluster.controllers["Deployment"] = _healthy
        options = ObserveOptions(
            timeout_seconds=5.0, extra={"kubeconfig": server.kubeconfig(tmp_path / "kubeconfig"), "poll_seconds": 0.01}
        )
        plan, _ = api.plan(dep, "live", options=options)
        last = plan.changes[-1]
        assert (last.address, last.action) == ("mlflow_model_version.aux-iris", Action.CREATE)
        assert plan.changes[0].kind == "configmap"

        out = io.StringIO()
        result = apply(dep, plan, progress=Progress(out), options=options, lease=LeaseSettings(seconds=0))
        # The deployment's objects first, the registration last.
        assert result.changed[-1] == "mlflow_model_version.aux-iris"
        assert any(c.startswith("deployment.") for c in result.changed[:-1])
        assert result.outputs["registered_version"] == "aux-iris/1"
        assert out.getvalue().index("deployment.models.iris") < out.getvalue().index("registered aux-iris version 1")

        again, _ = api.plan(dep, "live", options=options)
        last = again.changes[-1]
        assert (last.address, last.action, last.before["version"]) == (
            "mlflow_model_version.aux-iris",
            Action.NOOP,
            "1",
        )
        assert not again.has_changes
