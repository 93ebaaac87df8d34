"""A deployment: one deploy.yaml with one environment applied, its resolved model and its target —
loaded, resolved and rendered. Pure: nothing here touches the network except resolving a remote model
source. ``modeldeploy.api`` builds plan, policy and image builds on top of it and re-exports these
names as the library's API."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy._version import __version__
from modeldeploy.errors import MissingDependencyError, ModelDeployError, ModelError, SourceError
from modeldeploy.model.ref import ModelRef
from modeldeploy.progress import Progress
from modeldeploy.rendering.artifact import Artifact, RenderResult
from modeldeploy.rendering.canonical import dump_json
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.loader import LoadedSpec, load_spec
from modeldeploy.targets import check_installed as targets_installed
from modeldeploy.targets import get_target, plugin_config
from modeldeploy.targets.base import Target

LOCK_FILE = "modeldeploy.json"


@dataclass(frozen=True)
class Deployment:
    """One deploy.yaml (with one environment applied) and its resolved model."""

    loaded: LoadedSpec
    ref: ModelRef
    model: Any  # ModelInfo
    target: Target

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A worker process (render/plan --jobs) sends its deployments back: the target is the
        # process's shared instance of its kind (it may hold locks and clients), so it travels by kind.
        return (_deployment, (self.loaded, self.ref, self.model, self.loaded.spec.target.kind))

    @property
    def spec(self):
        return self.loaded.spec

    @property
    def name(self) -> str:
        return self.loaded.spec.name

    def context(self) -> RenderContext:
        return RenderContext(
            spec=self.loaded.spec,
            model=self.model,
            ref=self.ref,
            env=self.loaded.env,
            tool_version=__version__,
            base_dir=self.loaded.base_dir,
        )


def _deployment(loaded: LoadedSpec, ref: ModelRef, model: Any, kind: str) -> Deployment:
    return Deployment(loaded, ref, model, get_target(kind))


def load(
    path: str | Path,
    env: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    display: str | None = None,
) -> Deployment:
    """Validate deploy.yaml (with the environment overlay), resolve and read its model."""
    loaded = load_spec(path, env, display=display, plugins=plugin_config)
    return resolve(loaded, environ=environ, progress=progress)


def _located(exc: ModelDeployError, loaded: LoadedSpec, path: tuple[str, ...]) -> ModelDeployError:
    """The same error, pointing at the deploy.yaml line it is about (``deploy.yaml:8:11: error: ...``)
    unless it already points somewhere."""
    return loaded.locate(exc, path)


def resolve(
    loaded: LoadedSpec, *, environ: Mapping[str, str] | None = None, progress: Progress | None = None
) -> Deployment:
    from modeldeploy.model.kinds import read_for_spec
    from modeldeploy.model.sources import resolve as resolve_source

    environ = os.environ if environ is None else environ
    spec = loaded.spec
    try:
        ref = resolve_source(
            spec.model.source,
            base_dir=loaded.base_dir,
            tracking_uri=spec.model.tracking_uri,
            progress=progress,
            environ=environ,
        )
    except SourceError as exc:
        raise _located(exc, loaded, ("model", "source")) from None
    try:
        model = read_for_spec(ref.local_path, spec.model, loaded.base_dir)
    except ModelError as exc:  # a folder with no MLmodel: at the model.source line, like a missing one
        raise _located(exc, loaded, ("model", "source")) from None
    return Deployment(loaded, ref, model, get_target(spec.target.kind))


def shown_uri(ref: ModelRef) -> str:
    """The model URI as artifacts and plans show it: as written, except a local folder written with
    ``../`` or as an absolute path, which would carry the rendering machine's layout — then the
    pinned form (relative to the repository root, or the digest)."""
    from modeldeploy.model.sources.local import escapes
    from modeldeploy.model.sources.uri import LocalUri, parse

    try:
        parsed = parse(ref.uri)
    except ModelDeployError:
        return ref.uri
    if isinstance(parsed, LocalUri) and escapes(parsed.path):
        return ref.pinned_uri
    return ref.uri


def lock_data(dep: Deployment) -> dict[str, Any]:
    """What every render records about the model it was made from (the GitOps lock file)."""
    sig = dep.model.signature
    return {
        "apiVersion": "modeldeploy/v1",
        "name": dep.name,
        "environment": dep.loaded.env,
        "target": dep.spec.target.kind,
        "model": {
            "uri": shown_uri(dep.ref),
            "pinned_uri": dep.ref.pinned_uri,
            "digest": dep.ref.digest,
            "version": dep.ref.version,
            "alias": dep.ref.alias,
            "signature": sig.to_canonical() if sig is not None else None,
        },
    }


def check_installed(loaded: LoadedSpec) -> None:
    """The target's extra is installed, or MD701 at ``target.kind`` with the install hint: ``validate``
    says so before ``render`` would, in the same words."""
    try:
        targets_installed(loaded.spec.target.kind)
    except MissingDependencyError as exc:
        raise _located(exc, loaded, ("target", "kind")) from None


def render(dep: Deployment) -> RenderResult:
    """The deployment's files, sorted by path, plus the lock file."""
    check_installed(dep.loaded)
    artifacts = list(dep.target.render(dep.context()))
    artifacts.append(Artifact(LOCK_FILE, "application/json", dump_json(lock_data(dep))))
    paths = [a.path for a in artifacts]
    dupes = sorted({p for p in paths if paths.count(p) > 1})
    if dupes:
        raise ModelDeployError(f"target {dep.target.kind} rendered {', '.join(dupes)} twice")
    return RenderResult(dep.name, dep.spec.target.kind, tuple(sorted(artifacts, key=lambda a: a.path)))
