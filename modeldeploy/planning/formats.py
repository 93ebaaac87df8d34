"""One ``format_version`` convention for every JSON document modeldeploy emits for machines (``plan
--format json``, ``signature diff --format json``, saved plan files).

``format_version`` is a string ``"MAJOR.MINOR"``. A minor bump only adds fields (a reader of 1.0
reads 1.3 and ignores what it does not know); anything else — a field removed, renamed, retyped or
given another meaning — bumps the major. A reader accepts its own major at any minor and refuses an
unknown major. A bare ``"1"`` (written before this convention) reads as ``"1.0"``.
"""

from __future__ import annotations

import re

PLAN_JSON = (1, 1)  # 1.1: resource_changes (object-level before/after), findings counts in summary
SIGNATURE_DIFF_JSON = (2, 0)  # 2.0: format_version became the string "2.0" (it was the integer 1)

_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?$")


def format_version(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def read_major(value: object) -> int | None:
    """The major of a ``format_version`` value, or None when it is not one."""
    m = _VERSION.match(value) if isinstance(value, str) else None
    return int(m.group(1)) if m else None


def readable(value: object, major: int) -> bool:
    """True when a reader of ``major`` may read a document of ``value``."""
    return read_major(value) == major
