"""Register the deployed model in the MLflow Model Registry on apply (``model.register`` in deploy.yaml).

Idempotent by content: every version modeldeploy creates carries the tag ``modeldeploy.digest`` (the
model digest), and a version with the same digest is looked up first — re-applying the same model
returns that version instead of creating another. Otherwise the registered model is created if absent,
the folder is uploaded as an MLflow 3 logged model (``logged-models`` + the artifact proxy) in the
experiment ``modeldeploy``, and a version is created from it with the registration's tags, the digest
and the source URI. Plain REST; no mlflow import.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy.errors import SourceError
from modeldeploy.model.digest import list_files
from modeldeploy.model.ref import ModelRef
from modeldeploy.model.sources.artifacts import Proxied, S3Location, classify, join
from modeldeploy.model.sources.http import MlflowRest, RestError
from modeldeploy.model.sources.mlflow import model_exists
from modeldeploy.progress import Progress
from modeldeploy.spec.models import ModelRegistration

DIGEST_TAG = "modeldeploy.digest"
SOURCE_TAG = "modeldeploy.source"
EXPERIMENT = "modeldeploy"
_LOGGED_MODEL_READY = 2  # mlflow.protos.service_pb2.LoggedModelStatus.LOGGED_MODEL_READY
_READY_TIMEOUT = 300.0


@dataclass(frozen=True)
class PlannedRegistration:
    """What apply would do: ``action`` is "create" (a new version) or "no-op" (``version`` exists)."""

    name: str
    action: str
    version: str | None
    model_exists: bool
    digest: str

    def describe(self) -> str:
        if self.action == "no-op":
            return f"registered model {self.name!r} version {self.version} already holds {self.digest[:19]}"
        new = "" if self.model_exists else " (new registered model)"
        return f"register a new version of {self.name!r}{new} for {self.digest[:19]}"


def planned_registration(
    ref: ModelRef,
    registration: ModelRegistration,
    *,
    tracking_uri: str | None,
    environ: Mapping[str, str] | None = None,
) -> PlannedRegistration:
    """Read-only: whether apply would create a version, and which existing version matches the digest."""
    rest = _client(registration, tracking_uri, environ)
    exists = model_exists(rest, registration.name)
    version = _same_model(rest, ref, registration) if exists else None
    return PlannedRegistration(
        name=registration.name,
        action="no-op" if version else "create",
        version=version,
        model_exists=exists,
        digest=ref.digest,
    )


def register_mlflow(
    ref: ModelRef,
    registration: ModelRegistration,
    *,
    tracking_uri: str | None,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> str:
    """Register ``ref`` under ``registration.name``; the version number (existing one if same digest)."""
    progress = progress or Progress()
    rest = _client(registration, tracking_uri, environ)
    if model_exists(rest, registration.name):
        existing = _same_model(rest, ref, registration)
        if existing:
            progress.step(f"registered model {registration.name!r} version {existing} already holds this model")
            return existing
    else:
        _create_registered_model(rest, registration.name)
    env = os.environ if environ is None else environ
    model_id = _upload_logged_model(rest, ref, registration.name, progress, env)
    tags = {**registration.tags, DIGEST_TAG: ref.digest, SOURCE_TAG: ref.pinned_uri}
    body: dict[str, Any] = {
        "name": registration.name,
        "source": f"models:/{model_id}",
        "model_id": model_id,
        "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
    }
    if registration.description:
        body["description"] = registration.description
    version = str(_call(rest, lambda: rest.post("model-versions/create", body))["model_version"]["version"])
    _wait_ready(rest, registration.name, version, progress)
    progress.done(f"registered {registration.name!r} version {version}")
    return version


def _client(registration: ModelRegistration, tracking_uri: str | None, environ: Mapping[str, str] | None) -> MlflowRest:
    env = os.environ if environ is None else environ
    return MlflowRest.connect(tracking_uri, env, uri=f"models:/{registration.name}")


def _call(rest: MlflowRest, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except RestError as exc:
        raise SourceError(f"registering {rest.uri}: {str(exc).split(': ', 1)[-1]}") from None


def _same_model(rest: MlflowRest, ref: ModelRef, registration: ModelRegistration) -> str | None:
    """The newest version of the model tagged with this digest — or, when the source already is
    that registered model, the source's own version."""
    if ref.registered_name == registration.name and ref.version and ref.pinned_uri.startswith("models:/"):
        return ref.version
    filt = f"name = '{_q(registration.name)}' and tags.`{DIGEST_TAG}` = '{_q(ref.digest)}'"
    found = _call(rest, lambda: rest.get("model-versions/search", filter=filt, max_results=50)).get(
        "model_versions", []
    )
    live = [v for v in found if v.get("status", "READY") != "FAILED_REGISTRATION"]
    return str(max(live, key=lambda v: int(v["version"]))["version"]) if live else None


def _create_registered_model(rest: MlflowRest, name: str) -> None:
    try:
        rest.post("registered-models/create", {"name": name})
    except RestError as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":  # a concurrent apply created it: fine
            raise SourceError(f"registering {rest.uri}: {str(exc).split(': ', 1)[-1]}") from None


def _experiment_id(rest: MlflowRest) -> str:
    try:
        return str(rest.get("experiments/get-by-name", experiment_name=EXPERIMENT)["experiment"]["experiment_id"])
    except RestError as exc:
        if not exc.not_found:
            raise
    try:
        return str(rest.post("experiments/create", {"name": EXPERIMENT})["experiment_id"])
    except RestError as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return str(rest.get("experiments/get-by-name", experiment_name=EXPERIMENT)["experiment"]["experiment_id"])


def _upload_logged_model(
    rest: MlflowRest, ref: ModelRef, name: str, progress: Progress, environ: Mapping[str, str]
) -> str:
    """Create an MLflow 3 logged model, upload the folder into its artifact location, finalize it."""
    experiment_id = _call(rest, lambda: {"id": _experiment_id(rest)})["id"]
    created = _call(
        rest,
        lambda: rest.post(
            "logged-models",
            {"experiment_id": experiment_id, "name": name, "tags": [{"key": DIGEST_TAG, "value": ref.digest}]},
        ),
    )
    info = created["model"]["info"]
    model_id, location = str(info["model_id"]), str(info["artifact_uri"])
    _upload_folder(rest, Path(ref.local_path), location, progress, environ)
    _call(rest, lambda: rest.patch(f"logged-models/{model_id}", {"model_id": model_id, "status": _LOGGED_MODEL_READY}))
    return model_id


def _upload_folder(
    rest: MlflowRest, folder: Path, location: str, progress: Progress, environ: Mapping[str, str]
) -> None:
    where = classify(location, uri=rest.uri)
    files = list_files(folder)
    total = sum(f.size for f in files)
    progress.step(f"uploading {len(files)} files ({total / (1 << 20):.1f} MB) to {location}")
    if isinstance(where, Proxied):
        for f in files:
            rest.upload_proxied(join(where.path, f.rel), f.real, lambda n: None)
    elif isinstance(where, S3Location):
        from modeldeploy.model.sources.s3 import s3_client

        client = s3_client(environ, uri=rest.uri)
        for f in files:
            client.upload_file(str(f.real), where.bucket, join(where.prefix, f.rel))
    else:
        raise SourceError(
            f"registering {rest.uri}: the server stores artifacts at {location}, which modeldeploy cannot "
            "upload to; run the tracking server with --serve-artifacts"
        )


def _wait_ready(rest: MlflowRest, name: str, version: str, progress: Progress) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    with progress.wait(f"waiting for {name!r} version {version}") as handle:
        while True:
            mv = _call(rest, lambda: rest.get("model-versions/get", name=name, version=version))["model_version"]
            status = str(mv.get("status", "READY"))
            handle.update(status)
            if status == "READY":
                return
            if status == "FAILED_REGISTRATION":
                raise SourceError(f"registering {rest.uri}: version {version} failed: {mv.get('status_message', '')}")
            if time.monotonic() > deadline:
                raise SourceError(f"registering {rest.uri}: version {version} not READY after {_READY_TIMEOUT:.0f}s")
            time.sleep(1.0)


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
