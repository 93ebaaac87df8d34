"""Loading deploy.yaml as a named pipeline: read → parse (with positions) → migrate → overlay → validate.

Every problem found is collected and reported as ``FILE:LINE:COL: error: message``; the first one
does not hide the rest. YAML is parsed with PyYAML's safe composer; the node graph is then turned
into plain data here, so that duplicate keys, non-standard tags and alias bombs are located errors
rather than silent surprises or hangs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from modeldeploy.errors import Diagnostic, ModelDeployError, SpecError, show_key
from modeldeploy.spec import envnames
from modeldeploy.spec.credentials import check_env
from modeldeploy.spec.models import API_VERSION, BUILTIN_KINDS, DeploySpec, PluginTarget
from modeldeploy.spec.yamlread import Builder, Path_, Positions, YAMLProblem, bad_value, compose, decode, mark

#: How the library tells this layer about plugin kinds without the spec importing a target registry:
#: called with a kind that is not built in, it returns the plugin's ``config_model`` (None: the plugin
#: checks nothing more) or raises LookupError when no plugin provides that kind. Without it, only the
#: built-in kinds are known.
PluginConfigs = Callable[[str], type | None]

# Bounds that keep hostile files from hanging or exhausting memory. A real deploy.yaml has a few
# hundred nodes and a depth under 10.
MAX_FILE_BYTES = 1 << 20  # 1 MiB
MAX_NODES = 100_000  # nodes visited while expanding aliases (billion laughs stops here)
MAX_DEPTH = 64



@dataclass(frozen=True)
class LoadedFile:
    """A parsed deploy.yaml before validation: the raw data and where each value came from."""

    path: Path
    display: str
    data: dict[str, Any]
    positions: Positions
    text: str


class _Builder(Builder):
    """The shared YAML builder, collecting every problem in deploy.yaml's words; only a document too
    big or too deep stops it."""

    def __init__(self, display: str):
        super().__init__(max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        self.display = display
        self.diags: list[Diagnostic] = []

    def error(self, node: yaml.Node, message: str, code: str) -> None:
        line, col = mark(node)
        self.diags.append(Diagnostic(self.display, line, col, message, code))

    def refuse(self, node: yaml.Node, kind: str, at: Path_ = ()) -> None:
        if kind == "nodes":
            raise _TooBig(node, f"document expands to more than {MAX_NODES} nodes (YAML alias bomb?)")
        if kind == "depth":
            raise _TooBig(node, f"document is nested deeper than {MAX_DEPTH} levels")
        if kind == "tag":
            self.error(node, f"YAML tag {node.tag!r} is not allowed; use plain values", "MD102")
        elif kind == "merge":
            self.error(node, "YAML merge keys ('<<') are not supported; use environments overlays", "MD102")
        elif kind == "key":
            self.error(node, "mapping keys must be plain scalars", "MD102")
        elif kind == "value":
            self.error(node, bad_value(node), "MD102")
        else:  # duplicate
            first = self.keys.get(at, (0, 0))
            self.error(node, f"duplicate key {at[-1]!r} (first defined at line {first[0]})", "MD103")

    def key(self, node: yaml.ScalarNode, path: Path_, depth: int) -> Any:
        key = self.build(node, path + ("<key>",), depth + 1)
        if isinstance(key, (int, float, bool)) or key is None:
            key = node.value  # `1: x` or `on: x` as a key means the text the user wrote
        return key


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node = node


def _too_deep(display: str) -> SpecError:
    return SpecError("too deep", diagnostics=[Diagnostic(display, 1, 1, f"document is nested deeper than {MAX_DEPTH} levels", "MD104")])


def _decode(raw: bytes, display: str) -> str:
    try:
        return decode(raw)
    except YAMLProblem as exc:
        line, col = exc.where
        raise SpecError(
            "file is not UTF-8",
            diagnostics=[Diagnostic(display, line, col, f"file is not valid UTF-8 (byte 0x{exc.byte:02x})", "MD101")],
        ) from None


def parse_text(text: str, display: str, path: Path | None = None) -> LoadedFile:
    """Parse YAML text into data + positions, or raise SpecError with every located problem."""
    for i, ch in enumerate(text):
        if ch == "\x00":
            line = text.count("\n", 0, i) + 1
            raise SpecError("NUL byte", diagnostics=[Diagnostic(display, line, 1, "file contains a NUL byte", "MD101")])
    try:
        docs = compose(text)
    except YAMLProblem as exc:
        if exc.kind == "depth":
            raise _too_deep(display) from None
        line, col = exc.where
        raise SpecError("invalid YAML", diagnostics=[Diagnostic(display, line, col, exc.message, "MD101")], hint=exc.hint) from None
    if not docs:
        raise SpecError("empty file", diagnostics=[Diagnostic(display, 1, 1, "file is empty; expected a deploy.yaml mapping", "MD100")])
    if len(docs) > 1:
        line, col = mark(docs[1])
        raise SpecError(
            "several documents",
            diagnostics=[Diagnostic(display, line, col, "file holds several YAML documents; put one deployment per file", "MD100")],
        )
    builder = _Builder(display)
    try:
        data = builder.run(docs[0])
    except _TooBig as exc:
        line, col = mark(exc.node)
        raise SpecError(str(exc), diagnostics=[Diagnostic(display, line, col, str(exc), "MD104")]) from None
    except YAMLProblem as exc:
        if exc.kind == "depth":
            raise _too_deep(display) from None
        line, col = exc.where
        raise SpecError("invalid value", diagnostics=[Diagnostic(display, line, col, exc.message, "MD102")]) from None
    if builder.diags:
        raise SpecError("invalid YAML", diagnostics=builder.diags)
    if not isinstance(data, dict):
        raise SpecError(
            "not a mapping",
            diagnostics=[Diagnostic(display, 1, 1, "top level must be a mapping of deploy.yaml keys", "MD100")],
        )
    return LoadedFile(path or Path(display), display, data, builder.positions, text)


def read_file(path: Path | str, display: str | None = None) -> LoadedFile:
    p = Path(path)
    display = display or str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                "too large",
                diagnostics=[Diagnostic(display, 0, 0, f"file is {size} bytes; a deploy.yaml may be at most {MAX_FILE_BYTES}", "MD104")],
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{display}: no such file", diagnostics=[Diagnostic(display, 0, 0, "no such file", "MD100")]) from None
    except IsADirectoryError:
        raise SpecError(f"{display}: is a directory", diagnostics=[Diagnostic(display, 0, 0, "is a directory, expected a deploy.yaml", "MD100")]) from None
    except PermissionError:
        raise SpecError(f"{display}: permission denied", diagnostics=[Diagnostic(display, 0, 0, "permission denied", "MD100")]) from None
    return parse_text(_decode(raw, display), display, p)


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


# --- overlay -------------------------------------------------------------------------------------


def deep_merge(base: Any, overlay: Any) -> Any:
    """Maps merge key by key; lists and scalars in the overlay replace; ``null`` removes a key — and
    removes nothing where the base has no such key, at any depth (an overlay map whose parent the base
    lacks is merged into an empty map, so its nulls never reach validation as literal nulls)."""
    if isinstance(overlay, dict):
        out = dict(base) if isinstance(base, dict) else {}
        for k, v in overlay.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = deep_merge(out.get(k), v)
        return out
    return overlay


def _overlay_positions(pos: Positions, env: str) -> Positions:
    prefix = ("environments", env)
    values = dict(pos.values)
    keys = dict(pos.keys)
    for table, src in ((values, pos.values), (keys, pos.keys)):
        for p, where in src.items():
            if p[:2] == prefix and len(p) > 2:
                table[p[2:]] = where
    return Positions(values, keys)


def apply_environment(loaded: LoadedFile, data: dict[str, Any], env: str | None) -> tuple[dict[str, Any], Positions]:
    if env is None:
        return data, loaded.positions
    envs = data.get("environments") or {}
    if not isinstance(envs, dict) or env not in envs:
        known = ", ".join(show_key(e) for e in sorted(envs)) if isinstance(envs, dict) and envs else "none defined"
        line, col = loaded.positions.at(("environments",))
        close = difflib.get_close_matches(env, [str(e) for e in envs], n=1, cutoff=0.5) if isinstance(envs, dict) else []
        guess = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"environment {env!r} is not defined{guess} (known: {known})"
        hint = f"pass --env {close[0]}" if close else "pass --env with one of the known names"
        raise SpecError(msg, diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD106")],
                        hint=f"{hint}, or add environments.{show_key(env)} to {loaded.display}")
    overlay = envs[env]
    if not isinstance(overlay, dict):
        line, col = loaded.positions.at(("environments", env))
        msg = f"environments.{show_key(env)} must be a mapping of overrides"
        raise SpecError(msg, diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD106")])
    for forbidden in ("environments", "apiVersion"):
        if forbidden in overlay:
            line, col = loaded.positions.at(("environments", env, forbidden), key=True)
            msg = f"environments.{show_key(env)} may not set {forbidden}"
            raise SpecError(msg, diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD106")])
    merged = _env_merged(data, overlay, env)
    _check_env_names(loaded, data, envs, env, merged)
    merged["environments"] = envs
    return merged, _overlay_positions(loaded.positions, env)


def _env_merged(data: dict[str, Any], overlay: dict[str, Any], env: str) -> dict[str, Any]:
    """The base with the overlay applied, its ``name`` made ``<name>-<env>`` unless the overlay gives
    the environment names or a place of its own (spec/envnames.py)."""
    base = {k: v for k, v in data.items() if k != "environments"}
    merged: dict[str, Any] = deep_merge(base, overlay)
    qualified = envnames.qualified_name(base, overlay, merged, env)
    if qualified is not None:
        merged["name"] = qualified
    return merged


def _check_env_names(loaded: LoadedFile, data: dict[str, Any], envs: dict[Any, Any], env: str, merged: dict[str, Any]) -> None:
    line, col = loaded.positions.at(("environments", env), key=True)
    name = merged.get("name")
    if isinstance(name, str) and len(name) > 63 and "name" not in envs[env]:
        msg = (f"environments.{show_key(env)}: the environment's resource names would start with {name!r}, "
               "longer than 63 characters")
        raise SpecError(msg, diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD107")],
                        hint=f"set a shorter name for it: environments.{show_key(env)}.name")
    others = {e: _env_merged(data, o, e) for e, o in envs.items() if e != env and isinstance(o, dict)}
    clashes = envnames.collisions(env, merged, others)
    if clashes:
        other, what = clashes[0]
        pair = " and ".join(f"environments.{show_key(e)}" for e in sorted((env, other), key=str))
        msg = f"{pair} address the same {what}: applying one would overwrite the other"
        raise SpecError(msg, diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD107")],
                        hint=f"give environments.{show_key(env)} its own name, or its own place "
                             "(target.namespace, region, account, workspace or image)")


# --- validate ------------------------------------------------------------------------------------


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last element of ``loc`` (for "did you mean")."""
    from typing import get_args, get_origin

    current: Any = DeploySpec
    for part in loc[:-1]:
        ann = current.model_fields[part].annotation if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields else None
        if ann is None:
            # Inside a discriminated union the loc carries the tag: pick the variant by kind.
            for variant in _variants(current):
                kind = variant.model_fields.get("kind")
                if kind is not None and part in get_args(kind.annotation):
                    current = variant
                    break
            else:
                return None
            continue
        while get_origin(ann) is not None and not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            args = [a for a in get_args(ann) if a is not type(None)]
            if get_origin(ann) in (dict,) and args:
                ann = args[-1]
                break
            if len(args) == 1:
                ann = args[0]
            else:
                break
        current = ann
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _variants(ann: Any) -> list[type[BaseModel]]:
    from typing import get_args

    out = []
    for a in get_args(ann):
        out.extend(_variants(a) if not isinstance(a, type) else [a] if issubclass(a, BaseModel) else [])
    return out


def _suggest(loc: tuple[Any, ...]) -> str:
    owner = _model_at(loc)
    if owner is None:
        return ""
    names = [n for n in owner.model_fields]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; allowed keys: {', '.join(names)}"


def _format_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            shown = show_key(part)
            out += f"[{shown}]" if shown != str(part) else (f".{shown}" if out else shown)
    return out


def _data_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """pydantic puts the discriminator value in loc (target.docker.image); drop it to get the data path."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and node.get("kind") == part:
            continue
        elif part in ("[key]",):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def validation_diagnostics(exc: ValidationError, data: dict[str, Any], positions: Positions, display: str) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _data_loc(loc, data)
        kind = err["type"]
        where = _format_loc(path)
        if kind == "extra_forbidden":
            line, col = positions.at(path, key=True)
            msg = f"unknown key {where!r}{_suggest(loc)}"
            code = "MD110"
        elif kind == "missing":
            line, col = positions.at(path[:-1])
            msg = f"missing required key {where!r}"
            code = "MD111"
        elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
            line, col = positions.at(path + ("kind",))
            ctx = err.get("ctx", {})
            msg = f"{where}.kind must be one of {ctx.get('expected_tags', 'docker, kubernetes, sagemaker, azureml')}"
            if kind == "union_tag_not_found":
                msg = f"{where} needs 'kind' (one of docker, kubernetes, sagemaker, azureml)"
            code = "MD112"
        else:
            line, col = positions.at(path)
            text = err["msg"]
            if text.startswith("Value error, "):
                text = text[len("Value error, ") :]
            msg = f"{where}: {text}" if where else text
            code = "MD112"
        diags.append(Diagnostic(display, line, col, msg, code))
    diags = _drop_missing_explained_by_typo(diags)
    diags.sort(key=lambda d: (d.line, d.col, d.message))
    return diags


def _drop_missing_explained_by_typo(diags: list[Diagnostic]) -> list[Diagnostic]:
    """``sorce:`` is one mistake, not two: a "missing required key 'model.source'" next to an
    "unknown key 'model.sorce'; did you mean 'source'?" is left out (the typo's line says it all)."""
    typos = set()
    for d in diags:
        if d.code == "MD110" and (m := re.match(r"unknown key '(.*)'; did you mean '(.*)'\?$", d.message)):
            parent = m.group(1).rpartition(".")[0]
            typos.add(f"{parent}.{m.group(2)}" if parent else m.group(2))
    return [d for d in diags if not (d.code == "MD111" and (m := re.match(r"missing required key '(.*)'$", d.message)) and m.group(1) in typos)]


def validate_data(
    data: dict[str, Any], positions: Positions, display: str, *, plugins: PluginConfigs | None = None
) -> DeploySpec:
    config_model = None
    kind_diags: list[Diagnostic] = []
    target = data.get("target")
    kind = target.get("kind") if isinstance(target, dict) else None
    if isinstance(kind, str) and kind not in BUILTIN_KINDS:
        try:
            if plugins is None:
                raise LookupError(kind)
            config_model = plugins(kind)
        except SpecError as exc:  # the plugin is installed but cannot be loaded: say so at target.kind
            line, col = positions.at(("target", "kind"))
            kind_diags.append(Diagnostic(display, line, col, exc.message, exc.code))
        except LookupError:
            line, col = positions.at(("target", "kind"))
            known = ", ".join(repr(k) for k in BUILTIN_KINDS)
            close = difflib.get_close_matches(kind, list(BUILTIN_KINDS), n=1, cutoff=0.6)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            kind_diags.append(
                Diagnostic(display, line, col, f"target.kind must be one of {known} or an installed plugin's kind, not {kind!r}{guess}", "MD112")
            )
    try:
        spec = DeploySpec.model_validate(data)
    except ValidationError as exc:
        diags = validation_diagnostics(exc, data, positions, display) + kind_diags
        diags.sort(key=lambda d: (d.line, d.col, d.message))
        raise SpecError("invalid deploy file", diagnostics=diags) from None
    if kind_diags:
        raise SpecError("invalid deploy file", diagnostics=kind_diags)
    if isinstance(spec.target, PluginTarget) and config_model is not None:
        spec = _validate_plugin_target(spec, config_model, data, positions, display)
    # Plain env values that look like credentials (MD120) would be baked into every artifact and plan.
    leaks = check_env(spec.serving, positions, display)
    if leaks:
        raise SpecError(
            "credential in serving.env",
            diagnostics=leaks,
            hint="move it to serving.secrets (a reference the platform resolves at run time), or, if it is "
            "not a secret, name it in serving.allow_plain with the reason; see docs/secrets.md",
        )
    return spec


def _validate_plugin_target(
    spec: DeploySpec, config_model: type, data: dict[str, Any], positions: Positions, display: str
) -> DeploySpec:
    """A plugin's target section is checked by the plugin's own ``config_model`` (located errors too)."""
    try:
        config = config_model.model_validate(data["target"])  # type: ignore[attr-defined]
    except ValidationError as exc:
        diags = []
        for err in exc.errors(include_url=False):
            path = ("target",) + tuple(err["loc"])
            line, col = positions.at(path, key=err["type"] == "extra_forbidden")
            diags.append(Diagnostic(display, line, col, f"{_format_loc(path)}: {err['msg']}", "MD112"))
        raise SpecError("invalid deploy file", diagnostics=diags) from None
    return spec.model_copy(update={"target": config})


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
        return type(exc)(exc.message, diagnostics=[Diagnostic(self.display, line, col, exc.message, exc.code)], hint=exc.hint)


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
