"""Projecting live objects onto the shape ``desired()`` produces, so a generic field diff is honest.

A live object carries far more than modeldeploy wrote: server bookkeeping (managedFields, uid,
resourceVersion, generation, timestamps, status), fields the API server defaults
(``terminationMessagePath``, ``clusterIP``, ``revisionHistoryLimit``…) and values it normalises
(``cpu: 1000m`` is stored as ``"1"``). :func:`project` keeps only the fields the desired object sets.

When the cluster allows it, observe also asks for a server-side *dry-run* apply of the desired object:
the object as it would be stored after the apply. Wherever that dry-run result equals the live object,
applying changes nothing there, so the desired value is reported (no normalisation noise); wherever
they differ, the live value is reported (a real change). Fields the apply would remove (modeldeploy
set them before, the new render does not) differ too and are reported from the live object.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

SERVER_METADATA = (
    "managedFields",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def strip_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without status and server-owned metadata."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    md = dict(out.get("metadata") or {})
    for key in SERVER_METADATA:
        md.pop(key, None)
    out["metadata"] = md
    return out


def _key(item: Any) -> Any:
    """Merge key of a list element: ``name`` for containers, env, ports, volumes…; else none."""
    if isinstance(item, Mapping):
        for k in ("name", "containerPort", "mountPath"):
            if k in item:
                return (k, item[k])
    return None


_MISSING = object()


def project(desired: Any, live: Any, merged: Any = _MISSING) -> Any:
    """``live`` reduced to the fields ``desired`` sets. ``merged`` is the dry-run apply result (or
    omitted when the cluster would not give one); see the module docstring."""
    if merged is not _MISSING and merged == live:
        return copy.deepcopy(desired)
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        m = merged if isinstance(merged, Mapping) else {}
        out: dict[str, Any] = {}
        for k, dv in desired.items():
            if k in live:
                out[k] = project(dv, live[k], m.get(k, _MISSING) if merged is not _MISSING else _MISSING)
        if merged is not _MISSING:
            for k, lv in live.items():
                if k not in desired and m.get(k, _MISSING) != lv:
                    out[k] = copy.deepcopy(lv)  # the apply would remove or change it
        return out
    if isinstance(desired, list) and isinstance(live, list):
        return _project_list(desired, live, merged)
    return copy.deepcopy(live)


def _project_list(desired: list[Any], live: list[Any], merged: Any) -> list[Any]:
    keyed = all(_key(x) is not None for x in desired) and all(_key(x) is not None for x in live)
    m_list = merged if isinstance(merged, list) else None
    if keyed:
        d_by = {_key(x): x for x in desired}
        m_by = {_key(x): x for x in m_list if _key(x) is not None} if m_list is not None else None
        out = []
        for item in live:
            k = _key(item)
            if k in d_by:
                out.append(project(d_by[k], item, m_by.get(k, _MISSING) if m_by is not None else _MISSING))
            elif m_by is None or m_by.get(k, _MISSING) != item:
                out.append(copy.deepcopy(item))  # not rendered; kept when the apply would drop it
        return out
    if len(desired) == len(live):
        return [
            project(d, lv, m_list[i] if m_list is not None and i < len(m_list) else _MISSING)
            for i, (d, lv) in enumerate(zip(desired, live, strict=False))
        ]
    return copy.deepcopy(live)


def address(kind: str, namespace: str, name: str) -> str:
    return f"{kind.lower()}.{namespace}.{name}"


def parse_address(addr: str) -> tuple[str, str, str]:
    kind, namespace, name = addr.split(".", 2)
    return kind, namespace, name
