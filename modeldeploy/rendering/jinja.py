"""The one sandboxed Jinja environment for text formats.

- SandboxedEnvironment: templates cannot reach Python internals.
- StrictUndefined: a misspelt variable is an error, never an empty string.
- ``finalize`` refuses any output value that did not pass through a named filter (see filters.py).
- Templates come only from the package's templates (:func:`templates_dir`, read with
  importlib.resources); user data is passed as values, never compiled as a template. Compiled
  templates are cached per process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from modeldeploy.errors import RenderError
from modeldeploy.rendering.filters import FILTERS, Escaped

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable


def templates_dir() -> Traversable:
    """The templates, read with importlib.resources.

    The repository's top-level ``templates/`` folder is the one real copy. A wheel carries it as
    ``modeldeploy/templates`` (the build hook in setup.py copies it there; no symlink); a source
    checkout or an editable install reads the top-level folder beside the package. Neither being
    there is a broken installation, refused here rather than as a missing template later."""
    packaged = resources.files("modeldeploy").joinpath("templates")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise RenderError(
        f"modeldeploy's templates are missing (looked in {packaged} and {checkout}); reinstall modeldeploy"
    )


class _ResourceLoader(BaseLoader):
    """Jinja loader over a Traversable (works for a wheel, a zip or a folder alike)."""

    def __init__(self, root: Traversable):
        self.root = root

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        node = self.root
        for part in template.split("/"):
            if part in ("", ".", "..") or "\\" in part:
                raise TemplateNotFound(template)
            node = node.joinpath(part)
        if not node.is_file():
            raise TemplateNotFound(template)
        return node.read_text(encoding="utf-8"), str(node), lambda: True


def _finalize(value: Any) -> Any:
    if isinstance(value, Escaped):
        return value
    if isinstance(value, str) and value == "":
        return value
    raise RenderError(f"template output {value!r} did not pass through an escaping filter")


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=_ResourceLoader(templates_dir()),
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
