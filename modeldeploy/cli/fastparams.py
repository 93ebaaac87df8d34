"""Cheap coercion of the command line's plain values, so a command does not pay for pydantic's
TypeAdapters before it runs.

typer coerces every parameter of the command it runs through a pydantic ``TypeAdapter`` built on
first use; importing the adapter layer and building one adapter per parameter cost ~100 ms of a
``validate`` that takes ~0.4 s. modeldeploy's parameters are strings, paths, lists of paths, integers
and numbers; for a *well-formed* value of those this module returns what typer's adapter would
(paths still go through typer's own existence/readability checks), and for anything else — a value
that does not parse, a parameter with constraints, any other type — it hands the value to typer's
own coercion, so every error message stays typer's. tests/cli/test_fastparams.py compares the two.

It relies on typer's ``_TyperParameter._runtime_param`` slot (a lazily built ``RuntimeParam``), which
the Command and Group classes in helpfmt fill in; if a typer release drops the slot nothing is
installed and typer's own coercion runs unchanged.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

# Only the plainest spellings take the fast path; "+5", " 5", "1e3", "007" go to typer's own.
_NUMBER = {int: re.compile(r"-?(0|[1-9][0-9]*)"), float: re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")}
_SLOW = object()


def _leaf(annotation: Any) -> Any:
    """``X | None`` → X; anything else as it is."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


class FastParam:
    """A stand-in for typer's RuntimeParam: same ``coerce`` contract, typer's own as the fallback."""

    def __init__(self, descriptor: Any, kind: Any, many: bool) -> None:
        self.descriptor = descriptor
        self.kind = kind
        self.many = many
        self._slow: Any = None

    def _typer(self) -> Any:
        if self._slow is None:
            from typer._coercion import build_runtime_param

            self._slow = build_runtime_param(self.descriptor)
        return self._slow

    def _one(self, value: Any, param: Any, ctx: Any) -> Any:
        kind = self.kind
        if kind is bool:
            return value if isinstance(value, bool) else _SLOW
        if kind is str:
            return value if isinstance(value, str) else _SLOW
        if kind is Path:
            if not isinstance(value, str | Path):
                return _SLOW
            from typer._param_types import coerce_cli_path

            return coerce_cli_path(Path(value), self.descriptor.parameter_info, path_type=Path, param=param, ctx=ctx)
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUMBER[kind].fullmatch(value):
            return kind(value)
        return _SLOW

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if (param.multiple or param.nargs == -1) else None
        if self.many:
            if not isinstance(value, list | tuple):
                return self._typer().coerce(value, param=param, ctx=ctx)
            out = [self._one(v, param, ctx) for v in value]
            if any(v is _SLOW for v in out):
                return self._typer().coerce(value, param=param, ctx=ctx)
            return out
        if param.multiple or param.nargs == -1:
            return self._typer().coerce(value, param=param, ctx=ctx)
        got = self._one(value, param, ctx)
        return self._typer().coerce(value, param=param, ctx=ctx) if got is _SLOW else got


def fast_param(descriptor: Any) -> FastParam | None:
    """A FastParam for a plain str/Path/int/float/bool parameter (or a list of str/Path) with no parser,
    choices, range or file opening; None when typer's own coercion must do it."""
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return None
    if getattr(info, "click_type", None) is not None:
        return None
    if any(getattr(info, a, None) is not None for a in ("min", "max", "formats", "path_type")):
        return None
    if getattr(info, "clamp", False):
        return None
    annotation = _leaf(descriptor.annotation)
    many = typing.get_origin(annotation) is list
    if many:
        (annotation,) = typing.get_args(annotation) or (None,)
        if annotation not in (str, Path):
            return None
    if annotation not in (str, Path, int, float, bool):
        return None
    try:
        if descriptor.choices is not None:
            return None
    except Exception:
        return None
    return FastParam(descriptor, annotation, many)


def install(params: list[Any]) -> None:
    """Give each plain parameter a FastParam before typer builds its adapter (see the module doc)."""
    for p in params:
        if getattr(p, "_runtime_param", _SLOW) is None and hasattr(p, "type_descriptor"):
            fast = fast_param(p.type_descriptor)
            if fast is not None:
                p._runtime_param = fast
