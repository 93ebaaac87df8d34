"""modeldeploy: one reviewed deploy.yaml to a running MLflow model endpoint.

The public Python API is four functions, the same ones the CLI is made of::

    import modeldeploy
    dep = modeldeploy.load("deploy.yaml", env="prod")     # validate + resolve the model
    result = modeldeploy.render(dep)                         # files (RenderResult)
    plan, _ = modeldeploy.plan(dep, against="live")          # typed Plan
    modeldeploy.apply(dep, plan)                             # make it so

Everything else is private. Names are imported lazily so ``import modeldeploy`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load", "render", "plan", "apply", "destroy", "__version__"]


def __getattr__(name: str) -> Any:
    if name in {"load", "render", "plan"}:
        from modeldeploy import api

        return getattr(api, name)
    if name in {"apply", "destroy"}:
        from importlib import import_module

        return getattr(import_module("modeldeploy.rollout"), name)
    raise AttributeError(name)
