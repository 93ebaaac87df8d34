"""Named escaping filters: the only way a value reaches a text template.

Each filter returns :class:`Escaped`; the template environment's ``finalize`` refuses anything else,
and a test walks every template's AST to check that every output expression ends in one of these.
Values a format cannot hold safely (a newline in a Dockerfile comment, a NUL anywhere) are rejected
with a RenderError rather than mangled.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

from modeldeploy.errors import RenderError

_LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


class Escaped(str):
    """A string that a named filter has made safe for its context."""


def _text(value: Any, ctx: str) -> str:
    if isinstance(value, bool) or value is None:
        raise RenderError(f"{ctx}: expected text, got {value!r}")
    s = value if isinstance(value, str) else str(value)
    if "\x00" in s:
        raise RenderError(f"{ctx}: value contains a NUL byte")
    return s


def dockerfile_value(value: Any) -> Escaped:
    """A double-quoted Dockerfile word (for ENV/LABEL/ARG values): backslash, quote and ``$`` are
    escaped, so nothing is expanded by the builder. Line breaks are rejected."""
    s = _text(value, "Dockerfile value")
    if any(b in s for b in _LINE_BREAKS):
        raise RenderError(f"Dockerfile value may not contain a line break: {s!r}")
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return Escaped(f'"{s}"')


def dockerfile_key(value: Any) -> Escaped:
    """An ENV/ARG name or LABEL key: a conservative identifier, otherwise an error. ``.``, ``-`` and
    ``/`` are allowed for label keys (``org.opencontainers.image.source``, ``app.kubernetes.io/name``):
    none of them means anything to the builder in an unquoted word."""
    s = _text(value, "Dockerfile key")
    import re

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/]*", s):
        raise RenderError(f"not a valid Dockerfile key: {s!r}")
    return Escaped(s)


def dockerfile_comment(value: Any) -> Escaped:
    """Text inside a ``#`` comment line: any line break would start an instruction, so it is refused."""
    s = _text(value, "Dockerfile comment")
    if any(b in s for b in _LINE_BREAKS):
        raise RenderError(f"comment text may not contain a line break: {s!r}")
    return Escaped(s)


def image_ref(value: Any) -> Escaped:
    """A docker image reference (FROM): the grammar of name[:tag][@digest], nothing else."""
    import re

    s = _text(value, "image reference")
    if not re.fullmatch(r"[a-z0-9]+([._\-/:][a-zA-Z0-9_.\-]+)*(@sha256:[a-f0-9]{64})?", s) or len(s) > 512:
        raise RenderError(f"not a valid image reference: {s!r}")
    return Escaped(s)


def sh(value: Any) -> Escaped:
    """One POSIX shell word (``shlex.quote``): ``$()``, backticks and quotes stay literal."""
    return Escaped(shlex.quote(_text(value, "shell word")))


def json_value(value: Any) -> Escaped:
    """A JSON value (strings quoted and escaped, ASCII-only so line separators are escaped too)."""
    try:
        return Escaped(json.dumps(value, ensure_ascii=True, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RenderError(f"value cannot be written as JSON: {exc}") from None


def yaml_scalar(value: Any) -> Escaped:
    """A YAML flow scalar that parses back to exactly ``value`` (quoted when YAML would misread it)."""
    if not isinstance(value, (str, int, float, bool)) and value is not None:
        raise RenderError(f"not a scalar: {value!r}")
    if isinstance(value, str):
        _text(value, "YAML scalar")
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=False, width=1_000_000)
    text = text.rstrip("\n")
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if yaml.safe_load(text) != value:
        raise RenderError(f"value does not survive YAML quoting: {value!r}")
    return Escaped(text)


FILTERS = {
    "dockerfile_value": dockerfile_value,
    "dockerfile_key": dockerfile_key,
    "dockerfile_comment": dockerfile_comment,
    "image_ref": image_ref,
    "sh": sh,
    "json": json_value,
    "yaml_scalar": yaml_scalar,
}
