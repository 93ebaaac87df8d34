"""Checks of rendered output that passed once in this process are not run again on the same input,
and a canonical text just made from the same data is not made again.

A target checks what it renders before anything is written: Kubernetes objects against their
schemas, SageMaker requests against botocore's service model, Azure ML specs with the SDK's loaders.
Each check is a pure function of what it is given — the object, the request, the files it writes to a
temporary folder itself — so a second check of identical input can only pass again. ``plan --against
git:REF`` renders every unchanged file twice (as it is and as of the ref), and a monorepo repeats the
same objects many times; the second check was a third of a render's CPU.

Only a pass is remembered, keyed by a sha256 of the check's name and its complete input (pickled: the
exact types, values and key order). A failing check runs, and fails, every time, with its own message.

:func:`remembered` does the same for a pure function of one argument that makes bytes (the canonical
YAML of a manifest): the last results are kept by input, so the ref's render of an unchanged file
reuses the text its working render just made — the same bytes, as the function is pure.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_PASSED: set[bytes] = set()
_LOCK = threading.Lock()
_MAX = 100_000


def _key(name: str, value: Any) -> bytes | None:
    try:
        return hashlib.sha256(name.encode() + b"\0" + pickle.dumps(value, protocol=5)).digest()
    except Exception:  # not picklable: no memo
        return None


def once(name: str, key: Any, check: Callable[[], None]) -> None:
    """Run ``check()`` unless the check ``name`` already passed on ``key`` (its whole input) in this
    process. An input that cannot be pickled is always checked."""
    digest = _key(name, key)
    if digest is None:
        check()
        return
    with _LOCK:
        if digest in _PASSED:
            return
    check()
    with _LOCK:
        if len(_PASSED) >= _MAX:
            _PASSED.clear()
        _PASSED.add(digest)


_MADE: OrderedDict[bytes, bytes] = OrderedDict()
_MAX_MADE = 512  # the latest texts: a ref's render follows its working render


def remembered(name: str, make: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """``make`` (a pure function of its one argument) with its latest results kept by input."""

    def made(value: Any) -> bytes:
        digest = _key(name, value)
        if digest is None:
            return make(value)
        with _LOCK:
            text = _MADE.get(digest)
            if text is not None:
                _MADE.move_to_end(digest)
                return text
        text = make(value)
        with _LOCK:
            _MADE[digest] = text
            while len(_MADE) > _MAX_MADE:
                _MADE.popitem(last=False)
        return text

    return made
