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

from modeldeploy.errors import MissingDependencyError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.targets.base import Target

ENTRY_POINT_GROUP = "modeldeploy.targets"

BUILTIN = {
    "docker": "modeldeploy.targets.docker.target:DockerTargetImpl",
    "kubernetes": "modeldeploy.targets.kubernetes.target:KubernetesTargetImpl",
    "sagemaker": "modeldeploy.targets.sagemaker.target:SageMakerTargetImpl",
    "azureml": "modeldeploy.targets.azureml.target:AzureMLTargetImpl",
}

# What each built-in kind's render imports (module: the package providing it) and the extra that
# installs it. Kept here rather than on the classes so that `validate --offline` checks it without
# importing a target; a plugin declares ``render_needs`` and ``extra`` on its class.
BUILTIN_NEEDS: dict[str, tuple[dict[str, str], str | None]] = {
    "docker": ({}, None),
    "kubernetes": ({"kubernetes_validate": "kubernetes-validate"}, "kubernetes"),  # every built-in kind's schema
    "sagemaker": ({"botocore": "botocore"}, "aws"),  # its service model checks every request body
    "azureml": ({"azure.ai.ml": "azure-ai-ml"}, "azure"),  # the SDK's loaders check every rendered spec
}


def check_installed(kind: str) -> None:
    """MissingDependencyError (MD701) when a module the kind's render needs cannot be imported, with
    the extra's install hint. Only looks modules up (no import: azure.ai.ml costs seconds). A kind
    nobody provides is the spec loader's error, not this one."""
    from importlib.util import find_spec

    if kind in BUILTIN:
        needs, extra = BUILTIN_NEEDS[kind]
    elif kind in plugin_specs():
        target = get_target(kind)
        needs, extra = dict(target.render_needs), target.extra
    else:
        return
    for module, package in needs.items():
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package missing, or a module set to None
            found = False
        if not found:
            hint = f"pip install 'modeldeploy[{extra}]'" if extra else f"pip install {package}"
            raise MissingDependencyError(
                f"the {kind} target needs {package} to render, and it is not installed", hint=hint
            )


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
