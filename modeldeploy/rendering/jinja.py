"""The one sandboxed Jinja environment for text formats.

- SandboxedEnvironment: templates cannot reach Python internals.
- StrictUndefined: a misspelt variable is an error, never an empty string.
- ``finalize`` refuses any output value that did not pass through a named filter (see filters.py).
- Templates come only from the package's templates (:func:`templates_dir`, read with
  importlib.resources); user data is passed as values, never compiled as a template. Compiled
  templates are cached per process, and their code on disk across processes with Jinja's own
  ``FileSystemBytecodeCache`` (under the cache dir, see :func:`_bytecode_cache`).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import BaseLoader, Environment, FileSystemBytecodeCache, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.bccache import Bucket
from jinja2.sandbox import SandboxedEnvironment

from modeldeploy._version import __version__
from modeldeploy.errors import RenderError
from modeldeploy.rendering.filters import FILTERS, Escaped

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable


@lru_cache(maxsize=1)
def templates_dir() -> Traversable:
    """The templates, read with importlib.resources.

    The repository's top-level ``templates/`` folder is the one real copy. A wheel carries it as
    ``modeldeploy/templates`` (the build hook in setup.py copies it there; no symlink); a source
    checkout or an editable install reads the top-level folder beside the package. Neither being
    there is a broken installation, refused here rather than as a missing template later.

    A package installed in a folder is looked up as the folder it is (what importlib.resources
    answers for it, without the ~5 ms of loading its machinery); a zipped one through
    importlib.resources."""
    package = Path(__file__).parents[1]
    if (package / "__init__.py").is_file():
        packaged: Traversable = package / "templates"
    else:
        from importlib import resources

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


# What the code Jinja compiles a template to depends on, besides the template's text and Jinja's own
# version: these options, the environment's class and whether output is finalized.
_OPTIONS: dict[str, Any] = {
    "undefined": StrictUndefined,
    "autoescape": False,
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
}


class _BytecodeCache(FileSystemBytecodeCache):
    """Jinja's bytecode cache, for which a cache is only ever a saving: a file it cannot read or
    write (a read-only or full disk, a file cut short by a crash) means compiling the template, as
    without a cache; a file whose source checksum or Jinja bytecode version differs is ignored by
    Jinja itself."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - unreadable or damaged: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> _BytecodeCache | None:
    """The compiled templates under ``<cache dir>/jinja/<key>`` (the cache dir of the digest cache:
    ``$MODELDEPLOY_CACHE_DIR``, ``$XDG_CACHE_HOME/modeldeploy`` or ``~/.cache/modeldeploy``), the key
    naming the Jinja and modeldeploy versions and the options above, so code compiled under other
    settings is never loaded. None (compile every time) when the folder cannot be made."""
    from modeldeploy.model.sources import default_cache_dir

    settings = repr(
        (
            jinja2.__version__,
            __version__,
            SandboxedEnvironment.__qualname__,
            _finalize.__qualname__,
            sorted(_OPTIONS.items()),
        )
    )
    folder = default_cache_dir(os.environ) / "jinja" / hashlib.sha256(settings.encode()).hexdigest()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.stat()
    except OSError:
        return None
    # The cache holds code this process will run: only a folder of this user's that no one else may
    # write to (the check Jinja makes of its own default folder). Otherwise compile every time.
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return None
    return _BytecodeCache(str(folder), "%s.cache")


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=_ResourceLoader(templates_dir()),
        finalize=_finalize,
        auto_reload=False,
        bytecode_cache=_bytecode_cache(),
        **_OPTIONS,
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
