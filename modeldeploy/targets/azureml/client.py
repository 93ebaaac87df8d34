"""The thin adapter between the azureml target and azure-ai-ml's MLClient.

Every SDK call the target makes goes through :class:`AzureMLClient`, which speaks plain data
(spec dicts in, :class:`EndpointState` / :class:`DeploymentState` / :class:`ModelVersion` out; the
protocol and those values are in workspace.py), so
the target's logic can be tested against an in-memory fake workspace (there is no Azure ML emulator)
while the adapter itself is tested against ``create_autospec`` of the SDK's operations classes.
azure.ai.ml and azure.identity are imported inside the methods, never at module import time.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import ApplyError, MissingDependencyError, TargetError
from modeldeploy.targets.azureml.workspace import (
    DeploymentFailed,
    DeploymentState,
    EndpointState,
    ModelVersion,
    Status,
    normalise_traffic,
)

POLL_SECONDS = 5.0


def _fingerprint(entity: Any) -> str:
    """The service's own change marker where the SDK exposes it (last modified time from
    system data), else a hash of the entity's YAML form."""
    ctx = getattr(entity, "creation_context", None)
    modified = getattr(ctx, "last_modified_at", None) if ctx is not None else None
    if modified:
        return f"modified:{modified}"
    props = getattr(entity, "properties", None) or {}
    if isinstance(props, Mapping) and props.get("lastModifiedAt"):
        return f"modified:{props['lastModifiedAt']}"
    try:
        data = entity._to_dict()
    except Exception:  # pragma: no cover - defensive: some entities cannot dump themselves
        data = repr(entity)
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _to_dict(entity: Any) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(entity._to_dict(), default=str))
    except Exception:  # pragma: no cover - defensive
        return {}


def _is_not_found(exc: BaseException) -> bool:
    try:
        from azure.core.exceptions import ResourceNotFoundError
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, ResourceNotFoundError):
        return True
    if getattr(exc, "status_code", None) == 404:
        return True
    return type(exc).__name__ == "ValidationException" and "not found" in str(exc).lower()


_NO_CREDENTIALS_HINT = (
    "run 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal); "
    "plan --against DIR or git:REF needs no credentials"
)


def _failure(what: str, exc: BaseException) -> TargetError:
    """One line for a failed call. Missing or rejected credentials (azure-identity's long list of
    every credential it tried) become a short sentence and a hint; anything else keeps the
    service's message, whitespace folded, at most 500 characters."""
    names = {c.__name__ for c in type(exc).__mro__}
    text = " ".join(str(exc).split())
    if names & {"ClientAuthenticationError", "CredentialUnavailableError"}:
        if "failed to retrieve a token from the included credentials" in text or "CredentialUnavailableError" in names:
            return TargetError(f"Azure ML {what}: no Azure credentials found", hint=_NO_CREDENTIALS_HINT)
        return TargetError(f"Azure ML {what}: Azure refused the credentials: {text[:200]}", hint=_NO_CREDENTIALS_HINT)
    return TargetError(f"Azure ML {what} failed: {text[:500]}")


JOB_DONE = ("Completed", "Failed", "Canceled", "NotResponding")


class AzureMLClient:
    """azure-ai-ml behind plain data. ``ml_client`` needs ``online_endpoints``, ``online_deployments``,
    ``batch_endpoints``, ``batch_deployments`` and ``models`` (an ``MLClient``, or in tests an object
    holding ``create_autospec`` instances of those operations classes)."""

    def __init__(self, ml_client: Any, mode: str, *, poll_seconds: float = POLL_SECONDS):
        self.ml = ml_client
        self.batch = mode == "batch"
        self.poll_seconds = poll_seconds

    @classmethod
    def connect(cls, subscription_id: str, resource_group: str, workspace: str, mode: str) -> AzureMLClient:
        """An MLClient authenticated with DefaultAzureCredential (environment, managed identity,
        Azure CLI login, …)."""
        try:
            from azure.ai.ml import MLClient
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise MissingDependencyError(
                "the azureml target needs azure-ai-ml and azure-identity", hint="pip install 'modeldeploy[azure]'"
            ) from None
        import logging

        # DefaultAzureCredential logs every credential it tried as a WARNING (a screenful) before
        # raising; the error modeldeploy prints says it in one line. A logger the caller configured
        # is left alone.
        quiet = logging.getLogger("azure.identity")
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.ERROR)
        ml = MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace)
        return cls(ml, mode)

    # --- helpers -----------------------------------------------------------------------------

    @property
    def _endpoints(self) -> Any:
        return self.ml.batch_endpoints if self.batch else self.ml.online_endpoints

    @property
    def _deployments(self) -> Any:
        return self.ml.batch_deployments if self.batch else self.ml.online_deployments

    def _wait(self, poller: Any, on_status: Status | None) -> Any:
        while not poller.done():
            if on_status:
                on_status(str(poller.status()))
            poller.wait(self.poll_seconds)
        return poller.result()

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (ApplyError, TargetError, MissingDependencyError):
            raise
        except Exception as exc:
            raise _failure(what, exc) from None

    @staticmethod
    def _policy() -> Any:
        """modeldeploy.retry's policy, at most 3 attempts: each attempt already carries azure-core's
        own per-request retries."""
        import dataclasses

        from modeldeploy.retry import default_policy

        policy = default_policy("azureml")
        return dataclasses.replace(policy, max_attempts=min(policy.max_attempts, 3))

    def _lro(self, what: str, fn: Callable[[], Any]) -> Any:
        """A long-running PUT/DELETE, re-issued when it (or its poller) failed transiently after
        azure-core's per-request retries gave up: PUT and DELETE are idempotent, so sending them again
        converges. Permanent errors surface at once with the service's message."""
        return self._call(what, lambda: self._policy().call(fn))

    def _get(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise _failure(what, exc) from None

    # --- state ---------------------------------------------------------------------------------

    def _endpoint_state(self, ep: Any) -> EndpointState:
        spec = _to_dict(ep)
        if self.batch:
            kind = "batch"
        else:
            kind = "kubernetes" if getattr(ep, "compute", None) else "managed"
        defaults = getattr(ep, "defaults", None)
        default = (
            defaults.get("deployment_name")
            if isinstance(defaults, Mapping)
            else getattr(defaults, "deployment_name", None)
        )
        return EndpointState(
            name=ep.name,
            kind=kind,
            spec=spec,
            tags=dict(ep.tags or {}),
            traffic=normalise_traffic(getattr(ep, "traffic", None)),
            mirror_traffic=normalise_traffic(getattr(ep, "mirror_traffic", None)),
            default_deployment=default,
            provisioning_state=getattr(ep, "provisioning_state", None),
            scoring_uri=getattr(ep, "scoring_uri", None),
            fingerprint=_fingerprint(ep),
        )

    def _deployment_state(self, d: Any) -> DeploymentState:
        model = d.model if isinstance(d.model, str) else getattr(d.model, "id", None)
        return DeploymentState(
            name=str(d.name).lower(),
            endpoint_name=d.endpoint_name,
            spec=_to_dict(d),
            tags=dict(d.tags or {}),
            model_id=model,
            provisioning_state=getattr(d, "provisioning_state", None),
            fingerprint=_fingerprint(d),
        )

    @staticmethod
    def _model_version(m: Any) -> ModelVersion:
        return ModelVersion(
            name=m.name,
            version=str(m.version),
            tags=dict(m.tags or {}),
            type=getattr(m, "type", None),
            fingerprint=_fingerprint(m),
        )

    # --- reads -----------------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> EndpointState | None:
        ep = self._get(f"get endpoint {name}", lambda: self._endpoints.get(name))
        return None if ep is None else self._endpoint_state(ep)

    def list_deployments(self, endpoint: str) -> list[DeploymentState]:
        items = self._get(f"list deployments of {endpoint}", lambda: list(self._deployments.list(endpoint)))
        return sorted((self._deployment_state(d) for d in items or []), key=lambda d: d.name)

    def get_deployment(self, endpoint: str, name: str) -> DeploymentState | None:
        d = self._get(f"get deployment {name}", lambda: self._deployments.get(name, endpoint))
        return None if d is None else self._deployment_state(d)

    def find_model_by_digest(self, name: str, digest: str) -> ModelVersion | None:
        from modeldeploy.targets.azureml.naming import TAG_DIGEST

        for m in self.list_models(name):
            if m.tags.get(TAG_DIGEST) == digest:
                return m
        return None

    def get_model(self, name: str, version: str) -> ModelVersion | None:
        m = self._get(f"get model {name}:{version}", lambda: self.ml.models.get(name, version=version))
        return None if m is None else self._model_version(m)

    def list_models(self, name: str) -> list[ModelVersion]:
        items = self._get(f"list model {name}", lambda: list(self.ml.models.list(name=name)))
        return sorted((self._model_version(m) for m in items or []), key=lambda m: _version_key(m.version))

    def get_logs(self, endpoint: str, deployment: str, lines: int = 100) -> str:
        if self.batch:
            return ""
        try:
            return str(self.ml.online_deployments.get_logs(deployment, endpoint, lines))
        except Exception as exc:
            return f"(logs unavailable: {' '.join(str(exc).split())[:200]})"

    # --- writes ----------------------------------------------------------------------------------

    def _load(self, loader_name: str, spec: Mapping[str, Any], base_dir: Path | None) -> Any:
        import azure.ai.ml as aml

        text = yaml.safe_dump(dict(spec), sort_keys=False)
        origin = str(base_dir) if base_dir is not None else None
        return getattr(aml, loader_name)(io.StringIO(text), relative_origin=origin)

    def create_or_update_endpoint(
        self,
        spec: Mapping[str, Any],
        *,
        traffic: Mapping[str, int] | None = None,
        mirror_traffic: Mapping[str, int] | None = None,
        default_deployment: str | None = None,
        on_status: Status | None = None,
    ) -> EndpointState:
        """Create or update an endpoint. Traffic is carried over as given: a PUT without the live
        traffic map would take all traffic away from the deployments that serve now."""
        if self.batch:
            ep = self._load("load_batch_endpoint", spec, None)
            if default_deployment:
                ep.defaults = {"deployment_name": default_deployment}
        else:
            ep = self._load("load_online_endpoint", spec, None)
            ep.traffic = dict(traffic or {})
            if not getattr(ep, "compute", None):
                ep.mirror_traffic = dict(mirror_traffic or {})
        done = self._lro(
            f"create/update endpoint {spec['name']}",
            lambda: self._wait(self._endpoints.begin_create_or_update(ep), on_status),
        )
        return self._endpoint_state(done if done is not None else ep)

    def create_or_update_deployment(
        self, spec: Mapping[str, Any], base_dir: Path, *, on_status: Status | None = None
    ) -> DeploymentState:
        from azure.core.exceptions import HttpResponseError

        if self.batch:
            from modeldeploy.targets.azureml.validate import build_model_batch_deployment

            dep = build_model_batch_deployment(spec, base_dir)
        else:
            dep = self._load("load_online_deployment", spec, base_dir)
        name, endpoint = str(spec["name"]), str(spec["endpoint_name"])
        try:
            done = self._policy().call(lambda: self._wait(self._deployments.begin_create_or_update(dep), on_status))
        except HttpResponseError as exc:
            raise DeploymentFailed(endpoint, name, " ".join(str(exc.message or exc).split())[:800]) from None
        except Exception as exc:
            raise DeploymentFailed(endpoint, name, " ".join(str(exc).split())[:800]) from None
        state = self._deployment_state(done if done is not None else dep)
        if state.provisioning_state and state.provisioning_state.lower() not in {"succeeded"}:
            raise DeploymentFailed(endpoint, name, f"provisioning state {state.provisioning_state}")
        return state

    def set_traffic(
        self,
        endpoint: str,
        traffic: Mapping[str, int],
        mirror_traffic: Mapping[str, int],
        *,
        on_status: Status | None = None,
    ) -> EndpointState:
        ep = self._call(f"get endpoint {endpoint}", lambda: self.ml.online_endpoints.get(endpoint))
        ep.traffic = dict(traffic)
        if not getattr(ep, "compute", None):
            ep.mirror_traffic = dict(mirror_traffic)
        done = self._lro(
            f"set traffic of {endpoint}",
            lambda: self._wait(self.ml.online_endpoints.begin_create_or_update(ep), on_status),
        )
        return self._endpoint_state(done if done is not None else ep)

    def update_endpoint_tags(self, name: str, tags: Mapping[str, str | None]) -> EndpointState | None:
        """Set (None: remove) only the given tags: get the endpoint → change its tags → PUT the entity
        as read (traffic, spec and the other tags unchanged). None when the endpoint does not exist.
        Not a compare-and-set (no ETag): callers re-read to see whether a later writer overtook them."""
        ep = self._get(f"get endpoint {name}", lambda: self._endpoints.get(name))
        if ep is None:
            return None
        merged = {k: v for k, v in dict(ep.tags or {}).items() if k not in tags}
        merged.update({k: v for k, v in tags.items() if v is not None})
        ep.tags = merged
        done = self._lro(
            f"update tags of endpoint {name}", lambda: self._wait(self._endpoints.begin_create_or_update(ep), None)
        )
        return self._endpoint_state(done if done is not None else ep)

    def set_default_deployment(
        self, endpoint: str, deployment: str, *, on_status: Status | None = None
    ) -> EndpointState:
        ep = self._call(f"get batch endpoint {endpoint}", lambda: self.ml.batch_endpoints.get(endpoint))
        ep.defaults = {"deployment_name": deployment}
        done = self._lro(
            f"set default deployment of {endpoint}",
            lambda: self._wait(self.ml.batch_endpoints.begin_create_or_update(ep), on_status),
        )
        return self._endpoint_state(done if done is not None else ep)

    def delete_deployment(self, endpoint: str, name: str, *, on_status: Status | None = None) -> None:
        self._lro(
            f"delete deployment {name}",
            lambda: self._wait(self._deployments.begin_delete(name=name, endpoint_name=endpoint), on_status),
        )

    def delete_endpoint(self, name: str, *, on_status: Status | None = None) -> None:
        self._lro(f"delete endpoint {name}", lambda: self._wait(self._endpoints.begin_delete(name=name), on_status))

    def register_model(self, spec_file: Path) -> ModelVersion:
        """Register the model folder the spec names (a new version of its name)."""
        import azure.ai.ml as aml

        model = aml.load_model(str(spec_file))
        created = self._call(f"register model {model.name}", lambda: self.ml.models.create_or_update(model))
        return self._model_version(created)

    def submit_job(self, job_file: Path) -> str:
        """Submit a pipeline job spec (its local inputs are uploaded by the SDK); returns the job's name."""
        import azure.ai.ml as aml

        job = self._call(f"load job {job_file.name}", lambda: aml.load_job(str(job_file)))
        created = self._call("submit job", lambda: self.ml.jobs.create_or_update(job))
        return str(created.name)

    def wait_job(self, name: str, *, on_status: Status | None = None) -> str:
        """Poll the job until it ends; its final status, or ApplyError when it did not complete."""
        import time

        while True:
            job = self._call(f"read job {name}", lambda: self.ml.jobs.get(name))
            status = str(job.status)
            if on_status:
                on_status(status)
            if status in JOB_DONE:
                if status != "Completed":
                    raise ApplyError(
                        f"Azure ML job {name} ended {status}",
                        hint=f"az ml job show -n {name}; az ml job stream -n {name}",
                    )
                return status
            time.sleep(self.poll_seconds)

    def archive_model(self, name: str, version: str) -> None:
        self._call(f"archive model {name}:{version}", lambda: self.ml.models.archive(name=name, version=version))


def _version_key(v: str) -> tuple[int, str]:
    return (int(v), "") if v.isdigit() else (1 << 62, v)
