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


KNOWN_BUGS = (
    KnownBug(
        "signature-json-recursion",
        RecursionError,
        "modeldeploy/model/signature.py",
        "_json",
        "a signature JSON string nested ~1000 deep raises RecursionError from json.loads (only JSONDecodeError is caught)",
    ),
    KnownBug(
        "read-json-recursion",
        RecursionError,
        "modeldeploy/model/info.py",
        "read_json",
        "an input_example.json nested ~1000 deep raises RecursionError from json.loads (only JSONDecodeError is caught)",
    ),
    KnownBug(
        "mlmodel-file-name-too-long",
        OSError,
        "modeldeploy/model/info.py",
        "*",
        "an MLmodel naming a side file longer than NAME_MAX (python_function.env: 'x' * 4096) raises OSError "
        "ENAMETOOLONG from Path.is_file (pathlib only ignores ENOENT/ENOTDIR/EBADF/ELOOP)",
    ),
    KnownBug(
        "local-source-name-too-long",
        OSError,
        "modeldeploy/model/sources/local.py",
        "resolve_local",
        "model.source: ./<300 chars> raises OSError ENAMETOOLONG; the CLI prints 'internal error'",
    ),
    KnownBug(
        "env-vars-not-a-list",
        TypeError,
        "modeldeploy/model/info.py",
        "load",
        "MLmodel env_vars: 5 raises TypeError ('int' object is not iterable) in _Reader.load",
    ),
)


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


# Messages that echo a raw MLmodel mapping key, so a key holding a newline splits one diagnostic over
# several lines (info.py _Reader.load "flavors.{name} must be a mapping", _Reader.env
# "python_function.env.{key} ..."). Matched by the message's start.
KNOWN_MULTILINE_MESSAGES = ("flavors.", "python_function.env.")


def known_multiline(message: str) -> bool:
    return message.startswith(KNOWN_MULTILINE_MESSAGES)
