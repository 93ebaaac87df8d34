"""modeldeploy: one reviewed deploy.yaml to a running MLflow model endpoint.

The public Python API is five functions, the same ones the CLI is made of::

    import modeldeploy
    dep = modeldeploy.load("deploy.yaml", env="prod")     # validate + resolve the model
    result = modeldeploy.render(dep)                         # files (RenderResult)
    plan, _ = modeldeploy.plan(dep, against="live")          # typed Plan
    modeldeploy.apply(dep, plan)                             # make it so
    modeldeploy.destroy(dep, against="live")                 # remove what apply made

Everything else is private. Type checkers see the real functions (the imports under TYPE_CHECKING);
at run time they are imported on first use, so ``import modeldeploy`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeldeploy._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.api import load, plan, render
    from modeldeploy.applier import apply, destroy

__all__ = ["load", "render", "plan", "apply", "destroy", "__version__"]


def __getattr__(name: str) -> Any:
    if name in {"load", "render", "plan"}:
        from modeldeploy import api

        return getattr(api, name)
    if name in {"apply", "destroy"}:
        from modeldeploy import applier

        return getattr(applier, name)
    raise AttributeError(f"module 'modeldeploy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
