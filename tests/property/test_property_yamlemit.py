"""The canonical YAML emitter (rendering/yamlemit.py) writes the bytes PyYAML's ``yaml.dump`` writes.

Property: for generated nested data — dicts, lists, strings, ints, bools, floats and None, keys of every
kind, hostile strings (unicode beyond the BMP, control characters, line breaks of every kind, leading
and trailing spaces, ``: ``, `` #``, ``- ``, quotes, YAML 1.1 booleans/nulls/numbers such as ``yes``,
``on``, ``0o17``, ``1e3``, ``.inf``, ``~``, empty strings and collections, strings longer than the
width) — ``FastEmitter.dump`` equals ``canonical._pyyaml_dump`` (the reference: PyYAML's own dump with
the canonical settings) character for character, or refuses with ``Unsupported``, in which case
``dump_yaml`` falls back to the reference. ``dump_yaml`` itself is compared with the reference's UTF-8
bytes whenever the data can parse back equal (not with NaN: NaN is not equal to itself).

Example counts are fixed (``derandomize=True``), so CI runs the same inputs every time; set
MODELDEPLOY_FUZZ_SCALE=N (``make fuzz`` uses 20) to try N times as many with random seeds.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modeldeploy.errors import RenderError
from modeldeploy.rendering import canonical
from modeldeploy.rendering.yamlemit import Unsupported
from tests.property.generators import CONTROL, NASTY_TEXT

SCALE = int(os.environ.get("MODELDEPLOY_FUZZ_SCALE", "1"))
N_EXAMPLES = 1000  # ~20 s on one shared core

YAML_WORDS = [
    "yes", "Yes", "YES", "no", "No", "on", "On", "ON", "off", "Off", "y", "n", "true", "False", "TRUE",
    "null", "Null", "NULL", "~", "", "0", "-0", "+1", "007", "0o17", "0x1F", "0b101", "1_000", "1e3",
    "1.0e+3", "1E3", "-1.5", ".5", "5.", ".inf", "-.inf", "+.INF", ".nan", ".NaN", "1:20", "190:20:30",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "=", "<<", "!", "&a", "*a", "%x", "@", "`", "|", ">",
    "-", "--", "---", "...", "?", ":", "- ", "- a", "? a", "a: b", "a:b", "a :b", "a #b", "a#b", "# c",
    "[", "]", "{", "}", ",", "'", '"', "''", "\\", "a'b", 'a"b', "\t", " ", "  ", " a", "a ", " a ",
]  # fmt: skip
PIECES = YAML_WORDS + [
    "\n", "\n\n", "\r\n", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x07", "\x1b", "\x7f",
    "\xa0", "é", "中", "\U0001f600", "\ud800", "\u202e", " \n", "\n ", "a", "word", "x" * 130,
]  # fmt: skip


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(YAML_WORDS + NASTY_TEXT),
        st.lists(st.sampled_from(PIECES), max_size=6).map("".join),
        st.text(alphabet=st.sampled_from(CONTROL + "ab :#-'\"\n\t|>é\U0001f600"), max_size=16),
        st.text(max_size=20),
        # longer than any line the emitter would fold at, with spaces and breaks to fold on
        st.sampled_from(["a ", "a\n", "x", "é ", "'"]).flatmap(
            lambda unit: st.sampled_from([60, 129, 1500]).map(lambda n: unit * n)
        ),
    )


def texts() -> st.SearchStrategy[str]:
    # Rarely, past the emitter's own length limit (it falls back): PyYAML's pure-Python dump is slow.
    return st.one_of(
        hostile_text(), st.sampled_from([None] * 10 + ["a ", "\n"]).map(lambda u: u * 30_000 if u else "x")
    )


def floats() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 1e17, 1e-5, 1e300, 5e-324, 1.5, float("inf"), float("-inf")]),
    )


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(texts(), st.integers(), st.integers(-10, 10), st.booleans(), st.none(), floats())


def keys() -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(YAML_WORDS), hostile_text(), st.integers(), st.booleans(), st.none(), floats())


def nested() -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(keys(), inner, max_size=5),
        ),
        max_leaves=30,
    )


def documents() -> st.SearchStrategy[Any]:
    # Mostly mappings at the root, as every rendered file is; sometimes anything at all.
    return st.one_of(st.dictionaries(keys(), nested(), max_size=6), nested())


SETTINGS = settings(
    max_examples=N_EXAMPLES * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(data=documents(), first=st.sampled_from([canonical._K8S_FIRST, canonical._AZURE_FIRST]))
def test_fast_emitter_writes_what_pyyaml_writes(data: Any, first: tuple[str, ...]) -> None:
    ordered = canonical._ordered(data, first)
    reference = canonical._pyyaml_dump(ordered)
    try:
        fast = canonical.fast_emitter().dump(ordered)
    except Unsupported as exc:
        event(f"fallback: {exc}")
    else:
        event("fast path")
        assert fast == reference
    assert _outcome(lambda: canonical.dump_yaml(data, first=first)) == _outcome(
        lambda: _reference_dump_yaml(data, first)
    )


def _reference_dump_yaml(data: Any, first: tuple[str, ...]) -> bytes:
    """dump_yaml as it was before the fast emitter: PyYAML's dump, parsed back, compared, encoded."""
    ordered = canonical._ordered(data, first)
    text = canonical._pyyaml_dump(ordered)
    if canonical._normalise(ordered) != canonical._normalise(yaml.load(text, Loader=canonical._Loader)):
        raise RenderError("rendered YAML does not parse back to the data it was made from")
    return text.encode("utf-8")


def _outcome(dump: Any) -> Any:
    """The bytes, or the exception's type and message (NaN or a lone surrogate do not parse back)."""
    try:
        return dump()
    except Exception as exc:  # noqa: BLE001 - compared, not swallowed
        event(f"both raise {type(exc).__name__}")
        return type(exc), str(exc)


EVERY_KIND = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "x", "labels": {"app": "iris", "yes": "on", "a b": "c"}},
    "data": {
        "plain": "a b c",
        "multi": "line 1\nline 2\n",
        "no_newline_at_end": "line 1\nline 2",
        "quoted": "it's: #here",
        "escaped": "tab\there\x07",
        "trailing": "a \nb",
        "emoji": "\U0001f600",
        "empty": "",
        "numbers": [0, -1, 1.5, 1e17, float("inf"), True, None],
        "nested": [[], {}, [["x"]], [{"a": 1, "b": [2]}]],
        "long": "word " * 500,
        1: "an int key",
        None: "a null key",
    },
}


def test_rendered_shapes_take_the_fast_path() -> None:
    """The data the targets render (every style, nesting and key kind above) does not fall back."""
    ordered = canonical._ordered(EVERY_KIND, canonical._K8S_FIRST)
    fast = canonical.fast_emitter().dump(ordered)
    assert fast == canonical._pyyaml_dump(ordered)
    assert canonical.dump_yaml(EVERY_KIND) == fast.encode("utf-8")


def test_unsupported_values_fall_back_to_pyyaml() -> None:
    """A key that needs the '? ' form, or a type outside the subset, is dumped by PyYAML itself."""
    emitter = canonical.fast_emitter()
    for data in ({"a\nb": 1}, {"x" * 200: 1}, {"": 1}, {"a": ("t",)}, {"a": b"bytes"}):
        try:
            emitter.dump(data)
        except Unsupported:
            pass
        else:
            raise AssertionError(f"{data!r} should not take the fast path")
    data = {"a\nb": 1, "x" * 200: [1], "": {}}
    ordered = canonical._ordered(data, canonical._K8S_FIRST)
    assert canonical.dump_yaml(data) == canonical._pyyaml_dump(ordered).encode("utf-8")
    assert b"? " in canonical.dump_yaml(data)


@SETTINGS
@given(data=documents(), other=documents(), same=st.booleans())
def test_parse_back_check_agrees_with_a_full_load(data: Any, other: Any, same: bool) -> None:
    """The node-by-node parse-back check raises exactly when ``yaml.load(text) != data`` (the old check).

    The text is the reference dump of ``data`` itself or of other generated data, so both answers occur.
    """
    ordered = canonical._ordered(data, canonical._K8S_FIRST)
    written = canonical._ordered(data if same else other, canonical._K8S_FIRST)
    text = canonical._pyyaml_dump(written)
    try:
        loaded = yaml.load(text, Loader=canonical._Loader)
    except yaml.YAMLError:
        return  # e.g. a lone surrogate, written escaped and refused by the reader; both raise it
    expected_equal = canonical._normalise(ordered) == canonical._normalise(loaded)
    event(f"equal: {expected_equal}")
    try:
        canonical._check_parses_back(ordered, text)
    except RenderError:
        assert not expected_equal
    else:
        assert expected_equal


def test_parse_back_check_refuses_text_that_differs() -> None:
    """A text that loads to other data — a value, a key, a type, a merge key — is refused."""
    data = {"a": "1", "b": [1, {"c": None}]}
    for text in ("a: 1\nb:\n- 1\n- c: null\n", "a: '1'\nb:\n- 1\n- d: null\n", "a: '1'\nb: [1]\n", "a: '1'\n"):
        with pytest.raises(RenderError, match="does not parse back"):
            canonical._check_parses_back(data, text)
    canonical._check_parses_back(data, "a: '1'\nb:\n- 1\n- c: null\n")
    merged = {"x": {"k": 1}, "y": {"k": 1}}
    canonical._check_parses_back(merged, "x: &m\n  k: 1\ny:\n  <<: *m\n")  # decided by the full load
    with pytest.raises(RenderError):
        canonical._check_parses_back({"x": {"k": 1}, "y": {"<<": {"k": 1}}}, "x: &m\n  k: 1\ny:\n  <<: *m\n")
