"""Reading and parsing deploy.yaml: bytes → text → plain data with positions (``LoadedFile``).

YAML is parsed with PyYAML's safe composer; the node graph is then turned into plain data here, so
that duplicate keys, non-standard tags and alias bombs are located errors rather than silent
surprises or hangs, and a file too big or too deep is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import Diagnostic, SpecError
from modeldeploy.spec.yamlread import Builder, Path_, Positions, YAMLProblem, bad_value, compose, decode, mark

# Bounds that keep hostile files from hanging or exhausting memory. A real deploy.yaml has a few
# hundred nodes and a depth under 10.
MAX_FILE_BYTES = 1 << 20  # 1 MiB
MAX_NODES = 100_000  # nodes visited while expanding aliases (billion laughs stops here)
MAX_DEPTH = 64


@dataclass(frozen=True)
class LoadedFile:
    """A parsed deploy.yaml before validation: the raw data and where each value came from."""

    path: Path
    display: str
    data: dict[str, Any]
    positions: Positions
    text: str


class _Builder(Builder):
    """The shared YAML builder, collecting every problem in deploy.yaml's words; only a document too
    big or too deep stops it."""

    def __init__(self, display: str):
        super().__init__(max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        self.display = display
        self.diags: list[Diagnostic] = []

    def error(self, node: yaml.Node, message: str, code: str) -> None:
        line, col = mark(node)
        self.diags.append(Diagnostic(self.display, line, col, message, code))

    def refuse(self, node: yaml.Node, kind: str, at: Path_ = ()) -> None:
        if kind == "nodes":
            raise _TooBig(node, f"document expands to more than {MAX_NODES} nodes (YAML alias bomb?)")
        if kind == "depth":
            raise _TooBig(node, f"document is nested deeper than {MAX_DEPTH} levels")
        if kind == "tag":
            self.error(node, f"YAML tag {node.tag!r} is not allowed; use plain values", "MD102")
        elif kind == "merge":
            self.error(node, "YAML merge keys ('<<') are not supported; use environments overlays", "MD102")
        elif kind == "key":
            self.error(node, "mapping keys must be plain scalars", "MD102")
        elif kind == "value":
            self.error(node, bad_value(node), "MD102")
        else:  # duplicate
            first = self.keys.get(at, (0, 0))
            self.error(node, f"duplicate key {at[-1]!r} (first defined at line {first[0]})", "MD103")

    def key(self, node: yaml.ScalarNode, path: Path_, depth: int) -> Any:
        key = self.build(node, path + ("<key>",), depth + 1)
        if isinstance(key, (int, float, bool)) or key is None:
            key = node.value  # `1: x` or `on: x` as a key means the text the user wrote
        return key


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node = node


def _too_deep(display: str) -> SpecError:
    return SpecError(
        "too deep",
        diagnostics=[Diagnostic(display, 1, 1, f"document is nested deeper than {MAX_DEPTH} levels", "MD104")],
    )


def _decode(raw: bytes, display: str) -> str:
    try:
        return decode(raw)
    except YAMLProblem as exc:
        line, col = exc.where
        raise SpecError(
            "file is not UTF-8",
            diagnostics=[Diagnostic(display, line, col, f"file is not valid UTF-8 (byte 0x{exc.byte:02x})", "MD101")],
        ) from None


def parse_text(text: str, display: str, path: Path | None = None) -> LoadedFile:
    """Parse YAML text into data + positions, or raise SpecError with every located problem."""
    for i, ch in enumerate(text):
        if ch == "\x00":
            line = text.count("\n", 0, i) + 1
            raise SpecError("NUL byte", diagnostics=[Diagnostic(display, line, 1, "file contains a NUL byte", "MD101")])
    try:
        docs = compose(text)
    except YAMLProblem as exc:
        if exc.kind == "depth":
            raise _too_deep(display) from None
        line, col = exc.where
        raise SpecError(
            "invalid YAML", diagnostics=[Diagnostic(display, line, col, exc.message, "MD101")], hint=exc.hint
        ) from None
    if not docs:
        raise SpecError(
            "empty file",
            diagnostics=[Diagnostic(display, 1, 1, "file is empty; expected a deploy.yaml mapping", "MD100")],
        )
    if len(docs) > 1:
        line, col = mark(docs[1])
        raise SpecError(
            "several documents",
            diagnostics=[
                Diagnostic(
                    display, line, col, "file holds several YAML documents; put one deployment per file", "MD100"
                )
            ],
        )
    builder = _Builder(display)
    try:
        data = builder.run(docs[0])
    except _TooBig as exc:
        line, col = mark(exc.node)
        raise SpecError(str(exc), diagnostics=[Diagnostic(display, line, col, str(exc), "MD104")]) from None
    except YAMLProblem as exc:
        if exc.kind == "depth":
            raise _too_deep(display) from None
        line, col = exc.where
        raise SpecError("invalid value", diagnostics=[Diagnostic(display, line, col, exc.message, "MD102")]) from None
    if builder.diags:
        raise SpecError("invalid YAML", diagnostics=builder.diags)
    if not isinstance(data, dict):
        raise SpecError(
            "not a mapping",
            diagnostics=[Diagnostic(display, 1, 1, "top level must be a mapping of deploy.yaml keys", "MD100")],
        )
    return LoadedFile(path or Path(display), display, data, builder.positions, text)


def read_file(path: Path | str, display: str | None = None) -> LoadedFile:
    p = Path(path)
    display = display or str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                "too large",
                diagnostics=[
                    Diagnostic(
                        display, 0, 0, f"file is {size} bytes; a deploy.yaml may be at most {MAX_FILE_BYTES}", "MD104"
                    )
                ],
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SpecError(
            f"{display}: no such file", diagnostics=[Diagnostic(display, 0, 0, "no such file", "MD100")]
        ) from None
    except IsADirectoryError:
        raise SpecError(
            f"{display}: is a directory",
            diagnostics=[Diagnostic(display, 0, 0, "is a directory, expected a deploy.yaml", "MD100")],
        ) from None
    except PermissionError:
        raise SpecError(
            f"{display}: permission denied", diagnostics=[Diagnostic(display, 0, 0, "permission denied", "MD100")]
        ) from None
    return parse_text(_decode(raw, display), display, p)
