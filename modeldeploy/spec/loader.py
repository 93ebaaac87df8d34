"""Loading deploy.yaml as a named pipeline: read → parse (with positions) → migrate → overlay → validate.

Every problem found is collected and reported as ``FILE:LINE:COL: error: message``; the first one
does not hide the rest. The steps live beside this module: reading and parsing with positions
(``parsing.py``), environment overlays (``overlays.py``) and validation with located errors
(``validation.py``); migration and the pipeline itself are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from modeldeploy.errors import Diagnostic, ModelDeployError, SpecError, show_key
from modeldeploy.spec.models import API_VERSION, DeploySpec
from modeldeploy.spec.overlays import apply_environment
from modeldeploy.spec.parsing import LoadedFile, read_file

# Explicit re-exports: callers import the pipeline's parse step and its plugin hook from here.
from modeldeploy.spec.parsing import parse_text as parse_text
from modeldeploy.spec.validation import PluginConfigs as PluginConfigs
from modeldeploy.spec.validation import validate_data
from modeldeploy.spec.yamlread import Positions

# --- migrate -------------------------------------------------------------------------------------

# apiVersion → function upgrading raw data one step. v1 is the first version, so none exist yet;
# the hook is here so that a v2 can read v1 files without breaking anyone.
MIGRATIONS: dict[str, Any] = {}


def migrate(loaded: LoadedFile) -> dict[str, Any]:
    data = loaded.data
    version = data.get("apiVersion")
    seen = set()
    while isinstance(version, str) and version in MIGRATIONS and version not in seen:
        seen.add(version)
        data = MIGRATIONS[version](data)
        version = data.get("apiVersion")
    if version != API_VERSION:
        line, col = loaded.positions.at(("apiVersion",))
        msg = (
            "apiVersion is missing; add 'apiVersion: modeldeploy/v1'"
            if version is None
            else f"unsupported apiVersion {version!r}; this modeldeploy reads {API_VERSION}"
        )
        raise SpecError(msg, diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD105")])
    return data


# --- the pipeline --------------------------------------------------------------------------------


E = TypeVar("E", bound=ModelDeployError)


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from. ``env`` is the overlay applied (None for the base)."""

    spec: DeploySpec
    path: Path
    display: str
    env: str | None
    positions: Positions
    text: str

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def locate(self, exc: E, path: tuple[str, ...]) -> E:
        """The same error, pointing at the line of ``path`` (``deploy.yaml:8:11: error: ...``) unless
        it already points somewhere."""
        if exc.diagnostics:
            return exc
        line, col = self.positions.at(path)
        return type(exc)(
            exc.message, diagnostics=[Diagnostic(self.display, line, col, exc.message, exc.code)], hint=exc.hint
        )


def load_spec(
    path: Path | str, env: str | None = None, *, display: str | None = None, plugins: PluginConfigs | None = None
) -> LoadedSpec:
    """read → parse → migrate → overlay → validate. Raises SpecError with every located problem."""
    loaded = read_file(path, display)
    return load_loaded(loaded, env, plugins=plugins)


def load_loaded(loaded: LoadedFile, env: str | None, *, plugins: PluginConfigs | None = None) -> LoadedSpec:
    data = migrate(loaded)
    merged, positions = apply_environment(loaded, data, env)
    spec = validate_data(merged, positions, loaded.display, plugins=plugins)
    return LoadedSpec(spec, loaded.path, loaded.display, env, positions, loaded.text)


def load_all_environments(
    path: Path | str, *, display: str | None = None, plugins: PluginConfigs | None = None
) -> list[LoadedSpec]:
    """The base and every environment, all validated; errors from all of them are reported together."""
    loaded = read_file(path, display)
    data = migrate(loaded)
    out: list[LoadedSpec] = []
    diags: list[Diagnostic] = []
    listed = data.get("environments")
    envs: dict[str, Any] = listed if isinstance(listed, dict) else {}
    for env in [None, *sorted(envs)]:
        try:
            out.append(load_loaded(loaded, env, plugins=plugins))
        except SpecError as exc:
            # An error without a position is still an error: it is reported (at the file), never dropped.
            for d in exc.diagnostics or (Diagnostic(loaded.display, 0, 0, exc.message, exc.code),):
                if env is not None and d not in diags:
                    d = Diagnostic(d.file, d.line, d.col, f"(environment {show_key(env)}) {d.message}", d.code)
                if d not in diags:
                    diags.append(d)
    if diags:
        raise SpecError("invalid deploy file", diagnostics=diags)
    return out
