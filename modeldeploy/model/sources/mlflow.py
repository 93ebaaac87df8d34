"""models:/, runs:/ and mlflow-artifacts:/ sources, resolved through the MLflow REST API.

An alias, ``latest`` or a stage is pinned to a concrete version here; the artifacts are then found
through ``model-versions/get-download-uri`` (MLflow 3 logged models: ``models/m-…/artifacts``), the
run's artifact root, or — for ``runs:/RUN/NAME`` logged with MLflow 3, where the model is not under
the run's artifacts — the logged model of that name whose source run is RUN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from modeldeploy.errors import SourceError
from modeldeploy.model.sources.artifacts import join
from modeldeploy.model.sources.http import MlflowRest, RestError
from modeldeploy.model.sources.remoteuri import ArtifactsUri, LoggedModelUri, ModelsUri, RunsUri


@dataclass(frozen=True)
class Pinned:
    """Where the immutable form of a source lives."""

    pinned_uri: str
    location: str  # artifact location of the model folder
    version: str | None = None
    alias: str | None = None
    registered_name: str | None = None


def pin(rest: MlflowRest, parsed: ModelsUri | LoggedModelUri | RunsUri | ArtifactsUri) -> Pinned:
    if isinstance(parsed, ModelsUri):
        return _pin_models(rest, parsed)
    if isinstance(parsed, LoggedModelUri):
        return pin_logged_model(rest, parsed.model_id)
    if isinstance(parsed, RunsUri):
        return _pin_run(rest, parsed)
    return Pinned(pinned_uri=f"mlflow-artifacts:/{parsed.path}", location=f"mlflow-artifacts:/{parsed.path}")


def pin_logged_model(rest: MlflowRest, model_id: str) -> Pinned:
    """``models:/m-…`` — an MLflow 3 logged model by id."""
    try:
        info = rest.get(f"logged-models/{model_id}").get("model", {}).get("info", {})
    except RestError as exc:
        if exc.not_found:
            raise SourceError(f"{rest.uri}: logged model {model_id} not found on {rest.base_url}") from None
        raise
    return Pinned(pinned_uri=f"models:/{model_id}", location=_required(info, "artifact_uri", rest))


def _pin_models(rest: MlflowRest, parsed: ModelsUri) -> Pinned:
    mv = _model_version(rest, parsed)
    version = str(mv["version"])
    try:
        location = rest.get("model-versions/get-download-uri", name=parsed.name, version=version)["artifact_uri"]
    except (KeyError, RestError):
        location = str(mv.get("source", ""))
        if location.startswith("models:/"):
            model_id = location[len("models:/") :].strip("/")
            return _with_version(pin_logged_model(rest, model_id), parsed, version)
    return Pinned(
        pinned_uri=f"models:/{parsed.name}/{version}",
        location=location,
        version=version,
        alias=parsed.alias,
        registered_name=parsed.name,
    )


def _with_version(p: Pinned, parsed: ModelsUri, version: str) -> Pinned:
    return Pinned(
        pinned_uri=f"models:/{parsed.name}/{version}",
        location=p.location,
        version=version,
        alias=parsed.alias,
        registered_name=parsed.name,
    )


def _model_version(rest: MlflowRest, parsed: ModelsUri) -> dict[str, Any]:
    name = parsed.name
    try:
        if parsed.version is not None:
            return cast(
                dict[str, Any], rest.get("model-versions/get", name=name, version=parsed.version)["model_version"]
            )
        if parsed.alias is not None:
            return cast(
                dict[str, Any], rest.get("registered-models/alias", name=name, alias=parsed.alias)["model_version"]
            )
        stages = [] if parsed.latest else [parsed.stage]
        versions = rest.post("registered-models/get-latest-versions", {"name": name, "stages": stages}).get(
            "model_versions", []
        )
    except RestError as exc:
        _raise_specific(rest, parsed, exc)
    except KeyError:
        raise SourceError(f"{rest.uri}: unexpected answer from {rest.base_url} (no model_version)") from None
    if not versions:
        what = "has no versions" if parsed.latest else f"has no version in stage {parsed.stage!r}"
        raise SourceError(f"{rest.uri}: registered model {name!r} {what}")
    return max(versions, key=lambda v: int(v["version"]))


def _raise_specific(rest: MlflowRest, parsed: ModelsUri, exc: RestError) -> None:
    """Turn the server's error into: unknown model, missing version, or missing alias."""
    if not model_exists(rest, parsed.name):
        raise SourceError(f"{rest.uri}: registered model {parsed.name!r} not found on {rest.base_url}") from None
    if parsed.version is not None and exc.not_found:
        raise SourceError(f"{rest.uri}: registered model {parsed.name!r} has no version {parsed.version}") from None
    if parsed.alias is not None and (exc.not_found or exc.error_code == "INVALID_PARAMETER_VALUE"):
        raise SourceError(f"{rest.uri}: registered model {parsed.name!r} has no alias {parsed.alias!r}") from None
    raise exc from None


def model_exists(rest: MlflowRest, name: str) -> bool:
    """Whether the registry has a registered model of this name (other errors propagate)."""
    try:
        rest.get("registered-models/get", name=name)
        return True
    except RestError as exc:
        if exc.not_found:
            return False
        raise


def _pin_run(rest: MlflowRest, parsed: RunsUri) -> Pinned:
    try:
        info = rest.get("runs/get", run_id=parsed.run_id)["run"]["info"]
    except RestError as exc:
        if exc.not_found:
            raise SourceError(f"{rest.uri}: run {parsed.run_id} not found on {rest.base_url}") from None
        raise
    except KeyError:
        raise SourceError(f"{rest.uri}: unexpected answer from {rest.base_url} (no run info)") from None
    pinned = f"runs:/{parsed.run_id}/{parsed.path}" if parsed.path else f"runs:/{parsed.run_id}"
    root = _required(info, "artifact_uri", rest)
    if _run_has(rest, parsed):
        return Pinned(pinned_uri=pinned, location=join(root, parsed.path))
    logged = _logged_model_for_run(rest, parsed, str(info.get("experiment_id", "")))
    if logged is None:
        raise SourceError(f"{rest.uri}: run {parsed.run_id} has no artifacts at {parsed.path or '/'!r}")
    rest_of_path = parsed.path.split("/", 1)[1] if "/" in parsed.path else ""
    return Pinned(pinned_uri=pinned, location=join(logged, rest_of_path))


def _run_has(rest: MlflowRest, parsed: RunsUri) -> bool:
    """Whether the run's own artifact tree has anything at the path (MLflow 2 layout)."""
    try:
        listing = rest.get("artifacts/list", run_id=parsed.run_id, path=parsed.path or None)
    except RestError:
        return False
    return bool(listing.get("files"))


def _logged_model_for_run(rest: MlflowRest, parsed: RunsUri, experiment_id: str) -> str | None:
    """MLflow 3 layout: the artifact URI of the logged model NAME whose source run is the run."""
    if not parsed.path:
        return None
    name = parsed.path.split("/", 1)[0]
    body: dict[str, Any] = {"experiment_ids": [experiment_id], "filter": f"name = '{_quote(name)}'"}
    while True:
        page = rest.post("logged-models/search", body)
        for model in page.get("models", []):
            info = model.get("info", {})
            if info.get("source_run_id") == parsed.run_id and info.get("artifact_uri"):
                return str(info["artifact_uri"])
        token = page.get("next_page_token")
        if not token:
            return None
        body = {**body, "page_token": token}


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _required(info: dict[str, Any], key: str, rest: MlflowRest) -> str:
    value = info.get(key)
    if not value:
        raise SourceError(f"{rest.uri}: unexpected answer from {rest.base_url} (no {key})")
    return str(value)
