"""Target registry: the four built-in targets plus any registered under the entry-point group
``modeldeploy.targets`` (``name = "package.module:Class"``), as MLflow's deployment plugins are.

Target modules are imported only when a deployment of that kind is rendered, so the CLI's start-up
does not pay for them.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

from modeldeploy.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.targets.base import Target

ENTRY_POINT_GROUP = "modeldeploy.targets"

BUILTIN = {
    "docker": "modeldeploy.targets.docker.target:DockerTargetImpl",
    "kubernetes": "modeldeploy.targets.kubernetes.target:KubernetesTargetImpl",
    "sagemaker": "modeldeploy.targets.sagemaker.target:SageMakerTargetImpl",
    "azureml": "modeldeploy.targets.azureml.target:AzureMLTargetImpl",
}


def _load(spec: str) -> type[Target]:
    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr)


@cache
def plugin_specs() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}


_LOCK = threading.RLock()


def get_target(kind: str) -> Target:
    """The one instance of a target kind in this process. Plans load their files on several threads
    at once: without the lock each could miss the cache together and build its own instance (its own
    SDK clients, each loading botocore's service data again)."""
    with _LOCK:
        return _instance(kind)


@cache
def _instance(kind: str) -> Target:
    spec = BUILTIN.get(kind) or plugin_specs().get(kind)
    if spec is None:
        known = ", ".join(sorted({*BUILTIN, *plugin_specs()}))
        raise SpecError(f"unknown target kind {kind!r} (known: {known})")
    from modeldeploy.targets.base import Target

    try:
        cls = _load(spec)
    except Exception as exc:  # a plugin that cannot be imported is the user's install to fix, not a crash
        raise SpecError(
            f"target plugin {kind!r} (entry point {ENTRY_POINT_GROUP}: {kind} = {spec}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}",
            hint="install the package that provides this plugin, or fix its entry point",
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Target)):
        raise SpecError(f"target plugin {kind!r} ({spec}) is not a modeldeploy Target")
    return cls()


def plugin_config(kind: str) -> type | None:
    """The spec loader's ``plugins`` hook (modeldeploy.spec.loader.PluginConfigs): the ``config_model`` of
    the plugin that provides ``kind``; LookupError when no installed plugin does."""
    if kind in BUILTIN or kind not in plugin_specs():
        raise LookupError(kind)
    return get_target(kind).config_model


get_target.cache_clear = _instance.cache_clear  # type: ignore[attr-defined]
