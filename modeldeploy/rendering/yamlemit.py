"""A block-style YAML emitter for the plain data the canonical dumps emit, byte-identical to PyYAML's.

``yaml.dump`` turns every value into a node (representer), every node into events (serializer, which
asks the resolver how each scalar would be read back), and the events into text (emitter, a state
machine with a look-ahead queue). For the data ``canonical.dump_yaml`` hands it — plain ``dict``,
``list``, ``str``, ``int``, ``bool``, ``float`` and ``None`` — most of that is bookkeeping. This emitter
walks the data directly and keeps PyYAML's *decisions* and *writers*:

* it is a subclass of PyYAML's ``Emitter``, with the same state (indent, column, whitespace, indention,
  open_ended), and its structure methods are the block-style ``expect_*`` handlers of that class
  transcribed for the events the serializer would send (no anchors, no tags on collections, a flow
  ``{}``/``[]`` for an empty one);
* each scalar's node comes from the dumper's own representer, its implicit flags from the dumper's own
  resolver, its style from ``Emitter.choose_scalar_style`` and the simple-key test is
  ``check_simple_key``'s, on the same analysis (``analyze_scalar``);
* text is written by PyYAML's own ``write_plain``/``write_single_quoted``/``write_double_quoted``/
  ``write_literal``. A scalar that fits on one line is written once into a scratch emitter and the
  text remembered (that output does not depend on the indentation while no line reaches the width);
  a multi-line one is written by the writer itself in place.

Anything outside that subset — another type (a subclass of ``str`` included), a key that would need
the ``? `` form, a scalar that would need an explicit tag, a string long enough that a line could reach
the width — raises :class:`Unsupported`, and the caller dumps that document with ``yaml.dump``.
``tests/property/test_property_yamlemit.py`` compares both on generated hostile data, byte for byte.
"""

from __future__ import annotations

import io
from typing import Any

import yaml
from yaml.emitter import Emitter
from yaml.events import ScalarEvent
from yaml.nodes import ScalarNode

_SCALAR_TYPES = (str, int, bool, type(None))  # float: never memoised (0.0 == -0.0, nan != nan)
_MAX_SCALAR = 50_000  # characters; with escapes (≤ 10 each) a line stays far below the width
_MAX_INDENT = 100_000
_BREAKS = "\n\x85\u2028\u2029"

# (value, type, simple_key) -> (style, text, fragment or None); str values are keyed by themselves.
_MEMO: dict[Any, tuple[str, str, str | None]] = {}


class Unsupported(Exception):
    """The data is outside what this emitter reproduces: dump it with ``yaml.dump`` instead."""


class FastEmitter(Emitter):
    """One document per :meth:`dump`; not shared between threads (the memo is, read-only entries)."""

    def __init__(self, dumper: yaml.SafeDumper, *, width: int, indent: int) -> None:
        super().__init__(io.StringIO(), allow_unicode=True, width=width, indent=indent)
        if not dumper.allow_unicode:  # the analysis it lends (and may remember) must be this one's
            raise ValueError("FastEmitter needs a dumper made with allow_unicode=True")
        self._dumper = dumper  # its representer and resolver decide, as they do in yaml.dump
        self.tag_prefixes = self.DEFAULT_TAG_PREFIXES.copy()
        self._scratch = Emitter(io.StringIO(), allow_unicode=True, width=width, indent=indent)

    # PyYAML's analysis is the dumper's (remembered per string there).
    def analyze_scalar(self, scalar: str) -> Any:
        return self._dumper.analyze_scalar(scalar)

    def dump(self, data: Any) -> str:
        out = io.StringIO()
        self.stream = out
        self.indent, self.indents, self.column, self.line = None, [], 0, 0
        self.whitespace, self.indention, self.open_ended, self.flow_level = True, True, False, 0
        # StreamStart and an implicit DocumentStart write nothing; then the root node.
        self._node(data, root=True)
        # DocumentEnd (implicit), then StreamEnd.
        self.write_indent()
        if self.open_ended:
            self.write_indicator("...", True)
            self.write_indent()
        return out.getvalue()

    def _node(self, data: Any, *, root: bool = False, sequence: bool = False, mapping: bool = False) -> None:
        self.root_context = root
        self.sequence_context = sequence
        self.mapping_context = mapping
        self.simple_key_context = False
        kind = type(data)
        if kind is dict:
            if not data:
                self._empty("{", "}")
            else:
                self._block_mapping(data)
        elif kind is list:
            if not data:
                self._empty("[", "]")
            else:
                self._block_sequence(data)
        else:
            self._scalar(data, simple_key=False)

    def _empty(self, start: str, end: str) -> None:  # expect_flow_mapping/sequence with nothing in it
        self.write_indicator(start, True, whitespace=True)
        self.write_indicator(end, False)

    def _block_sequence(self, items: list[Any]) -> None:
        indentless = self.mapping_context and not self.indention
        self.increase_indent(flow=False, indentless=indentless)
        if (self.indent or 0) > _MAX_INDENT:
            raise Unsupported("nested too deep")
        for item in items:
            self.write_indent()
            self.write_indicator("-", True, indention=True)
            self._node(item, sequence=True)
        self.indent = self.indents.pop()

    def _block_mapping(self, mapping: dict[Any, Any]) -> None:
        self.increase_indent(flow=False)
        if (self.indent or 0) > _MAX_INDENT:
            raise Unsupported("nested too deep")
        for key, value in mapping.items():
            self.write_indent()
            self.root_context = self.sequence_context = False
            self.mapping_context = self.simple_key_context = True
            self._scalar(key, simple_key=True)
            self.write_indicator(":", False)
            self._node(value, mapping=True)
        self.indent = self.indents.pop()

    def _scalar(self, data: Any, *, simple_key: bool) -> None:
        kind = type(data)
        if kind is str:
            memo_key: Any = (data, simple_key) if simple_key else data
        elif kind in _SCALAR_TYPES:
            memo_key = (data, kind, simple_key)
        elif kind is float:
            memo_key = None
        else:
            raise Unsupported(f"a {kind.__name__} value")
        found = _MEMO.get(memo_key) if memo_key is not None else None
        if found is None:
            found = self._decide(data, simple_key)
            if memo_key is not None:
                if len(_MEMO) >= 200_000:
                    _MEMO.clear()
                _MEMO[memo_key] = found
        style, text, fragment = found
        if self.column + 10 * len(text) + 16 > self.best_width:
            raise Unsupported("a line could reach the width")
        if fragment is not None:  # one line, as the writer wrote it in the scratch emitter
            if not self.whitespace:
                fragment = " " + fragment
            self.stream.write(fragment)
            self.column += len(fragment)
            self.whitespace = self.indention = False
            if style:
                self.open_ended = False  # the closing quote is an indicator
            elif self.root_context:
                self.open_ended = True
            return
        # expect_scalar: a scalar is processed one indentation step in (only lines after the first
        # are indented, so a one-line fragment above needs no indent).
        self.increase_indent(flow=True)
        if style == "|":
            self.write_literal(text)
        else:
            self.write_single_quoted(text, not simple_key)
        self.indent = self.indents.pop()

    def _decide(self, data: Any, simple_key: bool) -> tuple[str, str, str | None]:
        """What PyYAML's representer, serializer and emitter decide for this scalar, in this context."""
        dumper = self._dumper
        node = dumper.represent_data(data)
        if not isinstance(node, ScalarNode) or not isinstance(node.value, str):
            raise Unsupported("not a scalar")
        tag, value = node.tag, node.value
        if len(value) > _MAX_SCALAR:
            raise Unsupported("a long scalar")
        implicit = (
            dumper.resolve(ScalarNode, value, (True, False)) == tag,
            dumper.resolve(ScalarNode, value, (False, True)) == tag,
        )
        self.event = ScalarEvent(None, tag, implicit, value, style=node.style)
        self.analysis = analysis = self.analyze_scalar(value)
        self.simple_key_context = simple_key
        self.flow_level = 0
        try:
            style = self.choose_scalar_style()
            if simple_key and not (
                len(self.prepare_tag(tag)) + len(analysis.scalar) < 128
                and not analysis.empty
                and not analysis.multiline
            ):
                raise Unsupported("a key that needs the '? ' form")
        finally:
            self.event = self.analysis = None
        if not ((style == "" and implicit[0]) or (style != "" and implicit[1])):
            raise Unsupported("a scalar that needs a tag")
        text = analysis.scalar
        if style == "":
            if not text:
                raise Unsupported("an empty plain scalar")
            return style, text, text
        if style == '"' or (style == "'" and not any(ch in text for ch in _BREAKS)):
            return style, text, self._one_line(style, text, split=not simple_key)
        if style in ("|", "'"):
            return style, text, None
        raise Unsupported(f"scalar style {style!r}")

    def _one_line(self, style: str, text: str, *, split: bool) -> str:
        scratch = self._scratch
        scratch.stream = out = io.StringIO()
        scratch.column, scratch.whitespace, scratch.indention, scratch.indent = 0, True, False, 0
        if style == '"':
            scratch.write_double_quoted(text, split)
        else:
            scratch.write_single_quoted(text, split)
        written = out.getvalue()
        if "\n" in written:
            raise Unsupported("a quoted scalar over several lines")
        return written
