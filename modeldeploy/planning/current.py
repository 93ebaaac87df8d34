"""The "current state" a plan compares against, and one reader for each place it can come from.

Planning is ``plan(desired, current)``: a reader returns one :class:`Current` value — a folder of
rendered files (``read_folder``), the same deploy.yaml rendered as of a git ref (``read_git``) or what
a target observes live (``read_live``) — and :func:`changes` compares the desired render with it.
``api.plan`` and ``runs.plan_many`` call a reader and then compare; nothing else reads current state.

The git reader renders the old deploy.yaml, which needs the library's resolve and render (a layer
above this one): it takes them as callbacks.
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from modeldeploy.errors import PlanError, SpecError
from modeldeploy.planning.gitrepo import git, git_rev, one_git_run, snapshot, toplevel

__all__ = ["Current", "changes", "git_rev", "one_git_run", "read_folder", "read_git", "read_live", "trees_under"]
from modeldeploy.planning.plan import Change
from modeldeploy.planning.resources import Observed

LOCK_FILE = "modeldeploy.json"


@dataclass(frozen=True)
class Current:
    """What is there now, as a plan sees it.

    ``files`` (folder and git readers): rendered path → bytes (or a Blob for a model copy);
    ``observed`` (live reader): what the target observed. ``previous`` is the lock file's model entry
    of what is there now; ``old_signature`` its canonical signature.
    """

    against: str
    files: Mapping[str, Any] | None = None
    observed: Observed | None = None
    old_signature: Mapping[str, Any] | None = None
    has_previous: bool = False
    previous: Mapping[str, Any] | None = None
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def changes(current: Current, name: str, artifacts: Sequence[Any], desired: Any = None) -> list[Change]:
    """The changes from ``current`` to the desired render (``artifacts``; ``desired``: the target's
    desired resources, for a live comparison)."""
    from modeldeploy.planning.diff import diff_resources
    from modeldeploy.planning.filediff import diff_files

    if current.observed is not None:
        return diff_resources(desired, current.observed)
    return diff_files(list(artifacts), dict(current.files or {}), name)


# --- a folder --------------------------------------------------------------------------------------


def read_folder(folder: Path, name: str) -> Current:
    """A render folder (``dir:PATH``): the deployment's files under ``folder/name`` and its lock file."""
    from modeldeploy.planning.filediff import file_fingerprints
    from modeldeploy.rendering.write import read_tree

    current = read_tree(folder / name)
    lock = read_lock(current.get(LOCK_FILE))
    return Current(
        against=f"dir:{folder.as_posix()}",
        files=current,
        old_signature=(lock.get("model") or {}).get("signature") if lock else None,
        has_previous=bool(current),
        previous=(lock or {}).get("model"),
        fingerprints=file_fingerprints(current, name),
    )


def read_lock(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, bytes) or not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- live ------------------------------------------------------------------------------------------


def read_live(target: Any, ctx: Any, desired: Any, options: Any) -> Current:
    """What ``target`` observes now for ``desired`` (the only reader that touches the network)."""
    from modeldeploy.planning.diff import live_fingerprints

    observed = target.observe(ctx, desired, options)
    return Current(
        against="live",
        observed=observed,
        old_signature=observed.deployed_signature,
        has_previous=bool(observed.resources),
        previous=dict(observed.deployed_model) if observed.deployed_model else None,
        fingerprints=live_fingerprints(observed),
    )


# --- a git ref -------------------------------------------------------------------------------------

# (old signature or None, the old lock file's model entry, the old render's artifacts)
OldRender = tuple[Mapping[str, Any] | None, Mapping[str, Any], Sequence[Any]]


def read_git(
    spec_path: Path,
    display: str,
    env: str | None,
    ref: str,
    repo_root: Path | None,
    *,
    parse: Callable[[str, str, Path, str | None], Any],
    build: Callable[[Any], OldRender],
) -> Current:
    """The same deploy.yaml rendered as of ``ref``.

    ``parse(text, display, path, env)`` validates the old deploy.yaml into a LoadedSpec;
    ``build(loaded)`` resolves its model and renders it. Everything the old spec reaches inside the
    repository is read at ``ref``: its own folder, and a local model folder wherever it lies in the
    repository (``source: ../model``, shared by many services), and the folders of evaluation data files
    outside its folder. A local model folder that is not in git at ``ref`` is a located error.
    """
    from modeldeploy.rendering.write import Blob

    spec_path = spec_path.resolve()
    root = toplevel(spec_path.parent)
    if root is None:
        raise PlanError(f"{display} is not inside a git repository; --against git:REF needs one")
    commit = git_rev(ref, root)
    fingerprints = {"git:" + ref: git_rev(ref, repo_root or spec_path.parent)}
    rel = spec_path.relative_to(root).as_posix()
    old_text = snapshot(root, commit).read(rel)
    if old_text is None:
        return Current(
            against="git:" + ref,
            files={},
            fingerprints=fingerprints,
            notes=(f"{display} does not exist at {ref}: everything is new",),
        )
    # Every spec planned against the same commit in this process shares one extracted tree: a monorepo
    # of many services extracts (and digests) a model they share once, not once per deploy.yaml.
    # (Held while rendering too: a later extraction into the shared tree never races a reader.)
    with _TREES_LOCK:
        tmpdir, done = _tree_for(root, commit)
        # Recreate the deploy.yaml's folder as of ref, so files beside it resolve there.
        folder = spec_path.parent.relative_to(root).as_posix()
        _extract_once(root, ref, folder, tmpdir, done)
        old_spec_path = tmpdir / rel
        try:
            old_loaded = parse(old_text.decode("utf-8"), f"{display}@{ref}", old_spec_path, env)
        except SpecError as exc:
            raise PlanError(f"{display} at {ref} is not valid; cannot plan against it: {exc.lines()[0]}") from None
        _extract_model_folder(old_loaded, root, ref, folder, tmpdir, f"{display}@{ref}", done)
        _extract_data_folders(old_loaded, root, ref, folder, tmpdir, done)
        old_sig, lock_model, artifacts = build(old_loaded)
    # Model copies by digest: the old render's files were in a folder that is gone now.
    files = {a.path: a.content if a.file is None else Blob(a.digest.split(":", 1)[1], a.size) for a in artifacts}
    return Current(
        against="git:" + ref,
        files=files,
        old_signature=old_sig,
        has_previous=True,
        previous=lock_model,
        fingerprints=fingerprints,
    )


def _extract_model_folder(
    loaded: Any, root: Path, ref: str, spec_folder: str, tmpdir: Path, display: str, done: set[str]
) -> None:
    """Extract a local model folder outside the spec's own folder (``../model``) as of ``ref``."""
    from modeldeploy.model.sources.uri import LocalUri, parse

    source = loaded.spec.model.source
    try:
        parsed = parse(source)
    except Exception:  # an unparseable source fails later, in resolve, with its own message
        return
    if not isinstance(parsed, LocalUri) or PurePosixPath(parsed.path).is_absolute() or parsed.path.startswith("~"):
        return
    model_rel = _in_repository(spec_folder, parsed.path)
    if model_rel is None or model_rel == ".":
        return  # outside the repository: resolve reports it as it does today
    if _covered(model_rel, done):
        present = (tmpdir / model_rel).is_dir()  # inside a folder already extracted at ref
    else:
        present = snapshot(root, git_rev(ref, root)).is_dir(model_rel)
    if not present:
        from modeldeploy.errors import Diagnostic, SourceError

        line, col = _where(loaded, ("model", "source"))
        message = f"model folder {source!r} is not in git at {ref} (not committed, or ignored by .gitignore)"
        raise SourceError(
            message,
            diagnostics=[Diagnostic(display, line, col, message, SourceError.code)],
            hint=f"commit the model folder, or plan against a folder of rendered files (--against DIR) or live state (git log -- {model_rel})",
        )
    if _covered(model_rel, done):
        return
    _extract_once(root, ref, model_rel, tmpdir, done)


def _in_repository(spec_folder: str, written: str) -> str | None:
    """``written`` (relative to the spec's folder) as a path from the repository's root, or None when
    it is absolute or leaves the repository."""
    if PurePosixPath(written).is_absolute() or written.startswith("~"):
        return None
    joined = PurePosixPath(spec_folder) / written if spec_folder != "." else PurePosixPath(written)
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts) or "."


def _extract_data_folders(loaded: Any, root: Path, ref: str, spec_folder: str, tmpdir: Path, done: set[str]) -> None:
    """Extract, as of ``ref``, the folders of the evaluation data files outside the spec's own folder
    (``evaluation.data: ../data/test.csv``): a render that reads them (Azure ML's Responsible AI job
    uploads them) reads them at the ref. A file not in git at the ref is left to the render, which
    reports it missing, located, as it does in the working tree."""
    from modeldeploy.spec.evaluation import data_paths

    section = getattr(loaded.spec, "evaluation", None)
    if section is None:
        return
    snap = snapshot(root, git_rev(ref, root))
    for written in data_paths(section).values():
        rel = _in_repository(spec_folder, written)
        if rel is None or rel == ".":
            continue
        parent = PurePosixPath(rel).parent.as_posix()
        if parent != "." and not _covered(parent, done) and snap.is_dir(parent):
            _extract_once(root, ref, parent, tmpdir, done)


# (repository root, commit) -> (extracted tree, folders extracted into it); removed at exit.
_TREES: dict[tuple[str, str], tuple[Path, set[str]]] = {}
_TREES_LOCK = threading.RLock()


_TREES_UNDER: list[str] = []  # where trees are extracted while a run with worker processes is open


@contextmanager
def trees_under(folder: str) -> Iterator[None]:
    """Extract the trees of this block (and of the worker processes forked in it, which run no exit
    handlers of their own) under ``folder``, which the caller removes; forget them when it ends."""
    _TREES_UNDER.append(folder)
    try:
        yield
    finally:
        _TREES_UNDER.remove(folder)
        with _TREES_LOCK:
            for key in [k for k, (tree, _) in _TREES.items() if tree.is_relative_to(folder)]:
                del _TREES[key]


def _tree_for(root: Path, commit: str) -> tuple[Path, set[str]]:
    key = (str(root), commit)
    if key not in _TREES:
        tmp = tempfile.mkdtemp(prefix="modeldeploy-git-", dir=_TREES_UNDER[-1] if _TREES_UNDER else None)
        atexit.register(shutil.rmtree, tmp, True)
        from modeldeploy.model.digest import transient

        transient(tmp)  # its models' digests stay in this process, out of the on-disk cache
        # The copy stands for the repository's root: a model folder outside deploy.yaml's folder is
        # pinned relative to it (model.sources.local.repo_root), as it is in the working tree.
        (Path(tmp) / ".git").write_text("")
        _TREES[key] = (Path(tmp), set())
    return _TREES[key]


def _covered(folder: str, done: set[str]) -> bool:
    parts = folder.split("/")
    return "." in done or any("/".join(parts[:i]) in done for i in range(1, len(parts) + 1))


def _extract_once(root: Path, ref: str, folder: str, into: Path, done: set[str]) -> None:
    if _covered(folder, done):
        return
    _extract(root, ref, folder, into)
    done.add(folder)


def _where(loaded: Any, path: tuple[str, ...]) -> tuple[int, int]:
    try:
        where = loaded.positions.at(path)
        return int(where[0]), int(where[1])
    except Exception:
        return 1, 1


def _extract(root: Path, ref: str, folder: str, into: Path) -> None:
    if snapshot(root, git_rev(ref, root)).extract(folder, into):
        return
    if not hasattr(tarfile, "data_filter"):  # the filter came in Python 3.10.12 and 3.11.4 (3.12 has it)
        raise PlanError(
            f"cannot read {folder} at {ref} safely: it holds a symbolic link or a submodule, which is read "
            f"through git archive and tar's 'data' extraction filter, and this Python ({sys.version.split()[0]}) "
            "has no such filter",
            hint="run modeldeploy on Python 3.10.12, 3.11.4 or later",
        )
    archive = git(["archive", "--format=tar", ref, folder if folder != "." else "."], root)
    if archive.returncode != 0:
        raise PlanError(f"cannot read {folder} at {ref}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
