"""An in-memory Azure ML workspace implementing the target's adapter protocol (AzureMLAPI).

There is no Azure ML emulator, so apply/observe are tested through the adapter seam against this
fake. It enforces the service rules the target must respect — traffic sums to 0 or 100, at most one
mirrored deployment at ≤ 50% that takes no live traffic, traffic only to existing deployments,
deployment names lowercased, no deleting a deployment that takes traffic, endpoint names per Azure's
rule, an endpoint's compute is immutable, model versions increment — and it reports objects the
way the service does (ARM ids for models and compute, enum case changed, defaults filled in), so
the target's normalisation is exercised. That the adapter calls the real SDK correctly is tested
separately against create_autospec of the SDK operations classes (test_azureml_client.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import TargetError
from modeldeploy.spec.targets.azureml import check_azure_name
from modeldeploy.targets.azureml.naming import TAG_DIGEST
from modeldeploy.targets.azureml.workspace import (
    DeploymentFailed,
    DeploymentState,
    EndpointState,
    ModelVersion,
    normalise_traffic,
)

ARM = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


class FakeWorkspace:
    def __init__(self) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}
        self.models: dict[str, list[ModelVersion]] = {}
        self.model_files: dict[tuple[str, str], list[str]] = {}
        self.archived: set[tuple[str, str]] = set()
        self.fail_create: dict[str, str] = {}  # deployment name -> reason (provisioning fails)
        self.fail_later: set[str] = set()  # deployment names that turn Failed when watched
        self.calls: list[str] = []
        self.traffic_history: list[tuple[dict[str, int], dict[str, int]]] = []
        self._tick = 0

    # --- helpers ---------------------------------------------------------------------------------

    def _stamp(self) -> str:
        self._tick += 1
        return f"2024-01-01T00:00:{self._tick:02d}Z"

    def _check_traffic(
        self, ep: str, traffic: Mapping[str, int], mirror: Mapping[str, int], kind: str
    ) -> tuple[dict[str, int], dict[str, int]]:
        t, m = normalise_traffic(traffic), normalise_traffic(mirror)
        for name in [*t, *m]:
            if (ep, name) not in self.deployments:
                raise TargetError(f"traffic names deployment {name!r} which does not exist on {ep}")
        if t and sum(t.values()) != 100:
            raise TargetError(f"traffic on {ep} must sum to 0 or 100, not {sum(t.values())}")
        if m:
            if kind == "kubernetes":
                raise TargetError("mirror traffic is not supported on Kubernetes endpoints")
            if len(m) > 1 or any(v > 50 for v in m.values()):
                raise TargetError("mirror traffic: one deployment, at most 50%")
            if any(t.get(n) for n in m):
                raise TargetError("a deployment that receives mirror traffic cannot also receive live traffic")
        return t, m

    def _ep_state(self, e: dict[str, Any]) -> EndpointState:
        return EndpointState(
            name=e["name"],
            kind=e["kind"],
            spec=copy.deepcopy(e["spec"]),
            tags=dict(e["spec"].get("tags") or {}),
            traffic=dict(e["traffic"]),
            mirror_traffic=dict(e["mirror"]),
            default_deployment=e["default"],
            provisioning_state="Succeeded",
            scoring_uri=f"https://{e['name']}.westeurope.inference.ml.azure.com/score",
            fingerprint=e["modified"],
        )

    def _dep_state(self, d: dict[str, Any]) -> DeploymentState:
        return DeploymentState(
            name=d["name"],
            endpoint_name=d["endpoint"],
            spec=copy.deepcopy(d["spec"]),
            tags=dict(d["spec"].get("tags") or {}),
            model_id=d["spec"].get("model"),
            provisioning_state=d["state"],
            fingerprint=d["modified"],
        )

    @staticmethod
    def _service_view_endpoint(spec: Mapping[str, Any], kind: str) -> dict[str, Any]:
        """What `show` returns: ARM id for compute, capitalised enums, extra server fields."""
        out = {k: copy.deepcopy(v) for k, v in spec.items() if k != "$schema"}
        if kind == "kubernetes":
            out["compute"] = f"{ARM}/computes/{str(spec['compute']).removeprefix('azureml:')}"
            out["public_network_access"] = "Enabled"  # reported, though it does not apply
        if "public_network_access" in out:
            out["public_network_access"] = str(out["public_network_access"]).capitalize()
        out["properties"] = {**(spec.get("properties") or {}), "createdBy": "someone", "azureml.onlineendpointid": "x"}
        return out

    # --- AzureMLAPI ------------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> EndpointState | None:
        e = self.endpoints.get(name)
        return None if e is None else self._ep_state(e)

    def list_deployments(self, endpoint: str) -> list[DeploymentState]:
        return sorted(
            (self._dep_state(d) for (ep, _), d in self.deployments.items() if ep == endpoint), key=lambda d: d.name
        )

    def get_deployment(self, endpoint: str, name: str) -> DeploymentState | None:
        d = self.deployments.get((endpoint, name.lower()))
        if d is not None and name.lower() in self.fail_later:
            d["state"] = "Failed"
        return None if d is None else self._dep_state(d)

    def create_or_update_endpoint(
        self, spec, *, traffic=None, mirror_traffic=None, default_deployment=None, on_status=None
    ):
        name = str(spec["name"])
        try:
            check_azure_name(name, "endpoint name")
        except ValueError as exc:
            raise TargetError(str(exc)) from None
        schema = str(spec.get("$schema", ""))
        kind = "batch" if "batchEndpoint" in schema else "kubernetes" if "kubernetes" in schema else "managed"
        self.calls.append(f"endpoint {name}")
        existing = self.endpoints.get(name)
        if existing is not None and existing["spec"].get("compute") and kind == "kubernetes":
            if str(existing["raw"].get("compute")) != str(spec.get("compute")):
                raise TargetError(f"endpoint {name}: compute cannot be changed")
        t, m = self._check_traffic(name, traffic or {}, mirror_traffic or {}, kind)
        if on_status:
            on_status("Updating" if existing else "Creating")
        self.endpoints[name] = {
            "name": name,
            "kind": kind,
            "raw": dict(spec),
            "spec": self._service_view_endpoint(spec, kind),
            "traffic": t,
            "mirror": m,
            "default": default_deployment,
            "modified": self._stamp(),
        }
        return self._ep_state(self.endpoints[name])

    def create_or_update_deployment(self, spec, base_dir: Path, *, on_status=None):
        name = str(spec["name"]).lower()
        ep = str(spec["endpoint_name"])
        check_azure_name(name, "deployment name")
        if ep not in self.endpoints:
            raise TargetError(f"endpoint {ep} does not exist")
        model = spec["model"]
        if isinstance(model, str):
            mname, _, version = model.removeprefix("azureml:").partition(":")
            if not any(v.version == version for v in self.models.get(mname, [])):
                raise TargetError(f"model {model} does not exist")
            model_id = f"{ARM}/models/{mname}/versions/{version}"
        else:
            if not (base_dir / model["path"]).exists():
                raise TargetError(f"model path {model['path']} does not exist")
            model_id = f"{ARM}/models/anonymous/versions/1"
        self.calls.append(f"deployment {ep}/{name}")
        if on_status:
            on_status("Creating")
        view = {k: copy.deepcopy(v) for k, v in spec.items() if k != "$schema"}
        view["name"] = name
        view["model"] = model_id
        if "request_settings" in view:
            view["request_settings"]["max_queue_wait_ms"] = 500  # a service default modeldeploy does not set
        if "egress_public_network_access" in view:
            view["egress_public_network_access"] = str(view["egress_public_network_access"]).capitalize()
        if "compute" in view:
            view["compute"] = f"{ARM}/computes/{str(view['compute']).removeprefix('azureml:')}"
        view["provisioning_state"] = "Succeeded"
        state = "Succeeded"
        if name in self.fail_create:
            state = "Failed"
        self.deployments[(ep, name)] = {
            "name": name,
            "endpoint": ep,
            "spec": view,
            "state": state,
            "modified": self._stamp(),
        }
        if state == "Failed":
            raise DeploymentFailed(ep, name, self.fail_create[name])
        return self._dep_state(self.deployments[(ep, name)])

    def set_traffic(self, endpoint, traffic, mirror_traffic, *, on_status=None):
        e = self.endpoints[endpoint]
        t, m = self._check_traffic(endpoint, traffic, mirror_traffic, e["kind"])
        self.calls.append(f"traffic {endpoint} {t} mirror {m}")
        self.traffic_history.append((t, m))
        e.update(traffic=t, mirror=m, modified=self._stamp())
        return self._ep_state(e)

    def update_endpoint_tags(self, name, tags):
        """Only the given tags change (None removes one); everything else stays as it was."""
        e = self.endpoints.get(name)
        if e is None:
            return None
        self.calls.append(f"tags {name} " + ",".join(sorted(tags)))
        for view in (e["spec"], e["raw"]):
            merged = {k: v for k, v in dict(view.get("tags") or {}).items() if k not in tags}
            merged.update({k: v for k, v in tags.items() if v is not None})
            view["tags"] = merged
        e["modified"] = self._stamp()
        return self._ep_state(e)

    def set_default_deployment(self, endpoint, deployment, *, on_status=None):
        e = self.endpoints[endpoint]
        if (endpoint, deployment) not in self.deployments:
            raise TargetError(f"default deployment {deployment} does not exist")
        self.calls.append(f"default {endpoint} {deployment}")
        e.update(default=deployment, modified=self._stamp())
        return self._ep_state(e)

    def delete_deployment(self, endpoint, name, *, on_status=None):
        e = self.endpoints[endpoint]
        if e["traffic"].get(name) or e["mirror"].get(name) or e["default"] == name:
            raise TargetError(f"deployment {name} still receives traffic; set its traffic to 0 first")
        self.calls.append(f"delete deployment {endpoint}/{name}")
        del self.deployments[(endpoint, name)]

    def delete_endpoint(self, name, *, on_status=None):
        self.calls.append(f"delete endpoint {name}")
        del self.endpoints[name]
        for key in [k for k in self.deployments if k[0] == name]:
            del self.deployments[key]

    def find_model_by_digest(self, name, digest):
        return next((m for m in self.models.get(name, []) if m.tags.get(TAG_DIGEST) == digest), None)

    def get_model(self, name, version):
        return next((m for m in self.models.get(name, []) if m.version == version), None)

    def list_models(self, name):
        return list(self.models.get(name, []))

    def register_model(self, spec_file: Path) -> ModelVersion:
        spec = yaml.safe_load(spec_file.read_text())
        folder = spec_file.parent / spec["path"]
        if not folder.is_dir():
            raise TargetError(f"model path {folder} does not exist")
        versions = self.models.setdefault(spec["name"], [])
        mv = ModelVersion(
            spec["name"], str(len(versions) + 1), dict(spec.get("tags") or {}), spec.get("type"), self._stamp()
        )
        versions.append(mv)
        self.model_files[(mv.name, mv.version)] = sorted(
            p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
        )
        self.calls.append(f"register {mv.name}:{mv.version}")
        return mv

    def archive_model(self, name, version):
        self.calls.append(f"archive {name}:{version}")
        self.archived.add((name, version))

    def get_logs(self, endpoint, deployment, lines=100):
        return "Booting worker\nModuleNotFoundError: No module named 'sklearn'\nWorker exited"

    # --- jobs (the Responsible AI dashboard pipeline) -----------------------------------------------

    def submit_job(self, job_file: Path) -> str:
        """As the service: the job spec must load (azure-ai-ml's load_job, which checks local paths),
        its model input must name a registered version."""
        import yaml

        data = yaml.safe_load(Path(job_file).read_text())
        model = data["inputs"]["model"]["path"]
        name, version = model.removeprefix("azureml:").split(":")
        if not any(m.version == version for m in self.models.get(name, [])):
            raise TargetError(f"Azure ML submit job failed: model {model} not found")
        try:
            import azure.ai.ml as aml

            aml.load_job(str(job_file))
        except ImportError:  # pragma: no cover - the azure extra is installed in CI
            pass
        self.jobs = getattr(self, "jobs", {})
        job_name = f"rai-{len(self.jobs) + 1}"
        self.jobs[job_name] = {"spec": data, "status": getattr(self, "job_outcome", "Completed")}
        self.calls.append(f"submit job {job_name}")
        return job_name

    def wait_job(self, name: str, *, on_status=None) -> str:
        from modeldeploy.errors import ApplyError

        status = self.jobs[name]["status"]
        if on_status:
            on_status("Running")
        self.calls.append(f"wait job {name}")
        if status != "Completed":
            raise ApplyError(f"Azure ML job {name} ended {status}")
        return status
