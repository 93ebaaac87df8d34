"""Environment overlays: ``environments.<env>`` merged over the base deploy.yaml, with positions
that point into the overlay and the per-environment names checked (spec/envnames.py)."""

from __future__ import annotations

import difflib
from typing import Any

from modeldeploy.errors import Diagnostic, SpecError, show_key
from modeldeploy.spec import envnames
from modeldeploy.spec.parsing import LoadedFile
from modeldeploy.spec.yamlread import Positions


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
        close = (
            difflib.get_close_matches(env, [str(e) for e in envs], n=1, cutoff=0.5) if isinstance(envs, dict) else []
        )
        guess = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"environment {env!r} is not defined{guess} (known: {known})"
        hint = f"pass --env {close[0]}" if close else "pass --env with one of the known names"
        raise SpecError(
            msg,
            diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD106")],
            hint=f"{hint}, or add environments.{show_key(env)} to {loaded.display}",
        )
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


def _check_env_names(
    loaded: LoadedFile, data: dict[str, Any], envs: dict[Any, Any], env: str, merged: dict[str, Any]
) -> None:
    line, col = loaded.positions.at(("environments", env), key=True)
    name = merged.get("name")
    if isinstance(name, str) and len(name) > 63 and "name" not in envs[env]:
        msg = (
            f"environments.{show_key(env)}: the environment's resource names would start with {name!r}, "
            "longer than 63 characters"
        )
        raise SpecError(
            msg,
            diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD107")],
            hint=f"set a shorter name for it: environments.{show_key(env)}.name",
        )
    others = {e: _env_merged(data, o, e) for e, o in envs.items() if e != env and isinstance(o, dict)}
    clashes = envnames.collisions(env, merged, others)
    if clashes:
        other, what = clashes[0]
        pair = " and ".join(f"environments.{show_key(e)}" for e in sorted((env, other), key=str))
        msg = f"{pair} address the same {what}: applying one would overwrite the other"
        raise SpecError(
            msg,
            diagnostics=[Diagnostic(loaded.display, line, col, msg, "MD107")],
            hint=f"give environments.{show_key(env)} its own name, or its own place "
            "(target.namespace, region, account, workspace or image)",
        )
