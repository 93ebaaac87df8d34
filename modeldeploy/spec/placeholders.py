"""The example values ``modeldeploy init`` writes for what only the user knows (an AWS account, an
Azure subscription, a bucket, a workspace) are flagged by ``validate`` until replaced: a warning,
located at the value, so a copied example is not deployed against an account that is not yours."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from modeldeploy.errors import Diagnostic

CODE = "MD121"

# (pattern on a whole string value, what it is). The account and subscription ids are the documented
# example ids; the names are the ones init writes with "# replace".
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)123456789012(?!\d)"), "the example AWS account 123456789012"),
    (re.compile(r"(?<![0-9a-fA-F-])0{8}-0{4}-0{4}-0{4}-0{12}(?![0-9a-fA-F-])"), "the all-zero example subscription id"),
    (re.compile(r"^(?:my-model-artifacts|my-resource-group|my-workspace)$"), "an example name written by init"),
)


def _walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))
    elif isinstance(node, str):
        yield path, node


def placeholder_warnings(data: dict[str, Any], at: Callable[..., tuple[int, int]], display: str) -> list[Diagnostic]:
    """One warning per value under ``target`` that still holds an example value from init."""
    out: list[Diagnostic] = []
    for path, value in _walk(data.get("target"), ("target",)):
        for pattern, what in _PLACEHOLDERS:
            if pattern.search(value):
                line, col = at(path)
                key = ".".join(str(p) for p in path)
                out.append(
                    Diagnostic(
                        display,
                        line,
                        col,
                        f"{key} still holds {what} ({value!r}): replace it with yours",
                        CODE,
                        "warning",
                    )
                )
                break
    return sorted(out, key=lambda d: (d.line, d.col))  # in file order, whatever the model's field order
