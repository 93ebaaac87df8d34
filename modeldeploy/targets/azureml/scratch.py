"""The folder the Azure ML SDK's loaders read a rendered tree from: one per process, reused.

The loaders check that local paths in a spec exist, so every Azure ML render is written to a folder
first (model and code copies as empty placeholders). A fresh temporary folder per render cost three
``mkdir``s, three ``rmdir``s and about ten file creations and removals — on an ext4 disk mounted with
``discard``, ~1 ms each of system time, and about as much as the loaders' own work in a monorepo.

Here one private folder per process (``mkdtemp``: mode 0700) is brought to hold exactly the tree
each time: whatever it holds that the tree does not (a file or folder of an earlier tree) is removed,
and a file is written unless this process wrote the same bytes there before and its stat (inode,
size, mtime) is unchanged since. So the loaders see the same paths and bytes as in a fresh folder,
under another folder name (which was random before too). The folder is removed when the process
exits (a forked worker included); a process that is killed leaves it, as it left a temporary folder.
One tree at a time: callers hold :func:`folder`'s lock while the loaders read.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modeldeploy.rendering.artifact import Artifact

_State = dict[str, Any]
_STATE: _State = {}


def _state() -> _State:
    """This process's folder, lock and record of what it wrote (made anew after a fork)."""
    if _STATE.get("pid") != os.getpid():
        import tempfile
        from multiprocessing import util  # its finalizers run at exit in the main process and in workers

        root = Path(tempfile.mkdtemp(prefix="modeldeploy-azureml-"))
        _STATE.clear()
        _STATE.update(pid=os.getpid(), root=root, lock=threading.Lock(), written={})
        util.Finalize(None, shutil.rmtree, args=(str(root), True), exitpriority=0)
    return _STATE


@contextmanager
def folder(artifacts: Iterable[Artifact], placed: Callable[[Artifact], Any]) -> Iterator[Path]:
    """This process's folder holding exactly ``artifacts`` (``placed(a)``: what is written for ``a``,
    compared with what was written before; an empty file for None), while the caller reads it."""
    state = _state()
    with state["lock"]:
        root: Path = state["root"]
        written: dict[str, tuple[Any, tuple[int, int, int]]] = state["written"]
        wanted = {a.path: a for a in artifacts}
        folders = {p.as_posix() for rel in wanted for p in Path(rel).parents if p != Path(".")}
        for here, dirs, files in os.walk(root, topdown=False):
            rel_here = Path(here).relative_to(root)
            for name in files:
                rel = (rel_here / name).as_posix()
                if rel not in wanted:
                    os.unlink(os.path.join(here, name))
                    written.pop(rel, None)
            for name in dirs:
                path = os.path.join(here, name)
                if (rel_here / name).as_posix() not in folders:
                    os.unlink(path) if os.path.islink(path) else shutil.rmtree(path)
        for rel, a in wanted.items():
            what, dest = placed(a), root / rel
            before = written.get(rel)
            if before is not None and before[0] == what and _stat(dest) == before[1]:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as f:
                if what is not None:
                    a.copy_to(f)  # a rendered text, or a file artifact streamed (its digest checked)
            written[rel] = (what, _stat(dest))
        yield root


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
