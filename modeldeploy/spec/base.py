"""The one config base model every deploy.yaml section derives from."""

from __future__ import annotations

import os
import re
import sys
import threading
import types
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


_BUILD_LOCK = threading.Lock()
_LOADER = "pydantic.plugin._loader"
_PLUGINS_OFF = ("__all__", "1", "true")


def _lazy_plugin_loader() -> None:
    """Stand in for pydantic's plugin loader module until a schema is built with plugins on.

    pydantic imports its loader for every schema it builds, even with ``PYDANTIC_DISABLE_PLUGINS``
    set, and the loader imports ``importlib.metadata`` at its top (which brings the ``email``
    package, ``zipfile``, ``csv``…: ~15 ms, on every ``validate``) only to call ``entry_points``
    when plugins are on. The stand-in answers "no plugins" exactly where the real loader would
    (the variable set to ``__all__``, ``1`` or ``true``) and otherwise puts the real module in its
    place and asks it, so models built with plugins on — a library user's own — see them as before."""
    if _LOADER in sys.modules:
        return
    stand_in = types.ModuleType(_LOADER, _lazy_plugin_loader.__doc__)

    def get_plugins() -> Any:
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in _PLUGINS_OFF:
            return ()
        if sys.modules.get(_LOADER) is stand_in:
            del sys.modules[_LOADER]
        import pydantic.plugin._loader as real

        return real.get_plugins()

    stand_in.get_plugins = get_plugins  # type: ignore[attr-defined]
    sys.modules[_LOADER] = stand_in


class StrictModel(BaseModel):
    """Unknown keys are errors (the loader adds a "did you mean"); values are immutable once loaded.

    Schemas are built on first use (``defer_build``): a command that never validates a spec (``--help``,
    ``schema`` aside) never pays for them. They are built with pydantic's plugins off, as typer does for
    its own adapters: looking for pydantic plugins means reading the entry points of every installed
    distribution (~100 ms in an environment with MLflow), and no pydantic plugin has anything to observe
    in a deploy.yaml check."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @classmethod
    def model_rebuild(cls, *args: Any, **kwargs: Any) -> bool | None:
        kwargs["_parent_namespace_depth"] = kwargs.get("_parent_namespace_depth", 2) + 1  # this frame
        with _BUILD_LOCK:
            _lazy_plugin_loader()
            previous = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
            try:
                return super().model_rebuild(*args, **kwargs)
            finally:
                if previous is None:
                    del os.environ["PYDANTIC_DISABLE_PLUGINS"]
                else:
                    os.environ["PYDANTIC_DISABLE_PLUGINS"] = previous


def empty_dict() -> dict[Any, Any]:
    """``default_factory`` for an empty mapping. Not ``dict`` itself: pydantic inspects a factory's
    signature when it builds a schema, and a builtin's is parsed from its text signature with the
    tokenize module (its first use compiles tokenize's large regular expression: ~3 ms of every
    ``validate``); a function's signature is read directly."""
    return {}


def empty_list() -> list[Any]:
    """``default_factory`` for an empty list (see :func:`empty_dict`)."""
    return []


def as_dns1123_label(v: str) -> str:
    """The closest DNS-1123 label to ``v`` (``Iris_Model`` -> ``iris-model``), '' when none."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", v.lower())).strip("-")[:63].strip("-")


def _dns1123_label(v: str) -> str:
    if len(v) > 63 or not _DNS1123_LABEL.match(v):
        better = as_dns1123_label(v)
        raise ValueError(
            "must be a DNS-1123 label: at most 63 characters of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit" + (f"; try {better!r}" if better else "")
        )
    return v


def _quantity(v: str) -> str:
    if not _QUANTITY.match(v):
        raise ValueError("must be a Kubernetes quantity such as '500m', '1', '2Gi' or '512Mi'")
    return v


def _env_name(v: str) -> str:
    if not _ENV_NAME.match(v):
        raise ValueError("must be an environment variable name: letters, digits and '_', not starting with a digit")
    return v


def _single_line(v: str) -> str:
    """Reject control characters (newlines, NUL, Unicode line separators) in values that end up in
    one-line contexts (names, images, tags); free-text values are escaped by the filters instead."""
    for ch in v:
        if ord(ch) < 0x20 or ch in "\x7f\u2028\u2029\u0085":
            raise ValueError(f"must be a single line without control characters (found {ch!r})")
    return v


DNSLabel = Annotated[str, AfterValidator(_dns1123_label)]
Quantity = Annotated[str, AfterValidator(_quantity)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Line = Annotated[str, AfterValidator(_single_line)]
