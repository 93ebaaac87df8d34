"""Validating deploy.yaml's data against the models, every problem a located diagnostic
(``FILE:LINE:COL``) with "did you mean" for misspelt keys and kinds; plugin targets are checked by
their own ``config_model``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from modeldeploy.errors import Diagnostic, SpecError, show_key
from modeldeploy.spec.credentials import check_env
from modeldeploy.spec.models import BUILTIN_KINDS, DeploySpec, PluginTarget, spec_model
from modeldeploy.spec.yamlread import Positions

#: How the library tells this layer about plugin kinds without the spec importing a target registry:
#: called with a kind that is not built in, it returns the plugin's ``config_model`` (None: the plugin
#: checks nothing more) or raises LookupError when no plugin provides that kind. Without it, only the
#: built-in kinds are known.
PluginConfigs = Callable[[str], type | None]


def _model_at(loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The pydantic model class that owns the last element of ``loc`` (for "did you mean"), from the
    model that was validated."""
    from typing import get_args, get_origin

    current: Any = root
    for part in loc[:-1]:
        ann = (
            current.model_fields[part].annotation
            if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields
            else None
        )
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


def _suggest(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    owner = _model_at(loc, root)
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


def validation_diagnostics(
    exc: ValidationError, data: dict[str, Any], positions: Positions, display: str, root: type[BaseModel] = DeploySpec
) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _data_loc(loc, data)
        kind = err["type"]
        where = _format_loc(path)
        if kind == "extra_forbidden":
            line, col = positions.at(path, key=True)
            msg = f"unknown key {where!r}{_suggest(loc, root)}"
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
    return [
        d
        for d in diags
        if not (
            d.code == "MD111" and (m := re.match(r"missing required key '(.*)'$", d.message)) and m.group(1) in typos
        )
    ]


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
                Diagnostic(
                    display,
                    line,
                    col,
                    f"target.kind must be one of {known} or an installed plugin's kind, not {kind!r}{guess}",
                    "MD112",
                )
            )
    # A built-in kind: only its own section's model (and evaluation's, when present) is defined and built.
    model = spec_model(kind, "evaluation" in data)
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        diags = validation_diagnostics(exc, data, positions, display, model) + kind_diags
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
