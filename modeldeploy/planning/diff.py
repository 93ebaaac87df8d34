"""Compute Changes: desired Resources against observed live state, or rendered files against a folder.

Pure functions over the contract types; no I/O. Bodies are compared as data (observe() has already
dropped server-managed fields), values are redacted before they reach a Change, and the order of the
result never depends on the order of the inputs.
"""

from __future__ import annotations

import difflib
import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from modeldeploy.errors import PlanError
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
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_json, dump_yaml
from modeldeploy.rendering.write import Blob

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


def unified(before: list[str], after: list[str], fromfile: str, tofile: str, *, context: int) -> str:
    lines = difflib.unified_diff(before, after, fromfile=fromfile, tofile=tofile, n=context, lineterm="")
    return "\n".join(lines)


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
        return Change(resource.address, resource.kind, resource.name, Action.CREATE, None, after, "", redact_text(diff), paths)
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
    diff = unified(lines_before, lines_after, f"live/{resource.address}", header_to, context=len(lines_before) + len(lines_after))
    return Change(resource.address, resource.kind, resource.name, action, before, after, reason, redact_text(diff), paths)


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


# ---- files (plans against a folder or a git ref) --------------------------------------------------


def _digest(content: bytes | Blob | Artifact) -> str:
    if isinstance(content, Artifact):
        return content.digest
    if isinstance(content, Blob):
        return "sha256:" + content.sha256
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _size(content: bytes | Blob | Artifact) -> int:
    return content.size if isinstance(content, (Artifact, Blob)) else len(content)


def _decode_text(content: bytes) -> str | None:
    if b"\x00" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _text_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _file_summary(content: bytes | Blob | Artifact | None, sensitive: bool) -> Any:
    if content is None:
        return None
    if sensitive:
        return SENSITIVE
    return {"digest": _digest(content), "size": _size(content)}


@lru_cache(maxsize=1)
def _shipped_digests() -> frozenset[str]:
    """sha256 of every file modeldeploy ships verbatim in its templates (the container entrypoint, the
    custom scoring server): a plan names these with their digest instead of printing them whole."""
    from modeldeploy.rendering.jinja import templates_dir

    digests: set[str] = set()
    folders = [templates_dir()]
    while folders:  # a Traversable (folder, wheel or zip) has iterdir, not rglob
        for entry in folders.pop().iterdir():
            if entry.is_dir():
                folders.append(entry)
            elif not entry.name.endswith(".j2"):
                digests.add("sha256:" + hashlib.sha256(entry.read_bytes()).hexdigest())
    return frozenset(digests)


def _shipped_summary(artifact: Artifact | None, old: bytes | Blob | None) -> str | None:
    """``shipped by modeldeploy v0.1.0, sha256:ab12… (7,013 bytes)`` for a new or updated file that is
    byte-for-byte one modeldeploy ships; None for anything the user's deploy.yaml or model shaped."""
    if artifact is None or artifact.source is not None or artifact.digest not in _shipped_digests():
        return None
    from modeldeploy._version import __version__

    what = f"shipped by modeldeploy v{__version__}, {artifact.digest[:19]}… ({artifact.size:,} bytes)"
    if old is None:
        return what
    return f"{what}; was {_digest(old)[:19]}… ({_size(old):,} bytes)"


def _file_diff(name: str, artifact: Artifact | None, old: bytes | Blob | None, *, sensitive: bool) -> str:
    if sensitive:
        return SENSITIVE
    if (shipped := _shipped_summary(artifact, old)) is not None:
        return shipped
    # Model copies are compared by digest and never read here; rendered text is in memory.
    new = artifact.content if artifact is not None and artifact.is_text else None
    new_text = _decode_text(new) if new is not None else None
    old_text = _decode_text(old) if isinstance(old, bytes) else None
    binary = (artifact is not None and new_text is None) or (old is not None and old_text is None)
    if binary:
        return f"digest {_digest(old) if old is not None else '(none)'} → {_digest(artifact) if artifact is not None else '(none)'}"
    fromfile = f"current/{name}" if old is not None else "/dev/null"
    tofile = f"rendered/{name}" if new is not None else "/dev/null"
    diff = unified(_text_lines(old_text or ""), _text_lines(new_text or ""), fromfile, tofile, context=3)
    if not diff and old != new:
        diff = f"--- {fromfile}\n+++ {tofile}\n (line endings or whitespace only)"
    return redact_text(diff)


def _join(prefix: str, path: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{path}" if prefix else path


def diff_files(desired: Sequence[Artifact], current: Mapping[str, bytes | Blob], prefix: str) -> list[Change]:
    """One Change per file, by path: what writing ``desired`` over ``current`` would do.

    ``current`` maps artifact-relative paths (the same space as ``Artifact.path``) to the bytes found in
    the folder or git ref (a :class:`Blob`, sha256 and size, for a big file); ``prefix`` is where that deployment's files live there (``out/iris``), used
    in addresses (``file.out/iris/Dockerfile``). Text files get a line diff; model copies and binary
    files are compared by sha256; sensitive files show ``(sensitive)`` only.
    """
    by_path: dict[str, Artifact] = {}
    for rendered in desired:
        if rendered.path in by_path:
            raise PlanError(f"two rendered artifacts share the path {rendered.path}")
        by_path[rendered.path] = rendered
    changes: list[Change] = []
    for path in sorted(set(by_path) | set(current)):
        artifact, old = by_path.get(path), current.get(path)
        name = _join(prefix, path)
        sensitive = artifact is not None and artifact.sensitive
        if artifact is None:
            action = Action.DELETE
        elif old is None:
            action = Action.CREATE
        else:
            action = Action.NOOP if _size(old) == artifact.size and _digest(old) == artifact.digest else Action.UPDATE
        diff = "" if action is Action.NOOP else _file_diff(name, artifact, old, sensitive=sensitive)
        objects: tuple[Any, ...] = ()
        if action is not Action.NOOP and not sensitive:
            objects = _objects(path, artifact, old)
        changes.append(
            Change(
                address=f"file.{name}",
                kind="file",
                name=name,
                action=action,
                before=_file_summary(old, sensitive),
                after=_file_summary(artifact, sensitive),
                diff=diff,
                objects=objects,
            )
        )
    return changes


def _objects(path: str, artifact: Artifact | None, old: bytes | Blob | None) -> tuple[Any, ...]:
    """The objects that change inside one rendered file (model copies and big files: none)."""
    from modeldeploy.planning.objects import object_changes

    if isinstance(old, Blob) or (artifact is not None and not artifact.is_text):
        return ()
    return object_changes(path, old, artifact.content if artifact is not None else None)


def file_fingerprints(current: Mapping[str, bytes | Blob], prefix: str) -> dict[str, str]:
    """What a saved plan against a folder/git ref records: file address → sha256 of the current bytes."""
    return {f"file.{_join(prefix, p)}": _digest(c) for p, c in sorted(current.items())}
