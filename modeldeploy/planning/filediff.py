"""Compute Changes for files: rendered artifacts against a folder or a git ref (plans with ``--against``).

Pure functions over the contract types; no I/O beyond reading modeldeploy's own shipped templates to
recognise them. Text files get a line diff (redacted); model copies and binary files are compared by
sha256; sensitive files show ``(sensitive)`` only. The order of the result is by path.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from modeldeploy.errors import PlanError
from modeldeploy.planning.plan import Action, Change
from modeldeploy.planning.redact import SENSITIVE, redact_text
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.write import Blob


def unified(before: list[str], after: list[str], fromfile: str, tofile: str, *, context: int) -> str:
    """A unified line diff without trailing newlines (also used for resources' YAML in diff.py)."""
    lines = difflib.unified_diff(before, after, fromfile=fromfile, tofile=tofile, n=context, lineterm="")
    return "\n".join(lines)


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
