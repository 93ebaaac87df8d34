"""The one sandboxed Jinja environment for text formats.

- SandboxedEnvironment: templates cannot reach Python internals.
- StrictUndefined: a misspelt variable is an error, never an empty string.
- ``finalize`` refuses any output value that did not pass through a named filter (see filters.py).
- Templates come only from the package's templates/ folder; user data is passed as values, never
  compiled as a template. Compiled templates are cached per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from modeldeploy.errors import RenderError
from modeldeploy.rendering.filters import FILTERS, Escaped


def templates_dir() -> Path:
    """templates/ ships inside the package (modeldeploy/templates links to the top-level folder)."""
    return Path(__file__).resolve().parent.parent / "templates"


def _finalize(value: Any) -> Any:
    if isinstance(value, Escaped):
        return value
    if isinstance(value, str) and value == "":
        return value
    raise RenderError(f"template output {value!r} did not pass through an escaping filter")


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(templates_dir())),
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


def render_template(template: str, /, **values: Any) -> str:
    try:
        return environment().get_template(template).render(**values)
    except RenderError:
        raise
    except TemplateError as exc:
        raise RenderError(f"template {template}: {exc}") from None
