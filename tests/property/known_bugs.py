"""Bugs in other modules that the generated inputs hit, reported to their owners.

Each entry matches an unexpected exception by the innermost modeldeploy frame it came through. The
property tests tolerate a match (so they keep checking everything else) and each bug has a strict
xfail reproducer in tests/hostile/test_known_bugs.py: once it is fixed that reproducer XPASSes and
fails, which is the signal to delete its entry here.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownBug:
    id: str
    exception: type[BaseException]
    module: str  # path suffix of the innermost modeldeploy frame, e.g. "modeldeploy/model/signature.py"
    function: str  # "*" for any function in the module
    summary: str


KNOWN_BUGS: tuple[KnownBug, ...] = ()  # none open; see docs/hardening.md for the fixed ones


def innermost_modeldeploy_frame(exc: BaseException) -> tuple[str, str]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/modeldeploy/" in f.filename.replace("\\", "/")]
    if not frames:
        return "", ""
    f = frames[-1]
    return f.filename.replace("\\", "/"), f.name


def known_bug(exc: BaseException) -> KnownBug | None:
    filename, function = innermost_modeldeploy_frame(exc)
    for bug in KNOWN_BUGS:
        if isinstance(exc, bug.exception) and filename.endswith(bug.module) and bug.function in ("*", function):
            return bug
    return None


# Messages known to echo a raw key or value (so a newline in it splits one diagnostic over several
# lines), matched by the message's start. None open: model/info.py quotes keys with errors.show_key.
KNOWN_MULTILINE_MESSAGES: tuple[str, ...] = ()


def known_multiline(message: str) -> bool:
    return message.startswith(KNOWN_MULTILINE_MESSAGES)
