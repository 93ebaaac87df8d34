"""The one YAML reader with positions: deploy.yaml (spec.loader) and MLmodel (model.files) both use it.

Text is parsed with PyYAML's safe composer and the node graph is turned into plain data here, so that
duplicate keys, non-standard tags and alias bombs become located problems rather than silent
surprises or hangs. The position (1-based line, column) of every value and every mapping key is kept
by data path. What counts as a problem is the same for both files; what it is called, and whether
reading stops at the first one, is up to the caller (a :class:`Builder` subclass words each refusal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml

Path_ = tuple[Any, ...]
Where = tuple[int, int]

TAG = "tag:yaml.org,2002:"
STANDARD_TAGS = frozenset(TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))
MERGE_TAG = TAG + "merge"


class YAMLProblem(Exception):
    """A located problem found while decoding, parsing or building: ``kind`` is ``encoding``
    (``byte`` is the offending one), ``syntax`` (``message`` says what), ``depth`` (nested too deep
    for the parser) or ``value`` (a scalar that does not construct)."""

    def __init__(self, kind: str, where: Where, message: str = "", byte: int = 0, hint: str | None = None):
        super().__init__(message or kind)
        self.kind, self.where, self.message, self.byte = kind, where, message, byte
        self.hint = hint  # the fix, in words, when the problem is one people make by hand


@dataclass(frozen=True)
class Positions:
    """(line, col) of every value node and every mapping key, by data path; 1-based.

    ``at`` walks up from ``path`` to the nearest recorded ancestor; when none is recorded it answers
    the root's position (``root=True``) or (1, 1)."""

    values: Mapping[Path_, Where] = field(default_factory=dict)
    keys: Mapping[Path_, Where] = field(default_factory=dict)
    root: bool = True

    def at(self, path: Path_, *, key: bool = False) -> Where:
        p = tuple(path)
        while p:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1)) if self.root else (1, 1)


def mark(node: yaml.Node) -> Where:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _where(exc: yaml.MarkedYAMLError, *, context: bool) -> Where:
    m = exc.problem_mark or (exc.context_mark if context else None)
    return (m.line + 1, m.column + 1) if m else (1, 1)


def decode(raw: bytes) -> str:
    """UTF-8 text without a leading BOM; YAMLProblem("encoding") at the first bad byte."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        where = (before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1)
        raise YAMLProblem("encoding", where, byte=raw[exc.start]) from None


_CLoader = getattr(yaml, "CSafeLoader", None)


def _compose_fast(text: str, single: bool) -> list[yaml.Node | None] | None:
    """libyaml's parser (~10× faster; the same node graphs, marks included), or None when it is not
    installed or the text is not plainly well-formed: then the pure-Python parser reads it, so every
    problem is still found, located and worded exactly as before (libyaml words errors differently
    and accepts some characters, and tabs, that PyYAML refuses)."""
    # Tabs: libyaml takes a tab after "key:" as a separator where PyYAML refuses it.
    if _CLoader is None or "\t" in text or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        if single:
            return [yaml.compose(text, Loader=_CLoader)]
        return list(yaml.compose_all(text, Loader=_CLoader))
    except (yaml.YAMLError, RecursionError):
        return None


def compose(text: str, *, single: bool = False) -> list[yaml.Node]:
    """The documents of ``text`` as node graphs (empty ones dropped). ``single``: a second document
    is a syntax problem, as PyYAML's own ``compose`` reports it."""
    fast = _compose_fast(text, single)
    if fast is not None:
        return [d for d in fast if d is not None]
    try:
        if single:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            docs = [node]
        else:
            docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        plain = explain(text, exc)
        if plain is not None:
            where, message, hint = plain
            raise YAMLProblem("syntax", where, message, hint=hint) from None
        msg = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise YAMLProblem("syntax", _where(exc, context=True), f"invalid YAML: {msg}") from None
    except yaml.YAMLError as exc:  # reader errors (control characters)
        raise YAMLProblem("syntax", (1, 1), f"invalid YAML: {exc}".splitlines()[0]) from None
    except RecursionError:
        raise YAMLProblem("depth", (1, 1)) from None
    return [d for d in docs if d is not None]


# --- syntax errors in words ------------------------------------------------------------------------
#
# PyYAML says what its parser expected ("expected <block end>, but found '<block mapping start>'");
# the two mistakes people make most by hand, a tab and a key indented off its siblings, are said
# in plain words with the fix.


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _key(line: str) -> str:
    text = line.strip().removeprefix("- ")
    return text.split(":", 1)[0].strip() if ":" in text else text[:20]


def _spaces(n: int) -> str:
    return f"{n} space" + ("" if n == 1 else "s")


def _explain_indent(lines: list[str], number: int) -> tuple[Where, str, str] | None:
    """A key on line ``number`` (1-based) indented to no column the mapping above it uses."""
    if not 0 < number <= len(lines) or not _is_content(lines[number - 1]):
        return None
    here = lines[number - 1]
    indent = _indent(here)
    # The open mappings above: each earlier content line indented less than the last one taken.
    levels: list[tuple[int, int]] = []  # (indent, line number)
    for n in range(number - 1, 0, -1):
        line = lines[n - 1]
        if not _is_content(line) or "\t" in line[: _indent(line) + 1]:
            continue
        if not levels or _indent(line) < levels[-1][0]:
            levels.append((_indent(line), n))
        if levels[-1][0] == 0:
            break
    if not levels or indent in {lvl for lvl, _ in levels}:
        return None
    want, near = min(levels, key=lambda lv: (abs(lv[0] - indent), -lv[0]))
    key, neighbour = _key(here), _key(lines[near - 1])
    message = (
        f"'{key}' is indented {_spaces(indent)}, but '{neighbour}' on line {near} is at {want}: "
        "keys of one mapping must start in the same column"
    )
    hint = f"indent '{key}' by {_spaces(want)}, like '{neighbour}' (YAML nests by indentation, with spaces only)"
    return (number, indent + 1), message, hint


def explain(text: str, exc: yaml.MarkedYAMLError) -> tuple[Where, str, str] | None:
    """(where, message, hint) in plain words for a tab or a mis-indented key; None for anything else
    (the parser's own words are used then)."""
    problem = exc.problem or ""
    lines = text.split("\n")
    if "tab" in problem or "'\\t'" in problem:
        m = exc.problem_mark
        if m is not None:
            line = lines[m.line] if m.line < len(lines) else ""
            col = line.find("\t") + 1 or m.column + 1
            before = line[: col - 1].strip()
            if before:  # after a key or a dash, not in the indentation: "source:<TAB>./model"
                return (
                    (m.line + 1, col),
                    f"a tab character follows '{before}'; YAML separates with spaces only",
                    f"replace the tab after '{before}' with a space",
                )
            return (
                (m.line + 1, col),
                "a tab character indents this line; YAML indents with spaces only",
                "replace the tab with spaces (as many as the keys it belongs with)",
            )
    if "expected <block end>" in problem or "mapping values are not allowed here" in problem:
        m = exc.problem_mark
        if m is not None:
            return _explain_indent(lines, m.line + 1)
    return None


class Builder:
    """Turns a composed node graph into plain data, recording positions and refusing abuse.

    Subclasses word each refusal in :meth:`refuse` — raise to stop at the first, or record and
    return to go on (the offending value is then skipped: ``None`` for a tag, the entry for a key).
    Refusals: ``nodes`` (more than ``max_nodes`` visited: an alias bomb), ``depth``, ``tag`` (not in
    ``tags``), ``merge`` (a ``<<`` key), ``key`` (a key that is not a scalar), ``duplicate``, ``value``
    (a scalar whose standard tag does not fit its text: ``!!int nope``).
    """

    tags: frozenset[str] = STANDARD_TAGS

    def __init__(self, *, max_nodes: int, max_depth: int, root: bool = True):
        self.max_nodes, self.max_depth, self.root = max_nodes, max_depth, root
        self.values: dict[Path_, Where] = {}
        self.keys: dict[Path_, Where] = {}
        self.visited = 0
        self._scalar = yaml.SafeLoader("")

    @property
    def positions(self) -> Positions:
        return Positions(self.values, self.keys, self.root)

    def refuse(self, node: yaml.Node, kind: str, at: Path_ = ()) -> None:
        """Word one refusal; ``at`` is the data path of a duplicate key (its first position is in
        ``self.keys``)."""
        raise NotImplementedError

    def _stop(self, node: yaml.Node, kind: str) -> NoReturn:
        self.refuse(node, kind)
        raise AssertionError(f"refuse() must raise for {kind!r}")

    def run(self, node: yaml.Node) -> Any:
        """:meth:`build` from the root, a bad scalar or a too-deep graph as YAMLProblem."""
        try:
            return self.build(node)
        except yaml.constructor.ConstructorError as exc:
            raise YAMLProblem("value", _where(exc, context=False), f"invalid value: {exc.problem}") from None
        except RecursionError:
            raise YAMLProblem("depth", (1, 1)) from None

    def build(self, node: yaml.Node, path: Path_ = (), depth: int = 0) -> Any:
        self.visited += 1
        if self.visited > self.max_nodes:
            self._stop(node, "nodes")
        if depth > self.max_depth:
            self._stop(node, "depth")
        self.values.setdefault(path, mark(node))
        if node.tag not in self.tags:
            self.refuse(node, "tag")
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    self.refuse(key_node, "merge")
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.refuse(key_node, "key")
                    continue
                key = self.key(key_node, path, depth)
                if key in out:
                    self.refuse(key_node, "duplicate", path + (key,))
                    continue
                self.keys[path + (key,)] = mark(key_node)
                out[key] = self.build(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def key(self, node: yaml.ScalarNode, path: Path_, depth: int) -> Any:
        """A mapping key: the text as written."""
        return node.value

    def scalar(self, node: yaml.Node) -> Any:
        """The scalar's value; a standard tag on text that is not of its type (``!!int nope``,
        ``!!bool maybe``) is the ``value`` refusal (PyYAML raises ValueError/KeyError there, not a
        ConstructorError), and the value is then ``None``."""
        try:
            return self._scalar.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise  # located by run()
        except (ValueError, TypeError, KeyError, ArithmeticError):
            self.refuse(node, "value")
            return None


def bad_value(node: yaml.Node) -> str:
    """What a ``value`` refusal says: the text (shortened) and the type its tag asked for."""
    kind = str(node.tag).rsplit(":", 1)[-1]
    return f"{str(node.value)[:40]!r} is not a valid {kind} (YAML tag !!{kind}); remove the tag or fix the value"
