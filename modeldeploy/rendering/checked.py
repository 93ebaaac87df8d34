"""Checks of rendered output that passed once in this process are not run again on the same input.

A target checks what it renders before anything is written: Kubernetes objects against their
schemas, SageMaker requests against botocore's service model, Azure ML specs with the SDK's loaders.
Each check is a pure function of what it is given — the object, the request, the files it writes to a
temporary folder itself — so a second check of identical input can only pass again. ``plan --against
git:REF`` renders every unchanged file twice (as it is and as of the ref), and a monorepo repeats the
same objects many times; the second check was a third of a render's CPU.

Only a pass is remembered, keyed by a sha256 of the check's name and its complete input (pickled: the
exact types, values and key order). A failing check runs, and fails, every time, with its own message.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections.abc import Callable
from typing import Any

_PASSED: set[bytes] = set()
_LOCK = threading.Lock()
_MAX = 100_000


def once(name: str, key: Any, check: Callable[[], None]) -> None:
    """Run ``check()`` unless the check ``name`` already passed on ``key`` (its whole input) in this
    process. An input that cannot be pickled is always checked."""
    try:
        digest = hashlib.sha256(name.encode() + b"\0" + pickle.dumps(key, protocol=5)).digest()
    except Exception:  # not picklable: no memo
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
