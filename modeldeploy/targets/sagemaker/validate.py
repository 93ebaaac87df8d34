"""Validate request bodies against botocore's own service model before they are written.

Two passes: ``botocore.validate.validate_parameters`` (required members, types, unknown keys, ``min``)
and a generic walk over the shape metadata for what botocore does not check: ``max``/``min`` of
strings, lists, maps and numbers, ``enum`` and ``pattern``. AWS patterns are Java regular expressions
matched against the whole value; the few Python's ``re`` cannot compile (``\\p{L}`` classes in tag
patterns) are skipped and recorded in :func:`skipped_patterns` — tag values are made safe for those
by :func:`modeldeploy.targets.sagemaker.naming.tag_value` instead.

botocore is imported inside the functions: its loader costs ~150 ms and ``render`` of other targets
must not pay it.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from modeldeploy.errors import RenderError

_SKIPPED: set[str] = set()


_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def _service_model(service: str) -> Any:
    """botocore's service model, loaded once per process. A lock, not just a cache: a live plan
    renders deployments on several threads, and each would otherwise parse the same large JSON."""
    model = _MODELS.get(service)
    if model is None:
        with _MODELS_LOCK:
            model = _MODELS.get(service)
            if model is None:
                from modeldeploy.targets.sagemaker.aws import botocore_session

                model = _MODELS[service] = botocore_session().get_service_model(service)
    return model


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        _SKIPPED.add(pattern)
        return None


def skipped_patterns() -> frozenset[str]:
    """Service-model patterns seen so far that Python's ``re`` cannot compile (not checked)."""
    return frozenset(_SKIPPED)


def validate_request(service: str, operation: str, body: dict[str, Any], *, where: str | None = None) -> None:
    """Raise RenderError naming the operation and field if ``body`` is not a valid request (a request
    that passed before in this process is not checked again: rendering.checked)."""
    from modeldeploy.rendering.checked import once

    once(
        "sagemaker",
        (service, operation, body),
        lambda: _validate_request(service, operation, body, where=where),
    )


def _validate_request(service: str, operation: str, body: dict[str, Any], *, where: str | None) -> None:
    import botocore.validate
    from botocore.exceptions import ParamValidationError

    shape = _service_model(service).operation_model(operation).input_shape
    label = where or operation
    try:
        botocore.validate.validate_parameters(body, shape)
    except ParamValidationError as exc:
        report = str(exc.kwargs.get("report", exc)).strip()
        first = (
            report.splitlines()[1 if report.startswith("Parameter validation failed") else 0] if report else str(exc)
        )
        raise RenderError(f"{label}: invalid {operation} request: {first.strip()}") from None
    problems = list(_walk(shape, body, ""))
    if problems:
        raise RenderError(f"{label}: invalid {operation} request: {problems[0]}")


def _walk(shape: Any, value: Any, path: str) -> Any:
    """Yield one message per constraint violation (``path: problem``), depth first."""
    meta = shape.metadata
    kind = shape.type_name
    where = path or "(request)"
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from _walk(member, value[name], f"{path}.{name}" if path else name)
        return
    if kind == "list" and isinstance(value, list):
        yield from _bounds(meta, len(value), where, "items")
        for i, item in enumerate(value):
            yield from _walk(shape.member, item, f"{path}[{i}]")
        return
    if kind == "map" and isinstance(value, dict):
        yield from _bounds(meta, len(value), where, "entries")
        for k, v in value.items():
            yield from _walk(shape.key, k, f"{path} key {k!r}")
            yield from _walk(shape.value, v, f"{path}[{k!r}]")
        return
    if kind == "string" and isinstance(value, str):
        yield from _bounds(meta, len(value), where, "characters")
        enum = meta.get("enum")
        if enum and value not in enum:
            yield f"{where}: {value!r} is not one of {', '.join(enum)}"
        pattern = meta.get("pattern")
        if pattern:
            rx = _compiled(pattern)
            if rx is not None and not rx.fullmatch(value):
                yield f"{where}: {value!r} does not match the pattern {pattern}"
        return
    if (
        kind in ("integer", "long", "float", "double")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        if "min" in meta and value < meta["min"]:
            yield f"{where}: {value} is below the minimum {meta['min']}"
        if "max" in meta and value > meta["max"]:
            yield f"{where}: {value} is above the maximum {meta['max']}"


def _bounds(meta: dict[str, Any], size: int, where: str, unit: str) -> Any:
    if "max" in meta and size > meta["max"]:
        yield f"{where}: {size} {unit}, at most {meta['max']} allowed"
    if "min" in meta and size < meta["min"]:
        yield f"{where}: {size} {unit}, at least {meta['min']} required"
