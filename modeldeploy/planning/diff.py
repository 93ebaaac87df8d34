"""Compute Changes: desired Resources against observed live state (files against a folder or a git
ref: filediff.py).

Pure functions over the contract types; no I/O. Bodies are compared as data (observe() has already
dropped server-managed fields), values are redacted before they reach a Change, and the order of the
result never depends on the order of the inputs.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modeldeploy.errors import PlanError
from modeldeploy.planning.filediff import unified
from modeldeploy.planning.plan import Action, Change
from modeldeploy.planning.redact import (
    SENSITIVE,
    SENSITIVE_CHANGED,
    Path,
    format_path,
    parse_path,
    plain,
    redact_text,
    scrub,
    segment_matches,
)
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.canonical import dump_json, dump_yaml

# Keys kept beside a changed field inside a list item, so a reviewer sees *which* item changed.
_IDENTITY_KEYS = ("name", "VariantName", "containerName", "key", "id")
_MAX_FORCING = 5  # forcing fields named in a replace reason before "and N more"


# ---- structural comparison ------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def changed_paths(before: Any, after: Any, prefix: Path = ()) -> list[Path]:
    """The concrete paths of the leaves that differ (a whole subtree when only one side has it)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Path] = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in before or key not in after:
                out.append(prefix + (key,))
            else:
                out.extend(changed_paths(before[key], after[key], prefix + (key,)))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            if i >= len(before) or i >= len(after):
                out.append(prefix + (i,))
            else:
                out.extend(changed_paths(before[i], after[i], prefix + (i,)))
        return out
    return [] if _same(before, after) else [prefix]


def _select(node: Any, segments: tuple[str, ...], prefix: Path = ()) -> dict[Path, Any]:
    """Every concrete path matching a dotted pattern, with its value."""
    if not segments:
        return {prefix: node}
    head, rest = segments[0], segments[1:]
    out: dict[Path, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if segment_matches(head, key):
                out.update(_select(value, rest, prefix + (key,)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if segment_matches(head, i):
                out.update(_select(value, rest, prefix + (i,)))
    return out


def forcing_paths(before: Any, after: Any, patterns: Iterable[str]) -> list[str]:
    """The changed concrete paths at or under ``patterns`` (Resource.replace_on), sorted."""
    found: set[str] = set()
    for pattern in patterns:
        segments = parse_path(pattern)
        old, new = _select(before, segments), _select(after, segments)
        for path in set(old) | set(new):
            if path not in old or path not in new:
                found.add(format_path(path))
            else:
                found.update(format_path(path + leaf) for leaf in changed_paths(old[path], new[path]))
    return sorted(found)


# ---- display projection (changed fields only) -----------------------------------------------------


def _resolve(tree: Any, path: Path) -> tuple[Path, Any, bool]:
    """Walk ``path`` in a redacted tree; stop early at a redacted subtree. (path reached, value, found)."""
    node = tree
    for i, seg in enumerate(path):
        if node == SENSITIVE:
            return path[:i], node, True
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and seg < len(node):
            node = node[seg]
        else:
            return path, None, False
    return path, node, True


def _prune(node: Any, paths: list[Path]) -> Any:
    """The part of ``node`` on ``paths`` (plus identity keys of list items), keeping its shape."""
    if any(not p for p in paths):
        return node
    groups: dict[Any, list[Path]] = {}
    for p in paths:
        groups.setdefault(p[0], []).append(p[1:])
    if isinstance(node, dict):
        return {k: _prune(node[k], groups[k]) for k in node if k in groups}
    out = []
    for i in sorted(groups):
        item = _prune(node[i], groups[i])
        if isinstance(node[i], dict) and isinstance(item, dict):
            for key in _IDENTITY_KEYS:
                if key in node[i] and key not in item and not isinstance(node[i][key], (dict, list)):
                    item[key] = node[i][key]
        out.append(item)
    return out


def _set_at(tree: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {k: (_set_at(v, rest, value) if k == head else v) for k, v in tree.items()}
    return [(_set_at(v, rest, value) if i == head else v) for i, v in enumerate(tree)]


def _projections(raw_before: Any, raw_after: Any, red_before: Any, red_after: Any) -> tuple[Any, Any]:
    before_paths: list[Path] = []
    after_paths: list[Path] = []
    for path in changed_paths(raw_before, raw_after):
        b_path, b_value, b_found = _resolve(red_before, path)
        a_path, a_value, a_found = _resolve(red_after, path)
        if b_found:
            before_paths.append(b_path)
        if a_found:
            after_paths.append(a_path)
            if b_found and b_value == a_value == SENSITIVE:  # a hidden value changed: say so, show nothing
                red_after = _set_at(red_after, a_path, SENSITIVE_CHANGED)
    before = _prune(red_before, before_paths) if before_paths else None
    after = _prune(red_after, after_paths) if after_paths else None
    return before, after


def _yaml_lines(data: Any) -> list[str]:
    if data is None:
        return []
    return dump_yaml(data).decode("utf-8").splitlines()


# ---- resources ------------------------------------------------------------------------------------


def _dependency_order(resources: Sequence[Resource]) -> list[Resource]:
    """Topological by ``depends_on`` (unknown addresses ignored), ties by address; cycles are errors."""
    by_address = {r.address: r for r in resources}
    waiting = {a: {d for d in r.depends_on if d in by_address and d != a} for a, r in by_address.items()}
    dependents: dict[str, list[str]] = {a: [] for a in by_address}
    for address, deps in waiting.items():
        for dep in deps:
            dependents[dep].append(address)
    ready = [a for a, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[Resource] = []
    while ready:
        address = heapq.heappop(ready)
        order.append(by_address[address])
        for dependent in dependents[address]:
            waiting[dependent].discard(address)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    if len(order) != len(by_address):
        stuck = sorted(a for a, deps in waiting.items() if deps)
        raise PlanError(f"resources depend on each other in a cycle: {', '.join(stuck)}")
    return order


def _replace_reason(resource: Resource, changed: list[str], forcing: list[str]) -> str:
    if resource.immutable:
        base = resource.replace_reason or f"{resource.kind} objects are immutable"
        fields = changed
    else:
        base = resource.replace_reason or f"{', '.join(resource.replace_on)} cannot change in place"
        fields = forcing
    shown = ", ".join(fields[:_MAX_FORCING])
    if len(fields) > _MAX_FORCING:
        shown += f" and {len(fields) - _MAX_FORCING} more"
    return f"{base}; changed: {shown}"


def _resource_change(resource: Resource, live: LiveResource | None) -> Change:
    paths = resource.sensitive_paths
    raw_after = plain(resource.body)
    after = scrub(raw_after, paths)
    header_to = f"planned/{resource.address}"
    if live is None:
        diff = unified([], _yaml_lines(after), "/dev/null", header_to, context=0)
        return Change(
            resource.address, resource.kind, resource.name, Action.CREATE, None, after, "", redact_text(diff), paths
        )
    raw_before = plain(live.body)
    before = scrub(raw_before, paths)
    changed = [format_path(p) for p in changed_paths(raw_before, raw_after)]
    if not changed:
        return Change(resource.address, resource.kind, resource.name, Action.NOOP, before, after, "", "", paths)
    forcing = forcing_paths(raw_before, raw_after, resource.replace_on)
    action, reason = Action.UPDATE, ""
    if resource.immutable or forcing:
        action, reason = Action.REPLACE, _replace_reason(resource, changed, forcing)
    shown_before, shown_after = _projections(raw_before, raw_after, before, after)
    lines_before, lines_after = _yaml_lines(shown_before), _yaml_lines(shown_after)
    diff = unified(
        lines_before, lines_after, f"live/{resource.address}", header_to, context=len(lines_before) + len(lines_after)
    )
    return Change(
        resource.address, resource.kind, resource.name, action, before, after, reason, redact_text(diff), paths
    )


def _delete_change(live: LiveResource, paths: tuple[str, ...]) -> Change:
    before = scrub(plain(live.body), paths)
    diff = unified(_yaml_lines(before), [], f"live/{live.address}", "/dev/null", context=0)
    return Change(live.address, live.kind, live.name, Action.DELETE, before, None, "", redact_text(diff), paths)


def diff_resources(desired: Sequence[Resource], observed: Observed) -> list[Change]:
    """One Change per desired resource and per observed leftover, in apply order.

    create when not observed; no-op when equal; replace when the resource is immutable or a
    ``replace_on`` path changed (the reason names the fields); update otherwise; delete for observed
    objects that are no longer desired. Creates/updates/replaces follow ``depends_on``; deletes come
    last, dependents first (by kind, reversing the desired order), then by address.
    """
    addresses = [r.address for r in desired]
    duplicates = sorted(a for a, n in Counter(addresses).items() if n > 1)
    if duplicates:
        raise PlanError(f"two desired resources share an address: {', '.join(duplicates)}")
    ordered = _dependency_order(desired)
    changes = [_resource_change(r, observed.resources.get(r.address)) for r in ordered]
    kind_rank: dict[str, int] = {}
    kind_sensitive: dict[str, tuple[str, ...]] = {}  # a leftover is redacted like desired objects of its kind
    for i, resource in enumerate(ordered):
        kind_rank.setdefault(resource.kind, i)
        known = kind_sensitive.get(resource.kind, ())
        kind_sensitive[resource.kind] = known + tuple(p for p in resource.sensitive_paths if p not in known)
    wanted = set(addresses)
    leftovers = [lr for address, lr in observed.resources.items() if address not in wanted]
    leftovers.sort(key=lambda lr: (-kind_rank.get(lr.kind, -1), lr.address))
    changes.extend(_delete_change(lr, kind_sensitive.get(lr.kind, ())) for lr in leftovers)
    return changes


def body_fingerprint(body: Mapping[str, Any]) -> str:
    """A content fingerprint for objects whose service gives no ETag/resourceVersion."""
    return "sha256:" + hashlib.sha256(dump_json(plain(body))).hexdigest()


def live_fingerprints(observed: Observed) -> dict[str, str]:
    """What a saved plan records per observed address: the service's fingerprint, else a body hash."""
    return {a: (lr.fingerprint or body_fingerprint(lr.body)) for a, lr in sorted(observed.resources.items())}
