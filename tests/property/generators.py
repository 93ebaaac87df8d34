"""Hypothesis strategies that build and mutate deploy.yaml and MLmodel files, and a per-example
wall-clock limit.

Bounds of what is generated (the loader's own limits are crossed on purpose, by a margin):

* nesting depth: up to ``DEPTH_CAP`` levels of maps/lists (the loaders stop at MAX_DEPTH = 64);
  flow-style ``[[[...]]]`` text up to 300 levels here; the hand-picked cases go to 100,000 (past the recursion limit);
* string sizes: picked from ``SIZES`` (up to 64 KiB) and, rarely, ``HUGE_SIZES`` (just under and just
  over the 1 MiB deploy.yaml limit) rather than drawn char by char, so a huge value costs nothing to generate;
* alias bombs: up to 12 levels of 10 references (10^12 nodes if expanded);
* every file is at most ~1.1 MiB on disk.
"""

from __future__ import annotations

import copy
import json
import signal
import string
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from hypothesis import strategies as st

from modeldeploy.spec.parsing import MAX_DEPTH, MAX_FILE_BYTES

DEPTH_CAP = MAX_DEPTH + 16
SIZES = (0, 1, 63, 64, 255, 4096, 65_536)
HUGE_SIZES = (MAX_FILE_BYTES - 200, MAX_FILE_BYTES + 1)
EXAMPLE_SECONDS = 20.0  # a hang is any single example taking longer than this

# --- a per-example limit that turns a hang into a failure --------------------------------------------


class Hang(AssertionError):
    pass


@contextmanager
def time_limit(seconds: float = EXAMPLE_SECONDS) -> Iterator[None]:
    """SIGALRM-based: the code under test runs in the main thread, so a hang is interrupted."""

    def _fire(signum: int, frame: Any) -> None:
        raise Hang(f"example did not finish within {seconds} s (hang)")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --- scalar values ---------------------------------------------------------------------------------

CONTROL = "".join(chr(c) for c in range(0, 32)) + "\x7f\x85\u2028\u2029\ufeff\ufffe"
NASTY_TEXT = [
    "",
    " ",
    "~",
    "null",
    "yes",
    "no",
    "on",
    "0x1F",
    "1e400",
    ".nan",
    "-.inf",
    "0o17",
    "2001-12-14",
    "{{ 7*7 }}",
    "<<{{ 7*191 }}>>",
    "{% raw %}",
    "$(id)",
    "`id`",
    "a: b",
    "# c",
    "'",
    '"',
    "\\",
    "&a",
    "*a",
    "!!python/object:os.system",
    "<<",
    "-",
    "?",
    "|",
    ">",
    "@x",
    "%YAML",
    "---",
    "...",
    "\t",
    "\u00e9\u4e2d\U0001f600",
    "\u202e\u200b",
]


def texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
        st.text(alphabet=st.sampled_from(CONTROL + "ab:#{}[]'\" "), max_size=12),
        st.sampled_from(SIZES).map(lambda n: "x" * n),
        # ~1 MiB values are drawn rarely: parsing several of them in pure-Python PyYAML takes seconds.
        st.sampled_from(NASTY_TEXT + [None] * 3).flatmap(
            lambda v: st.sampled_from(HUGE_SIZES).map(lambda n: "x" * n) if v is None else st.just(v)
        ),
    )


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        texts(),
    )


def nested(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts(), inner, max_size=3)),
        max_leaves=max_leaves,
    )


def deep(depth: int, leaf: Any = 1, kind: str = "map") -> Any:
    out = leaf
    for _ in range(depth):
        out = {"k": out} if kind == "map" else [out]
    return out


def depths() -> st.SearchStrategy[Any]:
    return st.builds(deep, st.integers(0, DEPTH_CAP), st.just(1), st.sampled_from(["map", "list"]))


def wrong_values() -> st.SearchStrategy[Any]:
    return st.one_of(scalars(), nested(), depths())


# --- structural mutation of a valid document -------------------------------------------------------


def paths_of(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(paths_of(v, prefix + (k,)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(paths_of(v, prefix + (i,)))
    return out


def _set(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return data


def _delete(data: Any, path: tuple) -> Any:
    if not path:
        return data
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    del parent[path[-1]]
    return data


def _add_key(data: Any, path: tuple, key: Any, value: Any) -> Any:
    node = data
    for p in path:
        node = node[p]
    if isinstance(node, dict):
        node[key] = value
    elif isinstance(node, list):
        node.append(value)
    return data


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], max_mutations: int = 4) -> Any:
    """``base`` with 0..max_mutations random edits: replace a value, delete a key, add a key."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = paths_of(data)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if op == "replace":
            data = _set(data, path, draw(wrong_values()))
        elif op == "delete":
            data = _delete(data, path)
        else:
            data = _add_key(data, path, draw(texts()), draw(wrong_values()))
    return data


def dump(data: Any, *, flow: bool | None, unicode: bool) -> str:
    return yaml.safe_dump(data, default_flow_style=flow, allow_unicode=unicode, sort_keys=False, width=80)


# --- text-level mutation ---------------------------------------------------------------------------

TAGS = [
    "!!python/object:os.system",
    "!!python/object/apply:os.system ['id']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!custom x",
    "!<tag:example.com,2000:x> y",
    "!!timestamp 2001-12-14",
    "!!float 1",
    "!!str 1",
    "!!int '1'",
]


def alias_bomb(levels: int, fan: int = 10) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        refs = ", ".join(f"*a{i - 1}" for _ in range(fan))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


@st.composite
def text_mutated(draw: st.DrawFn, text: str) -> str:
    """Edits at the character/line level: duplicate a line (duplicate keys), add a tag, an anchor or
    merge key, insert control or unicode characters, truncate, prepend a BOM, flow nesting."""
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(
                [
                    "dup",
                    "tag",
                    "ctrl",
                    "truncate",
                    "bom",
                    "flow_deep",
                    "alias",
                    "merge",
                    "swap",
                    "docs",
                    "indent",
                    "keyline",
                ]
            )
        )
        i = draw(st.integers(0, max(len(lines) - 1, 0))) if lines else 0
        if op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "tag" and lines:
            line = lines[i]
            if ": " in line:
                head, _, _ = line.partition(": ")
                lines[i] = f"{head}: {draw(st.sampled_from(TAGS))}\n"
            else:
                lines.insert(i, f"x: {draw(st.sampled_from(TAGS))}\n")
        elif op == "ctrl":
            pos = draw(st.integers(0, sum(map(len, lines))))
            joined = "".join(lines)
            ch = draw(st.sampled_from(list(CONTROL) + ["\u00e9", "\U0001f600", "\ud800"]))
            lines = (joined[:pos] + ch + joined[pos:]).splitlines(keepends=True)
        elif op == "truncate":
            joined = "".join(lines)
            lines = [joined[: draw(st.integers(0, len(joined)))]]
        elif op == "bom":
            lines.insert(0, "\ufeff")
        elif op == "flow_deep":
            d = draw(st.sampled_from([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 300]))
            lines.append("deep: " + "[" * d + "]" * d + "\n")
        elif op == "alias":
            lines.append(alias_bomb(draw(st.integers(1, 12))))
        elif op == "merge":
            lines.insert(0, "base: &b {name: x}\n")
            lines.append("other: {<<: *b}\n")
        elif op == "swap" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "docs":
            lines.append("---\n" + draw(st.sampled_from(["a: 1\n", "", "[1]\n"])))
        elif op == "indent" and lines:
            lines[i] = draw(st.sampled_from(["\t", "  ", " "])) + lines[i]
        elif op == "keyline":
            lines.insert(
                i, draw(st.sampled_from(["? [a, b]\n: 1\n", "{a: 1}: 2\n", "1: one\n", "~: x\n", "on: x\n", "*x: 1\n"]))
            )
    return "".join(lines)


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def json_deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def ascii_names() -> st.SearchStrategy[str]:
    return st.text(alphabet=string.ascii_letters + string.digits + "_-.", min_size=1, max_size=12)


def dumps_json(value: Any) -> str:
    return json.dumps(value, allow_nan=True)
