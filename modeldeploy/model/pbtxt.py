"""A small, strict reader for protobuf text format, the syntax of Triton's ``config.pbtxt``.

It parses the syntax only (no .proto schema): fields ``name: scalar``, messages ``name { ... }`` /
``name: { ... }`` / ``name < ... >``, lists ``name: [1, 2]`` and ``name [ {...}, {...} ]``, repeated
fields by repetition, ``#`` comments, optional ``,``/``;`` separators, quoted strings with C escapes
(adjacent strings concatenate), numbers and identifiers (enum values, true/false). Every value keeps
its line and column so the schema layer (modeldeploy.model.triton) can say ``config.pbtxt:12:5: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modeldeploy.errors import Diagnostic, ModelError

MAX_DEPTH = 32
MAX_TOKENS = 200_000

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?)(?![A-Za-z0-9_]))
  | (?P<ident>-?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[:{}\[\]<>,;])
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "?": "?",
}


@dataclass(frozen=True)
class Pos:
    line: int
    col: int


@dataclass(frozen=True)
class Token:
    kind: str  # string | number | ident | punct | eof
    text: str
    pos: Pos


@dataclass(frozen=True)
class Enum:
    """An identifier value (``TYPE_FP32``, ``KIND_GPU``); ``true``/``false`` become bools instead."""

    name: str


@dataclass(frozen=True)
class Value:
    value: Any  # str | int | float | bool | Enum | Message
    pos: Pos


@dataclass
class Message:
    """Fields in file order; ``fields[name]`` lists every value given for that name."""

    pos: Pos
    fields: dict[str, list[Value]] = field(default_factory=dict)
    names: dict[str, Pos] = field(default_factory=dict)  # where each field name first appears

    def add(self, name: str, name_pos: Pos, value: Value) -> None:
        self.fields.setdefault(name, []).append(value)
        self.names.setdefault(name, name_pos)


class PbtxtError(ModelError):
    pass


def fail(display: str, pos: Pos | None, message: str) -> PbtxtError:
    line, col = (pos.line, pos.col) if pos else (0, 0)
    shown = f"{display}:{line}:{col}" if pos else display
    return PbtxtError(f"{shown}: {message}", diagnostics=[Diagnostic(display, line, col, message, ModelError.code)])


def tokenize(text: str, display: str) -> Iterator[Token]:
    line, line_start, i, count = 1, 0, 0, 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        pos = Pos(line, i - line_start + 1)
        if m is None:
            raise fail(display, pos, f"unexpected character {text[i]!r}")
        kind = m.lastgroup or ""
        if kind == "nl":
            line, line_start = line + 1, m.end()
        elif kind not in ("ws", "comment"):
            count += 1
            if count > MAX_TOKENS:
                raise fail(display, pos, f"more than {MAX_TOKENS} tokens; this is not a model configuration")
            yield Token(kind, m.group(), pos)
        i = m.end()
    yield Token("eof", "", Pos(line, i - line_start + 1))


def _unquote(token: Token, display: str) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xX" and re.match(r"[0-9a-fA-F]{1,2}", body[i + 2 :]):
            digits = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2 :]).group()  # type: ignore[union-attr]
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        elif nxt in "01234567":
            digits = re.match(r"[0-7]{1,3}", body[i + 1 :]).group()  # type: ignore[union-attr]
            out.append(chr(int(digits, 8)))
            i += 1 + len(digits)
        else:
            raise fail(display, token.pos, f"unknown escape \\{nxt} in string")
    return "".join(out)


def _number(token: Token) -> int | float:
    t = token.text.rstrip("fF") if not token.text.lower().startswith(("0x", "-0x")) else token.text
    if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", t):
        return int(t, 16)
    if re.fullmatch(r"-?[0-9]+", t):
        return int(t)
    return float(t)


class _Parser:
    def __init__(self, text: str, display: str):
        self.display = display
        self.tokens = list(tokenize(text, display))
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def expect(self, text: str) -> Token:
        if self.tok.text != text or self.tok.kind not in ("punct",):
            raise self.unexpected(f"expected {text!r}")
        return self.take()

    def unexpected(self, what: str) -> PbtxtError:
        got = "end of file" if self.tok.kind == "eof" else repr(self.tok.text)
        return fail(self.display, self.tok.pos, f"{what}, found {got}")

    def message(self, close: str | None, pos: Pos, depth: int) -> Message:
        if depth > MAX_DEPTH:
            raise fail(self.display, pos, f"messages are nested deeper than {MAX_DEPTH} levels")
        msg = Message(pos)
        while True:
            if close is None and self.tok.kind == "eof":
                return msg
            if close is not None and self.tok.kind == "punct" and self.tok.text == close:
                self.take()
                return msg
            if self.tok.kind != "ident" or self.tok.text.startswith("-"):
                raise self.unexpected("expected a field name" + (f" or {close!r}" if close else ""))
            name = self.take()
            self.field(msg, name, depth)
            if self.tok.kind == "punct" and self.tok.text in ",;":
                self.take()

    def field(self, msg: Message, name: Token, depth: int) -> None:
        colon = self.tok.kind == "punct" and self.tok.text == ":"
        if colon:
            self.take()
        t = self.tok
        if t.kind == "punct" and t.text in "{<":
            self.take()
            msg.add(name.text, name.pos, Value(self.message("}" if t.text == "{" else ">", t.pos, depth + 1), t.pos))
        elif t.kind == "punct" and t.text == "[":
            self.take()
            for value in self.list_values(depth):
                msg.add(name.text, name.pos, value)
            msg.names.setdefault(name.text, name.pos)
            msg.fields.setdefault(name.text, [])
        elif not colon:
            raise fail(self.display, t.pos, f"expected ':' after field name {name.text!r}")
        else:
            msg.add(name.text, name.pos, self.scalar())

    def list_values(self, depth: int) -> list[Value]:
        out: list[Value] = []
        if self.tok.kind == "punct" and self.tok.text == "]":
            self.take()
            return out
        while True:
            t = self.tok
            if t.kind == "punct" and t.text in "{<":
                self.take()
                out.append(Value(self.message("}" if t.text == "{" else ">", t.pos, depth + 1), t.pos))
            else:
                out.append(self.scalar())
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.take()
                continue
            self.expect("]")
            return out

    def scalar(self) -> Value:
        t = self.tok
        if t.kind == "string":
            parts = []
            while self.tok.kind == "string":
                parts.append(_unquote(self.take(), self.display))
            return Value("".join(parts), t.pos)
        if t.kind == "number":
            self.take()
            return Value(_number(t), t.pos)
        if t.kind == "ident":
            self.take()
            low = t.text.lower()
            if low in ("true", "t"):
                return Value(True, t.pos)
            if low in ("false", "f"):
                return Value(False, t.pos)
            if low in ("inf", "infinity", "-inf", "-infinity", "nan"):
                return Value(float(low.replace("infinity", "inf")), t.pos)
            return Value(Enum(t.text), t.pos)
        raise self.unexpected("expected a value")


def parse(text: str, display: str) -> Message:
    """The top-level message of a text-format file; PbtxtError (located) on any syntax error."""
    return _Parser(text, display).message(None, Pos(1, 1), 0)
