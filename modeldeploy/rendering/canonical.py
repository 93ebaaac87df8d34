"""Canonical, byte-stable dumps of structured data, each parsed back before it is returned.

Structured formats (Kubernetes objects, SageMaker request bodies, Azure ML specs) are built as data
and dumped here; no template ever sees them. Keys are sorted (Kubernetes objects keep apiVersion,
kind, metadata first for readability), strings that YAML would misread are quoted by the emitter,
output ends with one newline.
"""

from __future__ import annotations

import io
import json
from typing import Any

import yaml

from modeldeploy.errors import RenderError
from modeldeploy.rendering.yamlemit import FastEmitter, Unsupported

_K8S_FIRST = ("apiVersion", "kind", "metadata")
_AZURE_FIRST = ("$schema", "name", "type")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that never emits aliases, and writes multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def analyze_scalar(self, scalar: str) -> Any:
        # The emitter's costliest step, a pure function of the string (and allow_unicode, always on
        # here): a monorepo's manifests repeat the same keys and values thousands of times.
        analysis = _ANALYSES.get(scalar)
        if analysis is None:
            analysis = super().analyze_scalar(scalar)
            if len(_ANALYSES) >= 100_000:
                _ANALYSES.clear()
            _ANALYSES[scalar] = analysis
        return analysis


_ANALYSES: dict[str, Any] = {}  # scalar -> yaml's ScalarAnalysis (read-only once made)


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if (
        "\n" in data
        and not any(ch in data for ch in "\r\x85\u2028\u2029")
        and data == data.strip(" ")
        and not data.endswith("\n\n")
    ):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)

# Parse-back only: libyaml's loader reads what the (pure-Python, byte-stable) emitter wrote ~10× faster
# and builds the same data (the emitter stays pure Python: libyaml's differs for some strings).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NodeLoader(_Loader):  # type: ignore[misc,valid-type]
    """The parse-back loader, remembering its resolver's answers (a pure function of its arguments:
    no path resolvers are registered): a monorepo's files repeat the same scalars thousands of times."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        key = (kind, value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_RESOLVED) >= 100_000:
                _RESOLVED.clear()
            _RESOLVED[key] = tag
        return tag


_RESOLVED: dict[Any, str] = {}
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALAR_TAGS = {
    tag: _CONSTRUCTOR.yaml_constructors[tag]
    for tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")
}
_FLOAT = "tag:yaml.org,2002:float"
_CONSTRUCTED: dict[tuple[str, str], Any] = {}


def _ordered(data: Any, first: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        keys = sorted(data, key=lambda k: (first.index(k) if k in first else len(first), str(k)))
        return {k: _ordered(data[k], first) for k in keys}
    if isinstance(data, (list, tuple)):
        return [_ordered(v, first) for v in data]
    return data


_WIDTH = 1_000_000
_INDENT = 2


def dump_yaml(data: Any, *, first: tuple[str, ...] = _K8S_FIRST) -> bytes:
    """Canonical YAML: keys sorted (``first`` keys leading), block style, no aliases, UTF-8, parsed back."""
    ordered = _ordered(data, first)
    try:
        text = fast_emitter().dump(ordered)
    except Unsupported:
        text = _pyyaml_dump(ordered)
    _check_parses_back(ordered, text)
    return text.encode("utf-8")


def _check_parses_back(ordered: Any, text: str) -> None:
    """RenderError unless ``yaml.load(text)`` (the safe loader) equals ``ordered``.

    The text is composed into nodes by the safe loader (libyaml's when PyYAML has it) and the nodes
    are compared with the data, each scalar constructed by SafeConstructor's own function for its
    tag: equal node by node means the loader would build equal data. Anything else — another tag
    (a merge key, a timestamp, …), another shape, a value that differs — is decided by the full
    ``yaml.load`` and ``==``. ``ordered`` holds only dicts and lists (tuples became lists), and so does
    what a YAML loader builds: they compare as they are."""
    node = yaml.compose(text, Loader=_NodeLoader)
    if node is not None and _same(node, ordered):
        return
    if ordered != yaml.load(text, Loader=_Loader):
        raise RenderError("rendered YAML does not parse back to the data it was made from")


def _same(node: yaml.Node, data: Any) -> bool:
    kind = type(data)
    if kind is dict:
        if node.tag != _MAP or not isinstance(node, yaml.MappingNode) or len(node.value) != len(data):
            return False
        return all(
            _same(key_node, key) and _same(value_node, value)
            for (key_node, value_node), (key, value) in zip(node.value, data.items(), strict=True)
        )
    if kind is list:
        if node.tag != _SEQ or not isinstance(node, yaml.SequenceNode) or len(node.value) != len(data):
            return False
        return all(_same(item_node, item) for item_node, item in zip(node.value, data, strict=True))
    if not isinstance(node, yaml.ScalarNode):
        return False
    if node.tag == _FLOAT:
        return bool(_CONSTRUCTOR.construct_yaml_float(node) == data)
    construct = _SCALAR_TAGS.get(node.tag)
    if construct is None:
        return False
    key = (node.tag, node.value)
    try:
        value = _CONSTRUCTED[key]
    except KeyError:
        value = _CONSTRUCTED[key] = construct(_CONSTRUCTOR, node)
        if len(_CONSTRUCTED) >= 100_000:
            _CONSTRUCTED.clear()
    return bool(value == data)


def fast_emitter() -> FastEmitter:
    """A FastEmitter with the canonical settings (one per dump: it holds the document's state)."""
    return FastEmitter(_Dumper(io.StringIO(), allow_unicode=True), width=_WIDTH, indent=_INDENT)


def _pyyaml_dump(ordered: Any) -> str:
    """The reference: PyYAML's own dump with the canonical settings (FastEmitter writes the same bytes)."""
    return yaml.dump(
        ordered,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=_WIDTH,
        indent=_INDENT,
    )


def dump_azure_yaml(data: Any) -> bytes:
    return dump_yaml(data, first=_AZURE_FIRST)


def dump_json(data: Any) -> bytes:
    """Canonical JSON: sorted keys, two-space indent, ASCII-safe, trailing newline, parsed back."""
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
    _check_roundtrip(data, json.loads(text), "JSON")
    return text.encode("utf-8")


def _normalise(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_normalise(x) for x in v]
    if isinstance(v, dict):
        return {k: _normalise(x) for k, x in v.items()}
    return v


def _check_roundtrip(original: Any, parsed: Any, fmt: str) -> None:
    if _normalise(original) != _normalise(parsed):
        raise RenderError(f"rendered {fmt} does not parse back to the data it was made from")
